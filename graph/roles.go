package graph

import (
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

// MissingPermissions returns the application permissions the source needs
// that an app-only access token does not grant, read from the token's
// roles claim [I: Microsoft identity platform "access token claims
// reference": an app-only token lists the granted application permissions
// in roles]. A token that is not a readable JWT with a roles claim (Graph
// tokens are meant to be opaque to clients) gives nil: the calls then
// find out.
func MissingPermissions(token string) []string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var claims struct {
		Roles *[]string `json:"roles"`
	}
	if json.Unmarshal(b, &claims) != nil || claims.Roles == nil {
		return nil
	}
	var missing []string
	for _, alts := range needed {
		if !slices.ContainsFunc(alts, func(p string) bool { return slices.Contains(*claims.Roles, p) }) {
			missing = append(missing, alts[0])
		}
	}
	return missing
}
