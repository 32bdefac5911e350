package format

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/teambition/rrule-go"
)

func convertCalendar(t *testing.T, master string, occ ...string) (*ical.Calendar, []byte, Report) {
	t.Helper()
	var occs [][]byte
	for _, o := range occ {
		occs = append(occs, readTestdata(t, o))
	}
	cal, rep, err := CalendarToICal(readTestdata(t, master), occs, testDir, &CalendarOptions{Owner: "owner@contoso.com"})
	if err != nil {
		t.Fatalf("CalendarToICal(%s) = %v", master, err)
	}
	var b bytes.Buffer
	if err := WriteICal(&b, cal); err != nil {
		t.Fatalf("WriteICal(%s) = %v", master, err)
	}
	back, err := ical.NewDecoder(bytes.NewReader(b.Bytes())).Decode()
	if err != nil {
		t.Fatalf("ical.Decode(CalendarToICal(%s)) = %v\n%s", master, err, b.Bytes())
	}
	for _, l := range strings.Split(b.String(), "\r\n") {
		if len(l) > 75 {
			t.Errorf("line longer than 75 octets: %q", l)
		}
	}
	return back, b.Bytes(), rep
}

func TestCalendarGolden(t *testing.T) {
	cases := []struct {
		name string
		occ  []string
	}{
		{"calendar-pyex-monthly", nil},
		{"calendar-pyex-customzone", nil},
		{"calendar-series-2010", []string{"calendar-series-2010-occ1.xml"}},
		{"calendar-allday", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, b, rep := convertCalendar(t, c.name+".xml", c.occ...)
			golden(t, c.name+".ics", b)
			golden(t, c.name+".ics.report", []byte(lossFields(rep)))
		})
	}
}

func TestCalendarSeries(t *testing.T) {
	cal, _, rep := convertCalendar(t, "calendar-series-2010.xml", "calendar-series-2010-occ1.xml")
	evs := cal.Events()
	if len(evs) != 2 {
		t.Fatalf("CalendarToICal: %d VEVENTs, want master + 1 exception", len(evs))
	}
	master, exc := evs[0], evs[1]
	uid := "040000008200E00074C5B7101A82E00800000000D263C072E37DD50100000000000000001000000021933B3497010A43A59A900692A1BE23"
	for _, e := range evs {
		if got, _ := e.Props.Text(ical.PropUID); got != uid {
			t.Errorf("UID = %q, want the Exchange UID", got)
		}
	}
	checks := []struct {
		prop *ical.Prop
		want string
	}{
		{master.Props.Get(ical.PropDateTimeStart), "Europe/Berlin 20260310T090000"},
		{master.Props.Get(ical.PropRecurrenceRule), "FREQ=WEEKLY;BYDAY=TU;WKST=MO;UNTIL=20261110T080000Z"},
		{master.Props.Get(ical.PropExceptionDates), "Europe/Berlin 20261027T090000"},
		{master.Props.Get(ical.PropOrganizer), "mailto:organizer@contoso.com"},
		{master.Props.Get(ical.PropClass), "PRIVATE"},
		{master.Props.Get(ical.PropPriority), "1"},
		{master.Props.Get(ical.PropTransparency), "OPAQUE"},
		{exc.Props.Get(ical.PropRecurrenceID), "Europe/Berlin 20260414T090000"},
		{exc.Props.Get(ical.PropDateTimeStart), "Europe/Berlin 20260415T150000"},
	}
	for i, c := range checks {
		if c.prop == nil {
			t.Errorf("check %d: property missing, want %q", i, c.want)
			continue
		}
		got := c.prop.Value
		if tz := c.prop.Params.Get(ical.ParamTimezoneID); tz != "" {
			got = tz + " " + got
		}
		if got != c.want {
			t.Errorf("%s = %q, want %q", c.prop.Name, got, c.want)
		}
	}
	att := map[string]string{}
	for _, a := range master.Props.Values(ical.PropAttendee) {
		att[a.Value] = a.Params.Get(ical.ParamRole) + " " + a.Params.Get(ical.ParamParticipationStatus)
	}
	wantAtt := map[string]string{
		"mailto:ada@contoso.com":   "REQ-PARTICIPANT ACCEPTED",
		"mailto:owner@contoso.com": "REQ-PARTICIPANT TENTATIVE", // MyResponseType
		"mailto:grace@contoso.com": "OPT-PARTICIPANT DECLINED",
		"mailto:room1@contoso.com": "NON-PARTICIPANT ACCEPTED",
	}
	for k, v := range wantAtt {
		if att[k] != v {
			t.Errorf("ATTENDEE %s = %q, want %q", k, att[k], v)
		}
	}
	if len(master.Children) != 1 || master.Children[0].Name != ical.CompAlarm {
		t.Errorf("master VALARM missing (ReminderIsSet true)")
	}
	if len(exc.Children) != 0 {
		t.Errorf("exception has a VALARM although ReminderIsSet is false")
	}
	if cats, _ := master.Props.Get(ical.PropCategories).TextList(); len(cats) != 2 || cats[1] != "Blue, dark" {
		t.Errorf("CATEGORIES = %q", cats)
	}
	if !rep.OK() {
		t.Errorf("report = %v, want no losses", rep.Losses)
	}
}

func TestCalendarAllDay(t *testing.T) {
	cal, _, _ := convertCalendar(t, "calendar-allday.xml")
	ev := cal.Events()[0]
	for name, want := range map[string]string{
		ical.PropDateTimeStart:  "20070611",
		ical.PropDateTimeEnd:    "20070613",
		ical.PropRecurrenceRule: "FREQ=YEARLY;BYMONTH=6;BYDAY=2MO;COUNT=5",
		ical.PropExceptionDates: "20090608",
	} {
		p := ev.Props.Get(name)
		if p == nil || p.Value != want {
			t.Errorf("%s = %+v, want %q", name, p, want)
			continue
		}
		if name != ical.PropRecurrenceRule && p.ValueType() != ical.ValueDate {
			t.Errorf("%s value type = %q, want DATE (all-day stays all-day)", name, p.ValueType())
		}
	}
}

// TestRecurrencePatterns covers every EWS pattern and range kind.
func TestRecurrencePatterns(t *testing.T) {
	tests := []struct{ xml, want string }{
		{`<DailyRecurrence><Interval>3</Interval></DailyRecurrence><NoEndRecurrence><StartDate>2026-01-05Z</StartDate></NoEndRecurrence>`, "FREQ=DAILY;INTERVAL=3"},
		{`<WeeklyRecurrence><Interval>2</Interval><DaysOfWeek>Monday Wednesday Friday</DaysOfWeek></WeeklyRecurrence><NumberedRecurrence><StartDate>2026-01-05</StartDate><NumberOfOccurrences>10</NumberOfOccurrences></NumberedRecurrence>`, "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR;WKST=SU;COUNT=10"},
		{`<AbsoluteMonthlyRecurrence><Interval>1</Interval><DayOfMonth>15</DayOfMonth></AbsoluteMonthlyRecurrence><EndDateRecurrence><StartDate>2026-01-05</StartDate><EndDate>2026-06-30</EndDate></EndDateRecurrence>`, "FREQ=MONTHLY;BYMONTHDAY=15;UNTIL=20260630T070000Z"},
		{`<AbsoluteMonthlyRecurrence><Interval>1</Interval><DayOfMonth>31</DayOfMonth></AbsoluteMonthlyRecurrence><NoEndRecurrence/>`, "FREQ=MONTHLY;BYMONTHDAY=28,29,30,31;BYSETPOS=-1"},
		{`<RelativeMonthlyRecurrence><Interval>2</Interval><DaysOfWeek>Thursday</DaysOfWeek><DayOfWeekIndex>Third</DayOfWeekIndex></RelativeMonthlyRecurrence><NoEndRecurrence/>`, "FREQ=MONTHLY;INTERVAL=2;BYDAY=3TH"},
		{`<RelativeMonthlyRecurrence><Interval>1</Interval><DaysOfWeek>WeekendDay</DaysOfWeek><DayOfWeekIndex>First</DayOfWeekIndex></RelativeMonthlyRecurrence><NoEndRecurrence/>`, "FREQ=MONTHLY;BYDAY=SU,SA;BYSETPOS=1"},
		{`<AbsoluteYearlyRecurrence><DayOfMonth>29</DayOfMonth><Month>February</Month></AbsoluteYearlyRecurrence><NoEndRecurrence/>`, "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=28,29;BYSETPOS=-1"},
		{`<RelativeYearlyRecurrence><DaysOfWeek>Day</DaysOfWeek><DayOfWeekIndex>Last</DayOfWeekIndex><Month>December</Month></RelativeYearlyRecurrence><NoEndRecurrence/>`, "FREQ=YEARLY;BYMONTH=12;BYDAY=SU,MO,TU,WE,TH,FR,SA;BYSETPOS=-1"},
	}
	z := ianaZone{mustLoad(t, "Europe/Berlin")}
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, z.loc)
	for _, tt := range tests {
		r, err := parseTree([]byte("<Recurrence>" + tt.xml + "</Recurrence>"))
		if err != nil {
			t.Fatal(err)
		}
		var rep Report
		got, err := recurrenceRule(r, z, start, false, &rep)
		if err != nil || got != tt.want {
			t.Errorf("recurrenceRule(%s) = %q, %v, want %q", tt.xml, got, err, tt.want)
			continue
		}
		// rrule-go must accept it.
		if _, err := rrule.StrToRRule(got); err != nil {
			t.Errorf("rrule.StrToRRule(%q) = %v", got, err)
		}
	}
}

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestWindowsZonesLoad(t *testing.T) {
	for win, iana := range windowsZones {
		if _, err := time.LoadLocation(iana); err != nil {
			t.Errorf("windowsZones[%q] = %q: LoadLocation: %v", win, iana, err)
		}
	}
	if got, ok := IANAZone("W. Europe Standard Time"); !ok || got != "Europe/Berlin" {
		t.Errorf("IANAZone(%q) = %q, %v", "W. Europe Standard Time", got, ok)
	}
	if _, ok := IANAZone("Customized Time Zone"); ok {
		t.Errorf("IANAZone(%q) ok, want not found", "Customized Time Zone")
	}
}

func TestCalendarErrors(t *testing.T) {
	var ke *ItemKindError
	if _, _, err := CalendarToICal([]byte("<t:Contact/>"), nil, nil, nil); !errors.As(err, &ke) {
		t.Errorf("CalendarToICal(<Contact>) = %v, want *ItemKindError", err)
	}
	if _, _, err := CalendarToICal([]byte("<t:CalendarItem><t:Subject>x</t:Subject></t:CalendarItem>"), nil, nil, nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("CalendarToICal(no Start) = %v, want ErrMalformed", err)
	}
	if _, _, err := CalendarToICal([]byte("<t:CalendarItem><t:Start>2026-01-01T00:00:00Z</t:Start><t:Recurrence><t:WeeklyRecurrence><t:DaysOfWeek>Caturday</t:DaysOfWeek></t:WeeklyRecurrence></t:Recurrence></t:CalendarItem>"), nil, nil, nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("CalendarToICal(bad DaysOfWeek) = %v, want ErrMalformed", err)
	}
}

func TestTaskGolden(t *testing.T) {
	cal, rep, err := TaskToICal(readTestdata(t, "task.xml"), testDir)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteICal(&b, cal); err != nil {
		t.Fatal(err)
	}
	golden(t, "task.ics", b.Bytes())
	golden(t, "task.ics.report", []byte(lossFields(rep)))
	back, err := ical.NewDecoder(&b).Decode()
	if err != nil {
		t.Fatalf("ical.Decode(TaskToICal) = %v", err)
	}
	todo := back.Children[0]
	for name, want := range map[string]string{
		ical.PropDue: "20080131", ical.PropDateTimeStart: "20080102", ical.PropPercentComplete: "26",
		ical.PropStatus: "IN-PROCESS", ical.PropPriority: "9", ical.PropClass: "CONFIDENTIAL",
		ical.PropRecurrenceRule: "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
	} {
		if p := todo.Props.Get(name); p == nil || p.Value != want {
			t.Errorf("VTODO %s = %+v, want %q", name, p, want)
		}
	}
	if d, _ := todo.Props.Text(ical.PropDescription); d != "Receipts in drawer" {
		t.Errorf("VTODO DESCRIPTION = %q", d)
	}
}

func TestNoteGolden(t *testing.T) {
	var b bytes.Buffer
	if _, err := NoteToVNote(readTestdata(t, "note.xml"), &b); err != nil {
		t.Fatal(err)
	}
	golden(t, "note.vnt", b.Bytes())
	if !strings.Contains(b.String(), "BODY;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:food=0D=0Asoup 540=0D=0Aduck") {
		t.Errorf("NoteToVNote body not quoted-printable:\n%s", b.String())
	}
}

func FuzzCalendarToICal(f *testing.F) {
	for _, n := range []string{"calendar-pyex-monthly.xml", "calendar-pyex-customzone.xml", "calendar-series-2010.xml", "calendar-allday.xml", "task.xml"} {
		f.Add(readTestdata(f, n), readTestdata(f, "calendar-series-2010-occ1.xml"))
	}
	f.Fuzz(func(t *testing.T, master, occ []byte) {
		check := func(cal *ical.Calendar) {
			var b bytes.Buffer
			if err := WriteICal(&b, cal); err != nil {
				// go-ical refuses some shapes (e.g. a VTIMEZONE without
				// rules); that must never happen for our output.
				t.Fatalf("WriteICal = %v", err)
			}
			if _, err := ical.NewDecoder(&b).Decode(); err != nil {
				t.Fatalf("ical.Decode(WriteICal(…)) = %v\n%s", err, b.Bytes())
			}
		}
		if cal, _, err := CalendarToICal(master, [][]byte{occ}, testDir, nil); err == nil {
			check(cal)
		}
		if cal, _, err := TaskToICal(master, testDir); err == nil {
			check(cal)
		}
	})
}

func TestCalendarOccurrenceOwnZone(t *testing.T) {
	occ := strings.Replace(string(readTestdata(t, "calendar-series-2010-occ1.xml")), "</t:CalendarItem>",
		`<t:StartTimeZone Id="Eastern Standard Time"/></t:CalendarItem>`, 1)
	cal, _, err := CalendarToICal(readTestdata(t, "calendar-series-2010.xml"), [][]byte{[]byte(occ)}, testDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	var zones []string
	for _, c := range cal.Children {
		if c.Name == ical.CompTimezone {
			id, _ := c.Props.Text(ical.PropTimezoneID)
			zones = append(zones, id)
		}
	}
	if strings.Join(zones, ",") != "Europe/Berlin,America/New_York" {
		t.Errorf("VTIMEZONEs = %q, want master's and the occurrence's zone", zones)
	}
	exc := cal.Events()[1]
	if p := exc.Props.Get(ical.PropDateTimeStart); p.Params.Get(ical.ParamTimezoneID) != "America/New_York" || p.Value != "20260415T090000" {
		t.Errorf("exception DTSTART = %s %s, want America/New_York 20260415T090000", p.Params.Get(ical.ParamTimezoneID), p.Value)
	}
	if p := exc.Props.Get(ical.PropRecurrenceID); p.Params.Get(ical.ParamTimezoneID) != "Europe/Berlin" {
		t.Errorf("RECURRENCE-ID zone = %q, want the master's", p.Params.Get(ical.ParamTimezoneID))
	}
}

func TestCustomZoneTZIDUnique(t *testing.T) {
	id := func(zoneXML string) string {
		n, err := parseTree([]byte(zoneXML))
		if err != nil {
			t.Fatal(err)
		}
		z, err := meetingTimeZone(n)
		if err != nil {
			t.Fatal(err)
		}
		return z.ID()
	}
	a, b, a2 := id(customMeetingTZ), id(customSydneyTZ), id(customMeetingTZ)
	if a == b || a != a2 || !strings.HasPrefix(a, "Customized Time Zone ") {
		t.Errorf("custom zone TZIDs = %q, %q, %q; want distinct per rule set, stable, named after Exchange's", a, b, a2)
	}
}

// TestPeriodsZone reads a 2010+ StartTimeZone whose Id maps to no IANA zone
// from its Periods and TransitionsGroups.
func TestPeriodsZone(t *testing.T) {
	x := bytes.Replace(readTestdata(t, "calendar-series-2010.xml"), []byte(`Id="W. Europe Standard Time"`), []byte(`Id="Customized Time Zone"`), 1)
	n, err := parseItem(x, "CalendarItem")
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	z, ok := itemZone(n, &rep).(*ruleZone)
	if !ok || !rep.OK() {
		t.Fatalf("itemZone = %T, report %v; want a rule zone", z, rep.Losses)
	}
	if z.std != time.Hour || z.dst != 2*time.Hour || z.toDST == nil || z.toSTD == nil ||
		z.toDST.month != 3 || z.toDST.nth != -1 || z.toDST.at != 2*time.Hour ||
		z.toSTD.month != 10 || z.toSTD.at != 3*time.Hour {
		t.Errorf("periodsZone = %+v (toDST %+v, toSTD %+v)", z, z.toDST, z.toSTD)
	}
	berlin := mustLoad(t, "Europe/Berlin")
	for _, u := range []time.Time{
		time.Date(2026, 3, 29, 0, 59, 0, 0, time.UTC), time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC),
		time.Date(2026, 10, 25, 0, 59, 0, 0, time.UTC), time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC),
		time.Date(2031, 7, 1, 12, 0, 0, 0, time.UTC), time.Date(2031, 12, 1, 12, 0, 0, 0, time.UTC),
	} {
		if got, want := z.Local(u).Format(time.DateTime), u.In(berlin).Format(time.DateTime); got != want {
			t.Errorf("Local(%v) = %s, want %s (Europe/Berlin)", u, got, want)
		}
	}
}

func TestAllDayUnknownZone(t *testing.T) {
	// Created in Berlin (midnight = 23:00Z the day before), zone not sent.
	x := []byte(`<t:CalendarItem><t:UID>ad</t:UID><t:Start>2026-07-09T22:00:00Z</t:Start><t:End>2026-07-10T22:00:00Z</t:End>
	<t:IsAllDayEvent>true</t:IsAllDayEvent></t:CalendarItem>`)
	cal, rep, err := CalendarToICal(x, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ev := cal.Events()[0]
	if s, e := ev.Props.Get(ical.PropDateTimeStart).Value, ev.Props.Get(ical.PropDateTimeEnd).Value; s != "20260710" || e != "20260711" {
		t.Errorf("all-day DTSTART/DTEND = %s/%s, want 20260710/20260711", s, e)
	}
	if len(rep.Losses) != 1 {
		t.Errorf("report = %v, want the unknown-zone note", rep.Losses)
	}
}
