package replay

import (
	"fmt"
	"io"
	"strings"

	"github.com/iemproject/iem/archive"
)

// Archive mailboxes: iem-export writes the folders of a mailbox's archive
// mailbox as folder entries with side=archive, their paths below the
// archive's root (SPEC.md §4). They are imported into the same account,
// below a folder of their own: DefaultArchiveFolder ("Archive/..."), the
// folder Options.ArchiveMailbox names, or not at all (ArchiveSkip).
const (
	DefaultArchiveFolder = "Archive"
	ArchiveSkip          = "skip"
	sideArchive          = "archive" // export.SideArchive
)

// skippedArchive is the reason archive items are counted as skipped with
// --archive-mailbox skip.
const skippedArchive = "archive mailbox left out (--archive-mailbox skip)"

// ParseArchiveMailbox checks an --archive-mailbox value: "skip", or a
// folder path of names separated by "/" ("" is DefaultArchiveFolder). It
// returns the path, or nil for skip.
func ParseArchiveMailbox(s string) ([]string, error) {
	switch s {
	case "":
		return []string{DefaultArchiveFolder}, nil
	case ArchiveSkip:
		return nil, nil
	}
	path := strings.Split(s, "/")
	for _, p := range path {
		if strings.TrimSpace(p) == "" || strings.ContainsAny(p, "\\\x00") {
			return nil, fmt.Errorf("%q is not skip or a folder path such as Archive or Old mail/Archive", s)
		}
	}
	if strings.EqualFold(path[0], "INBOX") && len(path) == 1 {
		return nil, fmt.Errorf("%q would put the archive into the INBOX itself; name a folder of its own", s)
	}
	return path, nil
}

// archiveParent returns the target the folder r is placed below when r
// is a top folder of the archive mailbox (its parent, the archive's root,
// is not an archived folder): the archive's folder, or a skipped target
// with --archive-mailbox skip. For any other folder it returns parent.
func (im *Engine) archiveParent(r *FolderRecord, recs map[string]*FolderRecord, parent *folderInfo) *folderInfo {
	if r.Side != sideArchive {
		return parent
	}
	if p, ok := recs[r.ParentID]; ok && p.Side == sideArchive {
		return parent
	}
	if im.archivePath == nil {
		return &folderInfo{skip: true, archive: true}
	}
	return &folderInfo{path: append([]string(nil), im.archivePath...), archive: true}
}

// archiveRole is the role an archive folder is named by: the archive's
// Inbox and Deleted Items keep their display names below the archive's
// folder (they are not the account's Inbox and Trash); other roles
// (archive recoverable items) are mapped as for the primary.
func archiveRole(r *FolderRecord) string {
	if r.Side == sideArchive && (r.Distinguished == "archiveinbox" || r.Distinguished == "archivedeleteditems") {
		return ""
	}
	return r.Distinguished
}

// countArchive counts an entry of an archive folder in st (Archive), or
// as skipped when the archive is left out; it reports whether e is such
// an entry left out.
func countArchive(st *MailboxStats, e *archive.Entry, fi *folderInfo) (leftOut bool) {
	if fi == nil || !fi.archive {
		return false
	}
	if fi.skip {
		st.Skipped[skippedArchive]++
		return true
	}
	st.Archive++
	return false
}

// printArchive writes the summary's archive line.
func printArchive(w io.Writer, items, mailboxes int, path []string) {
	if items == 0 {
		return
	}
	fmt.Fprintf(w, "archive mailboxes: %d items of %d mailboxes' archives, below %s/\n", items, mailboxes, strings.Join(path, "/"))
}

// archiveCheck counts Check's messages of archive mailboxes.
type archiveCheck struct {
	keys         map[string]bool // target folder keys of archive folders
	wanted, seen int
}

func (a *archiveCheck) folder(k string, fi *folderInfo) {
	if fi.archive {
		if a.keys == nil {
			a.keys = map[string]bool{}
		}
		a.keys[k] = true
	}
}

func (a *archiveCheck) want(k string) {
	if a.keys[k] {
		a.wanted++
	}
}

func (a *archiveCheck) same(k string, n int) {
	if a.keys[k] {
		a.seen += n
	}
}

func (a *archiveCheck) print(w io.Writer) {
	if a.wanted > 0 {
		fmt.Fprintf(w, "check: archive mailboxes: %d of %d messages same\n", a.seen, a.wanted)
	}
}
