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

// contactFolder is a contactFolders entry [I: Microsoft Learn
// resources/contactfolder: id, displayName, parentFolderId].
type contactFolder struct {
	ID             string `json:"id"`
	DisplayName    string `json:"displayName"`
	ParentFolderID string `json:"parentFolderId"`
}

// contactFolders adds the mailbox's contact folders to h (class
// IPF.Contact; the default one, whose contacts are also /contacts
// [graph.md §5], gets role "contacts") and records them as contact
// folders for Changes. Graph's folder delta for contacts is not used: the
// folders are listed every round [I: contactFolders/delta, graph.md §5].
func (s *Source) contactFolders(ctx context.Context, mailbox string, h *export.Hierarchy, kind export.ChangeKind) error {
	var def contactFolder
	err := s.c.Get(ctx, mailboxPath(mailbox)+"/contactFolders/contacts?$select=id", &def)
	var gerr *Error
	if err != nil && !(errors.As(err, &gerr) && gerr.Status == http.StatusNotFound) {
		return fmt.Errorf("get default contact folder: %w", err)
	}
	if def.ID != "" {
		h.Roles[def.ID] = "contacts"
	}
	_, err = Pages(ctx, s.c, mailboxPath(mailbox)+"/contactFolders", func(f contactFolder) error {
		s.kinds.Store(mailbox+"\x00"+f.ID, export.KindContact)
		h.Changes = append(h.Changes, export.FolderChange{Kind: kind, Folder: export.Folder{ID: f.ID, ParentID: f.ParentFolderID,
			DisplayName: f.DisplayName, Class: "IPF.Contact", Type: "ContactsFolder"}})
		return nil
	})
	if err != nil {
		return fmt.Errorf("list contact folders: %w", err)
	}
	return nil
}

// contactChanges runs contacts delta of a contact folder; the deltaLink is
// the marker [V graph.md §5 GDOC contact-delta.md].
func (s *Source) contactChanges(ctx context.Context, mailbox, folderID string, mark []byte, fn func(export.ItemChange) error) ([]byte, error) {
	path := string(mark)
	kind := export.Update
	if mark == nil {
		path = mailboxPath(mailbox) + "/contactFolders/" + url.PathEscape(folderID) + "/contacts/delta?$select=id"
		kind = export.Create
	}
	delta, err := Pages(ctx, s.c, path, func(m deltaMessage) error {
		if m.Removed != nil {
			return fn(export.ItemChange{Kind: export.Delete, Ref: export.ItemRef{ID: m.ID, Kind: export.KindContact}})
		}
		return fn(export.ItemChange{Kind: kind, Ref: export.ItemRef{ID: m.ID, Version: m.ETag, Kind: export.KindContact}})
	})
	if err != nil {
		if mark != nil && rejected(err) {
			return nil, export.MarkerRejected(err)
		}
		return nil, fmt.Errorf("contact delta: %w", err)
	}
	return []byte(delta), nil
}

// fetchContact reads one contact and converts it to a vCard with
// format.ContactToVCard over the EWS XML built from its JSON.
func (s *Source) fetchContact(ctx context.Context, mailbox string, r export.ItemRef) (*export.Item, error) {
	x := &export.Item{ID: r.ID, Version: r.Version, Class: "IPM.Contact"}
	var ct contact
	err := s.c.Get(ctx, mailboxPath(mailbox)+"/contacts/"+url.PathEscape(r.ID), &ct)
	var gerr *Error
	switch {
	case errors.As(err, &gerr) && gerr.Status == http.StatusNotFound:
		x.Missing = err
	case err != nil:
		return nil, fmt.Errorf("get contact %s: %w", r.ID, err)
	}
	x.Open = func() (*export.Content, error) {
		if x.Missing != nil {
			return nil, export.Skip("contact unreadable", x.Missing)
		}
		card, _, err := format.ContactToVCard(ct.ewsXML(), nil)
		if err != nil {
			return nil, export.Skip("contact conversion failed", err)
		}
		var b bytes.Buffer
		if err := format.WriteVCard(&b, card); err != nil {
			return nil, export.Skip("contact conversion failed", err)
		}
		return &export.Content{Kind: archive.KindContact, Data: b.Bytes(), Attrs: map[string]string{}}, nil
	}
	return x, nil
}
