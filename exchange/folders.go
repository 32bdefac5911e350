package exchange

import (
	"bytes"
	"context"
	"fmt"
	"strconv"

	"github.com/iemproject/iem/exchange/internal/soap"
)

// Folder is a mailbox or public folder.
type Folder struct {
	ID, ChangeKey string
	ParentID      string
	// Type is the element name: Folder, CalendarFolder, ContactsFolder,
	// TasksFolder or SearchFolder [V ews.md §2.2].
	Type                                      string
	Class                                     string // FolderClass, e.g. "IPF.Note"
	DisplayName                               string // raw, may end with a space [V ews.md §2.3 imapsync FAQ]
	TotalCount, ChildFolderCount, UnreadCount int
}

// ChangeKind is the kind of a synchronization change.
type ChangeKind int

// Change kinds [V ews.md §2.2, §2.5].
const (
	Create ChangeKind = iota + 1
	Update
	Delete
	ReadFlagChange
)

func (k ChangeKind) String() string {
	switch k {
	case Create:
		return "Create"
	case Update:
		return "Update"
	case Delete:
		return "Delete"
	case ReadFlagChange:
		return "ReadFlagChange"
	}
	panic(fmt.Sprintf("exchange: unknown ChangeKind %d", int(k)))
}

func changeKind(local string) (ChangeKind, bool) {
	switch local {
	case "Create":
		return Create, true
	case "Update":
		return Update, true
	case "Delete":
		return Delete, true
	case "ReadFlagChange":
		return ReadFlagChange, true
	}
	return 0, false
}

// FolderChange is one change reported by SyncFolderHierarchy. For Delete
// only Folder.ID is set.
type FolderChange struct {
	Kind   ChangeKind
	Folder Folder
}

// distinguished lists the DistinguishedFolderId names
// [V ews.md §2.10 distinguishedfolderid.md].
var distinguished = map[string]bool{
	"calendar": true, "contacts": true, "deleteditems": true, "drafts": true, "inbox": true, "journal": true,
	"notes": true, "outbox": true, "sentitems": true, "tasks": true, "msgfolderroot": true, "publicfoldersroot": true,
	"root": true, "junkemail": true, "searchfolders": true, "voicemail": true, "recoverableitemsroot": true,
	"archiveroot": true, "archivemsgfolderroot": true, "recipientcache": true, "syncissues": true, "conflicts": true,
	"archivedeleteditems": true, "archiveinbox": true,
}

// writeFolderID writes a FolderId, or a DistinguishedFolderId for the
// well-known names ("inbox", "publicfoldersroot", ...).
func writeFolderID(b *bytes.Buffer, id string) {
	if distinguished[id] {
		b.WriteString(`<t:DistinguishedFolderId Id="`)
	} else {
		b.WriteString(`<t:FolderId Id="`)
	}
	soap.Escape(b, id)
	b.WriteString(`"/>`)
}

func parseFolder(n *soap.Node) Folder {
	atoi := func(k string) int { v, _ := strconv.Atoi(n.Child(k).Text()); return v }
	return Folder{
		ID:               n.Child("FolderId").Attr("Id"),
		ChangeKey:        n.Child("FolderId").Attr("ChangeKey"),
		ParentID:         n.Child("ParentFolderId").Attr("Id"),
		Type:             n.Local,
		Class:            n.Child("FolderClass").Text(),
		DisplayName:      n.Child("DisplayName").RawText(),
		TotalCount:       atoi("TotalCount"),
		ChildFolderCount: atoi("ChildFolderCount"),
		UnreadCount:      atoi("UnreadCount"),
	}
}

// SyncFolderHierarchy returns the folder changes of mailbox since state
// ("" = all folders) and the new state. On Exchange 2010+ it syncs below
// msgfolderroot; the 2007 schema has no SyncFolderId, so there the whole
// tree below root is reported [V ews.md §1.1, §2.2 syncfolderhierarchy-operation.md].
// Always use the same client version per mailbox: a state is bound to
// its root [V ews.md §2.2 "Null and root are not treated the same"].
func (c *Client) SyncFolderHierarchy(ctx context.Context, mailbox, state string) ([]FolderChange, string, error) {
	return c.syncFolderHierarchy(ctx, mailbox, "msgfolderroot", state)
}

// syncFolderHierarchy syncs the tree below the distinguished folder root
// (2010+; on 2007 always the whole tree below root).
func (c *Client) syncFolderHierarchy(ctx context.Context, mailbox, root, state string) ([]FolderChange, string, error) {
	h, v, err := c.prepare(ctx, mailbox)
	if err != nil {
		return nil, "", err
	}
	var out []FolderChange
	for {
		var last bool
		var newState string
		build := func(h soap.Header) []byte {
			var b bytes.Buffer
			b.WriteString(`<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape>`)
			if v != Exchange2007SP1 {
				b.WriteString(`<m:SyncFolderId>`)
				writeFolderID(&b, root)
				b.WriteString(`</m:SyncFolderId>`)
			}
			if state != "" {
				b.WriteString(`<m:SyncState>`)
				soap.Escape(&b, state)
				b.WriteString(`</m:SyncState>`)
			}
			b.WriteString(`</m:SyncFolderHierarchy>`)
			return soap.Envelope(h, b.Bytes())
		}
		var page []FolderChange
		err := c.doSingle(ctx, "SyncFolderHierarchy", h, build, func(_ []byte, m *soap.Node) error {
			page = page[:0]
			newState = m.Child("SyncState").Text()
			last = m.Child("IncludesLastFolderInRange").Text() != "false"
			for _, ch := range m.Child("Changes").Children {
				kind, ok := changeKind(ch.Local)
				if !ok {
					continue
				}
				if kind == Delete {
					page = append(page, FolderChange{Kind: kind, Folder: Folder{ID: ch.Child("FolderId").Attr("Id"), ChangeKey: ch.Child("FolderId").Attr("ChangeKey")}})
					continue
				}
				for _, f := range ch.Children {
					page = append(page, FolderChange{Kind: kind, Folder: parseFolder(f)})
				}
			}
			return nil
		})
		if err != nil {
			return out, state, err
		}
		out = append(out, page...)
		state = newState
		if last {
			return out, state, nil
		}
	}
}

// single returns the only response message, or its error.
func single(msgs []*soap.Node) (*soap.Node, error) {
	if len(msgs) != 1 {
		return nil, fmt.Errorf("exchange: %d response messages, want 1", len(msgs))
	}
	if e := messageError(msgs[0]); e != nil {
		return nil, e
	}
	return msgs[0], nil
}

// doSingle is doTree for an operation answered by one response message:
// fn gets that message; a message error is returned as err.
func (c *Client) doSingle(ctx context.Context, op string, h soap.Header, build func(h soap.Header) []byte, fn func(data []byte, m *soap.Node) error) error {
	return c.doTree(ctx, op, h, build, func(data []byte, msgs []*soap.Node) error {
		m, err := single(msgs)
		if err != nil {
			return err
		}
		return fn(data, m)
	})
}

// GetFolder returns one folder of mailbox ("" = no impersonation); id may
// be a distinguished name such as "inbox".
func (c *Client) GetFolder(ctx context.Context, mailbox, id string) (Folder, error) {
	var f Folder
	_, err := c.getFolder(ctx, mailbox, id, "", func(n *soap.Node, _ []byte) { f = parseFolder(n) })
	return f, err
}

// GetFolders returns several folders of mailbox in one request (GetFolder
// takes a list of FolderIds and answers one response message per id, in
// order [V docs.rs ews get_folder.rs "one or more folders";
// learn.microsoft.com getfolder-operation]). errs[i] is the
// *Error of an id that failed on its own (such as ErrorFolderNotFound for
// a mailbox without a journal); err is for the request as a whole.
func (c *Client) GetFolders(ctx context.Context, mailbox string, ids []string) (folders []Folder, errs []error, err error) {
	if len(ids) == 0 {
		return nil, nil, nil
	}
	h, _, err := c.prepare(ctx, mailbox)
	if err != nil {
		return nil, nil, err
	}
	build := func(h soap.Header) []byte {
		var b bytes.Buffer
		b.WriteString(`<m:GetFolder><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape><m:FolderIds>`)
		for _, id := range ids {
			writeFolderID(&b, id)
		}
		b.WriteString(`</m:FolderIds></m:GetFolder>`)
		return soap.Envelope(h, b.Bytes())
	}
	err = c.doTree(ctx, "GetFolder", h, build, func(_ []byte, msgs []*soap.Node) error {
		if len(msgs) != len(ids) {
			return fmt.Errorf("exchange: %d response messages for %d folders", len(msgs), len(ids))
		}
		folders, errs = make([]Folder, len(ids)), make([]error, len(ids))
		for i, m := range msgs {
			if e := messageError(m); e != nil {
				errs[i] = e
				continue
			}
			for _, f := range m.Child("Folders").Children {
				folders[i] = parseFolder(f)
			}
		}
		return nil
	})
	return folders, errs, err
}

func (c *Client) getFolder(ctx context.Context, mailbox, id, extra string, fn func(n *soap.Node, data []byte)) (bool, error) {
	h, _, err := c.prepare(ctx, mailbox)
	if err != nil {
		return false, err
	}
	found := false
	build := func(h soap.Header) []byte {
		// [V ews.md §2.4 how-to-set-folder-permissions-for-another-user-by-using-ews-in-exchange.md]
		var b bytes.Buffer
		b.WriteString(`<m:GetFolder><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape>`)
		if extra != "" {
			b.WriteString(`<t:AdditionalProperties><t:FieldURI FieldURI="` + extra + `"/></t:AdditionalProperties>`)
		}
		b.WriteString(`</m:FolderShape><m:FolderIds>`)
		writeFolderID(&b, id)
		b.WriteString(`</m:FolderIds></m:GetFolder>`)
		return soap.Envelope(h, b.Bytes())
	}
	err = c.doSingle(ctx, "GetFolder", h, build, func(data []byte, m *soap.Node) error {
		for _, f := range m.Child("Folders").Children {
			found = true
			fn(f, data)
		}
		return nil
	})
	return found, err
}

// GetFolderPermissions returns the exact bytes of the folder's
// PermissionSet element (for calendar folders it holds
// CalendarPermissions), or nil when the server sent none. Permissions are
// always asked for explicitly: 2013+ leaves them out of AllProperties
// [V ews.md §2.4 permissionset-calendarpermissionsettype.md].
func (c *Client) GetFolderPermissions(ctx context.Context, mailbox, folderID string) ([]byte, error) {
	var raw []byte
	_, err := c.getFolder(ctx, mailbox, folderID, "folder:PermissionSet", func(n *soap.Node, data []byte) {
		if ps := n.Child("PermissionSet"); ps != nil {
			raw = ps.Raw(data)
		}
	})
	return raw, err
}

// PublicFolder is a public folder with its path of display names from
// below publicfoldersroot.
type PublicFolder struct {
	Folder
	Path []string
}

// PublicFolders walks the public folder tree with recursive shallow
// FindFolder calls from publicfoldersroot (public folders support neither
// Deep traversal nor Sync [V ews.md §2.3 public-folder-access-with-ews-in-exchange.md]).
// fn is called once per folder, parents before children, from the calling
// goroutine; a non-nil error from fn stops the walk and is returned.
func (c *Client) PublicFolders(ctx context.Context, fn func(PublicFolder) error) error {
	return c.walkPublic(ctx, "publicfoldersroot", nil, fn)
}

func (c *Client) walkPublic(ctx context.Context, parent string, path []string, fn func(PublicFolder) error) error {
	var children []Folder
	if err := c.findFolders(ctx, parent, func(f Folder) { children = append(children, f) }); err != nil {
		return err
	}
	for _, f := range children {
		p := append(append([]string(nil), path...), f.DisplayName)
		if err := fn(PublicFolder{Folder: f, Path: p}); err != nil {
			return err
		}
		if err := c.walkPublic(ctx, f.ID, p, fn); err != nil {
			return err
		}
	}
	return nil
}

const findPage = 500

func (c *Client) findFolders(ctx context.Context, parent string, fn func(Folder)) error {
	h, _, err := c.prepare(ctx, "")
	if err != nil {
		return err
	}
	offset := 0
	for {
		var next int
		var last bool
		build := func(h soap.Header) []byte {
			// [V ews.md §2.3 public-folder-access-with-ews-in-exchange.md]
			var b bytes.Buffer
			b.WriteString(`<m:FindFolder Traversal="Shallow"><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>` +
				`<t:FieldURI FieldURI="folder:DisplayName"/><t:FieldURI FieldURI="folder:FolderClass"/>` +
				`<t:FieldURI FieldURI="folder:ParentFolderId"/><t:FieldURI FieldURI="folder:ChildFolderCount"/>` +
				`<t:FieldURI FieldURI="folder:TotalCount"/></t:AdditionalProperties></m:FolderShape>`)
			fmt.Fprintf(&b, `<m:IndexedPageFolderView MaxEntriesReturned="%d" Offset="%d" BasePoint="Beginning"/><m:ParentFolderIds>`, findPage, offset)
			writeFolderID(&b, parent)
			b.WriteString(`</m:ParentFolderIds></m:FindFolder>`)
			return soap.Envelope(h, b.Bytes())
		}
		var page []Folder
		err := c.doSingle(ctx, "FindFolder", h, build, func(_ []byte, m *soap.Node) error {
			page = page[:0]
			rf := m.Child("RootFolder")
			next, _ = strconv.Atoi(rf.Attr("IndexedPagingOffset"))
			last = rf.Attr("IncludesLastItemInRange") != "false"
			for _, f := range rf.Child("Folders").Children {
				page = append(page, parseFolder(f))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, f := range page {
			fn(f)
		}
		if last || next <= offset || len(page) == 0 {
			return nil
		}
		offset = next
	}
}
