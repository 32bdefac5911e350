package pst

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/iemproject/iem/exchange/directory"
	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/format"
)

// Sources is one export Source over several [Source]s: mailboxes with their file sets,
// a mailbox possibly with several (its ExMerge export at the root and personal
// archives below Archives/<name>). The hierarchy of a mailbox is the union of its
// sets' (a prefix folder such as Archives listed once); its marker holds each set's
// marker under the set's key (prefix and file identities), so a set added later is
// listed whole and the others keep their markers.
type Sources struct {
	dir       *directory.Snapshot
	mailboxes map[string][]*Source
}

var _ export.Source = (*Sources)(nil)

// Combine returns the Source over srcs; dir is what Directory returns (nil: empty).
// Two sets of a mailbox with the same key are refused.
func Combine(dir *directory.Snapshot, srcs ...*Source) (*Sources, error) {
	m := &Sources{dir: dir, mailboxes: map[string][]*Source{}}
	for _, s := range srcs {
		for _, o := range m.mailboxes[s.address] {
			if o.key() == s.key() {
				return nil, fmt.Errorf("pst: mailbox %s: the same files under %q twice", s.address, strings.Join(s.prefix, "/"))
			}
		}
		m.mailboxes[s.address] = append(m.mailboxes[s.address], s)
	}
	return m, nil
}

// key identifies a set within its mailbox.
func (s *Source) key() string {
	ids := make([]string, len(s.files))
	for i, sf := range s.files {
		ids[i] = sf.id
	}
	return strings.ReplaceAll(strings.Join(s.prefix, "/"), "\n", " ") + "|" + strings.Join(ids, ",")
}

// Close closes every set.
func (m *Sources) Close() error {
	var files []*sourceFile
	for _, ss := range m.mailboxes {
		for _, s := range ss {
			files = append(files, s.files...)
		}
	}
	return closeFiles(files)
}

// Notices are the lines the export summary prints of the sets: one per file with a PST
// password ([Source.PasswordFiles]), which is read without it.
func (m *Sources) Notices() []string {
	var out []string
	for _, ss := range m.mailboxes {
		for _, s := range ss {
			for _, p := range s.PasswordFiles() {
				out = append(out, PasswordNotice(p))
			}
		}
	}
	slices.Sort(out)
	return out
}

// PasswordNotice is the summary line of a file with a PST password.
func PasswordNotice(file string) string {
	return file + ": has a PST password (a check in the file, not encryption); read without it"
}

// Directory returns the directory given to Combine, an empty one when that was nil.
func (m *Sources) Directory(context.Context) (*directory.Snapshot, error) { return orEmpty(m.dir), nil }

// Permissions returns nil, as Source does.
func (m *Sources) Permissions(context.Context, string, string) (*format.ACL, error) { return nil, nil }

func (m *Sources) sets(mailbox string) ([]*Source, error) {
	ss := m.mailboxes[mailbox]
	if len(ss) == 0 {
		return nil, fmt.Errorf("pst: no files for mailbox %s", mailbox)
	}
	return ss, nil
}

// owner is the set of mailbox holding the folder or item id; nil for a prefix folder.
func (m *Sources) owner(mailbox, id string) (*Source, error) {
	ss, err := m.sets(mailbox)
	if err != nil {
		return nil, err
	}
	for _, s := range ss {
		if _, _, ok := s.parseID(id); ok {
			return s, nil
		}
	}
	return nil, nil
}

// Hierarchy unites the hierarchies of the mailbox's sets.
func (m *Sources) Hierarchy(ctx context.Context, mailbox string, marker []byte) (*export.Hierarchy, error) {
	ss, err := m.sets(mailbox)
	if err != nil {
		return nil, err
	}
	parts, err := splitMarkers(marker)
	if err != nil {
		return nil, err
	}
	h := &export.Hierarchy{Roles: map[string]string{}}
	listed := map[string]bool{}
	next := map[string][]byte{}
	for _, s := range ss {
		sh, err := s.Hierarchy(ctx, mailbox, parts[s.key()])
		if err != nil {
			return nil, err
		}
		for _, c := range sh.Changes {
			if c.Kind == export.Delete || !listed[c.Folder.ID] {
				h.Changes = append(h.Changes, c)
				listed[c.Folder.ID] = c.Kind != export.Delete
			}
		}
		for id, r := range sh.Roles {
			h.Roles[id] = r
		}
		next[s.key()] = sh.Marker
	}
	h.Marker = joinMarkers(next)
	return h, nil
}

// Changes asks the set holding the folder; a prefix folder has no items.
func (m *Sources) Changes(ctx context.Context, mailbox, folderID string, marker []byte, fn func(export.ItemChange) error) ([]byte, error) {
	s, err := m.owner(mailbox, folderID)
	if err != nil || s == nil {
		return encodeMarker(nil), err
	}
	return s.Changes(ctx, mailbox, folderID, marker, fn)
}

// Fetch asks the set holding each item, in order.
func (m *Sources) Fetch(ctx context.Context, mailbox string, kind export.ItemKind, refs []export.ItemRef, fn func(*export.Item) error) error {
	ss, err := m.sets(mailbox)
	if err != nil {
		return err
	}
	for _, r := range refs {
		s := ss[0]
		if o, _ := m.owner(mailbox, r.ID); o != nil {
			s = o
		}
		if err := s.Fetch(ctx, mailbox, kind, []export.ItemRef{r}, fn); err != nil {
			return err
		}
	}
	return nil
}

const multiMagic = "pst-markers-1\n"

// joinMarkers writes the markers by key: "key length\n" then the marker, sorted by key.
func joinMarkers(parts map[string][]byte) []byte {
	var b bytes.Buffer
	b.WriteString(multiMagic)
	keys := make([]string, 0, len(parts))
	for k := range parts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %d\n", k, len(parts[k]))
		b.Write(parts[k])
	}
	return b.Bytes()
}

// splitMarkers reads joinMarkers; nil is no marker for any set.
func splitMarkers(b []byte) (map[string][]byte, error) {
	parts := map[string][]byte{}
	if b == nil {
		return parts, nil
	}
	rest, ok := bytes.CutPrefix(b, []byte(multiMagic))
	if !ok {
		return nil, export.MarkerRejected(fmt.Errorf("pst: not a PST hierarchy marker"))
	}
	for len(rest) > 0 {
		line, after, ok := bytes.Cut(rest, []byte("\n"))
		sp := bytes.LastIndexByte(line, ' ')
		if !ok || sp < 0 {
			return nil, export.MarkerRejected(fmt.Errorf("pst: hierarchy marker line %.80q", line))
		}
		n, err := strconv.Atoi(string(line[sp+1:]))
		if err != nil || n < 0 || n > len(after) {
			return nil, export.MarkerRejected(fmt.Errorf("pst: hierarchy marker line %.80q", line))
		}
		parts[string(line[:sp])] = after[:n]
		rest = after[n:]
	}
	return parts, nil
}
