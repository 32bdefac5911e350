package format

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// recurrenceRule converts an EWS <t:Recurrence> [V MSDOCS
// recurrence-patterns-and-ews.md; PYEX weekly master]:
//
//	<t:Recurrence><t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Monday Friday</t:DaysOfWeek>
//	</t:WeeklyRecurrence><t:EndDateRecurrence><t:StartDate>2050-05-20-05:00</t:StartDate>
//	<t:EndDate>2050-05-31-05:00</t:EndDate></t:EndDateRecurrence></t:Recurrence>
//
// into an RRULE value. Patterns: Daily, Weekly, AbsoluteMonthly,
// RelativeMonthly, AbsoluteYearly, RelativeYearly, and for tasks the
// *Regeneration kinds; ranges: NoEnd, EndDate, Numbered.
func recurrenceRule(r *node, z zone, start time.Time, allDay bool, rep *Report) (string, error) {
	var parts []string
	interval := func(p *node) {
		if v, ok := p.Int("Interval"); ok && v > 1 {
			parts = append(parts, "INTERVAL="+strconv.FormatInt(v, 10))
		}
	}
	var pattern *node
	for _, k := range r.Children {
		if strings.HasSuffix(k.Local, "Recurrence") || strings.HasSuffix(k.Local, "Regeneration") {
			if !strings.HasSuffix(k.Local, "EndDateRecurrence") && k.Local != "NoEndRecurrence" && k.Local != "NumberedRecurrence" {
				pattern = k
				break
			}
		}
	}
	if pattern == nil {
		return "", fmt.Errorf("%w: recurrence without pattern", ErrMalformed)
	}
	switch pattern.Local {
	case "DailyRecurrence":
		parts = append(parts, "FREQ=DAILY")
		interval(pattern)
	case "WeeklyRecurrence":
		parts = append(parts, "FREQ=WEEKLY")
		interval(pattern)
		days, err := byDay(pattern.Text("DaysOfWeek"))
		if err != nil {
			return "", err
		}
		parts = append(parts, "BYDAY="+days)
		// Outlook's default week start is Sunday [V ews.md §4.1 sample
		// RRULE …;WKST=SU]; 2010+ sends FirstDayOfWeek.
		wkst := "SU"
		if d, ok := weekdays[pattern.Text("FirstDayOfWeek")]; ok {
			wkst = icalDay[d]
		}
		parts = append(parts, "WKST="+wkst)
	case "AbsoluteMonthlyRecurrence":
		parts = append(parts, "FREQ=MONTHLY")
		interval(pattern)
		d, ok := pattern.Int("DayOfMonth")
		if !ok || d < 1 || d > 31 {
			return "", fmt.Errorf("%w: bad DayOfMonth %q", ErrMalformed, pattern.Text("DayOfMonth"))
		}
		parts = append(parts, monthDay(d)...)
	case "RelativeMonthlyRecurrence":
		parts = append(parts, "FREQ=MONTHLY")
		interval(pattern)
		p, err := relative(pattern)
		if err != nil {
			return "", err
		}
		parts = append(parts, p...)
	case "AbsoluteYearlyRecurrence":
		parts = append(parts, "FREQ=YEARLY")
		interval(pattern)
		mo, ok := months[pattern.Text("Month")]
		d, ok2 := pattern.Int("DayOfMonth")
		if !ok || !ok2 || d < 1 || d > 31 {
			return "", fmt.Errorf("%w: bad AbsoluteYearlyRecurrence", ErrMalformed)
		}
		parts = append(parts, "BYMONTH="+strconv.Itoa(int(mo)))
		parts = append(parts, monthDay(d)...)
	case "RelativeYearlyRecurrence":
		parts = append(parts, "FREQ=YEARLY")
		interval(pattern)
		mo, ok := months[pattern.Text("Month")]
		if !ok {
			return "", fmt.Errorf("%w: bad Month %q", ErrMalformed, pattern.Text("Month"))
		}
		parts = append(parts, "BYMONTH="+strconv.Itoa(int(mo)))
		p, err := relative(pattern)
		if err != nil {
			return "", err
		}
		parts = append(parts, p...)
	case "DailyRegeneration", "WeeklyRegeneration", "MonthlyRegeneration", "YearlyRegeneration":
		freq := strings.ToUpper(strings.TrimSuffix(pattern.Local, "Regeneration"))
		if freq == "DAILY" || freq == "WEEKLY" || freq == "MONTHLY" || freq == "YEARLY" {
			parts = append(parts, "FREQ="+freq)
		}
		interval(pattern)
		rep.add(pattern.Local, "regenerating task (next due counted from completion) written as a fixed %s rule", strings.ToLower(freq))
	default:
		return "", fmt.Errorf("%w: unknown recurrence pattern %s", ErrMalformed, pattern.Local)
	}

	switch {
	case r.Has("NumberedRecurrence"):
		c, ok := r.Int("NumberedRecurrence", "NumberOfOccurrences")
		if !ok || c < 1 {
			return "", fmt.Errorf("%w: bad NumberOfOccurrences", ErrMalformed)
		}
		parts = append(parts, "COUNT="+strconv.FormatInt(c, 10))
	case r.Has("EndDateRecurrence"):
		end, err := parseXSDate(r.Text("EndDateRecurrence", "EndDate"))
		if err != nil {
			return "", err
		}
		// UNTIL is inclusive: the last possible start on EndDate, at the
		// series' local start time, in UTC (RFC 5545 §3.3.10 requires UTC
		// when DTSTART has a TZID), or a DATE for all-day series.
		if allDay {
			parts = append(parts, "UNTIL="+end.Format("20060102"))
		} else {
			l := z.Local(start)
			wall := time.Date(end.Year(), end.Month(), end.Day(), l.Hour(), l.Minute(), l.Second(), 0, time.UTC)
			parts = append(parts, "UNTIL="+untilUTC(wall, z).Format("20060102T150405Z"))
		}
	}
	return strings.Join(parts, ";"), nil
}

// untilUTC converts a wall-clock time in z to UTC.
func untilUTC(wall time.Time, z zone) time.Time {
	switch zz := z.(type) {
	case ianaZone:
		return time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), 0, zz.loc).UTC()
	case *ruleZone:
		guess := wall.Add(-zz.std)
		return wall.Add(-zz.offset(guess))
	}
	return wall
}

// monthDay handles days 29–31: Outlook schedules "day 31" on the last day
// of shorter months [I], so the rule takes the last of the candidate days.
func monthDay(d int64) []string {
	if d <= 28 {
		return []string{"BYMONTHDAY=" + strconv.FormatInt(d, 10)}
	}
	var days []string
	for i := int64(28); i <= d; i++ {
		days = append(days, strconv.FormatInt(i, 10))
	}
	return []string{"BYMONTHDAY=" + strings.Join(days, ","), "BYSETPOS=-1"}
}

// relative handles DaysOfWeek + DayOfWeekIndex. DaysOfWeek may be a day,
// "Day", "Weekday" or "WeekendDay" [V MSDOCS daysofweek.md]; the index picks
// among the matching days with BYSETPOS.
func relative(p *node) ([]string, error) {
	days, err := byDay(p.Text("DaysOfWeek"))
	if err != nil {
		return nil, err
	}
	idx, ok := weekIndex[p.Text("DayOfWeekIndex")]
	if !ok {
		return nil, fmt.Errorf("%w: bad DayOfWeekIndex %q", ErrMalformed, p.Text("DayOfWeekIndex"))
	}
	if !strings.Contains(days, ",") {
		return []string{"BYDAY=" + strconv.Itoa(idx) + days}, nil
	}
	return []string{"BYDAY=" + days, "BYSETPOS=" + strconv.Itoa(idx)}, nil
}

func byDay(s string) (string, error) {
	var out []string
	for _, d := range strings.Fields(s) {
		switch d {
		case "Day":
			out = append(out, "SU", "MO", "TU", "WE", "TH", "FR", "SA")
		case "Weekday":
			out = append(out, "MO", "TU", "WE", "TH", "FR")
		case "WeekendDay":
			out = append(out, "SU", "SA")
		default:
			wd, ok := weekdays[d]
			if !ok {
				return "", fmt.Errorf("%w: bad DaysOfWeek %q", ErrMalformed, s)
			}
			out = append(out, icalDay[wd])
		}
	}
	if len(out) == 0 {
		return "", fmt.Errorf("%w: empty DaysOfWeek", ErrMalformed)
	}
	return strings.Join(out, ","), nil
}
