package main

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"
)

// GroupWare bodies as iem-export writes them (SPEC.md §4): vCard 3.0, one
// VCALENDAR per series, VTODO, vNote 1.1.
const (
	contactV1 = `BEGIN:VCARD
VERSION:3.0
UID:c1@iem.test
FN:Jürgen Müller
N:Müller;Jürgen;;;
EMAIL;TYPE=INTERNET,WORK:juergen@example.org
TEL;TYPE=WORK,VOICE:+49 30 1234567
ORG:Acme GmbH;Vertrieb
END:VCARD
`
	contactV2 = `BEGIN:VCARD
VERSION:3.0
UID:c1@iem.test
FN:Jürgen Müller-Lüdenscheidt
N:Müller-Lüdenscheidt;Jürgen;;;
EMAIL;TYPE=INTERNET,WORK:juergen@example.org
EMAIL;TYPE=INTERNET,HOME:jm@example.net
TEL;TYPE=WORK,VOICE:+49 30 1234567
ORG:Acme GmbH;Vertrieb
END:VCARD
`
	// A weekly series with one cancelled and one moved occurrence.
	eventV1 = `BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//iem//test//EN
BEGIN:VEVENT
UID:ev1@iem.test
DTSTAMP:20240101T000000Z
DTSTART:20240105T090000Z
DTEND:20240105T100000Z
SUMMARY:Weekly sync
RRULE:FREQ=WEEKLY;COUNT=10
EXDATE:20240119T090000Z
END:VEVENT
BEGIN:VEVENT
UID:ev1@iem.test
DTSTAMP:20240101T000000Z
RECURRENCE-ID:20240112T090000Z
DTSTART:20240112T110000Z
DTEND:20240112T120000Z
SUMMARY:Weekly sync (moved)
END:VEVENT
END:VCALENDAR
`
	eventV2 = `BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//iem//test//EN
BEGIN:VEVENT
UID:ev1@iem.test
DTSTAMP:20240201T000000Z
DTSTART:20240105T090000Z
DTEND:20240105T100000Z
SUMMARY:Weekly sync
RRULE:FREQ=WEEKLY;COUNT=10
EXDATE:20240119T090000Z
EXDATE:20240126T090000Z
END:VEVENT
BEGIN:VEVENT
UID:ev1@iem.test
DTSTAMP:20240201T000000Z
RECURRENCE-ID:20240112T090000Z
DTSTART:20240112T110000Z
DTEND:20240112T120000Z
SUMMARY:Weekly sync (moved)
END:VEVENT
BEGIN:VEVENT
UID:ev1@iem.test
DTSTAMP:20240201T000000Z
RECURRENCE-ID:20240202T090000Z
DTSTART:20240202T140000Z
DTEND:20240202T150000Z
SUMMARY:Weekly sync (afternoon)
LOCATION:Raum 2
END:VEVENT
END:VCALENDAR
`
	taskV1 = `BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//iem//test//EN
BEGIN:VTODO
UID:t1@iem.test
DTSTAMP:20240101T000000Z
SUMMARY:Steuererklärung
DUE:20240531T170000Z
STATUS:NEEDS-ACTION
PRIORITY:1
END:VTODO
END:VCALENDAR
`
	taskV2 = `BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//iem//test//EN
BEGIN:VTODO
UID:t2@iem.test
DTSTAMP:20240101T000000Z
SUMMARY:Reisekosten
STATUS:COMPLETED
PERCENT-COMPLETE:100
END:VTODO
END:VCALENDAR
`
	noteV1 = `BEGIN:VNOTE
VERSION:1.1
BODY:Passwort ändern
END:VNOTE
`
)

// semantic reduces a vCard or iCalendar object to what must survive a
// server that re-serialises it (Radicale reorders properties): per
// component, the sorted "NAME:value" lines of the properties that carry
// meaning, without DTSTAMP, PRODID and server additions.
func semantic(t testing.TB, body []byte) []string {
	t.Helper()
	body = bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n"))
	body = bytes.ReplaceAll(body, []byte("\n"), []byte("\r\n"))
	var out []string
	if bytes.HasPrefix(body, []byte("BEGIN:VCARD")) {
		card, err := vcard.NewDecoder(bytes.NewReader(body)).Decode()
		if err != nil {
			t.Fatalf("vcard: %v\n%s", err, body)
		}
		for _, name := range []string{"UID", "FN", "N", "EMAIL", "TEL", "ORG"} {
			for _, f := range card[name] {
				out = append(out, name+":"+f.Value)
			}
		}
		sort.Strings(out)
		return out
	}
	cal, err := ical.NewDecoder(bytes.NewReader(body)).Decode()
	if err != nil {
		t.Fatalf("ical: %v\n%s", err, body)
	}
	keep := []string{"UID", "DTSTART", "DTEND", "DUE", "SUMMARY", "LOCATION", "RRULE", "EXDATE", "RECURRENCE-ID", "STATUS", "PRIORITY", "PERCENT-COMPLETE"}
	for _, c := range cal.Children {
		if c.Name == ical.CompTimezone {
			continue
		}
		var lines []string
		for _, name := range keep {
			for _, p := range c.Props[name] {
				lines = append(lines, name+":"+p.Value)
			}
		}
		sort.Strings(lines)
		out = append(out, c.Name+"{"+strings.Join(lines, " ")+"}")
	}
	sort.Strings(out)
	return out
}

func sameContent(t testing.TB, what string, got []byte, want string) {
	t.Helper()
	g, w := semantic(t, got), semantic(t, []byte(want))
	if !slices.Equal(g, w) {
		t.Errorf("%s differs:\n got %s\nwant %s", what, fmt.Sprint(g), fmt.Sprint(w))
	}
}
