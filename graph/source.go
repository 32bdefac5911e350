package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/exchange/directory"
	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/format"
)

// Source adapts a Client to the export engine ([export.Source]): the
// directory from /users and /groups, the hierarchy from mailFolders/delta
// and message changes from messages/delta (their deltaLinks are the
// markers), and messages as their exact MIME ($value) with the attributes
// of package format's MailAttrs, the mapping the EWS Source uses too.
//
// Contact folders are listed with the hierarchy and their contacts read
// through contacts delta, each turned into a vCard by format's converter
// (pim.go, ewsxml.go); calendars likewise, their events (series masters
// with recurrence) listed each round and turned into iCalendar
// (calendar.go, eventxml.go); Microsoft To Do lists are task folders whose
// tasks delta feeds format's VTODO converter (todo.go, taskxml.go). A
// series master is read with its exceptions and cancelled occurrences
// (series.go); calendars carry their calendarPermissions as ACLs
// (calperm.go). Graph has no folder permissions for mail and contacts
// [graph.md §6].
type Source struct {
	c *Client
	// kinds maps mailbox+"\x00"+folder id to the item kind of the
	// non-mail folders Hierarchy listed, so Changes runs their delta.
	kinds sync.Map
	// lists maps mailbox+"\x00"+task id to its To Do list (todo.go).
	lists sync.Map
	// listing says whether mail folders are read by full listings (listing.go).
	listing listingState
}

// NewSource returns the export Source over c.
func NewSource(c *Client) *Source { return &Source{c: c} }

var _ export.Source = (*Source)(nil)

// wellKnown lists the well-known folder names resolved per mailbox, so
// folders are mapped by role, not by (localized) display name [graph.md §4.1].
var wellKnown = []string{"inbox", "sentitems", "drafts", "deleteditems", "junkemail", "archive"}

// directoryUser is the part of a user or group the directory records.
type directoryUser struct {
	ID                string   `json:"id"`
	DisplayName       string   `json:"displayName"`
	Mail              string   `json:"mail"`
	UserPrincipalName string   `json:"userPrincipalName"`
	MailNickname      string   `json:"mailNickname"`
	ProxyAddresses    []string `json:"proxyAddresses"`
	AccountEnabled    *bool    `json:"accountEnabled"`
	SecurityEnabled   bool     `json:"securityEnabled"`
}

// addresses returns the primary SMTP address and the smtp: aliases.
func (u *directoryUser) addresses() (string, []string) {
	primary := u.Mail
	var aliases []string
	for _, p := range u.ProxyAddresses {
		pa, ok := directory.ParseProxyAddress(p)
		if !ok || !strings.EqualFold(pa.Type, "smtp") {
			continue
		}
		if pa.Primary {
			primary = pa.Address
		} else {
			aliases = append(aliases, pa.Address)
		}
	}
	return primary, aliases
}

// Directory reads the users with a mail address and the mail-enabled
// groups with their (transitive) members.
func (s *Source) Directory(ctx context.Context) (*directory.Snapshot, error) {
	snap := &directory.Snapshot{}
	_, err := Pages(ctx, s.c, "users?$select=id,displayName,mail,userPrincipalName,mailNickname,proxyAddresses,accountEnabled", func(u directoryUser) error {
		primary, aliases := u.addresses()
		if primary == "" {
			return nil
		}
		snap.Mailboxes = append(snap.Mailboxes, directory.Mailbox{DN: "graph:" + u.ID, GUID: u.ID, UserPrincipalName: u.UserPrincipalName,
			DisplayName: u.DisplayName, PrimarySMTP: primary, Aliases: aliases, MailNickname: u.MailNickname,
			Type: directory.UserMailbox, Disabled: u.AccountEnabled != nil && !*u.AccountEnabled})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	var groups []directoryUser
	if _, err := Pages(ctx, s.c, "groups", func(g directoryUser) error { groups = append(groups, g); return nil }); err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	for _, g := range groups {
		primary, aliases := g.addresses()
		dg := directory.Group{DN: "graph:" + g.ID, GUID: g.ID, Name: g.MailNickname, DisplayName: g.DisplayName,
			PrimarySMTP: primary, Aliases: aliases, Security: g.SecurityEnabled}
		_, err := Pages(ctx, s.c, "groups/"+url.PathEscape(g.ID)+"/transitiveMembers", func(m directoryUser) error {
			if p, _ := m.addresses(); p != "" {
				dg.Members = append(dg.Members, p)
				dg.MemberDNs = append(dg.MemberDNs, "graph:"+m.ID)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list members of group %s: %w", g.DisplayName, err)
		}
		snap.Groups = append(snap.Groups, dg)
	}
	return snap, nil
}

// mailFolder is a mailFolders/delta entry [graph.md §4.1].
type mailFolder struct {
	ID             string `json:"id"`
	DisplayName    string `json:"displayName"`
	ParentFolderID string `json:"parentFolderId"`
	TotalItemCount int    `json:"totalItemCount"`
	ODataType      string `json:"@odata.type"`
	Removed        any    `json:"@removed"`
}

func mailboxPath(mailbox string) string { return "users/" + url.PathEscape(mailbox) }

// hierarchy runs mailFolders/delta (hidden folders included) and resolves
// the well-known folders' ids; msgfolderroot is the inbox's parent.
func (s *Source) hierarchy(ctx context.Context, mailbox string, mark []byte) (*export.Hierarchy, error) {
	h := &export.Hierarchy{Roles: map[string]string{}}
	for _, role := range wellKnown {
		var f mailFolder
		err := s.c.Get(ctx, mailboxPath(mailbox)+"/mailFolders/"+role+"?$select=id,parentFolderId", &f)
		var gerr *Error
		if errors.As(err, &gerr) && gerr.Status == http.StatusNotFound {
			continue // e.g. no archive folder: not fatal
		}
		if err != nil {
			return nil, fmt.Errorf("get folder %s: %w", role, err)
		}
		h.Roles[f.ID] = role
		if role == "inbox" && f.ParentFolderID != "" {
			h.Roles[f.ParentFolderID] = export.RoleRoot
		}
	}
	path := string(mark)
	kind := export.Update
	if mark == nil {
		path = mailboxPath(mailbox) + "/mailFolders/delta?includeHiddenFolders=true"
		kind = export.Create
	}
	delta, err := Pages(ctx, s.c, path, func(f mailFolder) error {
		if f.Removed != nil {
			h.Changes = append(h.Changes, export.FolderChange{Kind: export.Delete, Folder: export.Folder{ID: f.ID}})
			return nil
		}
		typ := "Folder"
		if strings.HasSuffix(f.ODataType, "mailSearchFolder") {
			typ = "SearchFolder"
		}
		h.Changes = append(h.Changes, export.FolderChange{Kind: kind, Folder: export.Folder{ID: f.ID, ParentID: f.ParentFolderID,
			DisplayName: f.DisplayName, Class: "IPF.Note", Type: typ, Total: f.TotalItemCount}})
		return nil
	})
	if err != nil {
		if mark != nil && rejected(err) {
			return nil, export.MarkerRejected(err)
		}
		return nil, fmt.Errorf("mail folder delta: %w", err)
	}
	h.Marker = []byte(delta)
	if err := s.contactFolders(ctx, mailbox, h, kind); err != nil {
		return nil, err
	}
	if err := s.calendars(ctx, mailbox, h, kind); err != nil {
		return nil, err
	}
	if err := s.todoLists(ctx, mailbox, h, kind); err != nil {
		return nil, err
	}
	return h, nil
}

// Changes runs messages/delta for the folder (or its full listing, listing.go).
func (s *Source) Changes(ctx context.Context, mailbox, folderID string, mark []byte, fn func(export.ItemChange) error) ([]byte, error) {
	switch k, _ := s.kinds.Load(mailbox + "\x00" + folderID); k {
	case export.KindContact:
		return s.contactChanges(ctx, mailbox, folderID, mark, fn)
	case export.KindCalendar:
		return s.eventChanges(ctx, mailbox, folderID, mark, fn)
	case export.KindTask:
		return s.taskChanges(ctx, mailbox, folderID, mark, fn)
	}
	return s.messageChanges(ctx, mailbox, folderID, mark, fn)
}

// Fetch reads the messages' properties in JSON batches (batch.go) and,
// when the engine opens one, streams its MIME.
func (s *Source) Fetch(ctx context.Context, mailbox string, kind export.ItemKind, refs []export.ItemRef, fn func(*export.Item) error) error {
	var metas map[string]*message
	var metaErrs map[string]error
	if kind == export.KindMail {
		var err error
		if metas, metaErrs, err = s.messages(ctx, mailbox, refs); err != nil {
			return err
		}
	}
	for _, r := range refs {
		if fetch := map[export.ItemKind]func(context.Context, string, export.ItemRef) (*export.Item, error){
			export.KindContact: s.fetchContact, export.KindCalendar: s.fetchEvent, export.KindTask: s.fetchTask}[kind]; fetch != nil {
			x, err := fetch(ctx, mailbox, r)
			if err == nil {
				err = fn(x)
			}
			if err != nil {
				return err
			}
			continue
		}
		x := &export.Item{ID: r.ID, Version: r.Version, Class: "IPM.Note"}
		if kind != export.KindMail {
			x.Open = func() (*export.Content, error) { return nil, export.Skip("item kind not exported over Graph yet", nil) }
			if err := fn(x); err != nil {
				return err
			}
			continue
		}
		m, err := metas[r.ID], metaErrs[r.ID]
		var gerr *Error
		switch {
		case errors.As(err, &gerr) && gerr.Status == http.StatusNotFound:
			x.Missing = err
		case err != nil:
			return fmt.Errorf("get message %s: %w", r.ID, err)
		default:
			x.Received, x.Modified = m.ReceivedDateTime, m.LastModifiedDateTime
		}
		var body interface{ Close() error }
		x.Open = func() (*export.Content, error) {
			c := &export.Content{Kind: archive.KindMessage, Attrs: map[string]string{}}
			format.MailAttrs(c.Attrs, m.meta())
			rc, err := s.c.MIME(ctx, mailbox, r.ID)
			if err != nil {
				return nil, export.Fail("mime unavailable", err)
			}
			body, c.Body = rc, rc
			return c, nil
		}
		err = fn(x)
		if body != nil {
			body.Close()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Permissions returns a calendar's permissions (calperm.go); Graph has no
// API for mail and contact folder permissions [graph.md §6].
func (s *Source) Permissions(ctx context.Context, mailbox, folderID string) (*format.ACL, error) {
	if k, _ := s.kinds.Load(mailbox + "\x00" + folderID); k == export.KindCalendar {
		return s.calendarPermissions(ctx, mailbox, folderID)
	}
	return nil, nil
}
