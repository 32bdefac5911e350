package graphtest

import (
	"time"

	"github.com/iemproject/iem/exchange/ewstest"
)

// mailboxSettings renders GET /users/{id}/mailboxSettings from the org's
// automatic reply, the one the EWS emulator serves through
// GetUserOofSettings (Org.OutOfOfficeOf). Shape: [V Microsoft Graph v1.0
// "mailboxSettings resource type" and "automaticRepliesSetting resource
// type", learn.microsoft.com/graph/api/resources/automaticrepliessetting]:
// status disabled|alwaysEnabled|scheduled, externalAudience
// none|contactsOnly|all, the schedule as dateTimeTimeZone (here in UTC,
// seven fractional digits as Graph writes them [I]). The other
// mailboxSettings properties are given their new-mailbox values [I].
func (e *Emulator) mailboxSettings(u *ewstest.User) map[string]any {
	o := e.Org.OutOfOfficeOf(u)
	status := map[string]string{"enabled": "alwaysEnabled"}[o.State]
	if status == "" {
		status = o.State
	}
	audience := map[string]string{"known": "contactsOnly"}[o.ExternalAudience]
	if audience == "" {
		audience = o.ExternalAudience
	}
	dt := func(t time.Time) map[string]any {
		return map[string]any{"dateTime": t.Format("2006-01-02T15:04:05.0000000"), "timeZone": "UTC"}
	}
	return map[string]any{
		"@odata.context": e.GraphURL() + "/$metadata#users('" + objectID(u.SMTP) + "')/mailboxSettings",
		"automaticRepliesSetting": map[string]any{
			"status": status, "externalAudience": audience,
			"scheduledStartDateTime": dt(o.Start.UTC()), "scheduledEndDateTime": dt(o.End.UTC()),
			"internalReplyMessage": o.InternalReply, "externalReplyMessage": o.ExternalReply,
		},
		"timeZone": "UTC", "language": map[string]any{"locale": "en-US", "displayName": "English (United States)"},
		"delegateMeetingMessageDeliveryOptions": "sendToDelegateOnly", "dateFormat": "M/d/yyyy", "timeFormat": "h:mm tt",
	}
}
