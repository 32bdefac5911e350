package graphtest

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"

	"github.com/iemproject/iem/exchange/ewstest"
)

// objectID is a stable GUID for a directory object [I: Graph ids of
// users and groups are GUIDs].
func objectID(smtp string) string {
	s := sha256.Sum256([]byte(strings.ToLower(smtp)))
	return fmt.Sprintf("%x-%x-%x-%x-%x", s[0:4], s[4:6], s[6:8], s[8:10], s[10:16])
}

// user renders a user resource with mail, userPrincipalName and
// proxyAddresses ("SMTP:" primary, "smtp:" aliases) [I: Microsoft Learn
// user resource type (resources/user)].
func userJSON(u *ewstest.User) map[string]any {
	px := []string{"SMTP:" + u.SMTP}
	for _, a := range u.Aliases {
		px = append(px, "smtp:"+a)
	}
	return map[string]any{"@odata.type": "#microsoft.graph.user", "id": objectID(u.SMTP), "displayName": u.DisplayName,
		"mail": u.SMTP, "userPrincipalName": u.SMTP, "mailNickname": u.Name, "proxyAddresses": px, "accountEnabled": !u.Disabled}
}

func (e *Emulator) findUser(id string) *ewstest.User {
	for _, u := range e.Org.Users {
		if strings.EqualFold(objectID(u.SMTP), id) {
			return u
		}
	}
	return e.Org.Mailbox(id)
}

// listUsers serves GET /users, 100 a page by default [I: default page
// size from memory, graph.md §3].
func (e *Emulator) listUsers(w http.ResponseWriter, r *http.Request) {
	var items []any
	for _, u := range e.Org.Users {
		items = append(items, userJSON(u))
	}
	e.collection(w, r, "users", items, 100)
}

func groupJSON(g *ewstest.Group) map[string]any {
	return map[string]any{"@odata.type": "#microsoft.graph.group", "id": objectID(g.SMTP), "displayName": g.DisplayName,
		"mail": g.SMTP, "mailNickname": g.Name, "mailEnabled": true, "securityEnabled": false, "groupTypes": []string{},
		"proxyAddresses": []string{"SMTP:" + g.SMTP}}
}

// listGroups serves GET /groups.
func (e *Emulator) listGroups(w http.ResponseWriter, r *http.Request) {
	var items []any
	for _, g := range e.Org.Groups {
		items = append(items, groupJSON(g))
	}
	e.collection(w, r, "groups", items, 100)
}

// groupMembers serves GET /groups/{id}/members (and transitiveMembers,
// the same here: generated groups are not nested) as directoryObjects
// with @odata.type [V graph.md §3 GDOC group-list-transitivemembers.md].
func (e *Emulator) groupMembers(w http.ResponseWriter, r *http.Request, id string) {
	for _, g := range e.Org.Groups {
		if strings.EqualFold(objectID(g.SMTP), id) || strings.EqualFold(g.SMTP, id) {
			var items []any
			for _, m := range g.Members {
				items = append(items, userJSON(m))
			}
			e.collection(w, r, "directoryObjects", items, 100)
			return
		}
	}
	graphError(w, http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+id+"' does not exist or one of its queried reference-property objects are not present.")
}
