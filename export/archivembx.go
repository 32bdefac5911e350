package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/iemproject/iem/internal/report"
)

// An ArchiveSource is a Source whose mailboxes may have an archive
// mailbox (Exchange 2010 and later: the personal / In-Place archive). The
// engine exports the archive as part of the same mailbox: its folders are
// folder entries with the attribute side=archive (SPEC.md §4), their paths
// relative to the archive's root, and its hierarchy has a delta marker of
// its own (Folder [ArchiveMarker]); its folders, items and permissions go
// through Changes, Fetch and Permissions as the primary's do, by folder ID.
type ArchiveSource interface {
	Source
	// ArchiveHierarchy is Hierarchy for the archive mailbox of mailbox;
	// the folder of role [RoleArchiveRoot] is the one paths start below.
	// It returns an error matching [ErrNoArchive] when the mailbox has no
	// archive, and one matching [ErrNotSupported] when the server cannot
	// have archives (its text says why; the summary shows it).
	ArchiveHierarchy(ctx context.Context, mailbox string, marker []byte) (*Hierarchy, error)
}

// The archive side of a mailbox.
const (
	// SideArchive is the value of the side attribute (and JSON key) of
	// the folder entries of an archive mailbox.
	SideArchive = "archive"
	// RoleArchiveRoot is the role of the archive's top folder
	// (EWS archivemsgfolderroot).
	RoleArchiveRoot = "archivemsgfolderroot"
	// ArchiveMarker is the Folder of the delta entry holding the marker of
	// the archive's hierarchy (no source folder ID starts with "#").
	ArchiveMarker = "#archive"
)

var (
	// ErrNoArchive: the mailbox has no archive mailbox.
	ErrNoArchive = errors.New("export: no archive mailbox")
	// ErrNotSupported: the server (its version) does not support what was
	// asked; the engine records the reason and goes on.
	ErrNotSupported = errors.New("export: not supported by the server")
)

// NoArchive returns err marked as matching [ErrNoArchive].
func NoArchive(err error) error { return &marked{err, ErrNoArchive} }

// NotSupported returns err marked as matching [ErrNotSupported].
func NotSupported(err error) error { return &marked{err, ErrNotSupported} }

// exportArchive exports the archive mailbox of mbx, if the Source has
// archives, counting into st.Archive; a server that cannot have archives
// is recorded in st.ArchiveSkipped.
func (e *engine) exportArchive(ctx context.Context, st *MailboxStats, mbx string) error {
	as, ok := e.src.(ArchiveSource)
	if !ok {
		return nil
	}
	ast := &MailboxStats{Mailbox: mbx, Filtered: map[string]int{}, Skipped: map[string]int{}, Failed: map[string]int{}, job: st.job}
	err := e.exportTree(ctx, ast, mbx, side{name: SideArchive, marker: ArchiveMarker, root: RoleArchiveRoot, hierarchy: as.ArchiveHierarchy})
	switch {
	case errors.Is(err, ErrNoArchive):
		return nil
	case errors.Is(err, ErrNotSupported):
		e.statsMu.Lock()
		st.ArchiveSkipped = err.Error()
		e.statsMu.Unlock()
		e.log.Info("archive mailbox not asked for", "mailbox", mbx, "reason", err)
		return nil
	}
	e.statsMu.Lock()
	st.Archive = ast
	e.statsMu.Unlock()
	return err
}

// side is one folder tree of a mailbox: the primary or the archive.
type side struct {
	name      string // "" (primary) or SideArchive
	marker    string // Folder of its hierarchy's delta entry
	root      string // role of the folder paths start below
	hierarchy func(ctx context.Context, mailbox string, marker []byte) (*Hierarchy, error)
}

// archiveTotals are the summary's archive counts of a round.
type archiveTotals struct {
	archives, exported, found, folders int
	notAsked                           map[string]int // reason → mailboxes
}

// add counts the archive of s and returns its exported items (the
// summary table's archive column).
func (a *archiveTotals) add(s *MailboxStats) int {
	if s.ArchiveSkipped != "" {
		if a.notAsked == nil {
			a.notAsked = map[string]int{}
		}
		a.notAsked[s.ArchiveSkipped]++
	}
	if s.Archive == nil {
		return 0
	}
	a.archives++
	a.exported += s.Archive.Exported
	a.found += s.Archive.Found
	a.folders += s.Archive.Folders
	return s.Archive.Exported
}

// print writes the archive line of the summary: what the archives held,
// and which mailboxes' archives were not asked for and why.
func (a *archiveTotals) print(w io.Writer) {
	if a.archives > 0 {
		fmt.Fprintf(w, "archive mailboxes: %d, %d items found, %d exported, %d folders written\n", a.archives, a.found, a.exported, a.folders)
	}
	reasons := make([]string, 0, len(a.notAsked))
	for r := range a.notAsked {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		fmt.Fprintf(w, "archive mailboxes not asked for on %d mailboxes: %s\n", a.notAsked[r], r)
	}
}

// archiveProblems are the archive's skipped and failed items, as problems
// of the mailbox's row (kind "archive skipped", "archive failed").
func archiveProblems(s *MailboxStats) []report.Problem {
	if s.Archive == nil {
		return nil
	}
	ps := append(report.ProblemsOf("archive skipped", s.Archive.Skipped), report.ProblemsOf("archive failed", s.Archive.Failed)...)
	return append(ps, report.ProblemsOf("filtered", s.Archive.Filtered)...)
}
