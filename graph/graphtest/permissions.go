package graphtest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
)

// Permissions are the application permissions the emulated app
// registration is granted (with admin consent) unless Revoke takes one
// away: the read-only ones the Graph source needs (graph.md §2.1).
var Permissions = []string{"User.Read.All", "Group.Read.All", "Mail.Read", "Contacts.Read", "Calendars.Read", "MailboxSettings.Read", "Tasks.Read.All"}

// Revoke takes an application permission away from the app: tokens
// issued afterwards do not list it in their roles claim, and the calls
// that need it answer 403.
func (e *Emulator) Revoke(perm string) {
	e.mu.Lock()
	if e.revoked == nil {
		e.revoked = map[string]bool{}
	}
	e.revoked[perm] = true
	e.mu.Unlock()
}

// roles are the granted permissions, the roles claim of an app-only
// access token [I: Microsoft identity platform "access token claims
// reference": roles holds the application permissions granted].
func (e *Emulator) roles() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, p := range Permissions {
		if !e.revoked[p] {
			out = append(out, p)
		}
	}
	return out
}

// tokenPayload is the JWT payload of an issued access token: its roles and
// a random jti.
func (e *Emulator) tokenPayload(jti []byte) string {
	b, _ := json.Marshal(map[string]any{"aud": "https://graph.microsoft.com", "roles": e.roles(),
		"jti": base64.RawURLEncoding.EncodeToString(jti)})
	return base64.RawURLEncoding.EncodeToString(b)
}

// permitted answers 403 when the call needs a permission the app lacks:
// Authorization_RequestDenied for the directory, ErrorAccessDenied with
// Outlook's "Access is denied" for mailbox data [I: codes and messages as
// Microsoft Graph returns them, from Microsoft Learn "Microsoft Graph
// error responses" and Microsoft Q&A threads; not in graph.md].
func (e *Emulator) permitted(w http.ResponseWriter, segs []string) bool {
	need, dir := "", false
	switch {
	case len(segs) == 0:
		return true
	case segs[0] == "groups":
		need, dir = "Group.Read.All", true
	case segs[0] == "users" && len(segs) <= 2:
		need, dir = "User.Read.All", true
	case segs[0] == "users":
		switch segs[2] {
		case "mailFolders", "messages":
			need = "Mail.Read"
			if len(segs) == 5 && segs[4] == "messageRules" {
				need = "MailboxSettings.Read" // [V GDOC messagerule-get.md permissions]
			}
		case "contactFolders", "contacts":
			need = "Contacts.Read"
		case "calendars", "calendar", "events", "calendarView":
			need = "Calendars.Read"
		case "mailboxSettings":
			need = "MailboxSettings.Read"
		case "todo":
			// Microsoft To Do needs Tasks.Read.All as an application
			// permission [I: Microsoft Learn todotasklist-list and
			// todotask-delta permission tables; not in graph.md §2.1]; the
			// 403 body is the one of the other mailbox data [I].
			need = "Tasks.Read.All"
		}
	}
	if need == "" || slices.Contains(e.roles(), need) {
		return true
	}
	if dir {
		graphError(w, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	} else {
		graphError(w, http.StatusForbidden, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
	}
	return false
}
