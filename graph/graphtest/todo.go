package graphtest

import (
	"net/http"
	"strings"

	"github.com/iemproject/iem/exchange/ewstest"
)

// Microsoft To Do: the org's task folders are served as todoTaskLists and
// their tasks as todoTasks.

// todoListJSON renders a task folder as a todoTaskList; the Tasks folder
// is the "defaultList" [I: Microsoft Learn resources/todotasklist: id,
// displayName, isOwner, isShared, wellknownListName].
func todoListJSON(f folderView) map[string]any {
	wk := "none"
	if d := f.snap.Distinguished; d[len(d)-1] == "tasks" {
		wk = "defaultList"
	}
	return map[string]any{"@odata.type": "#microsoft.graph.todoTaskList", "id": restID(f.snap.ID),
		"displayName": f.snap.Path[len(f.snap.Path)-1], "isOwner": true, "isShared": false, "wellknownListName": wk}
}

// taskJSON renders a task as a todoTask [V GDOC
// api-reference/v1.0/resources/todotask.md properties; the delta sample of
// api/todotask-delta.md: importance, isReminderOn, status, title, body
// {content, contentType}, dueDateTime as dateTimeTimeZone]. The EWS
// status NotStarted/InProgress/Completed becomes notStarted/...;
// percentComplete has no To Do property and is not served.
func taskJSON(it ewstest.ItemSnapshot) map[string]any {
	st := it.Status
	if st != "" {
		st = strings.ToLower(st[:1]) + st[1:]
	}
	m := map[string]any{"@odata.type": "#microsoft.graph.todoTask", "id": restID(it.ID), "title": it.Subject,
		"status": st, "importance": "normal", "isReminderOn": false, "categories": []string{},
		"body": map[string]any{"content": it.Body, "contentType": "text"}}
	if !it.Due.IsZero() {
		m["dueDateTime"] = map[string]any{"dateTime": it.Due.UTC().Format("2006-01-02T15:04:05.0000000"), "timeZone": "UTC"}
	}
	return withETag(m)
}

// todo serves /users/{id}/todo/lists, /todo/lists/{id}/tasks(/delta) and
// /todo/lists/{id}/tasks/{id} [V GDOC api/todotask-delta.md HTTP request;
// I: api/todotasklist-list-tasks.md, api/todotask-get.md paths]; false
// when the path is not one of them.
func (e *Emulator) todo(w http.ResponseWriter, r *http.Request, fs []folderView, rest []string) bool {
	if len(rest) < 2 || rest[0] != "todo" || rest[1] != "lists" {
		return false
	}
	if len(rest) == 2 {
		e.folderList(w, r, fs, "IPF.Task", "Collection(todoTaskList)", todoListJSON)
		return true
	}
	list := folderOf(fs, "IPF.Task", rest[2])
	if list == nil || len(rest) < 4 || rest[3] != "tasks" {
		graphError(w, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
		return true
	}
	var items []any
	for _, it := range list.snap.Items {
		if it.Type == "Task" {
			if len(rest) == 5 && rest[4] != "delta" && restID(it.ID) == rest[4] {
				writeJSON(w, taskJSON(it))
				return true
			}
			items = append(items, taskJSON(it))
		}
	}
	switch {
	case len(rest) == 5 && rest[4] == "delta":
		e.delta(w, r, "Collection(todoTask)", items)
	case len(rest) == 4:
		e.collection(w, r, "Collection(todoTask)", items, 10)
	default:
		graphError(w, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
	}
	return true
}
