package graph

import (
	"encoding/xml"
	"strconv"
	"strings"
	"time"
)

// This file maps a Graph event to the EWS CalendarItem XML that
// format.CalendarToICal reads, as ewsxml.go does for contacts. Graph has
// no iCalendar export for events [graph.md §5]; the recurrence mapping
// follows graph.md §5 (pattern and range types, V GDOC
// concepts/outlook-schedule-recurring-events.md), the other fields the
// event resource page [I: Microsoft Learn resources/event]. Times are
// read in UTC, the default of the time-zone Prefer header [V graph.md §5].

// eventFields maps string fields as {EWS element, Graph field}.
var eventFields = [][2]string{{"UID", "iCalUId"}, {"Subject", "subject"}, {"LastModifiedTime", "lastModifiedDateTime"},
	{"DateTimeCreated", "createdDateTime"}}

// eventValues maps enumerations as Graph value -> EWS value.
var (
	showAs      = map[string]string{"free": "Free", "tentative": "Tentative", "busy": "Busy", "oof": "OOF", "workingElsewhere": "WorkingElsewhere"}
	response    = map[string]string{"accepted": "Accept", "tentativelyAccepted": "Tentative", "declined": "Decline", "organizer": "Organizer", "none": "NoResponseReceived", "notResponded": "NoResponseReceived"}
	itemType    = map[string]string{"seriesMaster": "RecurringMaster", "singleInstance": "Single", "exception": "Exception", "occurrence": "Occurrence"}
	attendeeTag = map[string]string{"required": "RequiredAttendees", "optional": "OptionalAttendees", "resource": "Resources"}
	patternTag  = map[string]string{"daily": "DailyRecurrence", "weekly": "WeeklyRecurrence", "absoluteMonthly": "AbsoluteMonthlyRecurrence",
		"relativeMonthly": "RelativeMonthlyRecurrence", "absoluteYearly": "AbsoluteYearlyRecurrence", "relativeYearly": "RelativeYearlyRecurrence"}
	rangeTag = map[string]string{"numbered": "NumberedRecurrence", "endDate": "EndDateRecurrence", "noEnd": "NoEndRecurrence"}
	months   = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
)

// title returns s with its first letter upper case (Graph's "thursday",
// "first" to EWS's "Thursday", "First").
func title(s string) string {
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// utcTime turns a dateTimeTimeZone in UTC into an xs:dateTime.
func utcTime(dt object) string {
	v := dt.str("dateTime")
	if v == "" || !strings.EqualFold(dt.str("timeZone"), "UTC") {
		return v
	}
	return v + "Z"
}

// num returns the number field k as text ("" when absent or zero).
func (c object) num(k string) string {
	if f, ok := c[k].(float64); ok && f != 0 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return ""
}

// mailboxXML writes <tag><Mailbox>…</Mailbox>…</tag> for a recipient.
func (b *xmlBuilder) mailbox(tag string, r object, extra func()) {
	b.open(tag)
	b.open("Mailbox")
	e := r.obj("emailAddress")
	b.text("Name", e.str("name"))
	b.text("EmailAddress", e.str("address"))
	b.text("RoutingType", "SMTP")
	b.close("Mailbox")
	if extra != nil {
		extra()
	}
	b.close(tag)
}

// recurrence writes the EWS Recurrence of a Graph recurrence.
func (b *xmlBuilder) recurrence(rec object) {
	p, r := rec.obj("pattern"), rec.obj("range")
	pt, rt := patternTag[p.str("type")], rangeTag[r.str("type")]
	if pt == "" || rt == "" {
		return
	}
	b.open("Recurrence")
	b.open(pt)
	if !strings.HasSuffix(pt, "YearlyRecurrence") {
		b.text("Interval", p.num("interval"))
	}
	var days []string
	for _, d := range p.strs("daysOfWeek") {
		days = append(days, title(d))
	}
	b.text("DaysOfWeek", strings.Join(days, " "))
	if pt == "WeeklyRecurrence" {
		b.text("FirstDayOfWeek", title(p.str("firstDayOfWeek")))
	}
	b.text("DayOfWeekIndex", title(p.str("index")))
	b.text("DayOfMonth", p.num("dayOfMonth"))
	if m, ok := p["month"].(float64); ok && m >= 1 && m <= 12 {
		b.text("Month", months[int(m)-1])
	}
	b.close(pt)
	b.open(rt)
	b.text("StartDate", r.str("startDate"))
	if rt == "EndDateRecurrence" {
		b.text("EndDate", r.str("endDate"))
	}
	b.text("NumberOfOccurrences", r.num("numberOfOccurrences"))
	b.close(rt)
	b.close("Recurrence")
}

// calendarXML renders the event as the EWS CalendarItem format reads; a
// series master's cancelled occurrences (their original starts, found by
// series.go) become DeletedOccurrences, as EWS lists them [V ews.md §4.3
// deletedoccurrence.md].
func (c object) calendarXML(deleted ...time.Time) []byte {
	var b xmlBuilder
	b.open("CalendarItem")
	b.itemID(c.str("id"))
	b.fields(c, eventFields)
	if body := c.obj("body"); body.str("content") != "" {
		bt := "Text"
		if strings.EqualFold(body.str("contentType"), "html") {
			bt = "HTML"
		}
		b.text("Body", body.str("content"), "BodyType", bt)
	}
	b.text("Start", utcTime(c.obj("start")))
	b.text("End", utcTime(c.obj("end")))
	// The zone the event was made in, a Windows zone name as EWS's
	// StartTimeZone Id, so format writes local times with a VTIMEZONE and
	// a series repeats at its local time across DST [I: Microsoft Learn
	// resources/event originalStartTimeZone, originalEndTimeZone].
	if z := c.str("originalStartTimeZone"); z != "" {
		b.WriteString(`<StartTimeZone Id="`)
		xml.EscapeText(&b, []byte(z))
		b.WriteString(`"/>`)
	}
	if v, ok := c["isAllDay"].(bool); ok {
		b.text("IsAllDayEvent", strconv.FormatBool(v))
	}
	if v, ok := c["isReminderOn"].(bool); ok {
		b.text("ReminderIsSet", strconv.FormatBool(v))
		b.text("ReminderMinutesBeforeStart", c.num("reminderMinutesBeforeStart"))
	}
	b.text("LegacyFreeBusyStatus", showAs[c.str("showAs")])
	b.text("Location", c.obj("location").str("displayName"))
	b.text("CalendarItemType", itemType[c.str("type")])
	// Graph has no isMeeting: an event with attendees is one [I].
	b.text("IsMeeting", strconv.FormatBool(c.obj("attendees", 0) != nil))
	if v, ok := c["isCancelled"].(bool); ok {
		b.text("IsCancelled", strconv.FormatBool(v))
	}
	if v, ok := c["responseRequested"].(bool); ok {
		b.text("IsResponseRequested", strconv.FormatBool(v))
	}
	if org := c.obj("organizer"); org.obj("emailAddress").str("address") != "" {
		b.mailbox("Organizer", org, nil)
	}
	for _, typ := range []string{"required", "optional", "resource"} {
		started := false
		for i := 0; ; i++ {
			a := c.obj("attendees", i)
			if a == nil {
				break
			}
			if a.str("type") != typ && !(typ == "required" && attendeeTag[a.str("type")] == "") {
				continue
			}
			if !started {
				b.open(attendeeTag[typ])
				started = true
			}
			b.mailbox("Attendee", a, func() { b.text("ResponseType", response[a.obj("status").str("response")]) })
		}
		if started {
			b.close(attendeeTag[typ])
		}
	}
	if rec := c.obj("recurrence"); rec != nil {
		b.recurrence(rec)
	}
	// originalStart: the start an occurrence or exception had in its
	// series [I: Microsoft Learn resources/event, DateTimeOffset in UTC].
	b.text("OriginalStart", c.str("originalStart"))
	if len(deleted) > 0 {
		b.open("DeletedOccurrences")
		for _, d := range deleted {
			b.open("DeletedOccurrence")
			b.text("Start", d.UTC().Format(time.RFC3339))
			b.close("DeletedOccurrence")
		}
		b.close("DeletedOccurrences")
	}
	b.close("CalendarItem")
	return b.Bytes()
}
