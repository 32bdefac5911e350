package graph

import (
	"context"
	"errors"
	"net/http"

	"github.com/iemproject/iem/export"
)

// What Graph cannot read is listed in the export summary as "not readable
// through Graph" (export's notreadable.go), never silently dropped.

// Reasons the summary lists.
const (
	// ReasonBlocked: the tenant's application access policy (or RBAC for
	// Applications scope) keeps the mailbox from the application: 403
	// ErrorAccessDenied "Access to OData is disabled." [V graph.md §2.2
	// GDOC concepts/auth-limit-mailbox-access.md].
	ReasonBlocked = "mailbox blocked by the tenant's application access policy (403 ErrorAccessDenied)"
	// ReasonFolderPermissions: Graph has no API for the permissions of
	// mail, contact and task folders, only calendarPermissions [graph.md §6].
	ReasonFolderPermissions = "not readable through Graph: permissions of mail, contact and task folders"
	// ReasonPublicFolders: no Graph API for public folders [graph.md §9, I].
	ReasonPublicFolders = "not readable through Graph: public folders"
	// ReasonArchives: in-place archive mailboxes are outside Graph v1.0
	// (only a beta API) [V graph.md §9 GDOC includes/outlook-mailbox-type-support.md].
	ReasonArchives = "not readable through Graph: in-place archive mailboxes (beta API only)"
	// ReasonTasks: the app lacks Tasks.Read.All, the application
	// permission of Microsoft To Do (optional, see [OptionalPermissions]):
	// the mailbox's task lists answer 403 and its tasks are not exported.
	ReasonTasks = "not readable through Graph: tasks (Tasks.Read.All not granted)"
	// ReasonNotes: Outlook notes (IPF.StickyNote) have no resource in
	// Graph v1.0 [I: none among its Outlook resources; not in graph.md].
	ReasonNotes = "not readable through Graph: Outlook notes"
	// ReasonContactGroups: personal distribution lists (Outlook contact
	// groups) have no resource in Graph v1.0; the contacts API returns
	// contacts only [I: not in graph.md].
	ReasonContactGroups = "not readable through Graph: personal distribution lists (contact groups)"
)

// accessDenied reports whether err is the 403 ErrorAccessDenied of a
// blocked mailbox.
func accessDenied(err error) bool {
	var gerr *Error
	return errors.As(err, &gerr) && gerr.Status == http.StatusForbidden && gerr.Code == "ErrorAccessDenied"
}

// Hierarchy reads the mailbox's folders (hierarchy); a mailbox the access
// policy blocks is reported with [export.MailboxNotReadable], and the
// folders whose permissions Graph cannot read are counted.
func (s *Source) Hierarchy(ctx context.Context, mailbox string, mark []byte) (*export.Hierarchy, error) {
	h, err := s.hierarchy(ctx, mailbox, mark)
	if accessDenied(err) {
		return nil, export.MailboxNotReadable(ReasonBlocked, err)
	}
	if err != nil {
		return nil, err
	}
	n := 0
	for _, c := range h.Changes {
		if c.Kind != export.Delete && c.Folder.Type != "SearchFolder" && c.Folder.Class != "IPF.Appointment" {
			n++
		}
	}
	if n > 0 {
		if h.NotReadable == nil {
			h.NotReadable = map[string]int{}
		}
		h.NotReadable[ReasonFolderPermissions] = n
	}
	return h, nil
}

// NotReadable lists what Graph cannot read of the organisation
// ([export.OrgNotReadable]).
func (s *Source) NotReadable() []string {
	return []string{ReasonPublicFolders, ReasonArchives, ReasonNotes, ReasonContactGroups}
}

var _ export.OrgNotReadable = (*Source)(nil)
