package graph

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/emersion/go-ical"
	"github.com/iemproject/iem/format"
)

// A series master is read with its exceptions and cancelled occurrences,
// as the EWS Source reads ModifiedOccurrences and DeletedOccurrences: the
// calendar's events list returns series masters with their recurrence,
// the expanded occurrences only come from calendarView (whose delta covers
// the primary calendar alone [V graph.md §5 GDOC event-delta.md]) or from
// /events/{id}/instances in a window (graph.md §5, the design line "plus
// /events/{id}/instances?startDateTime&endDateTime to find
// exceptions/cancelled occurrences" [I: Microsoft Learn
// api/event-list-instances: occurrences and exceptions in the window, a
// cancelled occurrence is not among them]). So the master's rule is
// expanded here (through format's RRULE, the one the archive gets), the
// instances are listed over the same window, exceptions (type
// "exception") become the modified occurrences and every expected start
// no instance has as originalStart is a cancelled occurrence.

// seriesHorizon bounds the expansion of a series without end: two years
// past now (or past its start) [I: exceptions further out are rare; the
// rule itself is archived whole].
const seriesHorizon = 2 * 365 * 24 * time.Hour

// maxOccurrences bounds one series' expansion.
const maxOccurrences = 5000

// seriesParts returns the original starts of the cancelled occurrences of
// series master ev and the EWS XML of its exceptions.
func (s *Source) seriesParts(ctx context.Context, mailbox string, ev object, opt *format.CalendarOptions) ([]time.Time, [][]byte, error) {
	// A master the converter refuses, or whose rule does not parse, is
	// archived (or skipped) by its own conversion without its parts.
	cal, _, err := format.CalendarToICal(ev.calendarXML(), nil, nil, opt)
	if err != nil {
		return nil, nil, nil
	}
	var comp *ical.Component
	for _, c := range cal.Children {
		if c.Name == ical.CompEvent {
			comp = c
		}
	}
	if comp == nil {
		return nil, nil, nil
	}
	set, err := comp.RecurrenceSet(time.UTC)
	if err != nil || set == nil {
		return nil, nil, nil
	}
	start := set.GetDTStart()
	hi := start.Add(100 * 365 * 24 * time.Hour)
	if rng := ev.obj("recurrence").obj("range"); rng.str("type") == "noEnd" {
		base := time.Now()
		if start.After(base) {
			base = start
		}
		hi = base.Add(seriesHorizon)
	}
	expected := set.Between(start.Add(-time.Second), hi, true)
	if len(expected) > maxOccurrences {
		expected = expected[:maxOccurrences]
	}
	if len(expected) == 0 {
		return nil, nil, nil
	}
	evEnd := parseDateTime(utcTime(ev.obj("end")))
	evStart := parseDateTime(utcTime(ev.obj("start")))
	dur := max(evEnd.Sub(evStart), time.Minute)
	// $top: fewer pages for a long series [I: the instances call takes
	// OData $top, as collections do (GDOC concepts/paging.md)].
	q := url.Values{"startDateTime": {expected[0].UTC().Format(time.RFC3339)},
		"endDateTime": {expected[len(expected)-1].Add(dur).UTC().Format(time.RFC3339)}, "$top": {"500"}}
	seen := map[int64]bool{}
	var exceptions [][]byte
	_, err = Pages(ctx, s.c, mailboxPath(mailbox)+"/events/"+url.PathEscape(ev.str("id"))+"/instances?"+q.Encode(), func(o object) error {
		if t := parseDateTime(o.str("originalStart")); !t.IsZero() {
			seen[t.Unix()] = true
		}
		if o.str("type") == "exception" {
			exceptions = append(exceptions, o.calendarXML())
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list instances of %s: %w", ev.str("id"), err)
	}
	var deleted []time.Time
	for _, t := range expected {
		if !seen[t.Unix()] {
			deleted = append(deleted, t)
		}
	}
	return deleted, exceptions, nil
}

// parseDateTime parses an xs:dateTime with zone (zero time when it is not one).
func parseDateTime(v string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}
	}
	return t
}
