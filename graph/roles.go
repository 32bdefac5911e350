package graph

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
)

// needed are the application permissions the Graph source reads with,
// each with the broader ones that include it (graph.md §2.1).
var needed = [][]string{
	{"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	{"Group.Read.All", "GroupMember.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	{"Mail.Read", "Mail.ReadWrite"},
	{"Contacts.Read", "Contacts.ReadWrite"},
	{"Calendars.Read", "Calendars.ReadWrite"},
}

// Optional is an application permission the source reads with when it is
// granted; without it the export goes on and its summary says what was
// not read.
type Optional struct {
	Permission string
	Alts       []string // broader permissions that include it
	Without    string   // what is not read without it
}

// OptionalPermissions: mailbox settings (out-of-office, inbox rules) and
// Microsoft To Do tasks (graph.md §2.1; Tasks.Read.All [I: Microsoft Learn
// todotasklist-list permission table]).
var OptionalPermissions = []Optional{
	{"MailboxSettings.Read", []string{"MailboxSettings.ReadWrite"}, "out-of-office replies and inbox rules"},
	{"Tasks.Read.All", []string{"Tasks.ReadWrite.All"}, "Microsoft To Do tasks"},
}

// MissingOptional returns the optional permissions an app-only access
// token does not grant (nil for a token MissingPermissions cannot read).
func MissingOptional(token string) []Optional {
	roles, ok := tokenRoles(token)
	if !ok {
		return nil
	}
	var missing []Optional
	for _, o := range OptionalPermissions {
		if !slices.Contains(roles, o.Permission) && !slices.ContainsFunc(o.Alts, func(p string) bool { return slices.Contains(roles, p) }) {
			missing = append(missing, o)
		}
	}
	return missing
}

// MissingOptional returns the optional permissions the client's current
// token does not grant.
func (c *Client) MissingOptional(ctx context.Context) ([]Optional, error) {
	tok, err := c.tokens.Token(ctx)
	if err != nil {
		return nil, err
	}
	return MissingOptional(tok), nil
}

// MissingPermissions returns the application permissions the source needs
// that an app-only access token does not grant, read from the token's
// roles claim [I: Microsoft identity platform "access token claims
// reference": an app-only token lists the granted application permissions
// in roles]. A token that is not a readable JWT with a roles claim (Graph
// tokens are meant to be opaque to clients) gives nil: the calls then
// find out.
func MissingPermissions(token string) []string {
	roles, ok := tokenRoles(token)
	if !ok {
		return nil
	}
	var missing []string
	for _, alts := range needed {
		if !slices.ContainsFunc(alts, func(p string) bool { return slices.Contains(roles, p) }) {
			missing = append(missing, alts[0])
		}
	}
	return missing
}

// tokenRoles reads the roles claim of a JWT access token; false when the
// token is not a readable JWT with one.
func tokenRoles(token string) ([]string, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, false
	}
	var claims struct {
		Roles *[]string `json:"roles"`
	}
	if json.Unmarshal(b, &claims) != nil || claims.Roles == nil {
		return nil, false
	}
	return *claims.Roles, true
}
