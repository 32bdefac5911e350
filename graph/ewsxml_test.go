package graph

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/emersion/go-ical"
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
	got := icalText(t, cal, err)
	for _, want := range []string{"UID:040000008200E0", "SUMMARY:Board", "DTSTART:20170907T090000Z", "LOCATION:Room 1",
		"RRULE:", "FREQ=MONTHLY", "INTERVAL=2", "TH", "danas@contoso.com", "alex@contoso.com", "PARTSTAT=ACCEPTED", "VALARM"} {
		if !strings.Contains(got, want) {
			t.Errorf("iCalendar lacks %q:\n%s", want, got)
		}
	}
}

// TestTaskVTodo: a To Do task in the shape of the todoTask resource
// (todotask.md) reaches the VTODO through format.TaskToICal with its
// status, importance, start and due days, reminder, recurrence,
// categories and body.
func TestTaskVTodo(t *testing.T) {
	var task object
	err := json.Unmarshal([]byte(`{"id":"AAMkADMw-task_1=","title":"Quarterly report","status":"completed","importance":"high",
		"isReminderOn":true,"reminderDateTime":{"dateTime":"2020-08-24T07:30:00.0000000","timeZone":"UTC"},
		"startDateTime":{"dateTime":"2020-08-20T00:00:00.0000000","timeZone":"UTC"},
		"dueDateTime":{"dateTime":"2020-08-25T00:00:00.0000000","timeZone":"UTC"},
		"completedDateTime":{"dateTime":"2020-08-24T15:00:00.0000000","timeZone":"UTC"},
		"createdDateTime":"2020-08-12T04:54:29.1925206Z","lastModifiedDateTime":"2020-08-12T04:54:29.4903939Z",
		"categories":["Finance"],"body":{"content":"numbers <first>","contentType":"text"},
		"recurrence":{"pattern":{"type":"weekly","interval":1,"daysOfWeek":["tuesday"],"firstDayOfWeek":"sunday"},
		"range":{"type":"noEnd","startDate":"2020-08-25"}}}`), &task)
	if err != nil {
		t.Fatal(err)
	}
	got := taskICal(t, task)
	for _, want := range []string{"BEGIN:VTODO", "SUMMARY:Quarterly report", "STATUS:COMPLETED", "PERCENT-COMPLETE:100",
		"PRIORITY:1", "DTSTART;VALUE=DATE:20200820", "DUE;VALUE=DATE:20200825", "COMPLETED:20200824T150000Z",
		"RRULE:FREQ=WEEKLY", "BYDAY=TU", "BEGIN:VALARM", "TRIGGER;VALUE=DATE-TIME:20200824T073000Z", "CATEGORIES:Finance",
		"DESCRIPTION:numbers <first>", "LAST-MODIFIED:20200812T045429Z"} {
		if !strings.Contains(got, want) {
			t.Errorf("VTODO lacks %q:\n%s", want, got)
		}
	}
	// A task without a reminder or recurrence has neither; an open one no
	// percentage.
	task = object{"id": "x", "title": "Open", "status": "waitingOnOthers", "isReminderOn": false, "importance": "low"}
	got = taskICal(t, task)
	for _, bad := range []string{"VALARM", "RRULE", "PERCENT-COMPLETE"} {
		if strings.Contains(got, bad) {
			t.Errorf("open task has %s:\n%s", bad, got)
		}
	}
	if !strings.Contains(got, "X-IEM-TASKSTATUS:WaitingOnOthers") || !strings.Contains(got, "PRIORITY:9") {
		t.Errorf("waitingOnOthers/low not carried:\n%s", got)
	}
}

// taskICal converts task to its VCALENDAR text.
func taskICal(t *testing.T, task object) string {
	t.Helper()
	cal, _, err := format.TaskToICal(task.taskXML(), nil)
	return icalText(t, cal, err)
}

// icalText writes a converted calendar (failing on the conversion's error).
func icalText(t *testing.T, cal *ical.Calendar, err error) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := format.WriteICal(&b, cal); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
