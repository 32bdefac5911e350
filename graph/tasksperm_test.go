package graph_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/graph"
)

// TestTasksNotGranted: without Tasks.Read.All the emulator refuses the
// To Do lists with Graph's 403, and the export goes on: every mailbox
// exports its mail, contacts and events, reports its tasks as not
// readable, and fails on nothing; granted again, the tasks follow.
func TestTasksNotGranted(t *testing.T) {
	b := newEngineBed(t, ewstest.Generate(3, ewstest.OrgOptions{Users: 3}))
	tasks := 0
	for _, u := range b.org.Users {
		for _, f := range b.org.Folders(u.SMTP) {
			for _, it := range f.Items {
				if f.Class == "IPF.Task" && it.Type == "Task" {
					tasks++
				}
			}
		}
	}
	if tasks == 0 {
		t.Fatal("the org has no tasks")
	}
	b.srv.Revoke("Tasks.Read.All")
	// The emulator's refusal, as Graph shapes it.
	ctx := context.Background()
	err := bedClient(t, b.srv).Get(ctx, "users/"+b.org.Users[0].SMTP+"/todo/lists", new(map[string]any))
	var gerr *graph.Error
	if !errors.As(err, &gerr) || gerr.Status != http.StatusForbidden || gerr.Code != "ErrorAccessDenied" {
		t.Fatalf("todo/lists without Tasks.Read.All: %v, want 403 ErrorAccessDenied", err)
	}
	run := func() []*export.MailboxStats { return runOrg(t, b.org, b.src, b.dir).Stats }
	exported := 0
	for _, r := range run() {
		if r.Err != "" {
			t.Errorf("%s: error %q", r.Mailbox, r.Err)
		}
		if r.NotReadable[graph.ReasonTasks] != 1 {
			t.Errorf("%s: not readable %v, want %q", r.Mailbox, r.NotReadable, graph.ReasonTasks)
		}
		exported += r.Exported
	}
	if want := b.mailCount() - tasks; exported != want {
		t.Errorf("without Tasks.Read.All exported %d, want the %d items that are not tasks", exported, want)
	}
	b.srv.Grant("Tasks.Read.All")
	exported = 0
	for _, r := range run() {
		if r.NotReadable[graph.ReasonTasks] != 0 || r.Err != "" {
			t.Errorf("%s granted: not readable %v, error %q", r.Mailbox, r.NotReadable, r.Err)
		}
		exported += r.Exported
	}
	if exported != tasks {
		t.Errorf("granted again: exported %d, want the %d tasks", exported, tasks)
	}
}
