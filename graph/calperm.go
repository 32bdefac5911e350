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
