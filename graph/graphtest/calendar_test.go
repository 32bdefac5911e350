package graphtest_test

import (
	"net/url"
	"testing"
	"time"
)

// TestInstancesPermissionsAndTodo: a series' instances list its
// occurrences with originalStart, the modified one as an exception at its
// new time and the deleted one not at all; calendarPermissions have the
// "My Organization" entry with a null address; To Do serves the Tasks
// list as defaultList with its tasks and a tasks delta.
func TestInstancesPermissionsAndTodo(t *testing.T) {
	srv, org := start(t, nil)
	c := &client{t, srv, token(t, srv)}
	u := org.Users[0].SMTP
	events, _ := c.all("/users/" + u + "/events")
	var master map[string]any
	for _, ev := range events {
		if ev["type"] == "seriesMaster" {
			master = ev
		}
	}
	if master == nil {
		t.Fatal("no series master")
	}
	start, err := time.Parse("2006-01-02T15:04:05.0000000", master["start"].(map[string]any)["dateTime"].(string))
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"startDateTime": {start.Format(time.RFC3339)}, "endDateTime": {start.Add(4*7*24*time.Hour + time.Hour).Format(time.RFC3339)}}
	inst, _ := c.all("/users/" + u + "/events/" + master["id"].(string) + "/instances?" + q.Encode())
	types := map[string]int{}
	seen := map[string]bool{}
	for _, in := range inst {
		types[in["type"].(string)]++
		seen[in["originalStart"].(string)] = true
	}
	// Weeks 0-4 in the window (week 4 an hour earlier in UTC, after the
	// change to summer time): week 1 modified, week 2 deleted.
	if len(inst) != 4 || types["exception"] != 1 || types["occurrence"] != 3 {
		t.Errorf("instances: %d, types %v, original starts %v", len(inst), types, seen)
	}
	if deleted := start.Add(14 * 24 * time.Hour).UTC().Format(time.RFC3339); seen[deleted] {
		t.Errorf("deleted occurrence %s listed", deleted)
	}
	perms, _ := c.all("/users/" + u + "/calendar/calendarPermissions")
	org0 := false
	for _, p := range perms {
		if ea := p["emailAddress"].(map[string]any); ea["address"] == nil && ea["name"] == "My Organization" && p["role"] == "freeBusyRead" {
			org0 = true
		}
	}
	if len(perms) != 2 || !org0 {
		t.Errorf("calendarPermissions: %v", perms)
	}
	lists, _ := c.all("/users/" + u + "/todo/lists")
	if len(lists) != 1 || lists[0]["wellknownListName"] != "defaultList" {
		t.Fatalf("todo lists: %v", lists)
	}
	tasks, dl := c.all("/users/" + u + "/todo/lists/" + lists[0]["id"].(string) + "/tasks/delta")
	if len(tasks) == 0 || dl == "" || tasks[0]["status"] != "notStarted" || tasks[0]["dueDateTime"] == nil {
		t.Errorf("tasks delta: %v, deltaLink %q", tasks, dl)
	}
}
