package graph

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/format"
)

var _ export.SettingsSource = (*Source)(nil)

// dateTimeTimeZone is Graph's local time with its zone name.
type dateTimeTimeZone struct {
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

// automaticRepliesSetting is the mailboxSettings property of that name
// [V Microsoft Graph v1.0 "automaticRepliesSetting resource type",
// learn.microsoft.com/graph/api/resources/automaticrepliessetting: status
// disabled|alwaysEnabled|scheduled, externalAudience
// none|contactsOnly|all, scheduledStart/EndDateTime as dateTimeTimeZone,
// internal/externalReplyMessage as strings].
type automaticRepliesSetting struct {
	Status                 string           `json:"status"`
	ExternalAudience       string           `json:"externalAudience"`
	ScheduledStartDateTime dateTimeTimeZone `json:"scheduledStartDateTime"`
	ScheduledEndDateTime   dateTimeTimeZone `json:"scheduledEndDateTime"`
	InternalReplyMessage   string           `json:"internalReplyMessage"`
	ExternalReplyMessage   string           `json:"externalReplyMessage"`
}

// MailboxSettings reads the mailbox's out-of-office reply from
// GET /users/{id}/mailboxSettings (permission MailboxSettings.Read,
// graph.md §2.1) as the EWS Source reads GetUserOofSettings: the same
// [format.OutOfOffice] values (alwaysEnabled is OofState Enabled,
// contactsOnly is ExternalAudience Known; the two APIs read one setting
// of the mailbox [I]).
func (s *Source) MailboxSettings(ctx context.Context, mailbox string) (*format.MailboxSettings, error) {
	var v struct {
		AutomaticRepliesSetting *automaticRepliesSetting `json:"automaticRepliesSetting"`
	}
	if err := s.c.Get(ctx, mailboxPath(mailbox)+"/mailboxSettings", &v); err != nil {
		return nil, fmt.Errorf("out-of-office: %w", err)
	}
	// Inbox rules are readable over Graph (mailFolders/inbox/messageRules,
	// graph.md §6) but this source does not read them yet: said, not dropped.
	notRead := []string{rulesNotRead}
	a := v.AutomaticRepliesSetting
	if a == nil {
		return &format.MailboxSettings{NotRead: notRead}, nil
	}
	start, err := graphTime(a.ScheduledStartDateTime)
	if err != nil {
		return nil, fmt.Errorf("out-of-office: scheduledStartDateTime: %w", err)
	}
	end, err := graphTime(a.ScheduledEndDateTime)
	if err != nil {
		return nil, fmt.Errorf("out-of-office: scheduledEndDateTime: %w", err)
	}
	return &format.MailboxSettings{OutOfOffice: &format.OutOfOffice{
		State:            oofState(a.Status),
		ExternalAudience: oofAudience(a.ExternalAudience),
		Start:            start,
		End:              end,
		InternalReply:    a.InternalReplyMessage,
		ExternalReply:    a.ExternalReplyMessage,
	}, NotRead: notRead}, nil
}

// rulesNotRead is the export's "not asked" reason for inbox rules over Graph.
const rulesNotRead = "inbox rules: not read through Graph (messageRules not supported by this source yet)"

// oofState maps automaticRepliesStatus to the archive's OofState words.
func oofState(s string) string {
	if strings.EqualFold(s, "alwaysEnabled") {
		return "enabled"
	}
	return strings.ToLower(s)
}

// oofAudience maps externalAudienceScope to the archive's words.
func oofAudience(s string) string {
	if strings.EqualFold(s, "contactsOnly") {
		return "known"
	}
	return strings.ToLower(s)
}

// graphTime reads a dateTimeTimeZone in UTC or in an IANA zone; the zero
// time when it is empty. A Windows zone name (which Graph may also use
// [I]) is an error, so the engine keeps the archived settings rather than
// store a time shifted by the zone's offset.
func graphTime(dt dateTimeTimeZone) (time.Time, error) {
	if dt.DateTime == "" {
		return time.Time{}, nil
	}
	loc := time.UTC
	if z := dt.TimeZone; z != "" && !strings.EqualFold(z, "UTC") {
		l, err := time.LoadLocation(z)
		if err != nil {
			return time.Time{}, fmt.Errorf("time zone %q not read", z)
		}
		loc = l
	}
	t, err := time.ParseInLocation("2006-01-02T15:04:05.9999999", dt.DateTime, loc)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}
