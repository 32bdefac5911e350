package icewarpsink

import (
	"context"
	"strconv"

	"github.com/iemproject/iem/format"
	"github.com/iemproject/iem/icewarp"
	"github.com/iemproject/iem/replay"
)

// Accounts is replay.Accounts over the IceWarp admin API.
type Accounts struct {
	admin   *icewarp.Admin
	pfGroup string
}

// NewAccounts returns the directory sink over a logged-in admin session
// (nil: PublicFoldersGroup only, as for check); pfGroup is the name of the
// group that receives the public folders (--public-folders-group).
func NewAccounts(admin *icewarp.Admin, pfGroup string) *Accounts {
	return &Accounts{admin: admin, pfGroup: pfGroup}
}

func (a *Accounts) EnsureDomain(ctx context.Context, domain string) error {
	_, err := a.admin.EnsureDomain(ctx, domain)
	return err
}

func (a *Accounts) EnsureAccount(ctx context.Context, acct replay.Account) (bool, error) {
	return a.admin.EnsureAccount(ctx, icewarp.Account{Email: acct.Email, Name: acct.Name, Password: acct.Password,
		Type: icewarp.TypeUser, Aliases: acct.Aliases})
}

func (a *Accounts) EnsureGroup(ctx context.Context, g replay.Group) error {
	_, err := a.admin.EnsureGroup(ctx, icewarp.Group{Email: g.Email, Name: g.Name, Members: g.Members, Properties: g.Properties})
	return err
}

func (a *Accounts) PublicFoldersGroup(domain string) replay.Group {
	g := icewarp.PublicFoldersGroup(domain, a.pfGroup)
	return replay.Group{Email: g.Email, Name: g.Name, Members: g.Members, Properties: g.Properties}
}

func (a *Accounts) GeneratePassword() (string, error) { return icewarp.GeneratePassword(16) }

// SetFolderPermissions sets a GroupWare folder's permissions
// (setaccountfolderpermissions; IMAP SETACL covers mail folders only).
func (a *Accounts) SetFolderPermissions(ctx context.Context, owner string, folder []string, perms []replay.Permission) error {
	p := make([]icewarp.Permission, len(perms))
	for i, g := range perms {
		p[i] = icewarp.Permission{Account: g.Account, Rights: g.Rights}
	}
	return a.admin.SetFolderPermissions(ctx, owner, icewarp.GroupwareFolderID(davFolder(folder)), p)
}

// SetResponder sets the account's auto-responder through its account
// properties (setaccountproperties): U_Respond (mode), U_RespondBetweenFrom
// and U_RespondBetweenTo ("YYYY/MM/DD", as IceWarp's WebClient stores
// them), U_ResponderContent (the text). Names and meanings: IceWarp's API
// constants (icewarp.md §2.4 [CONST]) and the WebClient's responder form,
// which reads and writes exactly these properties.
func (a *Accounts) SetResponder(ctx context.Context, account string, r format.Responder) error {
	return a.admin.SetAccountProperties(ctx, account, map[string]string{
		"U_Respond":            strconv.Itoa(r.Mode),
		"U_RespondBetweenFrom": r.From,
		"U_RespondBetweenTo":   r.Till,
		"U_ResponderContent":   r.Content,
	})
}
