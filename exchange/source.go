package exchange

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/exchange/directory"
	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/format"
)

// distinguishedRoles lists the distinguished folder ids resolved per mailbox, so
// folders are mapped by role, not by (localized) display name [ews.md §2.10].
var distinguishedRoles = []string{"msgfolderroot", "inbox", "sentitems", "deleteditems", "drafts", "junkemail", "outbox",
	"calendar", "contacts", "tasks", "notes", "journal"}

// Source adapts a Client to the export engine ([export.Source] and
// [export.PublicSource]): hierarchy and item changes come from
// SyncFolderHierarchy and SyncFolderItems (their sync states are the delta
// markers), items from GetItems, converted with package format (MIME as
// it is, contacts to vCard, calendar items and tasks to iCalendar), and
// public folders from FindFolder/FindItem.
type Source struct {
	c   *Client
	dir *directory.Snapshot
}

// NewSource returns the export Source over c; dir is the directory the
// conversions resolve addresses in, and what Directory returns.
func NewSource(c *Client, dir *directory.Snapshot) *Source { return &Source{c: c, dir: dir} }

var _ export.PublicSource = (*Source)(nil)

// Directory returns the directory given to NewSource.
func (s *Source) Directory(context.Context) (*directory.Snapshot, error) { return s.dir, nil }

func marker(err error) error {
	if errors.Is(err, ErrInvalidSyncState) {
		return export.MarkerRejected(err)
	}
	return err
}

func changeKindOf(k ChangeKind) export.ChangeKind {
	switch k {
	case Create:
		return export.Create
	case Update:
		return export.Update
	case Delete:
		return export.Delete
	}
	return export.ReadFlagChange
}

func itemKindOf(k ItemKind) export.ItemKind {
	switch k {
	case KindContact:
		return export.KindContact
	case KindCalendar:
		return export.KindCalendar
	case KindTask:
		return export.KindTask
	}
	return export.KindMail
}

func ewsKind(k export.ItemKind) ItemKind {
	switch k {
	case export.KindContact:
		return KindContact
	case export.KindCalendar:
		return KindCalendar
	case export.KindTask:
		return KindTask
	}
	return KindMail
}

func exportFolder(f Folder) export.Folder {
	return export.Folder{ID: f.ID, ParentID: f.ParentID, DisplayName: f.DisplayName, Class: f.Class, Type: f.Type, Total: f.TotalCount}
}

// Hierarchy runs SyncFolderHierarchy and, beside it, one GetFolder for the
// roles of the distinguished folders.
func (s *Source) Hierarchy(ctx context.Context, mailbox string, mark []byte) (*export.Hierarchy, error) {
	// One request for all roles: a later round on an unchanged mailbox is
	// mostly round trips, and this was one per role.
	var dfs []Folder
	var derrs []error
	var derr error
	got := make(chan struct{})
	go func() {
		defer close(got)
		dfs, derrs, derr = s.c.GetFolders(ctx, mailbox, distinguishedRoles)
	}()
	changes, state, err := s.c.SyncFolderHierarchy(ctx, mailbox, string(mark))
	<-got
	if derr != nil {
		return nil, fmt.Errorf("get distinguished folders: %w", derr)
	}
	h := &export.Hierarchy{Roles: map[string]string{}, Marker: []byte(state)}
	for i, d := range distinguishedRoles {
		if err := derrs[i]; err != nil {
			var ee *Error
			if errors.As(err, &ee) { // e.g. no journal folder: not fatal
				if s.c.log != nil {
					s.c.log.Debug("distinguished folder missing", "mailbox", mailbox, "folder", d, "err", err)
				}
				continue
			}
			return nil, fmt.Errorf("get folder %s: %w", d, err)
		}
		h.Roles[dfs[i].ID] = d
	}
	if err != nil {
		if errors.Is(err, ErrInvalidSyncState) {
			return nil, marker(err)
		}
		return nil, fmt.Errorf("sync folder hierarchy: %w", err)
	}
	for _, c := range changes {
		h.Changes = append(h.Changes, export.FolderChange{Kind: changeKindOf(c.Kind), Folder: exportFolder(c.Folder)})
	}
	return h, nil
}

// Changes runs SyncFolderItems; the marker is its sync state.
func (s *Source) Changes(ctx context.Context, mailbox, folderID string, mark []byte, fn func(export.ItemChange) error) ([]byte, error) {
	state, err := s.c.SyncFolderItems(ctx, mailbox, folderID, string(mark), func(c ItemChange) error {
		return fn(export.ItemChange{Kind: changeKindOf(c.Kind), IsRead: c.IsRead,
			Ref: export.ItemRef{ID: c.ID.ID, Version: c.ID.ChangeKey, Kind: itemKindOf(KindOf(c.Type, c.Class))}})
	})
	return []byte(state), marker(err)
}

// Permissions reads a folder's PermissionSet.
func (s *Source) Permissions(ctx context.Context, mailbox, folderID string) (*format.ACL, error) {
	raw, err := s.c.GetFolderPermissions(ctx, mailbox, folderID)
	if err != nil || raw == nil {
		return nil, err
	}
	acl, err := format.ParsePermissions(raw)
	if err != nil {
		return nil, export.Unreadable(err)
	}
	return &acl, nil
}

// PublicFolders walks the public folder tree.
// MailboxSettings reads the mailbox's out-of-office reply, inbox rules
// and delegates; a part whose request fails is named in Failed (the
// export then keeps the previous round's), the others are still read.
func (s *Source) MailboxSettings(ctx context.Context, mailbox string) (*format.MailboxSettings, error) {
	oof, err := s.c.GetUserOofSettings(ctx, mailbox)
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	set := &format.MailboxSettings{OutOfOffice: oof}
	if err != nil {
		set.Fail(format.PartOutOfOffice, err)
	}
	if err := s.inboxRules(ctx, mailbox, set); err != nil {
		return nil, err
	}
	if err := s.delegates(ctx, mailbox, set); err != nil {
		return nil, err
	}
	return set, nil
}

func (s *Source) PublicFolders(ctx context.Context, fn func(export.PublicFolder) error) error {
	return s.c.PublicFolders(ctx, func(pf PublicFolder) error {
		return fn(export.PublicFolder{Folder: exportFolder(pf.Folder), Path: pf.Path})
	})
}

// PublicItems lists a public folder's items (FindItem, IdOnly).
func (s *Source) PublicItems(ctx context.Context, folderID string, fn func(export.ItemRef) error) error {
	return s.c.FindItems(ctx, folderID, func(r ItemRef) error {
		return fn(export.ItemRef{ID: r.ID.ID, Version: r.ID.ChangeKey, Kind: itemKindOf(KindOf(r.Type, r.Class))})
	})
}

// Fetch runs GetItems and converts each item when the engine opens it.
func (s *Source) Fetch(ctx context.Context, mailbox string, kind export.ItemKind, refs []export.ItemRef, fn func(*export.Item) error) error {
	ids := make([]ItemID, len(refs))
	for i, r := range refs {
		ids[i] = ItemID{ID: r.ID, ChangeKey: r.Version}
	}
	k := ewsKind(kind)
	return s.c.GetItems(ctx, mailbox, ids, k, func(it *Item) error {
		x := &export.Item{ID: it.ID.ID, Version: it.ID.ChangeKey, Class: it.ItemClass,
			Received: it.DateTimeReceived, Modified: it.LastModifiedTime}
		var ee *Error
		if it.Err != nil && errors.As(it.Err, &ee) && ee.Code == CodeItemNotFound {
			x.Missing = it.Err
		}
		x.Open = func() (*export.Content, error) { return s.convert(ctx, mailbox, k, it) }
		return fn(x)
	})
}

// convert turns a fetched item into its archived form.
func (s *Source) convert(ctx context.Context, mailbox string, k ItemKind, it *Item) (*export.Content, error) {
	c := &export.Content{Attrs: map[string]string{}}
	switch k {
	case KindMail:
		meta, err := format.ParseMailMeta(it.XML)
		if err != nil && it.Err == nil {
			return nil, export.Skip("unreadable properties", err)
		}
		format.MailAttrs(c.Attrs, meta)
		if strings.HasPrefix(it.ItemClass, "IPM.StickyNote") && it.XML != nil {
			var b bytes.Buffer
			if _, err := format.NoteToVNote(it.XML, &b); err != nil {
				return nil, export.Skip("note conversion failed", err)
			}
			c.Kind, c.Data = archive.KindNote, b.Bytes()
			return c, nil
		}
		c.Kind = archive.KindMessage
		if it.Err != nil || it.MIME == nil {
			// No MIME: rebuild a minimal RFC 5322 message from the properties.
			var b bytes.Buffer
			if _, err := format.RebuildMessage(it.XML, s.dir, &b); err != nil {
				return nil, export.Fail("mime unavailable and rebuild failed", err)
			}
			c.Data, c.Rebuilt, c.RebuiltWhy = b.Bytes(), true, it.Err
			return c, nil
		}
		c.Body = it.MIME
		return c, nil
	case KindContact:
		if it.Err != nil {
			return nil, export.Skip("contact unreadable", it.Err)
		}
		conv := format.ContactToVCard
		c.Kind = archive.KindContact
		if it.Type == "DistributionList" {
			conv, c.Kind = format.DistributionListToVCard, archive.KindDistributionList
		}
		card, _, err := conv(it.XML, s.dir)
		if err != nil {
			return nil, export.Skip("contact conversion failed", err)
		}
		var b bytes.Buffer
		if err := format.WriteVCard(&b, card); err != nil {
			return nil, export.Skip("contact conversion failed", err)
		}
		c.Data = b.Bytes()
		return c, nil
	case KindCalendar:
		if it.Err != nil {
			return nil, export.Skip("calendar item unreadable", it.Err)
		}
		var occ [][]byte
		if len(it.ModifiedOccurrences) > 0 {
			err := s.c.GetItems(ctx, mailbox, it.ModifiedOccurrences, KindCalendar, func(o *Item) error {
				if o.Err == nil {
					occ = append(occ, bytes.Clone(o.XML))
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
		cal, _, err := format.CalendarToICal(it.XML, occ, s.dir, &format.CalendarOptions{Owner: mailbox})
		if err != nil {
			return nil, export.Skip("calendar conversion failed", err)
		}
		var b bytes.Buffer
		if err := format.WriteICal(&b, cal); err != nil {
			return nil, export.Skip("calendar conversion failed", err)
		}
		c.Kind, c.Data = archive.KindEvent, b.Bytes()
		return c, nil
	case KindTask:
		if it.Err != nil {
			return nil, export.Skip("task unreadable", it.Err)
		}
		cal, _, err := format.TaskToICal(it.XML, s.dir)
		if err != nil {
			return nil, export.Skip("task conversion failed", err)
		}
		var b bytes.Buffer
		if err := format.WriteICal(&b, cal); err != nil {
			return nil, export.Skip("task conversion failed", err)
		}
		c.Kind, c.Data = archive.KindTask, b.Bytes()
		return c, nil
	}
	return nil, export.Skip("unknown item kind", nil)
}
