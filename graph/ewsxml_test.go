package graph

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/iemproject/iem/format"
)

// TestContactVCard: a Graph contact's JSON fields reach the vCard through
// format.ContactToVCard.
func TestContactVCard(t *testing.T) {
	var c object
	err := json.Unmarshal([]byte(`{"id":"AAMk-a_b=","displayName":"Dana Swope","givenName":"Dana","surname":"Swope",
		"companyName":"Contoso & Co","jobTitle":"Lead","birthday":"1980-05-04T00:00:00Z","categories":["VIP"],
		"emailAddresses":[{"name":"Dana","address":"danas@contoso.com"}],"businessPhones":["+1 555 0100"],"mobilePhone":"+1 555 0101",
		"businessAddress":{"street":"1 Main St","city":"Redmond","postalCode":"98052"},"personalNotes":"likes <tea>"}`), &c)
	if err != nil {
		t.Fatal(err)
	}
	card, _, err := format.ContactToVCard(c.ewsXML(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := format.WriteVCard(&b, card); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"FN:Dana Swope", "N:Swope;Dana", "ORG:Contoso & Co", "TITLE:Lead", "BDAY:1980-05-04",
		"CATEGORIES:VIP", "danas@contoso.com", "+1 555 0100", "+1 555 0101", "1 Main St", "NOTE:likes <tea>"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("vCard lacks %q:\n%s", want, b.String())
		}
	}
}

// TestEventICal: a series master with graph.md §5's recurrence sample and
// an attendee reaches the iCalendar through format.CalendarToICal.
func TestEventICal(t *testing.T) {
	var ev object
	err := json.Unmarshal([]byte(`{"id":"AAMk-ev","iCalUId":"040000008200E0","subject":"Board","type":"seriesMaster",
		"start":{"dateTime":"2017-09-07T09:00:00.0000000","timeZone":"UTC"},"end":{"dateTime":"2017-09-07T10:00:00.0000000","timeZone":"UTC"},
		"isReminderOn":true,"reminderMinutesBeforeStart":15,"showAs":"busy","location":{"displayName":"Room 1"},
		"organizer":{"emailAddress":{"name":"Dana","address":"danas@contoso.com"}},
		"attendees":[{"type":"required","status":{"response":"accepted"},"emailAddress":{"address":"alex@contoso.com"}}],
		"recurrence":{"pattern":{"type":"relativeMonthly","interval":2,"daysOfWeek":["Thursday"],"index":"first"},
		"range":{"type":"noEnd","startDate":"2017-08-29"}}}`), &ev)
	if err != nil {
		t.Fatal(err)
	}
	cal, _, err := format.CalendarToICal(ev.calendarXML(), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := format.WriteICal(&b, cal); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"UID:040000008200E0", "SUMMARY:Board", "DTSTART:20170907T090000Z", "LOCATION:Room 1",
		"RRULE:", "FREQ=MONTHLY", "INTERVAL=2", "TH", "danas@contoso.com", "alex@contoso.com", "PARTSTAT=ACCEPTED", "VALARM"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("iCalendar lacks %q:\n%s", want, b.String())
		}
	}
}
