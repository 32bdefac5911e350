package graph

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/iemproject/iem/format"
)

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
	cal, _, err := format.TaskToICal(task.taskXML(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := format.WriteICal(&b, cal); err != nil {
		t.Fatal(err)
	}
	got := b.String()
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
	cal, _, err = format.TaskToICal(task.taskXML(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	if err := format.WriteICal(&b, cal); err != nil {
		t.Fatal(err)
	}
	got = b.String()
	for _, bad := range []string{"VALARM", "RRULE", "PERCENT-COMPLETE"} {
		if strings.Contains(got, bad) {
			t.Errorf("open task has %s:\n%s", bad, got)
		}
	}
	if !strings.Contains(got, "X-IEM-TASKSTATUS:WaitingOnOthers") || !strings.Contains(got, "PRIORITY:9") {
		t.Errorf("waitingOnOthers/low not carried:\n%s", got)
	}
}
