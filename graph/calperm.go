package graph

import (
	"context"
	"fmt"
	"net/url"

	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/format"
)

// calendarPermission is one entry of calendarPermissions [V graph.md §6
// GDOC api-reference/v1.0/resources/calendarpermission.md: emailAddress,
// role, allowedRoles, isInsideOrganization, isRemovable; the "My
// Organization" entry has address null].
type calendarPermission struct {
	EmailAddress struct {
		Name    string  `json:"name"`
		Address *string `json:"address"`
	} `json:"emailAddress"`
	Role string `json:"role"`
}

// calendarLevel maps a calendarPermission role to the EWS
// CalendarPermissionLevel whose rights format's level table holds [V
// roles: graph.md §6; the pairing is I: freeBusyRead and limitedRead are
// the two free/busy levels, read is Reviewer, write Editor, and the
// delegate roles are Editor (the delegate part is a mailbox setting, not a
// folder right)]. Unknown roles and "custom" are Custom, without rights.
var calendarLevel = map[string]string{"none": "None", "freeBusyRead": "FreeBusyTimeOnly",
	"limitedRead": "FreeBusyTimeAndSubjectAndLocation", "read": "Reviewer", "write": "Editor",
	"delegateWithoutPrivateEventAccess": "Editor", "delegateWithPrivateEventAccess": "Editor"}

// calendarPermissions reads a calendar's calendarPermissions and turns
// them into the archive's ACL through format.ParsePermissions, over the
// EWS CalendarPermissionSet they correspond to, as the EWS Source's are.
func (s *Source) calendarPermissions(ctx context.Context, mailbox, calendarID string) (*format.ACL, error) {
	var b xmlBuilder
	b.open("PermissionSet")
	b.open("CalendarPermissions")
	_, err := Pages(ctx, s.c, mailboxPath(mailbox)+"/calendars/"+url.PathEscape(calendarID)+"/calendarPermissions", func(p calendarPermission) error {
		level, ok := calendarLevel[p.Role]
		if !ok {
			level = "Custom"
		}
		b.open("CalendarPermission")
		b.open("UserId")
		if a := p.EmailAddress.Address; a == nil || *a == "" {
			b.text("DistinguishedUser", "Default")
		} else {
			b.text("PrimarySmtpAddress", *a)
			b.text("DisplayName", p.EmailAddress.Name)
		}
		b.close("UserId")
		if r, ok := freeBusyRights(level); ok {
			b.text("CanCreateItems", "false")
			b.text("CanCreateSubFolders", "false")
			b.text("IsFolderOwner", "false")
			b.text("IsFolderVisible", "false")
			b.text("IsFolderContact", "false")
			b.text("EditItems", "None")
			b.text("DeleteItems", "None")
			b.text("ReadItems", r)
		}
		b.text("CalendarPermissionLevel", level)
		b.close("CalendarPermission")
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("calendar permissions: %w", err)
	}
	b.close("CalendarPermissions")
	b.close("PermissionSet")
	acl, err := format.ParsePermissions(b.Bytes())
	if err != nil {
		return nil, export.Unreadable(err)
	}
	return &acl, nil
}

// freeBusyRights returns the ReadItems of the two free/busy levels, whose
// rights Graph's role alone does not spell out: they see free/busy (time,
// or time with subject and location) and nothing of the folder, so the
// folder is not visible, as Exchange reports these levels' individual
// rights over EWS (the EWS emulator's permission table) [I: Exchange's
// AvailabilityOnly and LimitedDetails roles are the free/busy rights
// without FolderVisible; format's level table has them visible, an
// inference of its own].
func freeBusyRights(level string) (string, bool) {
	r, ok := map[string]string{"FreeBusyTimeOnly": "TimeOnly", "FreeBusyTimeAndSubjectAndLocation": "TimeAndSubjectAndLocation"}[level]
	return r, ok
}
