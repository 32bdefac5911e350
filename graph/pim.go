package graph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/format"
)

// pimFolder is a contactFolders or calendars entry [I: Microsoft Learn
// resources/contactfolder: id, displayName, parentFolderId;
// resources/calendar: id, name, isDefaultCalendar].
type pimFolder struct {
	ID                string `json:"id"`
	DisplayName       string `json:"displayName"`
	Name              string `json:"name"`
	ParentFolderID    string `json:"parentFolderId"`
	IsDefaultCalendar bool   `json:"isDefaultCalendar"`
}

// listFolders adds the folders listed at path (below the mailbox) to h,
// of class and type, and records that they hold items of kind k; edit
// (if set) completes each entry first.
func (s *Source) listFolders(ctx context.Context, mailbox, path string, h *export.Hierarchy, change export.ChangeKind,
	k export.ItemKind, class, typ string, edit func(*pimFolder)) error {
	_, err := Pages(ctx, s.c, mailboxPath(mailbox)+"/"+path, func(f pimFolder) error {
		if edit != nil {
			edit(&f)
		}
		s.kinds.Store(mailbox+"\x00"+f.ID, k)
		h.Changes = append(h.Changes, export.FolderChange{Kind: change, Folder: export.Folder{ID: f.ID, ParentID: f.ParentFolderID,
			DisplayName: f.DisplayName, Class: class, Type: typ}})
		return nil
	})
	if err != nil {
		return fmt.Errorf("list %s: %w", path, err)
	}
	return nil
}

// contactFolders adds the mailbox's contact folders to h (class
// IPF.Contact; the default one, whose contacts are also /contacts
// [graph.md §5], gets role "contacts") and records them as contact
// folders for Changes. Graph's folder delta for contacts is not used: the
// folders are listed every round [I: contactFolders/delta, graph.md §5].
func (s *Source) contactFolders(ctx context.Context, mailbox string, h *export.Hierarchy, kind export.ChangeKind) error {
	var def pimFolder
	err := s.c.Get(ctx, mailboxPath(mailbox)+"/contactFolders/contacts?$select=id", &def)
	var gerr *Error
	if err != nil && !(errors.As(err, &gerr) && gerr.Status == http.StatusNotFound) {
		return fmt.Errorf("get default contact folder: %w", err)
	}
	if def.ID != "" {
		h.Roles[def.ID] = "contacts"
	}
	return s.listFolders(ctx, mailbox, "contactFolders", h, kind, export.KindContact, "IPF.Contact", "ContactsFolder", nil)
}

// contactChanges runs contacts delta of a contact folder; the deltaLink is
// the marker [V graph.md §5 GDOC contact-delta.md].
func (s *Source) contactChanges(ctx context.Context, mailbox, folderID string, mark []byte, fn func(export.ItemChange) error) ([]byte, error) {
	return s.deltaChanges(ctx, mailboxPath(mailbox)+"/contactFolders/"+url.PathEscape(folderID)+"/contacts/delta?$select=id",
		mark, export.KindContact, "contact delta", nil, fn)
}

// deltaChanges runs the delta round at first (nil mark) or from mark (a
// deltaLink) and calls fn per change of items of kind k; seen (if set) is
// called with each created or updated id. A refused deltaLink matches
// [export.ErrMarkerRejected]; what names the call in errors.
func (s *Source) deltaChanges(ctx context.Context, first string, mark []byte, k export.ItemKind, what string,
	seen func(id string), fn func(export.ItemChange) error) ([]byte, error) {
	path := string(mark)
	kind := export.Update
	if mark == nil {
		path, kind = first, export.Create
	}
	delta, err := Pages(ctx, s.c, path, func(m deltaMessage) error {
		if m.Removed != nil {
			return fn(export.ItemChange{Kind: export.Delete, Ref: export.ItemRef{ID: m.ID, Kind: k}})
		}
		if seen != nil {
			seen(m.ID)
		}
		return fn(export.ItemChange{Kind: kind, Ref: export.ItemRef{ID: m.ID, Version: m.ETag, Kind: k}})
	})
	if err != nil {
		if mark != nil && rejected(err) {
			return nil, export.MarkerRejected(err)
		}
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return []byte(delta), nil
}

// fetchPIM reads the object at path (below the mailbox) for r and, when
// the engine opens it, converts it with conv; what names the kind in the
// skip reasons.
func (s *Source) fetchPIM(ctx context.Context, mailbox, path string, r export.ItemRef, class, what string,
	conv func(object) (*export.Content, error)) (*export.Item, error) {
	x := &export.Item{ID: r.ID, Version: r.Version, Class: class}
	var o object
	err := s.c.Get(ctx, mailboxPath(mailbox)+"/"+path+"/"+url.PathEscape(r.ID), &o)
	var gerr *Error
	switch {
	case errors.As(err, &gerr) && gerr.Status == http.StatusNotFound:
		x.Missing = err
	case err != nil:
		return nil, fmt.Errorf("get %s %s: %w", what, r.ID, err)
	}
	x.Open = func() (*export.Content, error) {
		if x.Missing != nil {
			return nil, export.Skip(what+" unreadable", x.Missing)
		}
		return conv(o)
	}
	return x, nil
}

// fetchContact reads one contact and converts it to a vCard with
// format.ContactToVCard over the EWS XML built from its JSON.
func (s *Source) fetchContact(ctx context.Context, mailbox string, r export.ItemRef) (*export.Item, error) {
	return s.fetchPIM(ctx, mailbox, "contacts", r, "IPM.Contact", "contact", func(ct object) (*export.Content, error) {
		return converted(archive.KindContact, "contact", func(b *bytes.Buffer) error {
			card, _, err := format.ContactToVCard(ct.ewsXML(), nil)
			if err != nil {
				return err
			}
			return format.WriteVCard(b, card)
		})
	})
}

// converted returns the archived content write produces; its error skips
// the item as a conversion failure of what.
func converted(k archive.Kind, what string, write func(*bytes.Buffer) error) (*export.Content, error) {
	var b bytes.Buffer
	if err := write(&b); err != nil {
		return nil, export.Skip(what+" conversion failed", err)
	}
	return &export.Content{Kind: k, Data: b.Bytes(), Attrs: map[string]string{}}, nil
}
