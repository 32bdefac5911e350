package pst

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/exchange/directory"
	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/format"
)

// This file is the export Source over PST/OST files ([export.Source]).

// Store and folder properties naming special folders ([MS-OXPROPS]): entry ids whose
// last four bytes are the folder's nid ([MS-PST] 2.4.3.2, a 24-byte EntryID).
const (
	pidIpmSubtreeEntryID    = 0x35E0
	pidIpmOutboxEntryID     = 0x35E2
	pidIpmWastebasketEntry  = 0x35E3
	pidIpmSentMailEntryID   = 0x35E4
	pidIpmAppointmentEntry  = 0x36D0
	pidIpmContactEntryID    = 0x36D1
	pidIpmJournalEntryID    = 0x36D2
	pidIpmNoteEntryID       = 0x36D3
	pidIpmTaskEntryID       = 0x36D4
	pidIpmDraftsEntryID     = 0x36D7
	pidImportance           = 0x0017
	msgflagRead             = 0x01
	msgflagUnsent           = 0x08
	maxMarkerItems          = 1 << 22
	markerMagic             = "pst-marker-2\n"
	pidLtpRowVer            = 0x67F3
	pidSearchKey            = 0x300B
	syntheticFolderIDPrefix = "pst:"
)

// entryRoles are the well-known roles named by entry ids of the store (first four) and
// of the root folder or the IPM subtree's folders (the others).
var entryRoles = []struct {
	id   uint16
	role string
}{
	{pidIpmOutboxEntryID, "outbox"}, {pidIpmWastebasketEntry, "deleteditems"}, {pidIpmSentMailEntryID, "sentitems"},
	{pidIpmAppointmentEntry, "calendar"}, {pidIpmContactEntryID, "contacts"}, {pidIpmJournalEntryID, "journal"},
	{pidIpmNoteEntryID, "notes"}, {pidIpmTaskEntryID, "tasks"}, {pidIpmDraftsEntryID, "drafts"},
}

// nameRoles are the roles of the IPM subtree's top folders by (English) name, for the
// stores whose entry ids do not name them (the inbox is never named by one in a PST).
var nameRoles = map[string]string{
	"inbox": "inbox", "sent items": "sentitems", "drafts": "drafts", "deleted items": "deleteditems",
	"calendar": "calendar", "contacts": "contacts", "tasks": "tasks", "junk e-mail": "junkemail",
	"junk email": "junkemail", "outbox": "outbox", "notes": "notes", "journal": "journal",
}

// Source exports one mailbox from a set of PST/OST files ([export.Source]): the folders
// of each file's IPM subtree, below the mailbox root (prefix "") or below a folder path
// such as "Archives/<name>"; items are the messages of the contents tables, mail as
// rebuilt by [Message.EML]. IDs come from content, not from node ids, so that a new
// export of the same mailbox (a second ExMerge run writes a new file where every nid
// differs) keeps them: a folder is "pst:<file>:<hash of its path>" (the prefix and the
// display names from the IPM subtree down), an item "<folder ID>/<hash of its key>"
// (ids.go), where <file> identifies the file by its base name (its cleaned path when
// two share one). The delta markers are the sets of IDs with a hash of what the Source
// reads of each. Safe for concurrent use: the reads of one file are serialised.
type Source struct {
	mailbox, address string
	prefix           []string
	files            []*sourceFile
	dir              *directory.Snapshot
}

type sourceFile struct {
	mu   sync.Mutex
	id   string
	path string
	f    *File
	// keywords is the property id of the named property Keywords (categories), 0 when none.
	keywords uint16
	// names maps the numeric named properties to the file's property ids.
	names map[namedKey]uint16
	// nids maps the folder and item IDs listed so far to their node ids (ids.go).
	nids map[string]uint32
	// indexed is whether the folder IDs are in nids.
	indexed bool
}

var _ export.Source = (*Source)(nil)

// NewSource opens the files of mailbox (address is its primary SMTP address, what the
// engine calls the mailbox) and exports their folders below prefix: "" for the mailbox
// root, "Archives/<name>" for a personal archive. dir is what Directory returns (nil:
// an empty directory; the directory comes from AD or an LDIF file). Close closes the files.
func NewSource(mailbox, address, prefix string, paths []string, dir *directory.Snapshot) (*Source, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("pst: mailbox %s: no files", mailbox)
	}
	s := &Source{mailbox: mailbox, address: address, dir: dir}
	for _, p := range strings.Split(prefix, "/") {
		if p = strings.TrimSpace(p); p != "" {
			s.prefix = append(s.prefix, p)
		}
	}
	bases := map[string]int{}
	for _, p := range paths {
		bases[strings.ToLower(filepath.Base(p))]++
	}
	seen := map[string]bool{}
	for _, p := range paths {
		name := strings.ToLower(filepath.Base(p))
		if bases[name] > 1 {
			name = filepath.ToSlash(filepath.Clean(p))
		}
		sum := sha256.Sum256([]byte(name))
		id := hex.EncodeToString(sum[:6])
		if seen[id] {
			s.Close()
			return nil, fmt.Errorf("pst: %s: named twice for mailbox %s", p, mailbox)
		}
		seen[id] = true
		f, err := Open(p)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("pst: %s: %w", p, err)
		}
		sf := &sourceFile{id: id, path: p, f: f, names: map[namedKey]uint16{}, nids: map[string]uint32{}}
		f.streamLock = &sf.mu
		if names, _ := f.NamedProps(); names != nil {
			for pid, np := range names {
				if np.GUID == psPublicStrings && np.Name == "Keywords" {
					sf.keywords = pid
				}
				if np.Name == "" {
					sf.names[namedKey{np.GUID, np.LID}] = pid
				}
			}
		}
		s.files = append(s.files, sf)
	}
	return s, nil
}

// Close closes the files.
func (s *Source) Close() error { return closeFiles(s.files) }

// PasswordFiles lists the files that have a PST password ([File.Password]): they are
// exported anyway, and the caller says so.
func (s *Source) PasswordFiles() []string {
	var out []string
	for _, sf := range s.files {
		sf.mu.Lock()
		if sf.f.Password() {
			out = append(out, sf.path)
		}
		sf.mu.Unlock()
	}
	return out
}

// closeFiles closes files and returns the first error.
func closeFiles(files []*sourceFile) error {
	var err error
	for _, sf := range files {
		if e := sf.f.Close(); err == nil {
			err = e
		}
	}
	return err
}

// Directory returns the directory given to NewSource, an empty one when that was nil.
func (s *Source) Directory(context.Context) (*directory.Snapshot, error) { return orEmpty(s.dir), nil }

func orEmpty(dir *directory.Snapshot) *directory.Snapshot {
	if dir == nil {
		return &directory.Snapshot{}
	}
	return dir
}

// Permissions returns nil: a PST holds no folder permissions worth migrating.
func (s *Source) Permissions(context.Context, string, string) (*format.ACL, error) { return nil, nil }

func (s *Source) checkMailbox(mailbox string) error {
	if mailbox != s.address && mailbox != s.mailbox {
		return fmt.Errorf("pst: mailbox %s is not %s", mailbox, s.address)
	}
	return nil
}

// rootID is the ID of the mailbox root the folder paths start below.
const rootID = "pst-root"

// prefixID is the ID of the prefix folder of the first n path elements: the same for
// every Source exporting into the same folder path.
func (s *Source) prefixID(n int) string {
	if n == 0 {
		return rootID
	}
	return "pst-folder:" + strings.Join(s.prefix[:n], "/")
}

// Hierarchy lists the folders of the IPM subtrees; the marker holds each folder's ID
// with a hash of its name, parent, class and count, so that a second round on
// unchanged files reports nothing.
func (s *Source) Hierarchy(ctx context.Context, mailbox string, marker []byte) (*export.Hierarchy, error) {
	if err := s.checkMailbox(mailbox); err != nil {
		return nil, err
	}
	prev, err := parseMarker(marker)
	if err != nil {
		return nil, err
	}
	h := &export.Hierarchy{Roles: map[string]string{rootID: export.RoleRoot}}
	var folders []export.Folder
	for i, name := range s.prefix {
		parent := s.prefixID(i)
		folders = append(folders, export.Folder{ID: s.prefixID(i + 1), ParentID: parent, DisplayName: name, Class: "IPF.Note"})
	}
	top := s.prefixID(len(s.prefix))
	for _, sf := range s.files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fs, roles, err := sf.hierarchy(top, s.prefix)
		if err != nil {
			return nil, fmt.Errorf("pst: %s: %w", sf.path, err)
		}
		folders = append(folders, fs...)
		if len(s.prefix) == 0 { // an archive's Inbox is a folder of the archive, not the inbox
			for id, r := range roles {
				h.Roles[id] = r
			}
		}
	}
	cur := map[string]entry{}
	for _, f := range folders {
		e := entry{hash: hashStrings(f.ParentID, f.DisplayName, f.Class, f.Type, strconv.Itoa(f.Total))}
		cur[f.ID] = e
		if old, ok := prev[f.ID]; !ok {
			h.Changes = append(h.Changes, export.FolderChange{Kind: export.Create, Folder: f})
		} else if old.hash != e.hash {
			h.Changes = append(h.Changes, export.FolderChange{Kind: export.Update, Folder: f})
		}
	}
	for _, id := range sortedKeys(prev) {
		if _, ok := cur[id]; !ok {
			h.Changes = append(h.Changes, export.FolderChange{Kind: export.Delete, Folder: export.Folder{ID: id}})
		}
	}
	h.Marker = encodeMarker(cur)
	return h, nil
}

// hierarchy returns the folders of the file's IPM subtree, its top folders parented at
// top, and their roles.
func (sf *sourceFile) hierarchy(top string, prefix []string) ([]export.Folder, map[string]string, error) {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	root, err := sf.f.Folders(func(error) {}) // unreadable folders are left out; Inspect lists them
	if err != nil {
		return nil, nil, err
	}
	store, _ := sf.f.NodePC(NIDMessageStore)
	ipm := findSubtree(root, entryNID(store, pidIpmSubtreeEntryID))
	roles := map[uint32]string{}
	for i, er := range entryRoles {
		props := []Props{store}
		if i >= 3 {
			props = []Props{root.Props}
			for _, c := range ipm.Children {
				if strings.EqualFold(c.Name, "inbox") {
					props = append(props, c.Props)
				}
			}
		}
		for _, ps := range props {
			if nid := entryNID(ps, er.id); nid != 0 && roles[nid] == "" {
				roles[nid] = er.role
			}
		}
	}
	taken := map[string]bool{}
	for _, r := range roles {
		taken[r] = true
	}
	for _, c := range ipm.Children {
		if r := nameRoles[strings.ToLower(c.Name)]; r != "" && !taken[r] && roles[c.NID] == "" {
			roles[c.NID], taken[r] = r, true
		}
	}
	var out []export.Folder
	outRoles := map[string]string{}
	ids := folderIDs(sf.id, prefix, ipm)
	for id, nid := range ids {
		sf.nids[id] = nid
	}
	sf.indexed = true
	byNID := make(map[uint32]string, len(ids))
	for id, nid := range ids {
		byNID[nid] = id
	}
	var walk func(fo *Folder, parent string, depth int)
	walk = func(fo *Folder, parent string, depth int) {
		if depth > maxFolderDepth {
			return
		}
		for _, c := range fo.Children {
			id, ok := byNID[c.NID]
			if !ok {
				continue
			}
			class := c.Class
			if class == "" {
				class = "IPF.Note"
			}
			f := export.Folder{ID: id, ParentID: parent, DisplayName: c.Name, Class: class, Total: c.Count}
			if c.NID&0x1F == nidTypeSearchFolder {
				f.Type = "SearchFolder"
			}
			out = append(out, f)
			if r := roles[c.NID]; r != "" {
				outRoles[id] = r
			}
			walk(c, id, depth+1)
		}
	}
	walk(ipm, top, 0)
	return out, outRoles, nil
}

// findSubtree returns the IPM subtree: the folder nid, else the first folder named
// IPM_SUBTREE outside "Root - Public" (OST files), else the root's only child, else root.
func findSubtree(root *Folder, nid uint32) *Folder {
	var found *Folder
	var walk func(fo *Folder, depth int)
	walk = func(fo *Folder, depth int) {
		for _, c := range fo.Children {
			if found != nil || depth > 2 {
				return
			}
			if nid != 0 && c.NID == nid {
				found = c
				return
			}
			if nid == 0 && c.Name == "IPM_SUBTREE" && !strings.EqualFold(fo.Name, "Root - Public") {
				found = c
				return
			}
			walk(c, depth+1)
		}
	}
	walk(root, 0)
	if found == nil && nid != 0 {
		return findSubtree(root, 0)
	}
	if found != nil {
		return found
	}
	if len(root.Children) == 1 {
		return root.Children[0]
	}
	return root
}

// entryNID is the nid of the folder whose entry id is property id of ps, 0 when absent.
func entryNID(ps Props, id uint16) uint32 {
	p, ok := ps.Get(id)
	if !ok || len(p.Value) != 24 {
		return 0
	}
	return binary.LittleEndian.Uint32(p.Value[20:])
}

// kindOf is the item kind of a message class.
func kindOf(class string) export.ItemKind {
	c := strings.ToLower(class)
	switch {
	case strings.HasPrefix(c, "ipm.contact"), strings.HasPrefix(c, "ipm.distlist"):
		return export.KindContact
	case strings.HasPrefix(c, "ipm.appointment"):
		return export.KindCalendar
	case strings.HasPrefix(c, "ipm.task") && !strings.HasPrefix(c, "ipm.taskrequest"):
		return export.KindTask
	}
	return export.KindMail
}

// Changes compares the folder's contents table with the marker: each row's ID with a
// hash of its properties (the read flag apart, so that reading a message is a
// ReadFlagChange).
func (s *Source) Changes(ctx context.Context, mailbox, folderID string, marker []byte, fn func(export.ItemChange) error) ([]byte, error) {
	if err := s.checkMailbox(mailbox); err != nil {
		return nil, err
	}
	prev, err := parseMarker(marker)
	if err != nil {
		return nil, err
	}
	sf, _, ok := s.parseID(folderID)
	if !ok { // a prefix folder: no items
		return encodeMarker(nil), nil
	}
	rows, err := s.folderItems(sf, folderID)
	if rows == nil && err != nil {
		return nil, fmt.Errorf("pst: %s: contents table of folder %s: %w", sf.path, folderID, err)
	}
	cur, err := diffItems(ctx, prev, rows, fn)
	if err != nil {
		return nil, err
	}
	return encodeMarker(cur), nil
}

// diffItems reports the rows against the marker's entries prev: new IDs as creations,
// another hash as an update, only another read state as a ReadFlagChange, IDs gone as
// deletions; it returns the entries of the next marker.
func diffItems(ctx context.Context, prev map[string]entry, rows []itemRow, fn func(export.ItemChange) error) (map[string]entry, error) {
	cur := map[string]entry{}
	for _, r := range rows {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		id := r.id
		e := entry{hash: r.hash, read: r.read}
		cur[id] = e
		ref := export.ItemRef{ID: id, Version: e.hash, Kind: kindOf(r.class)}
		c := export.ItemChange{Ref: ref}
		old, had := prev[id]
		switch {
		case !had:
			c.Kind = export.Create
		case old.hash != e.hash:
			c.Kind = export.Update
		case old.read != e.read:
			c = export.ItemChange{Kind: export.ReadFlagChange, Ref: export.ItemRef{ID: id}, IsRead: e.read}
		default:
			continue
		}
		if err := fn(c); err != nil {
			return nil, err
		}
	}
	for _, id := range sortedKeys(prev) {
		if _, ok := cur[id]; !ok {
			if err := fn(export.ItemChange{Kind: export.Delete, Ref: export.ItemRef{ID: id}}); err != nil {
				return nil, err
			}
		}
	}
	return cur, nil
}

// hashRow hashes a contents-table row without the read flag of PidTagMessageFlags and
// without the row id and row version ([MS-PST] 2.4.4.5.1: the node id, and a counter of
// the file), which differ in every new export of the same mailbox.
func hashRow(r Props) string {
	tags := make([]uint32, 0, len(r))
	for t := range r {
		tags = append(tags, t)
	}
	slices.Sort(tags)
	h := sha256.New()
	var b [8]byte
	for _, t := range tags {
		if id := uint16(t >> 16); id == PidLtpRowID || id == pidLtpRowVer {
			continue
		}
		v := r[t].Value
		if uint16(t>>16) == PidMessageFlags && len(v) >= 1 {
			v = append([]byte{v[0] &^ msgflagRead}, v[1:]...)
		}
		binary.LittleEndian.PutUint32(b[:4], t)
		binary.LittleEndian.PutUint32(b[4:], uint32(len(v)))
		h.Write(b[:])
		h.Write(v)
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

func hashStrings(ss ...string) string {
	h := sha256.New()
	for _, s := range ss {
		fmt.Fprintf(h, "%d:%s", len(s), s)
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// entry is one ID of a marker: its hash and read state.
type entry struct {
	hash string
	read bool
}

// encodeMarker writes a marker: a magic line, then one "id hash read" line per ID, sorted.
func encodeMarker(m map[string]entry) []byte {
	var b bytes.Buffer
	b.WriteString(markerMagic)
	for _, id := range sortedKeys(m) {
		r := "0"
		if m[id].read {
			r = "1"
		}
		b.WriteString(id + " " + m[id].hash + " " + r + "\n")
	}
	return b.Bytes()
}

// parseMarker reads a marker of encodeMarker; nil is the empty set.
func parseMarker(b []byte) (map[string]entry, error) {
	m := map[string]entry{}
	if b == nil {
		return m, nil
	}
	rest, ok := bytes.CutPrefix(b, []byte(markerMagic))
	if !ok || !utf8.Valid(rest) {
		return nil, export.MarkerRejected(errors.New("pst: not a PST delta marker"))
	}
	for line := range strings.SplitSeq(string(rest), "\n") {
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 || len(m) >= maxMarkerItems {
			return nil, export.MarkerRejected(fmt.Errorf("pst: delta marker line %.80q", line))
		}
		m[f[0]] = entry{hash: f[1], read: f[2] == "1"}
	}
	return m, nil
}

func sortedKeys(m map[string]entry) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Fetch reads each message when the engine opens it; mail becomes RFC 5322 through
// [Message.EML] with its flags as attributes; contacts, distribution lists, calendar
// items and tasks go through the converters of package format (items.go).
func (s *Source) Fetch(ctx context.Context, mailbox string, kind export.ItemKind, refs []export.ItemRef, fn func(*export.Item) error) error {
	if err := s.checkMailbox(mailbox); err != nil {
		return err
	}
	for _, r := range refs {
		if err := ctx.Err(); err != nil {
			return err
		}
		x := &export.Item{ID: r.ID, Version: r.Version}
		sf, nid, ok := s.itemNID(r.ID)
		var m *Message
		var merr error
		if !ok {
			x.Missing = fmt.Errorf("pst: no item %q", r.ID)
		} else {
			sf.mu.Lock()
			m, merr = sf.f.Message(nid)
			sf.mu.Unlock()
		}
		if m != nil {
			x.Class = m.Props.Str(PidMessageClass)
			x.Received = propTime(m.Props, PidDeliveryTime)
			if x.Received.IsZero() {
				x.Received = propTime(m.Props, PidClientSubmitTime)
			}
			x.Modified = propTime(m.Props, PidLastModified)
		}
		id := r.ID
		x.Open = func() (*export.Content, error) { return s.convert(sf, id, kind, m, merr) }
		if err := fn(x); err != nil {
			return err
		}
	}
	return nil
}

// errRTFOnly is why a message whose only body is RTF without encapsulated HTML or text
// is recorded as rebuilt (counted in the round's summary under this reason).
var errRTFOnly = &export.Problem{Reason: "pst RTF-only body: text extracted, RTF kept as rtf-body.rtf"}

func (s *Source) convert(sf *sourceFile, id string, kind export.ItemKind, m *Message, merr error) (*export.Content, error) {
	if m == nil {
		return nil, export.Fail("pst message unreadable", merr)
	}
	var resolve func(string) (string, bool)
	if s.dir != nil {
		resolve = s.dir.ResolveSMTP
	}
	if kind != export.KindMail {
		return s.convertItem(sf, id, kind, m, merr)
	}
	dropped, derr := m.dropDamaged(0)
	r, streamed, err := m.EMLStream(resolve)
	if err != nil && merr == nil {
		merr = err
	}
	c := &export.Content{Kind: archive.KindMessage, Attrs: map[string]string{}}
	if streamed { // attachments of more than a block stream into the archive
		c.Body = &failingStream{r: r, sf: sf, nid: m.NID}
	} else if c.Data, err = io.ReadAll(r); err != nil && merr == nil {
		merr = err
	}
	format.MailAttrs(c.Attrs, sf.meta(m))
	switch {
	case len(dropped) > 0: // archived without them, each named in the summary
		c.Rebuilt, c.RebuiltWhy = true, &export.Problem{Reason: sf.unreadable(m.NID, "archived without its damaged attachment "+strings.Join(dropped, ", ")), Err: derr}
	case merr != nil: // parts of the message could not be read: what could is archived
		c.Rebuilt, c.RebuiltWhy = true, merr
	case m.RTFUnfaithful():
		c.Rebuilt, c.RebuiltWhy = true, errRTFOnly
	}
	return c, nil
}

// meta is what format.MailAttrs records of a message.
func (sf *sourceFile) meta(m *Message) format.MailMeta {
	ps := m.Props
	flags, _ := ps.Get(PidMessageFlags)
	status, _ := ps.Get(PidFlagStatus)
	meta := format.MailMeta{
		ItemClass: ps.Str(PidMessageClass),
		Read:      flags.Int()&msgflagRead != 0,
		Draft:     flags.Int()&msgflagUnsent != 0,
		Flagged:   status.Int() == 2,
		Received:  propTime(ps, PidDeliveryTime),
		Sent:      propTime(ps, PidClientSubmitTime),
		MessageID: strings.TrimSpace(ps.Str(PidInternetMessageID)),
	}
	switch status.Int() {
	case 1:
		meta.FlagStatus = format.FlagComplete
	case 2:
		meta.FlagStatus = format.FlagFlagged
	}
	if imp, ok := ps.Get(pidImportance); ok {
		meta.Importance = [...]string{"Low", "Normal", "High"}[min(max(imp.Int(), 0), 2)]
	}
	if size, ok := ps.Get(PidMessageSize); ok {
		meta.Size = size.Int()
	}
	if sf.keywords != 0 {
		if p, ok := ps.Get(sf.keywords); ok {
			for _, v := range p.Multi() {
				var s string
				if p.Type() == PtMulti|PtUnicode {
					s = utf16le(v)
				} else {
					s = string(trimNUL(v))
				}
				if s != "" && len(meta.Categories) < 256 {
					meta.Categories = append(meta.Categories, s)
				}
			}
		}
	}
	return meta
}
