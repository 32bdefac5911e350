package icewarp

import (
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// AccountType is IceWarp's U_Type (icewarp.md §2.4, [V CONST]).
type AccountType int

// The account types the importer creates.
const (
	TypeUser  AccountType = 0 // a mailbox (created as an IMAP account, U_AccountType 2)
	TypeList  AccountType = 1 // a mailing list with a list file
	TypeGroup AccountType = 7 // a group: shared folders, members, public folders
)

func (t AccountType) String() string {
	switch t {
	case TypeUser:
		return "user"
	case TypeList:
		return "mailing list"
	case TypeGroup:
		return "group"
	}
	return "u_type " + strconv.Itoa(int(t))
}

// An Account is a user, mailing list or group to create.
type Account struct {
	Email string // primary address, alias@domain
	Name  string // full name (u_name; m_name for a list, g_name for a group)
	// Password for a new user (u_password). Never sent for an existing
	// account, so a rerun does not reset passwords users have changed.
	Password string
	Type     AccountType
	// Aliases are further addresses (proxy addresses in the directory),
	// stored ";"-joined in u_emailalias [V WSP].
	Aliases []string
	// Members of a mailing list, written one per line to
	// m_listfile_contents (icewarp.md §2.4). Groups use [Group.Members].
	Members []string
	// Properties are further API variables (lower-case names, string
	// values), applied on create and on every rerun.
	Properties map[string]string
}

// An AccountInfo is one item of getaccountsinfolist [V NET GetAccountsInfoList.xml].
type AccountInfo struct {
	Name  string
	Email string
	Type  AccountType // the <accounttype> element: 7 for the "Public Folders" group in the fixture
}

// Accounts lists a domain's accounts whose name matches mask ("" for all).
func (a *Admin) Accounts(ctx context.Context, domain, mask string) ([]AccountInfo, error) {
	var out []AccountInfo
	err := a.list(ctx, "getaccountsinfolist", domain, func(offset int) *node {
		return el("commandparams",
			leaf("domainstr", domain),
			el("filter", leaf("namemask", mask), leaf("typemask", "0")),
			leaf("offset", strconv.Itoa(offset)),
			leaf("count", "0"))
	}, func(it *node) {
		t, _ := strconv.Atoi(it.Text("accounttype"))
		out = append(out, AccountInfo{Name: it.Text("name"), Email: it.Text("email"), Type: AccountType(t)})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// lookup finds an account by email; ok is false when there is none.
func (a *Admin) lookup(ctx context.Context, email string) (info AccountInfo, ok bool, err error) {
	alias, domain, err := splitEmail(email)
	if err != nil {
		return info, false, err
	}
	list, err := a.Accounts(ctx, domain, alias)
	if err != nil {
		return info, false, err
	}
	for _, it := range list {
		if strings.EqualFold(it.Email, email) {
			return it, true, nil
		}
	}
	return info, false, nil
}

func splitEmail(email string) (alias, domain string, err error) {
	i := strings.LastIndexByte(email, '@')
	if i <= 0 || i == len(email)-1 || strings.ContainsAny(email, " \t\r\n<>") {
		return "", "", fmt.Errorf("icewarp: invalid email %q", email)
	}
	return email[:i], email[i+1:], nil
}

// EnsureAccount creates the account unless one with this email exists, and
// reports whether it created it. An existing account of the same type gets
// its name, aliases and Properties applied again (never the password); one of
// another type is an error wrapping [ErrTypeConflict]. The domain must exist.
func (a *Admin) EnsureAccount(ctx context.Context, acct Account) (created bool, err error) {
	alias, domain, err := splitEmail(acct.Email)
	if err != nil {
		return false, err
	}
	if acct.Type == TypeUser && acct.Password == "" {
		return false, fmt.Errorf("icewarp: ensure account %s: a new user needs a password", acct.Email)
	}
	info, ok, err := a.lookup(ctx, acct.Email)
	if err != nil {
		return false, err
	}
	if ok {
		return false, a.update(ctx, acct, info)
	}
	props := accountProps(acct)
	// [V NET CreateAccount.xml]: domainstr + accountproperties/item* (u_alias, u_name, u_type …)
	params := el("commandparams", leaf("domainstr", domain), el("accountproperties"))
	ap := params.Children[1]
	ap.Children = append(ap.Children, property("u_alias", alias), property("u_type", strconv.Itoa(int(acct.Type))))
	if acct.Type == TypeUser {
		ap.Children = append(ap.Children, property("u_password", acct.Password))
	}
	for _, k := range slices.Sorted(maps.Keys(props)) {
		ap.Children = append(ap.Children, property(k, props[k]))
	}
	if cerr := a.callOK(ctx, "createaccount", acct.Email, params); cerr != nil {
		// A create retried after a lost response may have succeeded.
		if info, ok, err := a.lookup(ctx, acct.Email); err == nil && ok {
			return false, a.update(ctx, acct, info)
		}
		return false, cerr
	}
	return true, nil
}

// accountProps returns the properties sent for acct, except alias, type and password.
func accountProps(acct Account) map[string]string {
	p := map[string]string{}
	switch acct.Type {
	case TypeUser:
		p["u_accounttype"] = "2" // IMAP (icewarp.md §6 step 3)
	case TypeList:
		if len(acct.Members) > 0 {
			p["m_listfile_contents"] = strings.Join(acct.Members, "\n")
		}
	}
	if acct.Name != "" {
		p["u_name"] = acct.Name
		switch acct.Type {
		case TypeList:
			p["m_name"] = acct.Name
		case TypeGroup:
			p["g_name"] = acct.Name
		}
	}
	if len(acct.Aliases) > 0 {
		p["u_emailalias"] = strings.Join(acct.Aliases, ";")
	}
	for k, v := range acct.Properties {
		p[strings.ToLower(k)] = v
	}
	return p
}

func (a *Admin) update(ctx context.Context, acct Account, info AccountInfo) error {
	if info.Type != acct.Type {
		return fmt.Errorf("%w: %s is a %s, want a %s", ErrTypeConflict, acct.Email, info.Type, acct.Type)
	}
	props := accountProps(acct)
	delete(props, "u_accounttype") // leave the protocol of an existing mailbox alone
	if len(props) == 0 {
		return nil
	}
	return a.SetAccountProperties(ctx, acct.Email, props)
}

// AccountProperties reads API variables of an account, e.g.
// "u_fullmailboxpath" for path mode ([V NET GetAccountProperties.xml]:
// accountpropertylist/item/propname*, accountpropertyset 0). The map is
// keyed by lower-case variable name; variables the server did not return
// are missing from it.
func (a *Admin) AccountProperties(ctx context.Context, email string, names ...string) (map[string]string, error) {
	list := el("accountpropertylist")
	for _, n := range names {
		list.Children = append(list.Children, el("item", leaf("propname", n)))
	}
	res, err := a.call(ctx, "getaccountproperties", email, el("commandparams",
		leaf("accountemail", email), list, leaf("accountpropertyset", "0")))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	// Response items echo classname "TPropertyString" [V NET Responses/GetAccountProperties.xml].
	for _, it := range res.All("item") {
		name := strings.ToLower(it.Text("apiproperty", "propname"))
		if name != "" {
			out[name] = it.Text("propertyval", "val")
		}
	}
	return out, nil
}

// SetAccountProperties sets API variables of an account
// ("setaccountproperties", propertyvaluelist/item* [V NET SetAccountProperties.xml]).
func (a *Admin) SetAccountProperties(ctx context.Context, email string, props map[string]string) error {
	list := el("propertyvaluelist")
	for _, k := range slices.Sorted(maps.Keys(props)) {
		list.Children = append(list.Children, property(strings.ToLower(k), props[k]))
	}
	return a.callOK(ctx, "setaccountproperties", email, el("commandparams", leaf("accountemail", email), list))
}

// SetPassword sets an account's password without the password policy
// ("setaccountpassword": accountemail, authtype 0, password, digest,
// ignorepolicy 1 [V API-JSON]), for --passwords-from on accounts that exist.
func (a *Admin) SetPassword(ctx context.Context, email, password string) error {
	if password == "" {
		return fmt.Errorf("icewarp: set password %s: empty password", email)
	}
	return a.callOK(ctx, "setaccountpassword", email, el("commandparams",
		leaf("accountemail", email), leaf("authtype", "0"), secretLeaf("password", password),
		leaf("digest", ""), leaf("ignorepolicy", "1")))
}

// MailboxPath returns the account's absolute mailbox directory,
// u_fullmailboxpath (icewarp.md §1.2: always ask, never compute).
func (a *Admin) MailboxPath(ctx context.Context, email string) (string, error) {
	p, err := a.AccountProperties(ctx, email, "u_fullmailboxpath")
	if err != nil {
		return "", err
	}
	if p["u_fullmailboxpath"] == "" {
		return "", fmt.Errorf("%w: u_fullmailboxpath of %s", ErrNotFound, email)
	}
	return p["u_fullmailboxpath"], nil
}

// RefreshAccount makes IceWarp rescan an account after files were written
// into its mail path: it sets u_directorycache_refreshnow to 1, the refresh
// IceWarp staff run after moving mail directories (icewarp.md §1.6,
// [V CONST U_DirectoryCache_RefreshNow; MS domainmove.sh]).
func (a *Admin) RefreshAccount(ctx context.Context, email string) error {
	return a.SetAccountProperties(ctx, email, map[string]string{"u_directorycache_refreshnow": "1"})
}

// A Group is a group account (U_Type 7) with members.
type Group struct {
	Email   string
	Name    string   // g_name, the group's folder name
	Members []string // member emails, added with addaccountmembers
	// Aliases and Properties as in [Account]; e.g. "g_groupwareshared": "1"
	// for a public folders group.
	Aliases    []string
	Properties map[string]string
}

// EnsureGroup creates the group unless it exists and adds its members
// (addaccountmembers, [V NET AddAccountMembers.xml]: members{classname
// tpropertymembers, val/item{classname tpropertymember, val, default,
// recieve, post, digest}}). Members are added on every call; adding a member
// twice is harmless on the emulator, unverified on a real server.
func (a *Admin) EnsureGroup(ctx context.Context, g Group) (created bool, err error) {
	created, err = a.EnsureAccount(ctx, Account{Email: g.Email, Name: g.Name, Type: TypeGroup, Aliases: g.Aliases, Properties: g.Properties})
	if err != nil || len(g.Members) == 0 {
		return created, err
	}
	val := el("val")
	for _, m := range g.Members {
		val.Children = append(val.Children, el("item",
			leaf("classname", "tpropertymember"),
			leaf("val", m),
			leaf("default", "1"),
			leaf("recieve", "1"), // sic, as on the wire
			leaf("post", "1"),
			leaf("digest", "0")))
	}
	err = a.callOK(ctx, "addaccountmembers", g.Email, el("commandparams",
		leaf("accountemail", g.Email),
		el("members", leaf("classname", "tpropertymembers"), val)))
	return created, err
}

// PublicFoldersGroup returns the group that holds public folders in a
// domain: a group account with shared GroupWare folders (icewarp.md §2.7),
// named name (the --public-folders-group flag, default "Public Folders")
// with the address made from it as in the IceWarp.Net fixture
// ("Public Folders" → public-folders@domain).
func PublicFoldersGroup(domain, name string) Group {
	if name == "" {
		name = "Public Folders"
	}
	alias := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		case r == ' ':
			return '-'
		}
		return -1
	}, name)
	return Group{Email: alias + "@" + domain, Name: name, Properties: map[string]string{"g_groupwareshared": "1"}}
}

// GeneratePassword returns a random password of n characters (at least 12)
// with upper and lower case letters, digits and punctuation, for new
// accounts whose Exchange password cannot be exported.
func GeneratePassword(n int) (string, error) {
	if n < 12 {
		n = 12
	}
	const classes = "ABCDEFGHJKLMNPQRSTUVWXYZ" + "abcdefghijkmnopqrstuvwxyz" + "23456789" + "-_.+!#"
	sets := []string{classes[:24], classes[24:49], classes[49:57], classes[57:]}
	for {
		buf := make([]byte, n)
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("icewarp: generate password: %w", err)
		}
		for i, b := range buf {
			buf[i] = classes[int(b)%len(classes)]
		}
		ok := true
		for _, s := range sets {
			if !strings.ContainsAny(string(buf), s) {
				ok = false
			}
		}
		if ok {
			return string(buf), nil
		}
	}
}
