package pst

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/iemproject/iem/format"
)

// This file reads an appointment's recurrence pattern blob (PidLidAppointmentRecur,
// [MS-OXOCAL] 2.2.1.44: RecurrencePattern 2.2.1.44.1 then AppointmentRecurrencePattern
// 2.2.1.44.5 with ExceptionInfo 2.2.1.44.2 and ExtendedException 2.2.1.44.3) and its
// time zone (PidLidAppointmentTimeZoneDefinitionRecur / …StartDisplay, TZDEFINITION
// 2.2.1.41, else PidLidTimeZoneStruct 2.2.1.39), and renders the appointment as the
// EWS CalendarItem format.CalendarToICal reads: Recurrence, DeletedOccurrences, a
// MeetingTimeZone (the Exchange 2007 shape, which carries the rules a PST stores), and
// one CalendarItem per exception. research/pst.md §7 gives the field order [V
// PidLidAppointmentRecur, MS-OXOCAL structure]; the inner field sizes are [I: from
// MS-OXOCAL 2.2.1.44.1 as remembered], checked on dist-list.pst's weekly series.

// errRecur is a recurrence blob this reader cannot use.
var errRecur = errors.New("pst: recurrence pattern")

// recurrence is a parsed AppointmentRecurrencePattern.
type recurrence struct {
	freq, patternType uint16
	calendarType      uint16
	period            uint32
	days              uint32 // PatternTypeSpecific: day mask (week, month-nth) or day of month
	nth               uint32 // month-nth: 1..4, 5 = last
	endType           uint32
	count             uint32
	firstDOW          uint32
	deleted, modified []uint32 // minutes since 1601 (local midnight of the original start)
	start, end        uint32   // StartDate, EndDate: minutes since 1601, local midnight
	startOff, endOff  uint32   // minutes after midnight
	exceptions        []exception
}

// exception is one ExceptionInfo with its ExtendedException.
type exception struct {
	start, end, orig uint32 // local minutes since 1601
	flags            uint16
	subject          string
	location         string
	busy             int64
	hasBusy          bool
	reminderSet      int64
	hasReminder      bool
}

// Override flags of ExceptionInfo ([MS-OXOCAL] 2.2.1.44.2).
const (
	aroSubject     = 0x0001
	aroMeetingType = 0x0002
	aroReminderDel = 0x0004
	aroReminder    = 0x0008
	aroLocation    = 0x0010
	aroBusyStatus  = 0x0020
	aroAttachment  = 0x0040
	aroSubType     = 0x0080
	aroApptColor   = 0x0100
	aroBody        = 0x0200
)

// blobReader reads little-endian fields, remembering the first overrun.
type blobReader struct {
	b   []byte
	err error
}

func (r *blobReader) take(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		if r.err == nil {
			r.err = fmt.Errorf("%w: truncated", errRecur)
		}
		return make([]byte, max(n, 0))
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func (r *blobReader) u16() uint16 { return binary.LittleEndian.Uint16(r.take(2)) }
func (r *blobReader) u32() uint32 { return binary.LittleEndian.Uint32(r.take(4)) }

// list reads a u32 count and that many u32 values.
func (r *blobReader) list() []uint32 {
	n := r.u32()
	if int64(n)*4 > int64(len(r.b)) {
		r.err = fmt.Errorf("%w: %d dates in %d bytes", errRecur, n, len(r.b))
		return nil
	}
	out := make([]uint32, n)
	for i := range out {
		out[i] = r.u32()
	}
	return out
}

// parseRecurrence reads an AppointmentRecurrencePattern.
func parseRecurrence(b []byte) (*recurrence, error) {
	r := &blobReader{b: b}
	rc := &recurrence{}
	r.u16() // ReaderVersion 0x3004
	r.u16() // WriterVersion 0x3004
	rc.freq, rc.patternType, rc.calendarType = r.u16(), r.u16(), r.u16()
	r.u32() // FirstDateTime
	rc.period = r.u32()
	r.u32() // SlidingFlag (tasks)
	switch rc.patternType {
	case 0x1, 0x2, 0x4, 0xA, 0xC: // week: day mask; month, month-end: day of month
		rc.days = r.u32()
	case 0x3, 0xB: // month-nth: day mask and N
		rc.days, rc.nth = r.u32(), r.u32()
	}
	rc.endType, rc.count, rc.firstDOW = r.u32(), r.u32(), r.u32()
	rc.deleted, rc.modified = r.list(), r.list()
	rc.start, rc.end = r.u32(), r.u32()
	if r.err != nil {
		return nil, r.err
	}
	r.u32() // ReaderVersion2
	writer2 := r.u32()
	rc.startOff, rc.endOff = r.u32(), r.u32()
	n := int(r.u16())
	if n > len(r.b)/14 {
		return nil, fmt.Errorf("%w: %d exceptions in %d bytes", errRecur, n, len(r.b))
	}
	for range n {
		e := exception{start: r.u32(), end: r.u32(), orig: r.u32(), flags: r.u16()}
		if e.flags&aroSubject != 0 {
			r.u16()
			e.subject = string(r.take(int(r.u16())))
		}
		if e.flags&aroMeetingType != 0 {
			r.u32()
		}
		if e.flags&aroReminderDel != 0 {
			r.u32()
		}
		if e.flags&aroReminder != 0 {
			e.reminderSet, e.hasReminder = int64(r.u32()), true
		}
		if e.flags&aroLocation != 0 {
			r.u16()
			e.location = string(r.take(int(r.u16())))
		}
		if e.flags&aroBusyStatus != 0 {
			e.busy, e.hasBusy = int64(r.u32()), true
		}
		for _, f := range []uint16{aroAttachment, aroSubType, aroApptColor} {
			if e.flags&f != 0 {
				r.u32()
			}
		}
		rc.exceptions = append(rc.exceptions, e)
	}
	r.take(int(r.u32())) // ReservedBlock1
	if r.err != nil {
		return nil, r.err
	}
	// ExtendedException ([MS-OXOCAL] 2.2.1.44.3): the Unicode subject and location.
	for i := range rc.exceptions {
		e := &rc.exceptions[i]
		if writer2 >= 0x3009 {
			r.take(int(r.u32())) // ChangeHighlight
		}
		r.take(int(r.u32())) // ReservedBlockEE1
		if e.flags&(aroSubject|aroLocation) != 0 {
			r.u32()
			r.u32()
			r.u32()
			if e.flags&aroSubject != 0 {
				e.subject = utf16le(r.take(2 * int(r.u16())))
			}
			if e.flags&aroLocation != 0 {
				e.location = utf16le(r.take(2 * int(r.u16())))
			}
			r.take(int(r.u32())) // ReservedBlockEE2
		}
		if r.err != nil { // the ANSI strings of ExceptionInfo stand
			break
		}
	}
	return rc, nil
}

// minutes1601 turns minutes since 1601-01-01 into a wall-clock time (UTC location).
func minutes1601(m uint32) time.Time {
	const epoch1601 = 11644473600 // seconds from 1601-01-01 to 1970-01-01
	return time.Unix(int64(m)*60-epoch1601, 0).UTC()
}

var dayNames = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
var monthNames = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September",
	"October", "November", "December"}

// days turns a day mask (bit 0 Sunday) into EWS DaysOfWeek.
func days(mask uint32) string {
	var out []string
	for i, d := range dayNames {
		if mask&(1<<i) != 0 {
			out = append(out, d)
		}
	}
	return strings.Join(out, " ")
}

// writeRecurrence writes the EWS Recurrence of rc ([MS-OXOCAL] 2.2.1.44.1: RecurFrequency
// 0x200A daily, 0x200B weekly, 0x200C monthly, 0x200D yearly; PatternType 0 day, 1 week,
// 2 month, 3 month-nth, 4 month-end; EndType 0x2021 by date, 0x2022 after N).
func (w *ewsWriter) recurrence(rc *recurrence) error {
	if rc.calendarType > 1 || rc.patternType >= 0xA {
		return fmt.Errorf("%w: calendar type %d / pattern type 0x%x (non-Gregorian) not converted", errRecur, rc.calendarType, rc.patternType)
	}
	start := minutes1601(rc.start)
	yearly := rc.freq == 0x200D
	interval := strconv.FormatUint(uint64(rc.period), 10)
	w.start("Recurrence")
	switch rc.patternType {
	case 0:
		w.start("DailyRecurrence")
		w.text("Interval", strconv.FormatUint(uint64(max(rc.period/1440, 1)), 10))
		w.end("DailyRecurrence")
	case 1:
		w.start("WeeklyRecurrence")
		w.text("Interval", interval)
		w.text("DaysOfWeek", days(rc.days))
		w.text("FirstDayOfWeek", dayNames[rc.firstDOW%7])
		w.end("WeeklyRecurrence")
	case 2, 4:
		day := rc.days
		if rc.patternType == 4 {
			day = 31
		}
		if yearly {
			w.start("AbsoluteYearlyRecurrence")
			w.text("DayOfMonth", strconv.FormatUint(uint64(day), 10))
			w.text("Month", monthNames[start.Month()-1])
			w.end("AbsoluteYearlyRecurrence")
		} else {
			w.start("AbsoluteMonthlyRecurrence")
			w.text("Interval", interval)
			w.text("DayOfMonth", strconv.FormatUint(uint64(day), 10))
			w.end("AbsoluteMonthlyRecurrence")
		}
	case 3:
		idx := [...]string{"First", "First", "Second", "Third", "Fourth", "Last"}[min(rc.nth, 5)]
		tag := "RelativeMonthlyRecurrence"
		if yearly {
			tag = "RelativeYearlyRecurrence"
		}
		w.start(tag)
		if !yearly {
			w.text("Interval", interval)
		}
		w.text("DaysOfWeek", days(rc.days))
		w.text("DayOfWeekIndex", idx)
		if yearly {
			w.text("Month", monthNames[start.Month()-1])
		}
		w.end(tag)
	default:
		return fmt.Errorf("%w: pattern type 0x%x", errRecur, rc.patternType)
	}
	switch rc.endType {
	case 0x2021:
		w.start("EndDateRecurrence")
		w.text("StartDate", start.Format(time.DateOnly))
		w.text("EndDate", minutes1601(rc.end).Format(time.DateOnly))
		w.end("EndDateRecurrence")
	case 0x2022:
		w.start("NumberedRecurrence")
		w.text("StartDate", start.Format(time.DateOnly))
		w.text("NumberOfOccurrences", strconv.FormatUint(uint64(rc.count), 10))
		w.end("NumberedRecurrence")
	default:
		w.start("NoEndRecurrence")
		w.text("StartDate", start.Format(time.DateOnly))
		w.end("NoEndRecurrence")
	}
	w.end("Recurrence")
	return nil
}

// tzRule is a time zone as TZREG / the effective TZRULE stores it: biases in minutes
// (UTC = local + bias) and the SYSTEMTIME transition dates.
type tzRule struct {
	key                  string
	bias, stdBias, dBias int32
	std, dst             [16]byte
}

// parseTZDefinition reads a TZDEFINITION ([MS-OXOCAL] 2.2.1.41) and returns its key
// name with the rule flagged TZRULE_FLAG_EFFECTIVE_TZREG (0x0002), else the last rule.
func parseTZDefinition(b []byte) (*tzRule, error) {
	r := &blobReader{b: b}
	r.take(4) // bMajorVersion, bMinorVersion, cbHeader
	r.u16()   // wReserved
	key := utf16le(r.take(2 * int(r.u16())))
	n := int(r.u16())
	var pick *tzRule
	for range n {
		rule := r.take(66)
		if r.err != nil {
			break
		}
		t := &tzRule{key: key}
		le := binary.LittleEndian
		// bMajorVersion, bMinorVersion, wReserved, wTZRuleFlags, wYear, X[14], then lBias at 22.
		t.bias, t.stdBias, t.dBias = int32(le.Uint32(rule[22:])), int32(le.Uint32(rule[26:])), int32(le.Uint32(rule[30:]))
		copy(t.std[:], rule[34:50])
		copy(t.dst[:], rule[50:66])
		if pick == nil || le.Uint16(rule[4:])&0x0002 != 0 {
			pick = t
		}
	}
	if pick == nil {
		return nil, fmt.Errorf("pst: time zone definition %q without rules", key)
	}
	return pick, nil
}

// parseTZStruct reads PidLidTimeZoneStruct ([MS-OXOCAL] 2.2.1.39): lBias,
// lStandardBias, lDaylightBias, wStandardYear, stStandardDate, wDaylightYear,
// stDaylightDate.
func parseTZStruct(b []byte, name string) (*tzRule, error) {
	if len(b) < 48 {
		return nil, fmt.Errorf("pst: time zone struct of %d bytes", len(b))
	}
	le := binary.LittleEndian
	t := &tzRule{key: name, bias: int32(le.Uint32(b)), stdBias: int32(le.Uint32(b[4:])), dBias: int32(le.Uint32(b[8:]))}
	copy(t.std[:], b[14:30])
	copy(t.dst[:], b[32:48])
	return t, nil
}

// xsMinutes formats a bias in minutes as an xs:duration.
func xsMinutes(m int32) string {
	if m < 0 {
		return "-PT" + strconv.Itoa(int(-m)) + "M"
	}
	return "PT" + strconv.Itoa(int(m)) + "M"
}

// meetingTimeZone writes the zone as EWS 2007's MeetingTimeZone: the key name (a
// Windows zone id format maps to IANA), the base bias and both transitions.
func (w *ewsWriter) meetingTimeZone(z *tzRule) {
	w.start("MeetingTimeZone", "TimeZoneName", z.key)
	w.text("BaseOffset", xsMinutes(z.bias))
	le := binary.LittleEndian
	if le.Uint16(z.std[2:]) != 0 && le.Uint16(z.dst[2:]) != 0 { // wMonth 0: no daylight time
		for _, p := range []struct {
			tag  string
			bias int32
			st   []byte
		}{{"Standard", z.stdBias, z.std[:]}, {"Daylight", z.dBias, z.dst[:]}} {
			w.start(p.tag, "TimeZoneName", p.tag)
			w.text("Offset", xsMinutes(p.bias))
			mo, dow, nth := le.Uint16(p.st[2:]), le.Uint16(p.st[4:]), le.Uint16(p.st[6:])
			w.start("RelativeYearlyRecurrence")
			w.text("DaysOfWeek", dayNames[dow%7])
			w.text("DayOfWeekIndex", [...]string{"First", "First", "Second", "Third", "Fourth", "Last"}[min(nth, 5)])
			w.text("Month", monthNames[(max(mo, 1)-1)%12])
			w.end("RelativeYearlyRecurrence")
			w.text("Time", fmt.Sprintf("%02d:%02d:%02d", le.Uint16(p.st[8:])%24, le.Uint16(p.st[10:])%60, le.Uint16(p.st[12:])%60))
			w.end(p.tag)
		}
	}
	w.end("MeetingTimeZone")
}

// utcOffset is the zone's offset from UTC (local - UTC) at wall-clock time local.
func (z *tzRule) utcOffset(local time.Time) time.Duration {
	if iana, ok := format.IANAZone(z.key); ok {
		if loc, err := time.LoadLocation(iana); err == nil {
			t := time.Date(local.Year(), local.Month(), local.Day(), local.Hour(), local.Minute(), 0, 0, loc)
			_, off := t.Zone()
			return time.Duration(off) * time.Second
		}
	}
	std := -time.Duration(z.bias+z.stdBias) * time.Minute
	le := binary.LittleEndian
	if le.Uint16(z.std[2:]) == 0 || le.Uint16(z.dst[2:]) == 0 {
		return std
	}
	toDST, toSTD := transition(z.dst[:], local.Year()), transition(z.std[:], local.Year())
	inDST := !local.Before(toDST) && local.Before(toSTD)
	if toSTD.Before(toDST) { // southern hemisphere
		inDST = !local.Before(toDST) || local.Before(toSTD)
	}
	if inDST {
		return -time.Duration(z.bias+z.dBias) * time.Minute
	}
	return std
}

// transition is the wall-clock time of a SYSTEMTIME transition rule (wMonth,
// wDayOfWeek, wDay = week 1..5 with 5 the last) in year.
func transition(st []byte, year int) time.Time {
	le := binary.LittleEndian
	mo, dow, nth := time.Month(le.Uint16(st[2:])), time.Weekday(le.Uint16(st[4:])%7), int(le.Uint16(st[6:]))
	at := time.Duration(le.Uint16(st[8:]))*time.Hour + time.Duration(le.Uint16(st[10:]))*time.Minute
	d := time.Date(year, mo, 1, 0, 0, 0, 0, time.UTC)
	d = d.AddDate(0, 0, (int(dow)-int(d.Weekday())+7)%7+7*(min(max(nth, 1), 5)-1))
	for d.Month() != mo {
		d = d.AddDate(0, 0, -7)
	}
	return d.Add(at)
}

// toUTC turns a local wall-clock time in z into an instant.
func (z *tzRule) toUTC(local time.Time) time.Time {
	return local.Add(-z.utcOffset(local)).UTC()
}

// zone returns the appointment's time zone: the recurring definition, the start
// display definition, the legacy struct; nil when none is stored.
func (it *item) zone() *tzRule {
	for _, lid := range []uint32{lidTZDefRecur, lidTZDefStart} {
		if p, ok := it.named(psetAppointment, lid); ok {
			if z, err := parseTZDefinition(p.Value); err == nil {
				return z
			}
		}
	}
	if p, ok := it.named(psetAppointment, lidTimeZoneStruct); ok {
		if z, err := parseTZStruct(p.Value, it.namedStr(psetAppointment, 0x8234)); err == nil {
			return z
		}
	}
	return nil
}

var busyNames = []string{"Free", "Tentative", "Busy", "OOF", "WorkingElsewhere"}

// responseNames are PidLidResponseStatus / PidTagRecipientTrackStatus values as EWS
// ResponseType ([MS-OXOCAL] 2.2.1.11).
var responseNames = []string{"NoResponseReceived", "Organizer", "Tentative", "Accept", "Decline", "NoResponseReceived"}

// calendarXML renders an IPM.Appointment as the EWS CalendarItem CalendarToICal reads,
// and its exceptions as the occurrences; problems is what could not be carried.
func (it *item) calendarXML() (master []byte, occurrences [][]byte, problems []string) {
	ps := it.m.Props
	w := newEWSWriter("CalendarItem", it.id)
	w.text("UID", it.uid())
	w.common(it, subject(ps))
	startP, _ := it.named(psetAppointment, lidApptStartWhole)
	endP, _ := it.named(psetAppointment, lidApptEndWhole)
	start, end := startP.Time(), endP.Time()
	if start.IsZero() {
		start, end = propTime(ps, 0x0060), propTime(ps, 0x0061) // PidTagStartDate, PidTagEndDate
	}
	w.text("Start", xsTime(start))
	w.text("End", xsTime(end))
	allDay := it.namedBool(psetAppointment, lidApptSubType)
	w.text("IsAllDayEvent", strconv.FormatBool(allDay))
	if it.namedBool(psetCommon, lidReminderSet) {
		w.text("ReminderIsSet", "true")
		d, _ := it.namedInt(psetCommon, lidReminderDelta)
		w.text("ReminderMinutesBeforeStart", strconv.FormatInt(d, 10))
	}
	busy, hasBusy := it.namedInt(psetAppointment, lidBusyStatus)
	if hasBusy && busy >= 0 && busy < int64(len(busyNames)) {
		w.text("LegacyFreeBusyStatus", busyNames[busy])
	}
	w.text("Location", it.namedStr(psetAppointment, lidLocation))
	flags, _ := it.namedInt(psetAppointment, lidApptStateFlags)
	meeting := flags&1 != 0
	w.text("IsMeeting", strconv.FormatBool(meeting))
	w.text("IsCancelled", strconv.FormatBool(flags&4 != 0))
	if v, ok := it.namedInt(psetAppointment, lidApptSequence); ok {
		w.text("AppointmentSequenceNumber", strconv.FormatInt(v, 10))
	}
	if v, ok := it.namedInt(psetAppointment, lidResponseStatus); ok && v > 0 && v < int64(len(responseNames)) {
		w.text("MyResponseType", responseNames[v])
	}
	if meeting {
		w.mailbox("Organizer", ps.Str(PidSentReprName), first(ps.Str(pidSentReprSMTP), ps.Str(PidSentReprEmail)), ps.Str(pidSentReprAddrTy))
		for _, list := range []struct {
			tag string
			typ int64
		}{{"RequiredAttendees", 1}, {"OptionalAttendees", 2}, {"Resources", 3}} {
			w.group(list.tag, func(s *ewsWriter) {
				for _, r := range it.m.Recipients {
					rt, _ := r.Get(PidRecipientType)
					rf, _ := r.Get(pidRecipientFlags)
					if rt.Int()&0xF != list.typ || rf.Int()&0x2 != 0 { // recipOrganizer is the Organizer
						continue
					}
					s.start("Attendee")
					s.mailbox("Mailbox", r.Str(pidDisplayName), first(r.Str(PidSMTPAddress), r.Str(PidEmailAddress)), r.Str(pidAddrType))
					if tr, ok := r.Get(pidRecipientTrack); ok && tr.Int() >= 0 && tr.Int() < int64(len(responseNames)) {
						s.text("ResponseType", responseNames[tr.Int()])
					}
					s.end("Attendee")
				}
			})
		}
	}
	z := it.zone()
	if z != nil {
		w.meetingTimeZone(z)
	}
	blob, recurs := it.named(psetAppointment, lidApptRecur)
	if !recurs || !it.namedBool(psetAppointment, lidRecurring) {
		w.text("CalendarItemType", "Single")
		return w.bytes("CalendarItem"), nil, nil
	}
	rc, err := parseRecurrence(blob.Value)
	if err == nil {
		err = w.recurrence(rc)
	}
	if err != nil {
		w.text("CalendarItemType", "Single")
		return w.bytes("CalendarItem"), nil, []string{err.Error() + "; written as a single appointment"}
	}
	w.text("CalendarItemType", "RecurringMaster")
	if z == nil {
		// No zone stored: the offset of the first occurrence (its UTC start against the
		// pattern's local start time) stands for every occurrence [I].
		off := minutes1601(rc.start).Add(time.Duration(rc.startOff)*time.Minute).Sub(start) / time.Minute
		z = &tzRule{key: "Customized Time Zone", bias: -int32(off)}
		problems = append(problems, "no time zone stored; occurrences computed at a fixed UTC offset")
	}
	modified := map[uint32]bool{}
	for _, m := range rc.modified {
		modified[m] = true
	}
	at := func(day uint32) time.Time {
		return z.toUTC(minutes1601(day).Add(time.Duration(rc.startOff) * time.Minute))
	}
	// DeletedInstanceDates lists the modified occurrences too ([MS-OXOCAL] 2.2.1.44.1).
	w.group("DeletedOccurrences", func(s *ewsWriter) {
		for _, d := range rc.deleted {
			if !modified[d] {
				s.start("DeletedOccurrence")
				s.text("Start", xsTime(at(d)))
				s.end("DeletedOccurrence")
			}
		}
	})
	for i, e := range rc.exceptions {
		o := newEWSWriter("CalendarItem", fmt.Sprintf("%s/exception/%d", it.id, i))
		o.text("UID", it.uid())
		subj := subject(ps)
		if e.flags&aroSubject != 0 {
			subj = e.subject
		}
		o.common(it, subj)
		o.text("OriginalStart", xsTime(z.toUTC(minutes1601(e.orig))))
		o.text("Start", xsTime(z.toUTC(minutes1601(e.start))))
		o.text("End", xsTime(z.toUTC(minutes1601(e.end))))
		o.text("IsAllDayEvent", strconv.FormatBool(allDay))
		loc := it.namedStr(psetAppointment, lidLocation)
		if e.flags&aroLocation != 0 {
			loc = e.location
		}
		o.text("Location", loc)
		b := busy
		if e.hasBusy {
			b = e.busy
		}
		if (hasBusy || e.hasBusy) && b >= 0 && b < int64(len(busyNames)) {
			o.text("LegacyFreeBusyStatus", busyNames[b])
		}
		o.text("IsMeeting", strconv.FormatBool(meeting))
		o.meetingTimeZone(z)
		o.text("CalendarItemType", "Exception")
		occurrences = append(occurrences, o.bytes("CalendarItem"))
		if e.flags&aroBody != 0 {
			problems = append(problems, fmt.Sprintf("exception %d has its own body (an attachment of the series); the series body is written", i))
		}
	}
	return w.bytes("CalendarItem"), occurrences, problems
}
