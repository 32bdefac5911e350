package format

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/teambition/rrule-go"
)

// calCtx resolves times of one decoded VCALENDAR.
type calCtx struct {
	zones map[string]*ical.Component // VTIMEZONE by TZID
}

// icalTime resolves a DATE / DATE-TIME property to an instant. kind is
// "date", "utc", "zoned" or "floating"; tzid is the zone for zoned values.
func (c calCtx) icalTime(t *testing.T, p *ical.Prop) (tm time.Time, kind, tzid string, err error) {
	if p.ValueType() == ical.ValueDate || len(p.Value) == 8 {
		tm, err = time.Parse("20060102", p.Value)
		return tm, "date", "", err
	}
	if strings.HasSuffix(p.Value, "Z") {
		tm, err = time.Parse("20060102T150405Z", p.Value)
		return tm, "utc", "", err
	}
	wall, err := time.Parse("20060102T150405", p.Value)
	if err != nil {
		return tm, "", "", err
	}
	tzid = p.Params.Get(ical.ParamTimezoneID)
	if tzid == "" {
		return wall, "floating", "", nil
	}
	if loc, err := time.LoadLocation(tzid); err == nil {
		return time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), 0, loc), "zoned", tzid, nil
	}
	if iana, ok := IANAZone(tzid); ok {
		loc, _ := time.LoadLocation(iana)
		return time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), 0, loc), "zoned", tzid, nil
	}
	if vtz := c.zones[tzid]; vtz != nil {
		off := vtimezoneOffset(t, vtz, wall)
		return wall.Add(-time.Duration(off) * time.Second), "zoned", tzid, nil
	}
	return tm, "", "", fmt.Errorf("tzid %q not resolvable", tzid)
}

// ewsZoneXML renders the zone of a zoned time as EWS would send it: a
// Windows id (or an IANA name) in StartTimeZone, or, for a calendar-defined
// zone, a 2007 MeetingTimeZone with its rules. ok is false when the zone
// has no EWS form the test can build.
func (c calCtx) ewsZoneXML(tzid string) (string, bool) {
	if tzid == "" {
		return "", true
	}
	if _, ok := IANAZone(tzid); ok {
		return `<t:StartTimeZone Id="` + xmlText(tzid) + `"/>`, true
	}
	if _, err := time.LoadLocation(tzid); err == nil {
		for win, iana := range windowsZones {
			if iana == tzid {
				return `<t:StartTimeZone Id="` + xmlText(win) + `"/>`, true
			}
		}
		return `<t:StartTimeZone Id="` + xmlText(tzid) + `"/>`, true
	}
	vtz := c.zones[tzid]
	if vtz == nil {
		return "", false
	}
	var std, dst *ical.Component
	for _, s := range vtz.Children {
		if s.Name == ical.CompTimezoneStandard {
			std = s
		} else {
			dst = s
		}
	}
	offset := func(s *ical.Component) (int, bool) {
		o, err := time.Parse("-0700", s.Props.Get(ical.PropTimezoneOffsetTo).Value)
		if err != nil {
			return 0, false
		}
		_, sec := o.Zone()
		return sec, true
	}
	if std == nil {
		return "", false
	}
	so, ok := offset(std)
	if !ok {
		return "", false
	}
	x := fmt.Sprintf(`<t:MeetingTimeZone TimeZoneName="%s"><t:BaseOffset>PT%dM</t:BaseOffset>`, xmlText(tzid), -so/60)
	if dst != nil {
		do, ok := offset(dst)
		r1, ok1 := vtzRule(std)
		r2, ok2 := vtzRule(dst)
		if !ok || !ok1 || !ok2 {
			return "", false
		}
		x += `<t:Standard TimeZoneName="Standard"><t:Offset>PT0M</t:Offset>` + r1 + `</t:Standard>`
		x += fmt.Sprintf(`<t:Daylight TimeZoneName="Daylight"><t:Offset>-PT%dM</t:Offset>`, (do-so)/60) + r2 + `</t:Daylight>`
	}
	return x + `</t:MeetingTimeZone>`, true
}

var ewsDayNames = [...]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
var ewsIndex = map[int]string{1: "First", 2: "Second", 3: "Third", 4: "Fourth", -1: "Last"}

func vtzRule(s *ical.Component) (string, bool) {
	ro, err := s.Props.RecurrenceRule()
	if err != nil || ro == nil || len(ro.Bymonth) != 1 || len(ro.Byweekday) != 1 {
		return "", false
	}
	wd := ro.Byweekday[0]
	idx, ok := ewsIndex[wd.N()]
	if !ok {
		return "", false
	}
	st, err := time.Parse("20060102T150405", s.Props.Get(ical.PropDateTimeStart).Value)
	if err != nil {
		return "", false
	}
	return fmt.Sprintf(`<t:RelativeYearlyRecurrence><t:DaysOfWeek>%s</t:DaysOfWeek><t:DayOfWeekIndex>%s</t:DayOfWeekIndex><t:Month>%s</t:Month></t:RelativeYearlyRecurrence><t:Time>%s</t:Time>`,
		ewsDayNames[(wd.Day()+1)%7], idx, time.Month(ro.Bymonth[0]), st.Format("15:04:05")), true
}

// rruleToEWS maps an RRULE onto the EWS recurrence patterns; reason says
// why it cannot be.
func rruleToEWS(ro *rrule.ROption, start time.Time, endLocal func(time.Time) time.Time) (string, string) {
	if len(ro.Byhour) > 0 || len(ro.Byminute) > 0 || len(ro.Bysecond) > 0 || len(ro.Byweekno) > 0 ||
		len(ro.Byyearday) > 0 || len(ro.Byeaster) > 0 || len(ro.Bymonth) > 1 {
		return "", "RRULE parts EWS has no pattern for"
	}
	iv := ro.Interval
	if iv < 1 {
		iv = 1
	}
	days := func() (string, bool) {
		var d []string
		for _, w := range ro.Byweekday {
			if w.N() != 0 {
				return "", false
			}
			d = append(d, ewsDayNames[(w.Day()+1)%7])
		}
		return strings.Join(d, " "), true
	}
	var pat string
	switch ro.Freq {
	case rrule.DAILY:
		if len(ro.Byweekday)+len(ro.Bymonthday)+len(ro.Bysetpos) > 0 {
			return "", "DAILY with BY parts"
		}
		pat = fmt.Sprintf("<t:DailyRecurrence><t:Interval>%d</t:Interval></t:DailyRecurrence>", iv)
	case rrule.WEEKLY:
		d, ok := days()
		if !ok || len(ro.Bymonthday)+len(ro.Bysetpos) > 0 {
			return "", "WEEKLY with BY parts"
		}
		if d == "" {
			d = ewsDayNames[start.Weekday()]
		}
		pat = fmt.Sprintf("<t:WeeklyRecurrence><t:Interval>%d</t:Interval><t:DaysOfWeek>%s</t:DaysOfWeek><t:FirstDayOfWeek>%s</t:FirstDayOfWeek></t:WeeklyRecurrence>",
			iv, d, ewsDayNames[(ro.Wkst.Day()+1)%7])
	case rrule.MONTHLY, rrule.YEARLY:
		month := ""
		if ro.Freq == rrule.YEARLY {
			if iv != 1 {
				return "", "YEARLY with INTERVAL (EWS 2007 yearly patterns have none)"
			}
			m := int(start.Month())
			if len(ro.Bymonth) == 1 {
				m = ro.Bymonth[0]
			}
			month = "<t:Month>" + time.Month(m).String() + "</t:Month>"
		}
		kind := map[rrule.Frequency]string{rrule.MONTHLY: "Monthly", rrule.YEARLY: "Yearly"}[ro.Freq]
		ivx := ""
		if ro.Freq == rrule.MONTHLY {
			ivx = fmt.Sprintf("<t:Interval>%d</t:Interval>", iv)
		}
		switch {
		case len(ro.Byweekday) == 1 && ro.Byweekday[0].N() != 0 && len(ro.Bysetpos) == 0 && len(ro.Bymonthday) == 0:
			idx, ok := ewsIndex[ro.Byweekday[0].N()]
			if !ok {
				return "", "BYDAY index EWS cannot express"
			}
			pat = fmt.Sprintf("<t:Relative%sRecurrence>%s<t:DaysOfWeek>%s</t:DaysOfWeek><t:DayOfWeekIndex>%s</t:DayOfWeekIndex>%s</t:Relative%sRecurrence>",
				kind, ivx, ewsDayNames[(ro.Byweekday[0].Day()+1)%7], idx, month, kind)
		case len(ro.Byweekday) == 0 && len(ro.Bysetpos) == 0 && len(ro.Bymonthday) <= 1:
			d := start.Day()
			if len(ro.Bymonthday) == 1 {
				d = ro.Bymonthday[0]
			}
			if d < 1 || d > 28 {
				return "", "month day EWS treats as last-day-of-month"
			}
			pat = fmt.Sprintf("<t:Absolute%sRecurrence>%s<t:DayOfMonth>%d</t:DayOfMonth>%s</t:Absolute%sRecurrence>", kind, ivx, d, month, kind)
		default:
			return "", "MONTHLY/YEARLY BY combination EWS has no pattern for"
		}
	default:
		return "", "FREQ finer than daily"
	}
	rng := "<t:NoEndRecurrence><t:StartDate>" + start.Format("2006-01-02") + "</t:StartDate></t:NoEndRecurrence>"
	switch {
	case ro.Count > 0:
		rng = fmt.Sprintf("<t:NumberedRecurrence><t:StartDate>%s</t:StartDate><t:NumberOfOccurrences>%d</t:NumberOfOccurrences></t:NumberedRecurrence>", start.Format("2006-01-02"), ro.Count)
	case !ro.Until.IsZero():
		rng = fmt.Sprintf("<t:EndDateRecurrence><t:StartDate>%s</t:StartDate><t:EndDate>%s</t:EndDate></t:EndDateRecurrence>", start.Format("2006-01-02"), endLocal(ro.Until).Format("2006-01-02"))
	}
	return "<t:Recurrence>" + pat + rng + "</t:Recurrence>", ""
}

func attendeeXML(p ical.Prop) (string, string) {
	addr := strings.TrimPrefix(strings.TrimPrefix(p.Value, "mailto:"), "MAILTO:")
	rt := map[string]string{"ACCEPTED": "Accept", "DECLINED": "Decline", "TENTATIVE": "Tentative"}[strings.ToUpper(p.Params.Get(ical.ParamParticipationStatus))]
	if rt == "" {
		rt = "Unknown"
	}
	list := "RequiredAttendees"
	switch strings.ToUpper(p.Params.Get(ical.ParamRole)) {
	case "OPT-PARTICIPANT":
		list = "OptionalAttendees"
	case "NON-PARTICIPANT":
		list = "Resources"
	}
	return list, "<t:Attendee><t:Mailbox><t:Name>" + xmlText(p.Params.Get(ical.ParamCommonName)) + "</t:Name><t:EmailAddress>" +
		xmlText(addr) + "</t:EmailAddress><t:RoutingType>SMTP</t:RoutingType></t:Mailbox><t:ResponseType>" + rt + "</t:ResponseType></t:Attendee>"
}

// eventXMLFor builds the CalendarItem Exchange would hold for ev.
func (c calCtx) eventXMLFor(t *testing.T, ev *ical.Component, master bool, ex []*ical.Component) (x []byte, reason string) {
	start, kind, tzid, err := c.icalTime(t, ev.Props.Get(ical.PropDateTimeStart))
	if err != nil {
		if strings.Contains(err.Error(), "tzid") {
			return nil, "TZID neither IANA, Windows nor defined in the calendar"
		}
		return nil, "original has an invalid DATE-TIME"
	}
	if kind == "floating" {
		return nil, "floating time (EWS has no floating times)"
	}
	zx, ok := c.ewsZoneXML(tzid)
	if !ok {
		return nil, "calendar-defined zone without yearly rules"
	}
	end := start
	if p := ev.Props.Get(ical.PropDateTimeEnd); p != nil {
		if end, _, _, err = c.icalTime(t, p); err != nil {
			return nil, err.Error()
		}
	} else if p := ev.Props.Get(ical.PropDuration); p != nil {
		d, err := p.Duration()
		if err != nil {
			return nil, "bad DURATION"
		}
		end = start.Add(d)
	} else if kind == "date" {
		end = start.AddDate(0, 0, 1)
	}
	allDay := kind == "date"
	var loc *time.Location = time.UTC
	if allDay {
		// An all-day event is local midnight in its zone; use UTC.
		loc = time.UTC
	} else if tzid != "" {
		if l, err := time.LoadLocation(tzid); err == nil {
			loc = l
		} else if iana, ok := IANAZone(tzid); ok {
			loc, _ = time.LoadLocation(iana)
		}
	}
	var b strings.Builder
	b.WriteString(`<t:CalendarItem><t:ItemId Id="corpus" ChangeKey="x"/>`)
	text := func(tag, name string) {
		if v, err := ev.Props.Text(name); err == nil && v != "" {
			b.WriteString("<t:" + tag + ">" + xmlText(v) + "</t:" + tag + ">")
		}
	}
	text("Subject", ical.PropSummary)
	if v, err := ev.Props.Text(ical.PropDescription); err == nil && v != "" {
		b.WriteString(`<t:Body BodyType="Text">` + xmlText(v) + "</t:Body>")
	}
	if uid, _ := ev.Props.Text(ical.PropUID); uid != "" {
		b.WriteString("<t:UID>" + xmlText(uid) + "</t:UID>")
	}
	b.WriteString("<t:Start>" + start.UTC().Format(time.RFC3339) + "</t:Start><t:End>" + end.UTC().Format(time.RFC3339) + "</t:End>")
	if rid := ev.Props.Get(ical.PropRecurrenceID); rid != nil {
		o, _, _, err := c.icalTime(t, rid)
		if err != nil {
			return nil, err.Error()
		}
		b.WriteString("<t:OriginalStart>" + o.UTC().Format(time.RFC3339) + "</t:OriginalStart>")
	}
	fmt.Fprintf(&b, "<t:IsAllDayEvent>%v</t:IsAllDayEvent>", allDay)
	text("Location", ical.PropLocation)
	atts := ev.Props.Values(ical.PropAttendee)
	fmt.Fprintf(&b, "<t:IsMeeting>%v</t:IsMeeting>", len(atts) > 0 || ev.Props.Get(ical.PropOrganizer) != nil)
	if o := ev.Props.Get(ical.PropOrganizer); o != nil {
		addr := strings.TrimPrefix(strings.TrimPrefix(o.Value, "mailto:"), "MAILTO:")
		b.WriteString("<t:Organizer><t:Mailbox><t:Name>" + xmlText(o.Params.Get(ical.ParamCommonName)) + "</t:Name><t:EmailAddress>" + xmlText(addr) + "</t:EmailAddress><t:RoutingType>SMTP</t:RoutingType></t:Mailbox></t:Organizer>")
	}
	lists := map[string]string{}
	for _, a := range atts {
		l, x := attendeeXML(a)
		lists[l] += x
	}
	for _, l := range []string{"RequiredAttendees", "OptionalAttendees", "Resources"} {
		if lists[l] != "" {
			b.WriteString("<t:" + l + ">" + lists[l] + "</t:" + l + ">")
		}
	}
	if master {
		if len(ev.Props.Values(ical.PropRecurrenceDates)) > 0 {
			return nil, "RDATE (EWS has no extra dates)"
		}
		ro, err := ev.Props.RecurrenceRule()
		if err != nil {
			return nil, "RRULE not parseable by go-ical"
		}
		if ro != nil {
			localStart := start.In(loc)
			r, why := rruleToEWS(ro, localStart, func(u time.Time) time.Time { return u.In(loc) })
			if why != "" {
				return nil, why
			}
			b.WriteString(r)
			if len(ex) > 0 {
				b.WriteString("<t:ModifiedOccurrences>")
				for i, e := range ex {
					o, _, _, err := c.icalTime(t, e.Props.Get(ical.PropRecurrenceID))
					if err != nil {
						return nil, err.Error()
					}
					fmt.Fprintf(&b, `<t:Occurrence><t:ItemId Id="occ%d"/><t:OriginalStart>%s</t:OriginalStart></t:Occurrence>`, i, o.UTC().Format(time.RFC3339))
				}
				b.WriteString("</t:ModifiedOccurrences>")
			}
			var del []string
			for _, exd := range ev.Props.Values(ical.PropExceptionDates) {
				for _, v := range strings.Split(exd.Value, ",") {
					p := exd
					p.Value = v
					tm, k, _, err := c.icalTime(t, &p)
					if err != nil || k == "floating" {
						return nil, "EXDATE not resolvable"
					}
					if k == "date" && !allDay {
						l := start.In(loc)
						tm = time.Date(tm.Year(), tm.Month(), tm.Day(), l.Hour(), l.Minute(), l.Second(), 0, loc)
					}
					del = append(del, "<t:DeletedOccurrence><t:Start>"+tm.UTC().Format(time.RFC3339)+"</t:Start></t:DeletedOccurrence>")
				}
			}
			if len(del) > 0 {
				b.WriteString("<t:DeletedOccurrences>" + strings.Join(del, "") + "</t:DeletedOccurrences>")
			}
		}
	}
	b.WriteString(zx)
	b.WriteString("</t:CalendarItem>")
	return []byte(b.String()), ""
}

// semantic is what must survive: the fields a user sees.
func semantic(t *testing.T, c calCtx, ev *ical.Component) (map[string]string, error) {
	m := map[string]string{}
	for _, p := range []string{ical.PropSummary, ical.PropLocation, ical.PropDescription, ical.PropUID} {
		if v, err := ev.Props.Text(p); err == nil && v != "" {
			m[p] = strings.TrimRight(v, "\n")
		}
	}
	for _, p := range []string{ical.PropDateTimeStart, ical.PropRecurrenceID} {
		if pr := ev.Props.Get(p); pr != nil {
			tm, k, _, err := c.icalTime(t, pr)
			if err != nil {
				return nil, err
			}
			if k == "date" {
				m[p] = tm.Format("2006-01-02")
			} else {
				m[p] = tm.UTC().Format(time.RFC3339)
			}
		}
	}
	var att []string
	for _, a := range ev.Props.Values(ical.PropAttendee) {
		ps := strings.ToUpper(a.Params.Get(ical.ParamParticipationStatus))
		if ps == "" || ps == "DELEGATED" || ps == "COMPLETED" || ps == "IN-PROCESS" {
			ps = "NEEDS-ACTION"
		}
		att = append(att, strings.ToLower(strings.TrimPrefix(strings.ToLower(a.Value), "mailto:"))+"="+ps)
	}
	sort.Strings(att)
	m["ATTENDEES"] = strings.Join(att, " ")
	if o := ev.Props.Get(ical.PropOrganizer); o != nil {
		m["ORGANIZER"] = strings.TrimPrefix(strings.ToLower(o.Value), "mailto:")
	}
	return m, nil
}

// expand lists the first occurrences of a master as UTC instants (or
// dates), EXDATEs removed — with rrule-go, not with this package.
func expand(t *testing.T, c calCtx, ev *ical.Component) ([]string, error) {
	ro, err := ev.Props.RecurrenceRule()
	if err != nil || ro == nil {
		return nil, err
	}
	start, kind, tzid, err := c.icalTime(t, ev.Props.Get(ical.PropDateTimeStart))
	if err != nil {
		return nil, err
	}
	// Expand on the wall clock, then convert each occurrence.
	var loc *time.Location
	switch {
	case kind == "date" || kind == "utc":
		loc = time.UTC
	default:
		if l, err := time.LoadLocation(tzid); err == nil {
			loc = l
		} else if iana, ok := IANAZone(tzid); ok {
			loc, _ = time.LoadLocation(iana)
		}
	}
	wallOf := func(tm time.Time) time.Time {
		if loc != nil {
			l := tm.In(loc)
			return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), 0, time.UTC)
		}
		off := vtimezoneOffset(t, c.zones[tzid], tm)
		return tm.Add(time.Duration(off) * time.Second).UTC()
	}
	instOf := func(w time.Time) time.Time {
		if loc != nil {
			return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, loc).UTC()
		}
		return w.Add(-time.Duration(vtimezoneOffset(t, c.zones[tzid], w)) * time.Second)
	}
	ro.Dtstart = wallOf(start)
	if kind == "date" {
		ro.Dtstart = start
	}
	if !ro.Until.IsZero() {
		ro.Until = wallOf(ro.Until)
	}
	rr, err := rrule.NewRRule(*ro)
	if err != nil {
		return nil, err
	}
	ex := map[string]bool{}
	for _, exd := range ev.Props.Values(ical.PropExceptionDates) {
		for _, v := range strings.Split(exd.Value, ",") {
			p := exd
			p.Value = v
			tm, k, _, err := c.icalTime(t, &p)
			if err != nil {
				return nil, err
			}
			if k == "date" {
				ex[tm.Format("2006-01-02")] = true
			} else {
				ex[tm.UTC().Format(time.RFC3339)] = true
			}
		}
	}
	var out []string
	next := rr.Iterator()
	for i := 0; i < 400 && len(out) < 25; i++ {
		w, ok := next()
		if !ok {
			break
		}
		var key string
		if kind == "date" {
			key = w.Format("2006-01-02")
		} else {
			key = instOf(w).Format(time.RFC3339)
		}
		dayKey := w.Format("2006-01-02")
		if !ex[key] && !ex[dayKey] {
			out = append(out, key)
		}
	}
	return out, nil
}

func decodeCalendars(raw []byte) (cals []*ical.Calendar, err error) {
	// go-ical's decoder panics on some malformed input (an empty parameter
	// at the end of a line); that is the reference parser's limit, not a
	// property of the corpus item.
	defer func() {
		if r := recover(); r != nil {
			cals, err = nil, fmt.Errorf("go-ical decoder panic: %v", r)
		}
	}()
	if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("BEGIN:VCALENDAR")) {
		// evolution-data-server stores bare components; wrap them.
		raw = append(append([]byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//corpus//EN\r\n"), bytes.TrimSpace(raw)...), "\r\nEND:VCALENDAR\r\n"...)
	}
	// horde's exchange.ics (a real Exchange CDO invite) has a property
	// folded just before its ":" ("CN=\"MHMN002\"\r\n:\r\n  MAILTO:…"),
	// which Horde's lenient parser accepts and go-ical does not. Re-join
	// such lines, as a lenient reader would.
	raw = bytes.ReplaceAll(raw, []byte("\r\n:\r\n  "), []byte(":"))
	raw = bytes.ReplaceAll(raw, []byte("\n:\n  "), []byte(":"))
	dec := ical.NewDecoder(bytes.NewReader(raw))
	var out []*ical.Calendar
	for {
		cal, err := dec.Decode()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, cal)
	}
}

// TestCorpusICalendar: every VEVENT and VTODO of the golang-ical (RFC 5545
// §4 examples), horde (Exchange CDO invite), evolution-data-server and
// python-icalendar corpora is turned into the EWS item Exchange would hold,
// converted back, and must keep summary, location, description, UID,
// start, recurrence-id, organizer, attendees with PARTSTAT, and its first 25
// occurrences (expanded by rrule-go).
func TestCorpusICalendar(t *testing.T) {
	root := corporaRoot(t)
	sets := []struct{ name, dir string }{
		{"golang-ical", "usr/share/gocode/src/github.com/arran4/golang-ical/testdata"},
		{"horde", "usr/share/doc/php-horde-icalendar/examples"},
		{"evolution-data-server", "usr/libexec/evolution-data-server/installed-tests/components"},
		{"python-icalendar", "usr/lib/python3/dist-packages/icalendar/tests"},
	}
	for _, s := range sets {
		tl := newTally(s.name + " icalendar")
		for _, p := range corpusFiles(t, root, s.dir, ".ics") {
			raw, _ := os.ReadFile(p)
			cals, err := decodeCalendars(raw)
			if err != nil && len(cals) == 0 {
				if strings.Contains(err.Error(), "panic") {
					tl.differ("original crashes go-ical's decoder")
				} else {
					tl.differ("original not parseable by go-ical")
				}
				continue
			}
			for _, cal := range cals {
				corpusCalendar(t, p, cal, tl)
			}
		}
		t.Log(tl)
		tl.checkVobject(t)
		if tl.exact == 0 {
			t.Errorf("%s: nothing round-tripped", s.name)
		}
	}
}

func corpusCalendar(t *testing.T, path string, cal *ical.Calendar, tl *tally) {
	c := calCtx{zones: map[string]*ical.Component{}}
	masters := map[string]*ical.Component{}
	exceptions := map[string][]*ical.Component{}
	var order []string
	for _, comp := range cal.Children {
		switch comp.Name {
		case ical.CompTimezone:
			id, _ := comp.Props.Text(ical.PropTimezoneID)
			c.zones[id] = comp
		case ical.CompEvent:
			uid, _ := comp.Props.Text(ical.PropUID)
			if comp.Props.Get(ical.PropRecurrenceID) != nil {
				exceptions[uid] = append(exceptions[uid], comp)
				continue
			}
			if _, dup := masters[uid]; dup || uid == "" {
				uid = fmt.Sprintf("%s#%d", uid, len(order))
			}
			masters[uid] = comp
			order = append(order, uid)
		case ical.CompToDo:
			corpusTask(t, path, c, comp, tl)
		}
	}
	for _, uid := range order {
		ev := masters[uid]
		if ev.Props.Get(ical.PropDateTimeStart) == nil {
			tl.differ("VEVENT without DTSTART (EWS requires Start)")
			continue
		}
		ex := exceptions[uid]
		mx, why := c.eventXMLFor(t, ev, true, ex)
		if why != "" {
			tl.differ("not representable in EWS: " + why)
			continue
		}
		var occ [][]byte
		for _, e := range ex {
			ox, why := c.eventXMLFor(t, e, false, nil)
			if why != "" {
				tl.differ("exception not representable in EWS: " + why)
				occ = nil
				break
			}
			occ = append(occ, ox)
		}
		out, _, err := CalendarToICal(mx, occ, nil, nil)
		if err != nil {
			t.Errorf("CalendarToICal(%s %s) = %v\n%s", path, uid, err, mx)
			tl.differ("conversion failed")
			continue
		}
		var buf bytes.Buffer
		if err := WriteICal(&buf, out); err != nil {
			t.Errorf("WriteICal(%s) = %v", path, err)
			tl.differ("output not encodable")
			continue
		}
		tl.keep(fmt.Sprintf("%s#%s.ics", path, uid), buf.Bytes())
		back, err := ical.NewDecoder(&buf).Decode()
		if err != nil {
			t.Errorf("ical.Decode(CalendarToICal(%s)) = %v", path, err)
			tl.differ("output not parseable")
			continue
		}
		bc := calCtx{zones: map[string]*ical.Component{}}
		var got []*ical.Component
		for _, comp := range back.Children {
			if comp.Name == ical.CompTimezone {
				id, _ := comp.Props.Text(ical.PropTimezoneID)
				bc.zones[id] = comp
			} else if comp.Name == ical.CompEvent {
				got = append(got, comp)
			}
		}
		if d := compareEvents(t, c, bc, append([]*ical.Component{ev}, ex...), got); d != "" {
			t.Errorf("CalendarToICal(%s %s): %s", path, uid, d)
			tl.differ(d)
			continue
		}
		tl.ok()
	}
}

func compareEvents(t *testing.T, wc, gc calCtx, want, got []*ical.Component) string {
	if len(want) != len(got) {
		return fmt.Sprintf("%d VEVENTs, want %d", len(got), len(want))
	}
	for i := range want {
		w, err := semantic(t, wc, want[i])
		if err != nil {
			return err.Error()
		}
		g, err := semantic(t, gc, got[i])
		if err != nil {
			return "output: " + err.Error()
		}
		for k, v := range w {
			if g[k] != v {
				return fmt.Sprintf("%s = %q, want %q", k, g[k], v)
			}
		}
	}
	we, err := expand(t, wc, want[0])
	if err != nil {
		return "expand original: " + err.Error()
	}
	ge, err := expand(t, gc, got[0])
	if err != nil {
		return "expand output: " + err.Error()
	}
	if strings.Join(we, " ") != strings.Join(ge, " ") {
		return fmt.Sprintf("occurrences %v, want %v", ge, we)
	}
	return ""
}

func corpusTask(t *testing.T, path string, c calCtx, td *ical.Component, tl *tally) {
	var b strings.Builder
	b.WriteString(`<t:Task><t:ItemId Id="corpus" ChangeKey="x"/>`)
	if v, _ := td.Props.Text(ical.PropSummary); v != "" {
		b.WriteString("<t:Subject>" + xmlText(v) + "</t:Subject>")
	}
	if v, _ := td.Props.Text(ical.PropUID); v != "" {
		b.WriteString("<t:UID>" + xmlText(v) + "</t:UID>")
	}
	due := ""
	reason := ""
	if p := td.Props.Get(ical.PropDue); p != nil {
		tm, k, _, err := c.icalTime(t, p)
		if err != nil {
			tl.differ("task DUE not resolvable")
			return
		}
		if k != "date" && k != "floating" {
			reason = "task due time dropped (EWS task dates are days)"
			tm = tm.UTC()
		}
		due = tm.Format("20060102")
		b.WriteString("<t:DueDate>" + time.Date(tm.Year(), tm.Month(), tm.Day(), 0, 0, 0, 0, time.UTC).Format(time.RFC3339) + "</t:DueDate>")
	}
	pc := ""
	if p := td.Props.Get(ical.PropPercentComplete); p != nil {
		pc = p.Value
		b.WriteString("<t:PercentComplete>" + xmlText(p.Value) + "</t:PercentComplete>")
	}
	st := map[string]string{"NEEDS-ACTION": "NotStarted", "IN-PROCESS": "InProgress", "COMPLETED": "Completed"}
	status := ""
	if v, _ := td.Props.Text(ical.PropStatus); v != "" {
		if s, ok := st[v]; ok {
			status = v
			b.WriteString("<t:Status>" + s + "</t:Status>")
		} else {
			reason = "task status " + v + " has no EWS value"
		}
	}
	b.WriteString("</t:Task>")
	out, _, err := TaskToICal([]byte(b.String()), nil)
	if err != nil {
		t.Errorf("TaskToICal(%s) = %v", path, err)
		tl.differ("task conversion failed")
		return
	}
	var buf bytes.Buffer
	if err := WriteICal(&buf, out); err != nil {
		t.Errorf("WriteICal(task %s) = %v", path, err)
		tl.differ("task output not encodable")
		return
	}
	tl.keep(fmt.Sprintf("%s#task%d.ics", path, tl.total), buf.Bytes())
	back, err := ical.NewDecoder(&buf).Decode()
	if err != nil {
		t.Errorf("ical.Decode(TaskToICal(%s)) = %v", path, err)
		tl.differ("task output not parseable")
		return
	}
	g := back.Children[0]
	ws, _ := td.Props.Text(ical.PropSummary)
	gs, _ := g.Props.Text(ical.PropSummary)
	gd := ""
	if p := g.Props.Get(ical.PropDue); p != nil {
		gd = p.Value
	}
	gst, _ := g.Props.Text(ical.PropStatus)
	gpc := ""
	if p := g.Props.Get(ical.PropPercentComplete); p != nil {
		gpc = p.Value
	}
	if pc != "" {
		if f, err := strconv.ParseFloat(pc, 64); err == nil {
			pc = strconv.Itoa(int(f + 0.5))
		}
	}
	if ws != gs || due != gd || (status != "" && status != gst) || pc != gpc {
		t.Errorf("TaskToICal(%s): summary %q/%q due %q/%q status %q/%q percent %q/%q", path, gs, ws, gd, due, gst, status, gpc, pc)
		tl.differ("task fields differ")
		return
	}
	if reason != "" {
		tl.differ(reason)
		return
	}
	tl.ok()
}
