package icewarpsink

import (
	"context"

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
