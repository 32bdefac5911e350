package format

import (
	"crypto/sha256"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // IANA rules independent of the host, for deterministic output

	"github.com/emersion/go-ical"
)

// A zone is the time zone an item's local times are written in.
type zone interface {
	// ID is the TZID.
	ID() string
	// Local returns t's wall-clock time in the zone (the Location of the
	// result is irrelevant; only its fields are used).
	Local(t time.Time) time.Time
	// VTimezone describes the zone for a calendar whose first local time
	// is in year.
	VTimezone(year int) *ical.Component
}

// ianaZone is a zone Go's tz database knows.
type ianaZone struct{ loc *time.Location }

func (z ianaZone) ID() string                  { return z.loc.String() }
func (z ianaZone) Local(t time.Time) time.Time { return t.In(z.loc) }

// VTimezone derives STANDARD/DAYLIGHT rules from the zone's transitions in
// year: each transition becomes a yearly rule on the n-th (or last) weekday
// of its month, the form Windows and Exchange use. A zone without DST in that
// year gets a single STANDARD component. The TZID is the IANA name, so
// clients that know the tz database resolve it exactly; the rules serve the
// others.
func (z ianaZone) VTimezone(year int) *ical.Component {
	tz := ical.NewComponent(ical.CompTimezone)
	tz.Props.SetText(ical.PropTimezoneID, z.ID())
	start := time.Date(year, 1, 1, 0, 0, 0, 0, z.loc)
	end := time.Date(year+1, 1, 1, 0, 0, 0, 0, z.loc)
	type tr struct {
		at       time.Time
		from, to int
		dst      bool
		name     string
	}
	var trs []tr
	t := start
	for i := 0; i < 16; i++ {
		_, zEnd := t.ZoneBounds()
		if zEnd.IsZero() || !zEnd.Before(end) {
			break
		}
		_, from := zEnd.Add(-time.Second).Zone()
		name, to := zEnd.Zone()
		t = zEnd
		if from == to && zEnd.Add(-time.Second).IsDST() == zEnd.IsDST() {
			continue // a bound where nothing changes (Go's tz rule extension past 2037)
		}
		trs = append(trs, tr{zEnd, from, to, zEnd.IsDST(), name})
	}
	if len(trs) == 0 || len(trs) > 2 {
		// No DST, or an irregular year: describe the offset in force.
		name, off := start.Zone()
		if len(trs) > 0 {
			name, off = trs[len(trs)-1].at.Zone()
		}
		sub := ical.NewComponent(ical.CompTimezoneStandard)
		sub.Props.Set(&ical.Prop{Name: ical.PropDateTimeStart, Params: ical.Params{}, Value: "19700101T000000"})
		sub.Props.Set(&ical.Prop{Name: ical.PropTimezoneOffsetFrom, Params: ical.Params{}, Value: utcOffset(off)})
		sub.Props.Set(&ical.Prop{Name: ical.PropTimezoneOffsetTo, Params: ical.Params{}, Value: utcOffset(off)})
		sub.Props.SetText(ical.PropTimezoneName, name)
		tz.Children = append(tz.Children, sub)
		return tz
	}
	for _, x := range trs {
		localFrom := x.at.UTC().Add(time.Duration(x.from) * time.Second)
		kind := ical.CompTimezoneStandard
		if x.dst {
			kind = ical.CompTimezoneDaylight
		}
		nth := (localFrom.Day()-1)/7 + 1
		if localFrom.Day()+7 > daysIn(localFrom.Month(), localFrom.Year()) {
			nth = -1
		}
		tod := time.Duration(localFrom.Hour())*time.Hour + time.Duration(localFrom.Minute())*time.Minute
		r := yearlyRule{month: localFrom.Month(), weekday: localFrom.Weekday(), nth: nth, at: tod}
		sub := ical.NewComponent(kind)
		// The rule found in year is stated from 1970 on (as Outlook states
		// its rules from 1601), so every time in the calendar is covered.
		sub.Props.Set(&ical.Prop{Name: ical.PropDateTimeStart, Params: ical.Params{}, Value: r.date(1970).Format("20060102T150405")})
		sub.Props.Set(&ical.Prop{Name: ical.PropTimezoneOffsetFrom, Params: ical.Params{}, Value: utcOffset(x.from)})
		sub.Props.Set(&ical.Prop{Name: ical.PropTimezoneOffsetTo, Params: ical.Params{}, Value: utcOffset(x.to)})
		sub.Props.SetText(ical.PropTimezoneName, x.name)
		sub.Props.Set(&ical.Prop{Name: ical.PropRecurrenceRule, Params: ical.Params{},
			Value: fmt.Sprintf("FREQ=YEARLY;BYMONTH=%d;BYDAY=%d%s", int(r.month), nth, icalDay[r.weekday])})
		tz.Children = append(tz.Children, sub)
	}
	return tz
}

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

var icalDay = [...]string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}

func utcOffset(sec int) string {
	sign := '+'
	if sec < 0 {
		sign = '-'
		sec = -sec
	}
	return fmt.Sprintf("%c%02d%02d", sign, sec/3600, sec/60%60)
}

// A ruleZone is a zone defined by the item itself: Exchange 2007's
// MeetingTimeZone or 2010's StartTimeZone periods, used when the zone id
// maps to no IANA zone ("Customized Time Zone" [V ews.md §4.3, EXLIB
// issues #1076, #273]).
type ruleZone struct {
	id       string
	std, dst time.Duration // UTC offsets
	toDST    *yearlyRule   // nil: no DST
	toSTD    *yearlyRule
}

// A yearlyRule is "the nth weekday of month at local time", nth = -1 for
// the last; or a fixed day when weekday < 0.
type yearlyRule struct {
	month   time.Month
	weekday time.Weekday
	nth     int
	day     int // absolute day of month (weekday < 0)
	at      time.Duration
}

func (r *yearlyRule) date(year int) time.Time {
	if r.weekday < 0 {
		return time.Date(year, r.month, r.day, 0, 0, 0, 0, time.UTC).Add(r.at)
	}
	if r.nth < 0 || r.nth > 4 {
		last := time.Date(year, r.month+1, 0, 0, 0, 0, 0, time.UTC)
		d := last.AddDate(0, 0, -((int(last.Weekday()) - int(r.weekday) + 7) % 7))
		return d.Add(r.at)
	}
	firstDay := time.Date(year, r.month, 1, 0, 0, 0, 0, time.UTC)
	d := firstDay.AddDate(0, 0, (int(r.weekday)-int(firstDay.Weekday())+7)%7+7*(r.nth-1))
	return d.Add(r.at)
}

func (z *ruleZone) ID() string { return z.id }

// withFingerprint makes the TZID unique per rule set. Exchange names every
// unmapped zone "Customized Time Zone"; clients that cache zones by TZID
// (vobject does, as Radicale uses it) would otherwise apply the first such
// zone they saw to every later item.
func (z *ruleZone) withFingerprint() *ruleZone {
	desc := fmt.Sprintf("%d|%d", z.std, z.dst)
	for _, r := range []*yearlyRule{z.toDST, z.toSTD} {
		if r != nil {
			desc += fmt.Sprintf("|%d,%d,%d,%d,%d", r.month, r.weekday, r.nth, r.day, r.at)
		}
	}
	sum := sha256.Sum256([]byte(desc))
	z.id = fmt.Sprintf("%s %x", z.id, sum[:4])
	return z
}

func (z *ruleZone) offset(t time.Time) time.Duration {
	if z.toDST == nil || z.toSTD == nil {
		return z.std
	}
	y := t.UTC().Year()
	// Transition instants in UTC: local wall time minus the offset before it.
	dstStart := z.toDST.date(y).Add(-z.std)
	dstEnd := z.toSTD.date(y).Add(-z.dst)
	u := t.UTC()
	if dstStart.Before(dstEnd) { // northern hemisphere
		if !u.Before(dstStart) && u.Before(dstEnd) {
			return z.dst
		}
		return z.std
	}
	if !u.Before(dstEnd) && u.Before(dstStart) {
		return z.std
	}
	return z.dst
}

func (z *ruleZone) Local(t time.Time) time.Time {
	off := z.offset(t)
	return t.In(time.FixedZone(z.id, int(off/time.Second)))
}

func (z *ruleZone) VTimezone(year int) *ical.Component {
	tz := ical.NewComponent(ical.CompTimezone)
	tz.Props.SetText(ical.PropTimezoneID, z.id)
	add := func(kind string, r *yearlyRule, from, to time.Duration) {
		sub := ical.NewComponent(kind)
		start := "19700101T000000"
		rule := ""
		if r != nil {
			start = r.date(1970).Format("20060102T150405")
			if r.weekday < 0 {
				rule = fmt.Sprintf("FREQ=YEARLY;BYMONTH=%d;BYMONTHDAY=%d", int(r.month), r.day)
			} else {
				nth := r.nth
				if nth > 4 {
					nth = -1
				}
				rule = fmt.Sprintf("FREQ=YEARLY;BYMONTH=%d;BYDAY=%d%s", int(r.month), nth, icalDay[r.weekday])
			}
		}
		sub.Props.Set(&ical.Prop{Name: ical.PropDateTimeStart, Params: ical.Params{}, Value: start})
		sub.Props.Set(&ical.Prop{Name: ical.PropTimezoneOffsetFrom, Params: ical.Params{}, Value: utcOffset(int(from / time.Second))})
		sub.Props.Set(&ical.Prop{Name: ical.PropTimezoneOffsetTo, Params: ical.Params{}, Value: utcOffset(int(to / time.Second))})
		if rule != "" {
			sub.Props.Set(&ical.Prop{Name: ical.PropRecurrenceRule, Params: ical.Params{}, Value: rule})
		}
		tz.Children = append(tz.Children, sub)
	}
	if z.toDST == nil || z.toSTD == nil {
		add(ical.CompTimezoneStandard, nil, z.std, z.std)
		return tz
	}
	add(ical.CompTimezoneDaylight, z.toDST, z.std, z.dst)
	add(ical.CompTimezoneStandard, z.toSTD, z.dst, z.std)
	return tz
}

// utcZone is used when an item names no zone at all.
type utcZone struct{}

func (utcZone) ID() string                    { return "UTC" }
func (utcZone) Local(t time.Time) time.Time   { return t.UTC() }
func (utcZone) VTimezone(int) *ical.Component { return nil }

// IANAZone returns the IANA zone for a Windows time zone id (as EWS sends in
// StartTimeZone Id or MeetingTimeZone TimeZoneName), by CLDR's
// windowsZones table [V EXLIB winzone.py]. ok is false for unknown ids such
// as "Customized Time Zone".
func IANAZone(windowsID string) (string, bool) {
	if z, ok := windowsZones[windowsID]; ok {
		return z, true
	}
	if _, err := time.LoadLocation(windowsID); err == nil && strings.Contains(windowsID, "/") {
		return windowsID, true // already IANA (Exchange 2013+ may send them)
	}
	return "", false
}

// itemZone picks the item's zone: 2010+ StartTimeZone, then 2007
// MeetingTimeZone, by id through CLDR, else from the rules in the item, else
// UTC (with a loss reported).
func itemZone(n *node, rep *Report) zone {
	stz := n.Child("StartTimeZone")
	mtz := n.Child("MeetingTimeZone")
	for _, id := range []string{stz.Attr("Id"), mtz.Attr("TimeZoneName")} {
		if id == "" {
			continue
		}
		if iana, ok := IANAZone(id); ok {
			if loc, err := time.LoadLocation(iana); err == nil {
				return ianaZone{loc}
			}
		}
	}
	if stz != nil {
		if z, err := periodsZone(stz); err == nil {
			return z
		} else {
			rep.add("StartTimeZone", "%v", err)
		}
	}
	if mtz != nil {
		if z, err := meetingTimeZone(mtz); err == nil {
			return z
		} else {
			rep.add("MeetingTimeZone", "%v", err)
		}
	}
	if n.Has("Start") && !n.Bool("IsAllDayEvent") && (stz != nil || mtz != nil || n.Has("TimeZone")) {
		rep.add("TimeZone", "zone %q not understood; times written in UTC", first(n.Text("TimeZone"), stz.Attr("Id"), mtz.Attr("TimeZoneName")))
	}
	return utcZone{}
}

var durRE = regexp.MustCompile(`^(-)?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)

// parseXSDuration parses an xs:duration such as "PT480M" or "-PT1H".
func parseXSDuration(s string) (time.Duration, error) {
	m := durRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil || s == "" {
		return 0, fmt.Errorf("%w: bad xs:duration %q", ErrMalformed, s)
	}
	var d time.Duration
	for i, unit := range []time.Duration{24 * time.Hour, time.Hour, time.Minute} {
		if m[i+2] != "" {
			v, _ := strconv.Atoi(m[i+2])
			d += time.Duration(v) * unit
		}
	}
	if m[5] != "" {
		f, _ := strconv.ParseFloat(m[5], 64)
		d += time.Duration(f * float64(time.Second))
	}
	if m[1] == "-" {
		d = -d
	}
	return d, nil
}

var weekdays = map[string]time.Weekday{"Sunday": time.Sunday, "Monday": time.Monday, "Tuesday": time.Tuesday,
	"Wednesday": time.Wednesday, "Thursday": time.Thursday, "Friday": time.Friday, "Saturday": time.Saturday}

var months = map[string]time.Month{"January": 1, "February": 2, "March": 3, "April": 4, "May": 5, "June": 6,
	"July": 7, "August": 8, "September": 9, "October": 10, "November": 11, "December": 12}

var weekIndex = map[string]int{"First": 1, "Second": 2, "Third": 3, "Fourth": 4, "Last": -1}

// meetingTimeZone reads Exchange 2007's MeetingTimeZone [V PYEX
// GET_RECURRING_MASTER_WEEKLY_EVENT]:
//
//	<t:MeetingTimeZone TimeZoneName="Central Standard Time"><t:BaseOffset>PT360M</t:BaseOffset>
//	  <t:Standard TimeZoneName="Standard"><t:Offset>PT0M</t:Offset><t:RelativeYearlyRecurrence>
//	    <t:DaysOfWeek>Sunday</t:DaysOfWeek><t:DayOfWeekIndex>First</t:DayOfWeekIndex><t:Month>November</t:Month>
//	  </t:RelativeYearlyRecurrence><t:Time>02:00:00</t:Time></t:Standard>
//	  <t:Daylight TimeZoneName="Daylight"><t:Offset>-PT60M</t:Offset>…</t:Daylight></t:MeetingTimeZone>
//
// Offsets are biases (UTC = local + bias), so the UTC offset is −(BaseOffset
// + Offset).
func meetingTimeZone(m *node) (*ruleZone, error) {
	base, err := parseXSDuration(m.Text("BaseOffset"))
	if err != nil {
		return nil, err
	}
	z := &ruleZone{id: first(m.Attr("TimeZoneName"), "Customized Time Zone"), std: -base, dst: -base}
	std, dst := m.Child("Standard"), m.Child("Daylight")
	if std == nil || dst == nil {
		return z.withFingerprint(), nil
	}
	so, err1 := parseXSDuration(first(std.Text("Offset"), "PT0M"))
	do, err2 := parseXSDuration(first(dst.Text("Offset"), "PT0M"))
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("%w: bad MeetingTimeZone offset", ErrMalformed)
	}
	z.std, z.dst = -(base + so), -(base + do)
	rs, err1 := meetingRule(std)
	rd, err2 := meetingRule(dst)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("%w: bad MeetingTimeZone transition rule", ErrMalformed)
	}
	if z.std != z.dst {
		z.toSTD, z.toDST = rs, rd
	}
	return z.withFingerprint(), nil
}

func meetingRule(n *node) (*yearlyRule, error) {
	at, err := clockTime(n.Text("Time"))
	if err != nil {
		return nil, err
	}
	if r := n.Child("RelativeYearlyRecurrence"); r != nil {
		wd, ok1 := weekdays[r.Text("DaysOfWeek")]
		idx, ok2 := weekIndex[r.Text("DayOfWeekIndex")]
		mo, ok3 := months[r.Text("Month")]
		if !ok1 || !ok2 || !ok3 {
			return nil, ErrMalformed
		}
		return &yearlyRule{month: mo, weekday: wd, nth: idx, at: at}, nil
	}
	if r := n.Child("AbsoluteDate"); r != nil {
		t, err := parseXSDate(r.RawText())
		if err != nil {
			return nil, err
		}
		return &yearlyRule{month: t.Month(), weekday: -1, day: t.Day(), at: at}, nil
	}
	return nil, ErrMalformed
}

func clockTime(s string) (time.Duration, error) {
	t, err := time.Parse("15:04:05", s)
	if err != nil {
		return 0, fmt.Errorf("%w: bad time %q", ErrMalformed, s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second, nil
}

// periodsZone reads a 2010+ StartTimeZone definition [V ews.md §4.3,
// exchangelib#846: <t:StartTimeZone Name=… Id=…><t:Periods><t:Period
// Bias="-PT1H" Name="Standard" Id="trule:…"/>]. Only the last
// TransitionsGroup's RecurringDayTransitions are used (the rules in force);
// TimeOffset is the local time of the transition, Occurrence −1 the last
// week [I from the EWS schema].
func periodsZone(stz *node) (*ruleZone, error) {
	periods := map[string]time.Duration{}
	var stdID, dstID string
	for _, p := range stz.Path("Periods").All("Period") {
		b, err := parseXSDuration(p.Attr("Bias"))
		if err != nil {
			return nil, err
		}
		periods[p.Attr("Id")] = -b
		switch p.Attr("Name") {
		case "Standard":
			stdID = p.Attr("Id")
		case "Daylight":
			dstID = p.Attr("Id")
		}
	}
	if stdID == "" {
		return nil, fmt.Errorf("%w: StartTimeZone %q has no standard period", ErrMalformed, stz.Attr("Id"))
	}
	z := &ruleZone{id: first(stz.Attr("Id"), stz.Attr("Name"), "Customized Time Zone"), std: periods[stdID], dst: periods[stdID]}
	groups := stz.Path("TransitionsGroups").All("TransitionsGroup")
	if dstID == "" || len(groups) == 0 {
		return z.withFingerprint(), nil
	}
	z.dst = periods[dstID]
	g := groups[len(groups)-1]
	for _, tr := range g.All("RecurringDayTransition") {
		at, err := parseXSDuration(tr.Text("TimeOffset"))
		if err != nil {
			return nil, err
		}
		mo, err := strconv.Atoi(tr.Text("Month"))
		wd, ok := weekdays[tr.Text("DayOfWeek")]
		occ, err2 := strconv.Atoi(tr.Text("Occurrence"))
		if err != nil || err2 != nil || !ok || mo < 1 || mo > 12 {
			return nil, fmt.Errorf("%w: bad RecurringDayTransition", ErrMalformed)
		}
		r := &yearlyRule{month: time.Month(mo), weekday: wd, nth: occ, at: at}
		switch tr.Text("To") {
		case dstID:
			z.toDST = r
		case stdID:
			z.toSTD = r
		}
	}
	if z.toDST == nil || z.toSTD == nil {
		z.toDST, z.toSTD, z.dst = nil, nil, z.std
	}
	return z.withFingerprint(), nil
}
