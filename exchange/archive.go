package exchange

import (
	"context"
	"errors"
	"fmt"

	"github.com/iemproject/iem/export"
)

var _ export.ArchiveSource = (*Source)(nil)

// CodeFolderNotFound is the response code of a folder that is not there.
const CodeFolderNotFound = "ErrorFolderNotFound"

// ArchiveVersion is the first request version whose schema has the
// archive distinguished folder ids (archiveroot, archivemsgfolderroot,
// archivedeleteditems): exchangelib gates them from Exchange 2010 SP1
// [V ews.md §2.10 EXLIB version.py]; archiveinbox comes with
// Exchange2013_SP1 (build ≥ 15.00.0913.09 [V ews.md §2.10]; the EWS Managed
// API's WellKnownFolderName.ArchiveInbox says Exchange2013_SP1 [V issue
// ecederstrand/exchangelib#431]). Exchange 2007 has no archive mailboxes.
const ArchiveVersion = Exchange2010SP1

// archiveRoles are the archive's distinguished folders resolved per
// mailbox, the root first, with the version that has each.
var archiveRoles = []struct {
	id string
	v  Version
}{{"archivemsgfolderroot", ArchiveVersion}, {"archivedeleteditems", ArchiveVersion}, {"archiveinbox", Exchange2013SP1}}

// ArchiveHierarchy is Hierarchy for the archive mailbox: one GetFolder for
// its distinguished folders, then SyncFolderHierarchy below
// archivemsgfolderroot. A server older than [ArchiveVersion] is not asked
// (its schema has no archive folder ids: export.ErrNotSupported, with the
// version in the text); a mailbox whose archivemsgfolderroot is not found
// has no archive (export.ErrNoArchive; that a real server answers a
// mailbox without archive with ErrorFolderNotFound is [I]).
func (s *Source) ArchiveHierarchy(ctx context.Context, mailbox string, mark []byte) (*export.Hierarchy, error) {
	v, err := s.c.RequestVersion(ctx)
	if err != nil {
		return nil, err
	}
	if v < ArchiveVersion {
		return nil, export.NotSupported(fmt.Errorf("archive mailboxes need Exchange 2010 SP1 or later; the server speaks %s", v))
	}
	var ids []string
	for _, r := range archiveRoles {
		if v >= r.v {
			ids = append(ids, r.id)
		}
	}
	dfs, derrs, err := s.c.GetFolders(ctx, mailbox, ids)
	if err != nil {
		return nil, fmt.Errorf("get archive folders: %w", err)
	}
	var ee *Error
	if err := derrs[0]; err != nil {
		if errors.As(err, &ee) && ee.Code == CodeFolderNotFound {
			return nil, export.NoArchive(err)
		}
		return nil, fmt.Errorf("get folder archivemsgfolderroot: %w", err)
	}
	h := &export.Hierarchy{Roles: map[string]string{}}
	for i, id := range ids {
		if derrs[i] == nil {
			h.Roles[dfs[i].ID] = id
		}
	}
	changes, state, err := s.c.syncFolderHierarchy(ctx, mailbox, "archivemsgfolderroot", string(mark))
	if err != nil {
		if errors.Is(err, ErrInvalidSyncState) {
			return nil, marker(err)
		}
		return nil, fmt.Errorf("sync archive folder hierarchy: %w", err)
	}
	h.Marker = []byte(state)
	for _, c := range changes {
		h.Changes = append(h.Changes, export.FolderChange{Kind: changeKindOf(c.Kind), Folder: exportFolder(c.Folder)})
	}
	return h, nil
}

// archiveCount returns the folders and items of mailbox's archive mailbox
// (0, 0 when it has none or the server cannot have one).
func (s *Source) archiveCount(ctx context.Context, mailbox string) (folders, items int, err error) {
	v, err := s.c.RequestVersion(ctx)
	if err != nil || v < ArchiveVersion {
		return 0, 0, err
	}
	changes, _, err := s.c.syncFolderHierarchy(ctx, mailbox, "archivemsgfolderroot", "")
	var ee *Error
	if errors.As(err, &ee) && ee.Code == CodeFolderNotFound {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("archive: %w", err)
	}
	for _, c := range changes {
		items += c.Folder.TotalCount
	}
	return len(changes), items, nil
}
