package graphtest

import (
	"encoding/base64"
	"net/http"
	"time"
	_ "time/tzdata" // Europe/Berlin without a host zoneinfo database

	"github.com/iemproject/iem/exchange/ewstest"
)

// Series instances and calendar permissions.

// weekly is the recurrence of the org's series (eventJSON): every week
// at the start's local time in the series' zone (orgZone), through the
// range's endDate, ten weeks on.
func weekly(master ewstest.ItemSnapshot) []time.Time {
	end := master.Start.Add(10 * 7 * 24 * time.Hour).Format("2006-01-02")
	local := master.Start.In(berlin)
	var out []time.Time
	for k := 0; ; k++ {
		t := local.AddDate(0, 0, 7*k)
		if t.Format("2006-01-02") > end {
			return out
		}
		out = append(out, t.UTC())
	}
}

// instances returns the occurrences and exceptions of a series master
// that overlap [lo, hi): an occurrence is the master's fields at its own
// time with type "occurrence", an exception the modified occurrence with
// type "exception", both with originalStart; a deleted occurrence is not
// listed [I: Microsoft Learn api/event-list-instances; resources/event
// type, originalStart; graph.md §5].
func (e *Emulator) instances(master ewstest.ItemSnapshot, lo, hi time.Time) []any {
	var items []any
	dur := master.End.Sub(master.Start)
	for k, orig := range weekly(master) {
		deleted := false
		for _, d := range master.DeletedOccurrences {
			deleted = deleted || d.Equal(orig)
		}
		if deleted {
			continue
		}
		var m map[string]any
		start, end := orig, orig.Add(dur)
		for _, oc := range master.Occurrences {
			if oc.OriginalStart.Equal(orig) {
				// The exception as the org holds it: its own attendees
				// (the EWS emulator serves the same), the series' UID.
				oc.UID = master.UID
				m = e.eventJSON(oc)
				m["type"] = "exception"
				start, end = oc.Start, oc.End
			}
		}
		if m == nil {
			occ := master
			occ.Recurring, occ.Start, occ.End = false, start, end
			m = e.eventJSON(occ)
			m["id"] = restID(master.ID) + "-occ" + itoa(k)
			m["type"] = "occurrence"
		}
		if !start.Before(hi) || !end.After(lo) {
			continue
		}
		m["originalStart"] = orig.UTC().Format(time.RFC3339)
		m["seriesMasterId"] = restID(master.ID)
		items = append(items, withETag(m))
	}
	return items
}

// calendarRole maps an EWS calendar permission level to a
// calendarPermission role [V graph.md §6 GDOC
// resources/calendarpermission.md roles; the pairing is I].
var calendarRole = map[string]string{"None": "none", "FreeBusyTimeOnly": "freeBusyRead",
	"FreeBusyTimeAndSubjectAndLocation": "limitedRead", "Reviewer": "read", "Editor": "write",
	"PublishingEditor": "write", "Author": "write", "PublishingAuthor": "write", "Owner": "delegateWithPrivateEventAccess"}

// calendarPermissionsJSON renders a calendar folder's permissions: the
// Default entry is "My Organization" with a null address, users by
// address; the Anonymous entry has no calendarPermission form [I] and is
// left out [V graph.md §6: emailAddress, role, allowedRoles,
// isInsideOrganization, isRemovable].
func calendarPermissionsJSON(f folderView, org *ewstest.Org) []any {
	var items []any
	for _, p := range f.snap.Permissions {
		role, ok := calendarRole[p.Level]
		if !ok {
			role = "custom"
		}
		ea := map[string]any{"name": "My Organization", "address": nil}
		switch p.User {
		case "Anonymous":
			continue
		case "Default":
		default:
			name := p.User
			if u := org.Mailbox(p.User); u != nil {
				name = u.DisplayName
			}
			ea = map[string]any{"name": name, "address": p.User}
		}
		items = append(items, map[string]any{"id": base64.RawURLEncoding.EncodeToString([]byte(f.snap.ID + "/" + p.User)),
			"emailAddress": ea, "role": role, "isInsideOrganization": true, "isRemovable": p.User != "Default",
			"allowedRoles": []string{"none", "freeBusyRead", "limitedRead", "read", "write"}})
	}
	return items
}

// calendarExtra serves /users/{id}/events/{id}/instances and
// /calendars/{id}/calendarPermissions (/calendar/calendarPermissions for
// the default one); false when the path is not one of them.
func (e *Emulator) calendarExtra(w http.ResponseWriter, r *http.Request, fs []folderView, rest []string) bool {
	switch {
	case len(rest) == 3 && rest[0] == "events" && rest[2] == "instances":
		it := findItem(fs, "CalendarItem", rest[1])
		lo, err1 := time.Parse(time.RFC3339, r.URL.Query().Get("startDateTime"))
		hi, err2 := time.Parse(time.RFC3339, r.URL.Query().Get("endDateTime"))
		switch {
		case it == nil:
			graphError(w, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
		case err1 != nil || err2 != nil:
			// [I: the parameters are required (api/event-list-instances)]
			graphError(w, http.StatusBadRequest, "ErrorInvalidParameter", "startDateTime and endDateTime are required.")
		case !it.Recurring:
			e.collection(w, r, "Collection(event)", nil, 10)
		default:
			e.collection(w, r, "Collection(event)", e.instances(*it, lo, hi), 10)
		}
		return true
	case len(rest) == 3 && rest[0] == "calendars" && rest[2] == "calendarPermissions",
		len(rest) == 2 && rest[0] == "calendar" && rest[1] == "calendarPermissions":
		f := pimFolder(fs, "calendar")
		if rest[0] == "calendars" {
			f = folderOf(fs, "IPF.Appointment", rest[1])
		}
		if f == nil {
			graphError(w, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
			return true
		}
		e.collection(w, r, "Collection(calendarPermission)", calendarPermissionsJSON(*f, e.Org), 10)
		return true
	}
	return false
}

// eventJSON renders an event (eventJSON) with the display names of its
// organizer and attendees, the org's users' names as Graph gives them in
// emailAddress.name [I: Microsoft Learn resources/emailaddress: name,
// address; resources/recipient].
func (e *Emulator) eventJSON(it ewstest.ItemSnapshot) map[string]any {
	m := eventJSON(it)
	name := func(r any) {
		ea, _ := r.(map[string]any)["emailAddress"].(map[string]any)
		if addr, _ := ea["address"].(string); addr != "" {
			if u := e.Org.Mailbox(addr); u != nil {
				ea["name"] = u.DisplayName
			}
		}
	}
	name(m["organizer"])
	if att, ok := m["attendees"].([]any); ok {
		for _, a := range att {
			name(a)
		}
	}
	return m
}
