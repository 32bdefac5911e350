package graphtest

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/iemproject/iem/exchange/ewstest"
)

// pimFolder returns the mailbox's folder of type typ (ContactsFolder,
// CalendarFolder) with its distinguished name dist.
func pimFolder(fs []folderView, dist string) *folderView {
	for i := range fs {
		d := fs[i].snap.Distinguished
		if d[len(d)-1] == dist {
			return &fs[i]
		}
	}
	return nil
}

// contactJSON renders a contact [I: Microsoft Learn contact resource type
// (resources/contact): givenName, surname, companyName, emailAddresses,
// businessPhones].
func contactJSON(it ewstest.ItemSnapshot) map[string]any {
	return withETag(map[string]any{"@odata.type": "#microsoft.graph.contact", "id": restID(it.ID),
		// displayName and fileAs as the EWS emulator serves DisplayName and FileAs.
		"displayName": it.GivenName + " " + it.Surname, "fileAs": it.Surname + ", " + it.GivenName, "givenName": it.GivenName, "surname": it.Surname, "companyName": it.Company,
		"emailAddresses": []any{map[string]any{"address": it.Email, "name": it.Subject}}, "businessPhones": []string{it.Phone}})
}

// withETag adds an @odata.etag that changes with the rendered fields, as
// the service's does with each change [V graph.md §11 W1: @odata.etag].
func withETag(m map[string]any) map[string]any {
	sum := sha256.Sum256([]byte(fmt.Sprint(m)))
	m["@odata.etag"] = `W/"` + base64.StdEncoding.EncodeToString(sum[:12]) + `"`
	return m
}

// contactFolderJSON renders a contactFolder [I: Microsoft Learn
// resources/contactfolder: id, displayName, parentFolderId].
func contactFolderJSON(f folderView) map[string]any {
	return map[string]any{"id": restID(f.snap.ID), "displayName": f.snap.Path[len(f.snap.Path)-1], "parentFolderId": f.parent}
}

// contactFolder returns the contact folder with REST id key, or the
// default one for the well-known name "contacts" [I].
func contactFolder(fs []folderView, key string) *folderView {
	if key == "contacts" {
		return pimFolder(fs, "contacts")
	}
	return folderOf(fs, "IPF.Contact", key)
}

// eventJSON renders an event with start/end as dateTimeTimeZone in UTC
// [I: Microsoft Learn event resource type (resources/event)]; recurrence
// of a series master is the weekly pattern the EWS emulator serves (ten
// weeks from the start) in Graph's shape [V graph.md §5 GDOC
// concepts/outlook-schedule-recurring-events.md].
func eventJSON(it ewstest.ItemSnapshot) map[string]any {
	dt := func(t time.Time) map[string]any {
		return map[string]any{"dateTime": t.UTC().Format("2006-01-02T15:04:05.0000000"), "timeZone": "UTC"}
	}
	typ := "singleInstance"
	if it.Recurring {
		typ = "seriesMaster"
	}
	var att []any
	for _, a := range it.Attendees {
		// Every attendee of the org has accepted, as the EWS emulator
		// serves them (ResponseType Accept) [I: Microsoft Learn
		// resources/attendee: type, status {response, time}, emailAddress;
		// resources/responsestatus: accepted]. Their names are filled by
		// Emulator.eventJSON.
		att = append(att, map[string]any{"type": "required", "emailAddress": map[string]any{"address": a},
			"status": map[string]any{"response": "accepted", "time": "0001-01-01T00:00:00Z"}})
	}
	m := map[string]any{"@odata.type": "#microsoft.graph.event", "id": restID(it.ID), "iCalUId": it.UID, "subject": it.Subject,
		"start": dt(it.Start), "end": dt(it.End), "isAllDay": it.AllDay, "type": typ, "location": map[string]any{"displayName": it.Location},
		"organizer": map[string]any{"emailAddress": map[string]any{"address": it.Organizer}}, "attendees": nonNil(att),
		// changeKey: the item's, which changes with its occurrences too
		// [I: Microsoft Learn resources/event changeKey], so the etag does.
		"changeKey": it.ChangeKey,
		// The EWS emulator's events are made in W. Europe Standard Time
		// (its StartTimeZone) [I: resources/event originalStartTimeZone].
		"originalStartTimeZone": orgZone, "originalEndTimeZone": orgZone}
	if it.Recurring {
		m["recurrence"] = map[string]any{
			"pattern": map[string]any{"type": "weekly", "interval": 1, "daysOfWeek": []string{strings.ToLower(it.Start.Weekday().String())}},
			"range": map[string]any{"type": "endDate", "startDate": it.Start.Format("2006-01-02"),
				"endDate": it.Start.Add(10 * 7 * 24 * time.Hour).Format("2006-01-02"), "recurrenceTimeZone": orgZone}}
	}
	return withETag(m)
}

// orgZone is the Windows zone of the org's events, berlin its IANA rules.
const orgZone = "W. Europe Standard Time"

var berlin, _ = time.LoadLocation("Europe/Berlin")

// calendarJSON renders a calendar [I: Microsoft Learn resources/calendar].
func calendarJSON(f folderView, def bool) map[string]any {
	return map[string]any{"id": restID(f.snap.ID), "name": f.snap.Path[len(f.snap.Path)-1], "isDefaultCalendar": def}
}

// folderList writes the collection of the folders of class, each as render makes it.
func (e *Emulator) folderList(w http.ResponseWriter, r *http.Request, fs []folderView, class, ctx string, render func(folderView) map[string]any) {
	var items []any
	for _, f := range fs {
		if f.snap.Class == class {
			items = append(items, render(f))
		}
	}
	e.collection(w, r, ctx, items, 10)
}

// folderOf returns the folder of class with REST id id, or nil.
func folderOf(fs []folderView, class, id string) *folderView {
	for i := range fs {
		if fs[i].snap.Class == class && restID(fs[i].snap.ID) == id {
			return &fs[i]
		}
	}
	return nil
}

// findItem returns the item of type typ with REST id id in any folder.
func findItem(fs []folderView, typ, id string) *ewstest.ItemSnapshot {
	for _, f := range fs {
		for i, it := range f.snap.Items {
			if it.Type == typ && (restID(it.ID) == id || it.ID == ewsID(id)) {
				return &f.snap.Items[i]
			}
		}
	}
	return nil
}

// pim serves /users/{id}/contacts, /contactFolders/{id}/contacts(/delta),
// /events and /calendar/events; false when the path is not one of them.
func (e *Emulator) pim(w http.ResponseWriter, r *http.Request, fs []folderView, rest []string) bool {
	var f *folderView
	var render func(ewstest.ItemSnapshot) map[string]any
	deltaCall := false
	switch {
	case len(rest) == 1 && rest[0] == "contactFolders":
		e.folderList(w, r, fs, "IPF.Contact", "Collection(contactFolder)", contactFolderJSON)
		return true
	case len(rest) == 2 && rest[0] == "contactFolders":
		if f := contactFolder(fs, rest[1]); f != nil {
			writeJSON(w, contactFolderJSON(*f))
		} else {
			graphError(w, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
		}
		return true
	case len(rest) == 2 && (rest[0] == "contacts" || rest[0] == "events"):
		// GET /users/{id}/contacts/{id}, /events/{id} [I: Microsoft
		// Learn api/contact-get, api/event-get].
		typ, render := "Contact", contactJSON
		if rest[0] == "events" {
			typ, render = "CalendarItem", e.eventJSON
		}
		if it := findItem(fs, typ, rest[1]); it != nil {
			writeJSON(w, render(*it))
		} else {
			graphError(w, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
		}
		return true
	case len(rest) == 1 && rest[0] == "calendars":
		def := pimFolder(fs, "calendar")
		var items []any
		for i, f := range fs {
			if f.snap.Class == "IPF.Appointment" {
				items = append(items, calendarJSON(f, def == &fs[i]))
			}
		}
		e.collection(w, r, "Collection(calendar)", items, 10)
		return true
	case len(rest) == 3 && rest[0] == "calendars" && rest[2] == "events":
		f, render = folderOf(fs, "IPF.Appointment", rest[1]), e.eventJSON
	case len(rest) == 1 && rest[0] == "contacts":
		f, render = pimFolder(fs, "contacts"), contactJSON
	case len(rest) >= 3 && rest[0] == "contactFolders" && rest[2] == "contacts":
		f, render, deltaCall = contactFolder(fs, rest[1]), contactJSON, len(rest) == 4 && rest[3] == "delta"
	case len(rest) == 1 && rest[0] == "events", len(rest) == 2 && rest[0] == "calendar" && rest[1] == "events":
		f, render = pimFolder(fs, "calendar"), e.eventJSON
	default:
		return false
	}
	if f == nil {
		graphError(w, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
		return true
	}
	var items []any
	for _, it := range f.snap.Items {
		if it.Type == "Contact" || it.Type == "CalendarItem" {
			items = append(items, render(it))
		}
	}
	if deltaCall {
		e.delta(w, r, "Collection(contact)", items)
	} else {
		e.collection(w, r, "Collection", items, 10)
	}
	return true
}
