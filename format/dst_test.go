package format

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/teambition/rrule-go"
)

// weeklySeries builds a weekly series in EWS form (2007 MeetingTimeZone or
// 2010 StartTimeZone) whose first occurrence is start (in its local zone),
// ending on the local date endDate.
func weeklySeries(zoneXML string, start time.Time, endDate string) []byte {
	startUTC := start.UTC()
	return []byte(fmt.Sprintf(`<t:CalendarItem>
  <t:ItemId Id="AAMkDST=" ChangeKey="x"/>
  <t:Subject>Weekly</t:Subject>
  <t:UID>dst-series</t:UID>
  <t:Start>%s</t:Start>
  <t:End>%s</t:End>
  <t:IsAllDayEvent>false</t:IsAllDayEvent>
  <t:CalendarItemType>RecurringMaster</t:CalendarItemType>
  <t:Recurrence>
    <t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>%s</t:DaysOfWeek></t:WeeklyRecurrence>
    <t:EndDateRecurrence><t:StartDate>%s</t:StartDate><t:EndDate>%s</t:EndDate></t:EndDateRecurrence>
  </t:Recurrence>
  %s
</t:CalendarItem>`, startUTC.Format(time.RFC3339), startUTC.Add(time.Hour).Format(time.RFC3339),
		start.Weekday(), start.Format("2006-01-02"), endDate, zoneXML))
}

// The zone blocks follow the verified shapes: MeetingTimeZone [V PYEX],
// StartTimeZone Id [V ews.md §4.3].
const (
	easternMeetingTZ = `<t:MeetingTimeZone TimeZoneName="Eastern Standard Time"><t:BaseOffset>PT300M</t:BaseOffset></t:MeetingTimeZone>`
	berlinStartTZ    = `<t:StartTimeZone Name="(UTC+01:00) Amsterdam, Berlin" Id="W. Europe Standard Time"/>`
	// US Central rules, but under a name no table knows.
	customMeetingTZ = `<t:MeetingTimeZone TimeZoneName="Customized Time Zone"><t:BaseOffset>PT360M</t:BaseOffset>
  <t:Standard TimeZoneName="Standard"><t:Offset>PT0M</t:Offset><t:RelativeYearlyRecurrence><t:DaysOfWeek>Sunday</t:DaysOfWeek><t:DayOfWeekIndex>First</t:DayOfWeekIndex><t:Month>November</t:Month></t:RelativeYearlyRecurrence><t:Time>02:00:00</t:Time></t:Standard>
  <t:Daylight TimeZoneName="Daylight"><t:Offset>-PT60M</t:Offset><t:RelativeYearlyRecurrence><t:DaysOfWeek>Sunday</t:DaysOfWeek><t:DayOfWeekIndex>Second</t:DayOfWeekIndex><t:Month>March</t:Month></t:RelativeYearlyRecurrence><t:Time>02:00:00</t:Time></t:Daylight></t:MeetingTimeZone>`
)

// TestWeeklySeriesAcrossDST expands a weekly 09:00 series that crosses two
// DST changes, in two zones (and a customized zone), with rrule-go via
// go-ical — a recurrence engine this package does not use — and checks every
// occurrence is at 09:00 local time, in the right number, and that the
// VTIMEZONE's own rules give the same UTC offset as the tz database.
func TestWeeklySeriesAcrossDST(t *testing.T) {
	tests := []struct {
		name, zoneXML, iana string
		startLocal          time.Time // first occurrence, local wall time
		endDate             string
		want                int // occurrences
	}{
		// DST 2026-03-08 and 2026-11-01; Tuesdays Feb 3 .. Dec 1.
		{"eastern-2007", easternMeetingTZ, "America/New_York", time.Date(2026, 2, 3, 9, 0, 0, 0, time.UTC), "2026-12-01", 44},
		// DST 2026-03-29 and 2026-10-25; Mondays Mar 2 .. Nov 30.
		{"berlin-2010", berlinStartTZ, "Europe/Berlin", time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), "2026-11-30", 40},
		// DST 2027-03-14 and 2027-11-07; Thursdays Jan 7 .. Dec 30.
		{"custom-central", customMeetingTZ, "America/Chicago", time.Date(2027, 1, 7, 9, 0, 0, 0, time.UTC), "2027-12-30", 52},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := mustLoad(t, tt.iana)
			s := tt.startLocal
			start := time.Date(s.Year(), s.Month(), s.Day(), 9, 0, 0, 0, loc)
			cal, rep, err := CalendarToICal(weeklySeries(tt.zoneXML, start, tt.endDate), nil, nil, nil)
			if err != nil || !rep.OK() {
				t.Fatalf("CalendarToICal = %v, report %v", err, rep.Losses)
			}
			var b bytes.Buffer
			if err := WriteICal(&b, cal); err != nil {
				t.Fatal(err)
			}
			back, err := ical.NewDecoder(&b).Decode()
			if err != nil {
				t.Fatal(err)
			}
			var vtz *ical.Component
			for _, c := range back.Children {
				if c.Name == ical.CompTimezone {
					vtz = c
				}
			}
			if vtz == nil {
				t.Fatal("no VTIMEZONE")
			}
			ev := back.Events()[0]
			dt := ev.Props.Get(ical.PropDateTimeStart)
			tzid := dt.Params.Get(ical.ParamTimezoneID)
			// Expand in wall-clock time: rrule-go on the local DTSTART.
			wall, err := time.ParseInLocation("20060102T150405", dt.Value, time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			ro, err := ev.Props.RecurrenceRule()
			if err != nil {
				t.Fatal(err)
			}
			ro.Dtstart = wall
			// UNTIL is UTC; compare it in wall time via the zone.
			ro.Until = ro.Until.In(loc)
			ro.Until = time.Date(ro.Until.Year(), ro.Until.Month(), ro.Until.Day(), ro.Until.Hour(), ro.Until.Minute(), 0, 0, time.UTC)
			rr, err := rrule.NewRRule(*ro)
			if err != nil {
				t.Fatal(err)
			}
			occ := rr.All()
			if len(occ) != tt.want {
				t.Errorf("%s: %d occurrences, want %d", tzid, len(occ), tt.want)
			}
			changes := 0
			prevOff := -1
			for _, o := range occ {
				if o.Hour() != 9 || o.Minute() != 0 {
					t.Errorf("%s: occurrence %v not at 09:00 local", tzid, o)
				}
				// The instant a tz-aware client computes.
				inst := time.Date(o.Year(), o.Month(), o.Day(), 9, 0, 0, 0, loc)
				_, goOff := inst.Zone()
				if got := vtimezoneOffset(t, vtz, o); got != goOff {
					t.Errorf("%s: VTIMEZONE offset at %v = %d, tz database %d", tzid, o, got, goOff)
				}
				if prevOff != -1 && goOff != prevOff {
					changes++
				}
				prevOff = goOff
			}
			if changes != 2 {
				t.Errorf("%s: series crosses %d offset changes, want 2 (test data wrong)", tzid, changes)
			}
			if tt.name != "custom-central" && tzid != tt.iana {
				t.Errorf("TZID = %q, want %q", tzid, tt.iana)
			}
			// go-ical's own expansion (it resolves TZID through the tz
			// database) must agree where the TZID is an IANA name.
			if !strings.Contains(tzid, " ") {
				set, err := ev.RecurrenceSet(time.UTC)
				if err != nil {
					t.Fatal(err)
				}
				all := set.All()
				if len(all) != tt.want {
					t.Errorf("go-ical RecurrenceSet: %d occurrences, want %d", len(all), tt.want)
				}
				for _, o := range all {
					if l := o.In(loc); l.Hour() != 9 {
						t.Errorf("go-ical RecurrenceSet: %v is %v local", o, l)
					}
				}
			}
		})
	}
}

// vtimezoneOffset evaluates a VTIMEZONE at a wall-clock time: the onset
// (DTSTART + RRULE of each STANDARD/DAYLIGHT) latest before wall wins.
func vtimezoneOffset(t *testing.T, vtz *ical.Component, wall time.Time) int {
	t.Helper()
	var best time.Time
	bestOff := 0
	for _, sub := range vtz.Children {
		start, err := time.ParseInLocation("20060102T150405", sub.Props.Get(ical.PropDateTimeStart).Value, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		ro, err := sub.Props.RecurrenceRule()
		if err != nil {
			t.Fatal(err)
		}
		onset := start
		if ro != nil {
			ro.Dtstart = start
			rr, err := rrule.NewRRule(*ro)
			if err != nil {
				t.Fatal(err)
			}
			onset = rr.Before(wall, true)
		}
		if onset.IsZero() || onset.After(wall) {
			continue
		}
		if onset.After(best) {
			best = onset
			off, err := time.Parse("-0700", sub.Props.Get(ical.PropTimezoneOffsetTo).Value)
			if err != nil {
				t.Fatal(err)
			}
			_, bestOff = off.Zone()
		}
	}
	return bestOff
}
