package format

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/iemproject/iem/internal/testbed"
)

// The system Python carries vobject, the parser Radicale (a real CalDAV and
// CardDAV server, testbed.md §1d) validates uploads with. Using it checks
// our output with a second, independent implementation — including our
// VTIMEZONE rules, which vobject turns into its own tzinfo objects instead
// of looking the TZID up in a tz database.
const vobjectScript = `
import json, sys, datetime, vobject
out = []
for path in sys.argv[1:]:
    text = open(path, encoding="utf-8").read()
    try:
        items = list(vobject.readComponents(text, validate=True))
    except Exception as e:
        out.append({"file": path, "error": repr(e)})
        continue
    for it in items:
        rec = {"file": path, "name": it.name, "events": []}
        for ev in getattr(it, "vevent_list", []):
            st = ev.dtstart.value
            e = {"uid": ev.uid.value}
            if isinstance(st, datetime.datetime):
                e["start"] = st.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            else:
                e["start"] = st.isoformat()
            if hasattr(ev, "recurrence_id"):
                e["rid"] = True
            rs = ev.getrruleset(addRDate=True)
            if rs is not None and not hasattr(ev, "recurrence_id"):
                occ = []
                for d in rs:
                    if len(occ) >= 60:
                        break
                    if isinstance(d, datetime.datetime) and d.tzinfo is not None:
                        occ.append(d.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
                    else:
                        occ.append(d.strftime("%Y-%m-%d"))
                e["occ"] = occ
            rec["events"].append(e)
        out.append(rec)
print(json.dumps(out))
`

// Southern-hemisphere rules (AUS Eastern) under a name no table knows:
// DST from the first Sunday of October to the first Sunday of April.
const customSydneyTZ = `<t:MeetingTimeZone TimeZoneName="Customized Time Zone"><t:BaseOffset>-PT600M</t:BaseOffset>
  <t:Standard TimeZoneName="Standard"><t:Offset>PT0M</t:Offset><t:RelativeYearlyRecurrence><t:DaysOfWeek>Sunday</t:DaysOfWeek><t:DayOfWeekIndex>First</t:DayOfWeekIndex><t:Month>April</t:Month></t:RelativeYearlyRecurrence><t:Time>03:00:00</t:Time></t:Standard>
  <t:Daylight TimeZoneName="Daylight"><t:Offset>-PT60M</t:Offset><t:RelativeYearlyRecurrence><t:DaysOfWeek>Sunday</t:DaysOfWeek><t:DayOfWeekIndex>First</t:DayOfWeekIndex><t:Month>October</t:Month></t:RelativeYearlyRecurrence><t:Time>02:00:00</t:Time></t:Daylight></t:MeetingTimeZone>`

type vobjResult struct {
	File   string `json:"file"`
	Error  string `json:"error"`
	Name   string `json:"name"`
	Events []struct {
		UID   string   `json:"uid"`
		Start string   `json:"start"`
		RID   bool     `json:"rid"`
		Occ   []string `json:"occ"`
	} `json:"events"`
}

func runVobject(t *testing.T, files []string) []vobjResult {
	t.Helper()
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import vobject").Run(); err != nil {
		if testbed.InCI() {
			t.Fatalf("python3-vobject not available (CI=true): %v", err)
		}
		t.Skipf("python3-vobject not available: %v", err)
	}
	out, err := exec.Command(py, append([]string{"-c", vobjectScript}, files...)...).Output()
	if err != nil {
		t.Fatalf("vobject: %v", err)
	}
	var res []vobjResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("vobject output: %v\n%s", err, out)
	}
	return res
}

// TestVobjectAcceptsOutput: every golden vCard, iCalendar and vNote parses
// and validates in vobject.
func TestVobjectAcceptsOutput(t *testing.T) {
	var files []string
	for _, pat := range []string{"*.ics", "*.vcf", "*.vnt"} {
		m, _ := filepath.Glob(filepath.Join("testdata", pat))
		files = append(files, m...)
	}
	if len(files) < 8 {
		t.Fatalf("only %d golden files", len(files))
	}
	for _, r := range runVobject(t, files) {
		if r.Error != "" {
			t.Errorf("vobject rejects %s: %s", r.File, r.Error)
		}
	}
}

// TestVobjectExpandsSeries: vobject's expansion of our series, using our
// VTIMEZONE, gives the same instants as go-ical/rrule-go using the tz
// database for the IANA TZID — so clients that ignore the TZID name and
// those that use it agree.
func TestVobjectExpandsSeries(t *testing.T) {
	dir := t.TempDir()
	type series struct {
		name, iana string
		xml        []byte
		occ        [][]byte
	}
	loc := func(name string) *time.Location { return mustLoad(t, name) }
	cases := []series{
		{"series-2010", "Europe/Berlin", readTestdata(t, "calendar-series-2010.xml"), [][]byte{readTestdata(t, "calendar-series-2010-occ1.xml")}},
		{"pyex-monthly", "America/Chicago", readTestdata(t, "calendar-pyex-monthly.xml"), nil},
		{"pyex-custom", "America/Chicago", readTestdata(t, "calendar-pyex-customzone.xml"), nil},
		{"eastern", "America/New_York", weeklySeries(easternMeetingTZ, time.Date(2026, 2, 3, 9, 0, 0, 0, loc("America/New_York")), "2026-12-01"), nil},
		{"custom-central", "America/Chicago", weeklySeries(customMeetingTZ, time.Date(2027, 1, 7, 9, 0, 0, 0, loc("America/Chicago")), "2027-12-30"), nil},
		{"periods-custom", "Europe/Berlin", bytes.Replace(readTestdata(t, "calendar-series-2010.xml"), []byte(`Id="W. Europe Standard Time"`), []byte(`Id="Customized Time Zone"`), 1), [][]byte{readTestdata(t, "calendar-series-2010-occ1.xml")}},
		{"custom-sydney", "Australia/Sydney", weeklySeries(customSydneyTZ, time.Date(2026, 1, 5, 9, 0, 0, 0, loc("Australia/Sydney")), "2026-12-28"), nil},
		{"sydney", "Australia/Sydney", weeklySeries(`<t:StartTimeZone Id="AUS Eastern Standard Time"/>`, time.Date(2026, 1, 5, 9, 0, 0, 0, loc("Australia/Sydney")), "2026-12-28"), nil},
	}
	var files []string
	want := map[string][]string{}
	for _, c := range cases {
		cal, _, err := CalendarToICal(c.xml, c.occ, testDir, nil)
		if err != nil {
			t.Fatalf("CalendarToICal(%s) = %v", c.name, err)
		}
		var b bytes.Buffer
		if err := WriteICal(&b, cal); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, c.name+".ics")
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
		// Reference: expand with the tz database (TZID replaced by the
		// IANA zone where it is a custom name).
		ev := cal.Events()[0]
		if tz := ev.Props.Get(ical.PropDateTimeStart).Params.Get(ical.ParamTimezoneID); tz != c.iana {
			ev.Props.Get(ical.PropDateTimeStart).Params.Set(ical.ParamTimezoneID, c.iana)
			for i := range ev.Props[ical.PropExceptionDates] {
				ev.Props[ical.PropExceptionDates][i].Params.Set(ical.ParamTimezoneID, c.iana)
			}
		}
		// go-ical's RecurrenceSet adds EXDATEs as RDATEs too (a bug in
		// components.go); drop EXDATEs from the set ourselves.
		exd := ev.Props[ical.PropExceptionDates]
		ev.Props.Del(ical.PropExceptionDates)
		set, err := ev.RecurrenceSet(time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		skip := map[string]bool{}
		for _, x := range exd {
			tm, err := x.DateTime(time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			skip[tm.UTC().Format(time.RFC3339)] = true
		}
		var occ []string
		for _, o := range set.All() {
			if s := o.UTC().Format(time.RFC3339); !skip[s] && len(occ) < 60 {
				occ = append(occ, s)
			}
		}
		want[p] = occ
	}
	for _, r := range runVobject(t, files) {
		if r.Error != "" {
			t.Errorf("vobject rejects %s: %s", r.File, r.Error)
			continue
		}
		for _, e := range r.Events {
			if e.RID {
				continue
			}
			if got, w := strings.Join(e.Occ, " "), strings.Join(want[r.File], " "); got != w || len(e.Occ) == 0 {
				t.Errorf("%s: vobject occurrences\n%s\nwant (tz database)\n%s", filepath.Base(r.File), got, w)
			}
		}
	}
}
