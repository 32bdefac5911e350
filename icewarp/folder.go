package icewarp

import (
	"context"
	"encoding/base64"
)

// RootFolderID is the folder id of an account's root in the admin API
// (id 2, folder type X, [V NET GetAccountFolderList.xml]).
const RootFolderID = "2"

// MailFolderID returns the admin API id of a mail folder: "0" followed by the
// standard base64 of its IMAP name as sent on the wire, i.e. "/"-separated
// modified UTF-7 ("0SU5CT1g=" is INBOX [V NET GetAccountFolderList.xml]; the
// rule, and the use of the wire form for non-ASCII names, is INFERRED from
// that one sample; icewarptest follows the same rule).
func MailFolderID(imapName string) string {
	return "0" + base64.StdEncoding.EncodeToString([]byte(imapName))
}

// GroupwareFolderID returns the id of a GroupWare folder: "1" followed by the
// base64 of its name ("1Q2FsZW5kYXI=" is Calendar, same source and caveat).
func GroupwareFolderID(name string) string {
	return "1" + base64.StdEncoding.EncodeToString([]byte(name))
}

// A Permission grants rights on a folder to an account, group, domain
// ("[example.com]") or "anyone".
//
// The format of Rights is not documented (icewarp.md §8): it is sent and
// read back verbatim. IceWarp's clients use the letters of icewarp.md §2.8
// (e.g. "lr", "lrswipkxtea"); callers should use those.
type Permission struct {
	Account string
	Rights  string
}

// SetFolderPermissions replaces the permissions of a folder
// ("setaccountfolderpermissions": accountemail, folderid,
// permissions/item{account,permissions}* [V NET SetAccountFolderPermissions.xml]).
func (a *Admin) SetFolderPermissions(ctx context.Context, email, folderID string, perms []Permission) error {
	list := el("permissions")
	for _, p := range perms {
		list.Children = append(list.Children, el("item", leaf("account", p.Account), leaf("permissions", p.Rights)))
	}
	return a.callOK(ctx, "setaccountfolderpermissions", email, el("commandparams",
		leaf("accountemail", email), leaf("folderid", folderID), list))
}

// FolderPermissions reads a folder's permissions and whether they are
// inherited ([V NET GetAccountFolderPermissions.xml]:
// result{isinherited, item{account,permissions}*}).
func (a *Admin) FolderPermissions(ctx context.Context, email, folderID string) (inherited bool, perms []Permission, err error) {
	res, err := a.call(ctx, "getaccountfolderpermissions", email, el("commandparams",
		leaf("accountemail", email), leaf("folderid", folderID)))
	if err != nil {
		return false, nil, err
	}
	for _, it := range res.All("item") {
		perms = append(perms, Permission{Account: it.Text("account"), Rights: it.Text("permissions")})
	}
	return res.Text("isinherited") == "1", perms, nil
}

// A Folder is a node of an account's folder tree ([V NET GetAccountFolderList.xml]).
type Folder struct {
	Name        string
	ID          string
	Type        string // M mail, C contacts, E events, T tasks, N notes, J journal, F files, X root
	DefaultType string // e.g. "I" for the inbox
	Subfolders  []Folder
}

// Folders returns the account's folder tree, its root first.
func (a *Admin) Folders(ctx context.Context, email string) (Folder, error) {
	res, err := a.call(ctx, "getaccountfolderlist", email, el("commandparams",
		leaf("accountemail", email), leaf("onlydefault", "0")))
	if err != nil {
		return Folder{}, err
	}
	return folderFrom(res, 0), nil
}

func folderFrom(n *node, depth int) Folder {
	f := Folder{Name: n.Text("name"), ID: n.Text("id"), Type: n.Text("foldertype"), DefaultType: n.Text("defaulttype")}
	if depth > 64 {
		return f
	}
	for _, it := range n.Child("subfolders").All("item") {
		f.Subfolders = append(f.Subfolders, folderFrom(it, depth+1))
	}
	return f
}
