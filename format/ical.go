package format

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// CalendarOptions tunes CalendarToICal. A nil *CalendarOptions means
// defaults.
type CalendarOptions struct {
	// Owner is the SMTP address of the mailbox the calendar belongs to.
	// When set, the owner's ATTENDEE gets PARTSTAT from MyResponseType
	// (the owner's own answer, which EWS reports apart from the attendee
	// list).
	Owner string
}

const prodID = "-//iem//format//EN"

// CalendarToICal converts one calendar series (or single appointment) into
// one VCALENDAR: a VTIMEZONE, the master VEVENT with RRULE and EXDATEs, and a
// VEVENT with RECURRENCE-ID for every modified occurrence. master is the
// <t:CalendarItem> of the single item or recurring master; occurrences are
// the <t:CalendarItem>s of its ModifiedOccurrences, fetched separately by the
// client (a series is one stored item whose exceptions are attachments
// [V MSDOCS calendars-and-ews-in-exchange.md, recurrence-patterns-and-ews.md]).
//
// The UID is the Exchange UID (calendar:UID, stable across rounds); each
// local time is written in the item's zone mapped to IANA (StartTimeZone Id
// on 2010+, MeetingTimeZone on 2007) with a VTIMEZONE, so a weekly 09:00
// meeting stays at 09:00 across DST changes; all-day events are DATE values
// in that zone.
func CalendarToICal(master []byte, occurrences [][]byte, dir AddressResolver, opt *CalendarOptions) (*ical.Calendar, Report, error) {
	var rep Report
	if opt == nil {
		opt = &CalendarOptions{}
	}
	m, err := parseItem(master, "CalendarItem", "MeetingRequest")
	if err != nil {
		return nil, rep, err
	}
	z := itemZone(m, &rep)
	uid := m.Text("UID")
	if uid == "" {
		uid = itemUID(m)
		rep.add("UID", "item has no UID; derived %s from the ItemId", uid)
	}
	cal := newCalendar()
	ev, start, err := eventFromItem(m, z, uid, dir, opt, &rep)
	if err != nil {
		return nil, rep, err
	}
	allDay := m.Bool("IsAllDayEvent")
	if r := m.Child("Recurrence"); r != nil {
		rule, err := recurrenceRule(r, z, start, allDay, &rep)
		if err != nil {
			return nil, rep, err
		}
		ev.Props.Set(&ical.Prop{Name: ical.PropRecurrenceRule, Params: ical.Params{}, Value: rule})
	}
	for _, d := range m.Path("DeletedOccurrences").All("DeletedOccurrence") {
		t, err := parseXSDateTime(d.Text("Start"))
		if err != nil {
			return nil, rep, fmt.Errorf("%w: DeletedOccurrence: %v", ErrMalformed, err)
		}
		ev.Props.Add(timeProp(ical.PropExceptionDates, t, z, allDay))
	}

	// OriginalStart of each modified occurrence, by ItemId, from the master
	// [V MSDOCS modifiedoccurrences.md: Occurrence/ItemId, Start, End,
	// OriginalStart].
	originals := map[string]time.Time{}
	listed := m.Path("ModifiedOccurrences").All("Occurrence")
	for _, o := range listed {
		if t, err := parseXSDateTime(o.Text("OriginalStart")); err == nil {
			originals[o.Child("ItemId").Attr("Id")] = t
		}
	}
	cal.Children = append(cal.Children, ev.Component)
	seen := map[string]bool{}
	extraZones := map[string]zone{}
	for i, ob := range occurrences {
		o, err := parseItem(ob, "CalendarItem")
		if err != nil {
			return nil, rep, fmt.Errorf("occurrence %d: %w", i, err)
		}
		orig, err := parseXSDateTime(o.Text("OriginalStart"))
		if err != nil {
			t, ok := originals[o.Child("ItemId").Attr("Id")]
			if !ok {
				rep.add("ModifiedOccurrences", "occurrence %d has no OriginalStart; not written", i)
				continue
			}
			orig = t
		}
		oz := z
		if o.Has("StartTimeZone") || o.Has("MeetingTimeZone") {
			oz = itemZone(o, &rep)
		}
		if oz.ID() != z.ID() {
			extraZones[oz.ID()] = oz
		}
		oev, _, err := eventFromItem(o, oz, uid, dir, opt, &rep)
		if err != nil {
			return nil, rep, fmt.Errorf("occurrence %d: %w", i, err)
		}
		oev.Props.Set(timeProp(ical.PropRecurrenceID, orig, z, allDay))
		seen[o.Child("ItemId").Attr("Id")] = true
		cal.Children = append(cal.Children, oev.Component)
	}
	for _, o := range listed {
		if id := o.Child("ItemId").Attr("Id"); !seen[id] {
			rep.add("ModifiedOccurrences", "modified occurrence %s not supplied; the series rule stands in for it", id)
		}
	}
	// The VTIMEZONE goes first, as most producers write it; an all-day
	// series references no TZID and needs none.
	var zones []*ical.Component
	if vtz := z.VTimezone(z.Local(start).Year()); vtz != nil && !allDay {
		zones = append(zones, vtz)
	}
	for _, id := range sortedKeys(extraZones) {
		if vtz := extraZones[id].VTimezone(extraZones[id].Local(start).Year()); vtz != nil {
			zones = append(zones, vtz)
		}
	}
	cal.Children = append(zones, cal.Children...)
	return cal, rep, nil
}

func newCalendar() *ical.Calendar {
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropProductID, prodID)
	cal.Props.SetText(ical.PropVersion, "2.0")
	return cal
}

// timeProp builds a DATE-TIME in zone z (TZID + local time), UTC for the
// UTC zone, or a DATE for all-day values.
func timeProp(name string, t time.Time, z zone, allDay bool) *ical.Prop {
	p := &ical.Prop{Name: name, Params: ical.Params{}}
	l := z.Local(t)
	switch {
	case allDay && z.ID() == "UTC":
		// Zone unknown: an all-day bound is local midnight somewhere
		// within ±12 h, so the nearest UTC midnight names the day.
		p.Params.Set(ical.ParamValue, string(ical.ValueDate))
		p.Value = strings.ReplaceAll(calendarDay(t), "-", "")
	case allDay:
		p.Params.Set(ical.ParamValue, string(ical.ValueDate))
		p.Value = l.Format("20060102")
	case z.ID() == "UTC":
		p.Value = t.UTC().Format("20060102T150405Z")
	default:
		p.Params.Set(ical.ParamTimezoneID, z.ID())
		p.Value = l.Format("20060102T150405")
	}
	return p
}

func utcProp(name string, t time.Time) *ical.Prop {
	return &ical.Prop{Name: name, Params: ical.Params{}, Value: t.UTC().Format("20060102T150405Z")}
}

// eventFromItem builds the VEVENT for one CalendarItem (master, single or
// exception) and returns its start instant.
func eventFromItem(n *node, z zone, uid string, dir AddressResolver, opt *CalendarOptions, rep *Report) (*ical.Event, time.Time, error) {
	ev := ical.NewEvent()
	ev.Props.SetText(ical.PropUID, uid)
	start, err := parseXSDateTime(n.Text("Start"))
	if err != nil {
		return nil, start, fmt.Errorf("%w: CalendarItem Start: %v", ErrMalformed, err)
	}
	end, err := parseXSDateTime(n.Text("End"))
	if err != nil {
		end = start
	}
	allDay := n.Bool("IsAllDayEvent")
	ev.Props.Set(timeProp(ical.PropDateTimeStart, start, z, allDay))
	if allDay {
		// End is midnight after the last day, in the creation zone
		// [V MSDOCS time-zones-and-ews-in-exchange.md]; DTEND is exclusive.
		if !z.Local(end).After(z.Local(start)) {
			end = start.Add(24 * time.Hour)
		}
		ev.Props.Set(timeProp(ical.PropDateTimeEnd, end, z, true))
		if z.ID() == "UTC" && (start.UTC().Hour() != 0 || start.UTC().Minute() != 0) {
			rep.add("IsAllDayEvent", "zone unknown; all-day dates taken from the nearest midnight")
		} else if ls, le := z.Local(start), z.Local(end); ls.Hour() != 0 || ls.Minute() != 0 || le.Hour() != 0 || le.Minute() != 0 {
			rep.add("IsAllDayEvent", "all-day bounds are not local midnight in %s (%s – %s); dates taken as is", z.ID(), ls.Format(time.DateTime), le.Format(time.DateTime))
		}
	} else {
		ev.Props.Set(timeProp(ical.PropDateTimeEnd, end, z, false))
	}

	stamp := start
	for _, f := range []string{"LastModifiedTime", "DateTimeCreated"} {
		if t, err := parseXSDateTime(n.Text(f)); err == nil {
			stamp = t
			break
		}
	}
	ev.Props.Set(utcProp(ical.PropDateTimeStamp, stamp))
	if t, err := parseXSDateTime(n.Text("DateTimeCreated")); err == nil {
		ev.Props.Set(utcProp(ical.PropCreated, t))
	}
	if t, err := parseXSDateTime(n.Text("LastModifiedTime")); err == nil {
		ev.Props.Set(utcProp(ical.PropLastModified, t))
	}
	setText(ev.Props, ical.PropSummary, n.Text("Subject"))
	setText(ev.Props, ical.PropLocation, n.Text("Location"))
	addBody(ev.Props, n)
	addCommon(ev.Component, n)
	if v, ok := n.Int("AppointmentSequenceNumber"); ok {
		ev.Props.Set(&ical.Prop{Name: ical.PropSequence, Params: ical.Params{}, Value: strconv.FormatInt(v, 10)})
	}

	// Free/busy: TRANSP plus Outlook's own X-MICROSOFT-CDO-BUSYSTATUS so
	// Tentative and OOF survive [I: Outlook iCalendar export].
	switch fb := n.Text("LegacyFreeBusyStatus"); fb {
	case "Free":
		ev.Props.SetText(ical.PropTransparency, "TRANSPARENT")
		xText(ev.Props, "X-MICROSOFT-CDO-BUSYSTATUS", "FREE")
	case "Tentative", "Busy", "OOF":
		ev.Props.SetText(ical.PropTransparency, "OPAQUE")
		xText(ev.Props, "X-MICROSOFT-CDO-BUSYSTATUS", strings.ToUpper(fb))
	case "NoData", "":
	default:
		rep.add("LegacyFreeBusyStatus", "unknown value %q", fb)
	}
	if n.Bool("IsCancelled") {
		ev.Props.SetText(ical.PropStatus, "CANCELLED")
	} else if n.Bool("IsMeeting") {
		ev.Props.SetText(ical.PropStatus, "CONFIRMED")
	}

	if org, ok := parseMailbox(n.Path("Organizer", "Mailbox"), dir); ok && n.Bool("IsMeeting") {
		p := calAddress(ical.PropOrganizer, org, rep)
		ev.Props.Set(p)
	}
	my := n.Text("MyResponseType")
	for _, list := range []struct{ elem, role string }{
		{"RequiredAttendees", "REQ-PARTICIPANT"}, {"OptionalAttendees", "OPT-PARTICIPANT"}, {"Resources", "NON-PARTICIPANT"},
	} {
		for _, a := range n.Path(list.elem).All("Attendee") {
			mb, ok := parseMailbox(a.Child("Mailbox"), dir)
			if !ok {
				continue
			}
			p := calAddress(ical.PropAttendee, mb, rep)
			p.Params.Set(ical.ParamRole, list.role)
			if list.elem == "Resources" {
				p.Params.Set(ical.ParamCalendarUserType, "RESOURCE")
			}
			rt := a.Text("ResponseType")
			if opt.Owner != "" && strings.EqualFold(mb.Addr, opt.Owner) && my != "" {
				rt = my
			}
			p.Params.Set(ical.ParamParticipationStatus, partStat(rt))
			if n.Bool("IsResponseRequested") && rt != "Organizer" {
				p.Params.Set(ical.ParamRSVP, "TRUE")
			}
			ev.Props.Add(p)
		}
	}
	if my != "" {
		// The owner's own response, also when the owner is not in the
		// attendee lists (EWS lists attendees as the organizer sent them).
		xText(ev.Props, "X-IEM-MYRESPONSETYPE", my)
	}

	// VALARM only when ReminderIsSet [V ews.md §4.2: DavMail drops VALARM
	// if ReminderIsSet is false].
	if n.Bool("ReminderIsSet") {
		mins, _ := n.Int("ReminderMinutesBeforeStart")
		al := ical.NewComponent(ical.CompAlarm)
		al.Props.SetText(ical.PropAction, "DISPLAY")
		al.Props.SetText(ical.PropDescription, first(n.Text("Subject"), "Reminder"))
		al.Props.Set(&ical.Prop{Name: ical.PropTrigger, Params: ical.Params{}, Value: fmt.Sprintf("-PT%dM", mins)})
		ev.Children = append(ev.Children, al)
	}
	if len(n.Path("Attachments").Elems()) > 0 {
		rep.add("Attachments", "calendar item attachments are not carried in the iCalendar")
	}
	return ev, start, nil
}

// partStat maps EWS ResponseType [V MSDOCS responsetype.md values Unknown,
// Organizer, Tentative, Accept, Decline, NoResponseReceived] to PARTSTAT.
func partStat(rt string) string {
	switch rt {
	case "Organizer", "Accept":
		return "ACCEPTED"
	case "Tentative":
		return "TENTATIVE"
	case "Decline":
		return "DECLINED"
	}
	return "NEEDS-ACTION"
}

func calAddress(name string, mb mailbox, rep *Report) *ical.Prop {
	p := &ical.Prop{Name: name, Params: ical.Params{}}
	if mb.Name != "" {
		p.Params.Set(ical.ParamCommonName, strings.NewReplacer(`"`, "'", "\r", "", "\n", " ").Replace(mb.Name))
	}
	if mb.SMTP {
		p.Value = "mailto:" + mb.Addr
	} else {
		rep.add(name, "address %q not resolvable to smtp", mb.Raw)
		p.Value = "mailto:" + imceaex(mb.Raw) + "@" + unresolvedDomain
	}
	return p
}

func setText(props ical.Props, name, v string) {
	if v != "" {
		props.SetText(name, v)
	}
}

// xText sets an X- property (text value) without go-ical's VALUE=TEXT
// parameter, which it adds to properties it has no default type for.
func xText(props ical.Props, name, v string) {
	p := ical.NewProp(name)
	p.SetText(v)
	p.Params.Del(ical.ParamValue)
	props.Set(p)
}

// addBody writes DESCRIPTION as plain text and, for HTML bodies, the
// original HTML in X-ALT-DESC;FMTTYPE=text/html (as Outlook does [I]).
func addBody(props ical.Props, n *node) {
	b := n.Child("Body")
	if b == nil {
		return
	}
	raw := b.RawText()
	if strings.TrimSpace(raw) == "" {
		return
	}
	if strings.EqualFold(b.Attr("BodyType"), "HTML") {
		props.SetText(ical.PropDescription, htmlToText(raw))
		p := ical.NewProp("X-ALT-DESC")
		p.SetText(strings.ReplaceAll(raw, "\r\n", "\n"))
		p.Params.Del(ical.ParamValue)
		p.Params.Set("FMTTYPE", "text/html")
		props.Set(p)
		return
	}
	props.SetText(ical.PropDescription, strings.ReplaceAll(raw, "\r\n", "\n"))
}

// addCommon writes CLASS, CATEGORIES and PRIORITY shared by events and tasks.
func addCommon(c *ical.Component, n *node) {
	switch n.Text("Sensitivity") {
	case "Normal":
		c.Props.SetText(ical.PropClass, "PUBLIC")
	case "Personal", "Private":
		c.Props.SetText(ical.PropClass, "PRIVATE")
	case "Confidential":
		c.Props.SetText(ical.PropClass, "CONFIDENTIAL")
	}
	if cats := n.Texts("Categories", "String"); len(cats) > 0 {
		p := &ical.Prop{Name: ical.PropCategories, Params: ical.Params{}}
		p.SetTextList(cats)
		c.Props.Set(p)
	}
	switch n.Text("Importance") {
	case "High":
		c.Props.Set(&ical.Prop{Name: ical.PropPriority, Params: ical.Params{}, Value: "1"})
	case "Low":
		c.Props.Set(&ical.Prop{Name: ical.PropPriority, Params: ical.Params{}, Value: "9"})
	}
}

// WriteICal encodes cal with go-ical's encoder and folds its lines at 75
// octets (RFC 5545 §3.1), never inside a UTF-8 sequence.
func WriteICal(w io.Writer, cal *ical.Calendar) error {
	var raw bytes.Buffer
	if err := ical.NewEncoder(&raw).Encode(cal); err != nil {
		return fmt.Errorf("format: encode icalendar: %w", err)
	}
	var out bytes.Buffer
	for _, line := range strings.SplitAfter(raw.String(), "\r\n") {
		if line == "" {
			continue
		}
		writeFolded(&out, strings.TrimSuffix(line, "\r\n"))
	}
	_, err := w.Write(out.Bytes())
	return err
}

func sortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}
