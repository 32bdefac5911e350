package graph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/format"
)

// todoList is a todoTaskList [I: Microsoft Learn
// api-reference/v1.0/resources/todotasklist.md: id, displayName,
// wellknownListName ("defaultList" for the Tasks list)].
type todoList struct {
	ID                string `json:"id"`
	DisplayName       string `json:"displayName"`
	WellknownListName string `json:"wellknownListName"`
}

// todoLists adds the mailbox's Microsoft To Do lists to h as task folders
// (class IPF.Task, type TasksFolder, below the message folder root, the
// default list with role "tasks"), listed each round without delta [I:
// todoTaskList delta exists (GDOC api-reference/v1.0/api/todotasklist-delta.md)
// but a list's rename is rare and listing is one call]. A mailbox without
// To Do (404) has no task folders; without Tasks.Read.All (403) the
// mailbox's tasks are counted as [ReasonTasks].
func (s *Source) todoLists(ctx context.Context, mailbox string, h *export.Hierarchy, kind export.ChangeKind) error {
	root := ""
	for id, role := range h.Roles {
		if role == export.RoleRoot {
			root = id
		}
	}
	_, err := Pages(ctx, s.c, mailboxPath(mailbox)+"/todo/lists", func(l todoList) error {
		if l.WellknownListName == "defaultList" {
			h.Roles[l.ID] = "tasks"
		}
		s.kinds.Store(mailbox+"\x00"+l.ID, export.KindTask)
		h.Changes = append(h.Changes, export.FolderChange{Kind: kind, Folder: export.Folder{ID: l.ID, ParentID: root,
			DisplayName: l.DisplayName, Class: "IPF.Task", Type: "TasksFolder"}})
		return nil
	})
	var gerr *Error
	if errors.As(err, &gerr) && gerr.Status == http.StatusNotFound {
		return nil
	}
	if accessDenied(err) {
		// The mail folders were read, so the mailbox is not blocked: the
		// app lacks Tasks.Read.All. Reported, and the rest is exported.
		if h.NotReadable == nil {
			h.NotReadable = map[string]int{}
		}
		h.NotReadable[ReasonTasks] = 1
		return nil
	}
	if err != nil {
		return fmt.Errorf("list todo lists: %w", err)
	}
	return nil
}

// taskChanges runs tasks delta of a To Do list; the deltaLink is the
// marker [V GDOC api-reference/v1.0/api/todotask-delta.md: GET
// /users/{id}/todo/lists/{todoTaskListId}/tasks/delta, $select, nextLink
// and deltaLink as for messages]. Each task's list is remembered, since a
// task is read below its list.
func (s *Source) taskChanges(ctx context.Context, mailbox, listID string, mark []byte, fn func(export.ItemChange) error) ([]byte, error) {
	return s.deltaChanges(ctx, mailboxPath(mailbox)+"/todo/lists/"+url.PathEscape(listID)+"/tasks/delta?$select=id",
		mark, export.KindTask, "task delta", func(id string) { s.lists.Store(mailbox+"\x00"+id, listID) }, fn)
}

// fetchTask reads one task below its list and converts it to a VTODO with
// format.TaskToICal over the EWS XML built from its JSON [V GDOC
// api-reference/v1.0/api/todotask-get.md path, I: not re-read].
func (s *Source) fetchTask(ctx context.Context, mailbox string, r export.ItemRef) (*export.Item, error) {
	list, ok := s.lists.Load(mailbox + "\x00" + r.ID)
	if !ok {
		x := &export.Item{ID: r.ID, Version: r.Version, Class: "IPM.Task",
			Missing: fmt.Errorf("task %s was not listed by a tasks delta of this run", r.ID)}
		return x, nil
	}
	return s.fetchPIM(ctx, mailbox, "todo/lists/"+url.PathEscape(list.(string))+"/tasks", r, "IPM.Task", "task", func(t object) (*export.Content, error) {
		return converted(archive.KindTask, "task", func(b *bytes.Buffer) error {
			cal, _, err := format.TaskToICal(t.taskXML(), nil)
			if err != nil {
				return err
			}
			return format.WriteICal(b, cal)
		})
	})
}
