package pst

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"

	"github.com/iemproject/iem/export"
)

// convertedItems converts every contact, calendar item and task of p with the Source and
// returns the results by kind; a conversion error fails t.
func convertedItems(t *testing.T, p string) map[export.ItemKind][]*export.Content {
	src, err := NewSource("user", "user@example.com", "", []string{p}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	sf := src.files[0]
	out := map[export.ItemKind][]*export.Content{}
	eachMessage(t, sf.f, func(fo *Folder, row Props, m *Message) {
		k := kindOf(m.Props.Str(PidMessageClass))
		if k == export.KindMail {
			return
		}
		c, err := src.convertItem(sf, "test-item", k, m, nil)
		if err != nil {
			t.Errorf("%s 0x%x %q: %v", m.Props.Str(PidMessageClass), m.NID, subject(m.Props), err)
			return
		}
		out[k] = append(out[k], c)
	})
	return out
}

// eventStarts returns "SUMMARY DTSTART-in-UTC" of the master VEVENTs (no RECURRENCE-ID)
// of an iCalendar stream; an all-day event (DATE value) is "SUMMARY D:date". readpst
// writes all-day events as the UTC instant of local midnight: dayKey gives its date.
func eventStarts(t *testing.T, data []byte) []string {
	cal, err := ical.NewDecoder(bytes.NewReader(data)).Decode()
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	var out []string
	for _, ev := range cal.Events() {
		if ev.Props.Get(ical.PropRecurrenceID) != nil {
			continue
		}
		start, err := ev.DateTimeStart(time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := ev.Props.Text(ical.PropSummary)
		if p := ev.Props.Get(ical.PropDateTimeStart); p.ValueType() == ical.ValueDate {
			out = append(out, strings.TrimSpace(s)+" D:"+start.Format("20060102"))
			continue
		}
		out = append(out, strings.TrimSpace(s)+" "+start.UTC().Format("20060102T150405Z"))
	}
	return out
}

// dayKey turns "SUMMARY instant" into "SUMMARY D:date", the date of the nearest UTC
// midnight (local midnight anywhere within ±12 h).
func dayKey(s string) string {
	i := strings.LastIndexByte(s, ' ')
	t, err := time.Parse("20060102T150405Z", s[i+1:])
	if err != nil {
		return s
	}
	return s[:i] + " D:" + t.Add(12*time.Hour).Format("20060102")
}

// TestItemsReadpst converts the contacts, appointments and tasks of every test file
// through package format's converters and compares the events with readpst's .ics
// files (readpst -e -j 0: summary and start instant of every event readpst writes must
// be among ours) and the contacts with its .vcf files (FN and EMAIL).
func TestItemsReadpst(t *testing.T) {
	eachReadpst(t, []string{"-cv"}, func(t *testing.T, tf testFile, p, out string) {
		got := convertedItems(t, p)
		ours := map[string]bool{}
		for _, c := range got[export.KindCalendar] {
			for _, s := range eventStarts(t, c.Data) {
				ours[s] = true
			}
		}
		cards := map[string]bool{}
		for _, c := range got[export.KindContact] {
			card, err := vcard.NewDecoder(bytes.NewReader(c.Data)).Decode()
			if err != nil {
				t.Fatal(err)
			}
			cards[card.PreferredValue(vcard.FieldFormattedName)+" "+card.PreferredValue(vcard.FieldEmail)] = true
		}
		var ics, vcf, missing int
		filepath.WalkDir(out, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			b, _ := os.ReadFile(path)
			switch filepath.Ext(path) {
			case ".ics":
				ics++
				for _, s := range eventStarts(t, b) {
					if !ours[s] && !ours[dayKey(s)] {
						missing++
						t.Errorf("readpst's event %q (%s) not converted here", s, path)
					}
				}
			case ".vcf":
				vcf++
				card, err := vcard.NewDecoder(bytes.NewReader(b)).Decode()
				if err != nil {
					t.Fatal(err)
				}
				// readpst writes FN as File As ("1, contact name"); ours is the display name.
				email := card.PreferredValue(vcard.FieldEmail)
				found := false
				for k := range cards {
					found = found || strings.HasSuffix(k, " "+email)
				}
				if !found {
					t.Errorf("readpst's contact %q <%s> not converted here", card.PreferredValue(vcard.FieldFormattedName), email)
				}
			}
			return nil
		})
		t.Logf("ours: %d events (%d masters), %d contacts, %d tasks; readpst: %d .ics, %d .vcf, %d events missing here",
			len(got[export.KindCalendar]), len(ours), len(got[export.KindContact]), len(got[export.KindTask]), ics, vcf, missing)
	})
}

// TestItemsDistList checks the weekly series, contact and distribution list of
// dist-list.pst field by field: the recurrence blob gives the rule, one deleted and two
// moved occurrences; the time-zone definition gives the zone.
func TestItemsDistList(t *testing.T) {
	got := convertedItems(t, testFiles[1].path(t))
	if len(got[export.KindCalendar]) != 1 || len(got[export.KindContact]) != 2 {
		t.Fatalf("items %v", got)
	}
	ev := got[export.KindCalendar][0]
	cal := string(ev.Data)
	for _, want := range []string{"TZID:America/Los_Angeles", "DTSTART;TZID=America/Los_Angeles:20160802T080000",
		"RRULE:FREQ=WEEKLY;BYDAY=TU;WKST=SU", "EXDATE;TZID=America/Los_Angeles:20160809T080000",
		"RECURRENCE-ID;TZID=America/Los_Angeles:20160823T080000", "DTSTART;TZID=America/Los_Angeles:20160823T090000",
		"RECURRENCE-ID;TZID=America/Los_Angeles:20160830T080000", "TRIGGER:-PT15M", "UID:040000008200E00074C5B7101A82E008"} {
		if !strings.Contains(cal, want) {
			t.Errorf("calendar lacks %q:\n%s", want, cal)
		}
	}
	if !ev.Rebuilt || !strings.Contains(ev.RebuiltWhy.Error(), "own body") {
		t.Errorf("exception bodies not reported: %v", ev.RebuiltWhy)
	}
	var dl, contact string
	for _, c := range got[export.KindContact] {
		if strings.Contains(string(c.Data), "KIND:group") {
			dl = string(c.Data)
		} else {
			contact = string(c.Data)
		}
	}
	for _, want := range []string{"FN:contact name 1", "N:1;contact;name;;", "EMAIL;TYPE=INTERNET,PREF:contact1@rjohnson.id.au", `SORT-STRING:1\, contact name`} {
		if !strings.Contains(contact, want) {
			t.Errorf("contact lacks %q:\n%s", want, contact)
		}
	}
	var members []string
	for _, l := range strings.Split(dl, "\r\n") {
		if m, ok := strings.CutPrefix(l, "MEMBER:"); ok {
			members = append(members, m)
		}
	}
	if want := []string{"mailto:contact1@rjohnson.id.au", "mailto:dist1@rjohnson.id.au", "mailto:dist2@rjohnson.id.au"}; !slices.Equal(members, want) {
		t.Errorf("members %v, want %v\n%s", members, want, dl)
	}
}

// TestItemsTaskProps converts a task built as a property set (no file): status,
// percent complete, dates and categories reach the VTODO, and a recurring task is
// reported as rebuilt because its pattern is not converted.
func TestItemsTaskProps(t *testing.T) {
	le := func(n int, v uint64) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(v >> (8 * i))
		}
		return b
	}
	ft := func(s string) []byte {
		tm, _ := time.Parse(time.RFC3339, s)
		return le(8, uint64(tm.Unix()+11644473600)*1e7)
	}
	u16 := func(s string) []byte {
		var b []byte
		for _, r := range s {
			b = append(b, byte(r), byte(r>>8))
		}
		return b
	}
	names := map[namedKey]uint16{{psetTask, lidTaskStatus}: 0x8001, {psetTask, lidPercentComplete}: 0x8002,
		{psetTask, lidTaskStartDate}: 0x8003, {psetTask, lidTaskDueDate}: 0x8004, {psetTask, lidTaskRecurrence}: 0x8005,
		{psetTask, lidTaskRecurring}: 0x8006}
	ps := Props{
		uint32(PidMessageClass)<<16 | PtUnicode: {Tag: uint32(PidMessageClass)<<16 | PtUnicode, Value: u16("IPM.Task")},
		uint32(PidSubject)<<16 | PtUnicode:      {Tag: uint32(PidSubject)<<16 | PtUnicode, Value: u16("File the report")},
		uint32(PidBody)<<16 | PtUnicode:         {Tag: uint32(PidBody)<<16 | PtUnicode, Value: u16("numbers in the attachment")},
		0x8001<<16 | PtInt32:                    {Tag: 0x8001<<16 | PtInt32, Value: le(4, 1)},
		0x8002<<16 | PtDouble:                   {Tag: 0x8002<<16 | PtDouble, Value: le(8, 0x3FE0000000000000)}, // 0.5
		0x8003<<16 | PtTime:                     {Tag: 0x8003<<16 | PtTime, Value: ft("2024-03-04T00:00:00Z")},
		0x8004<<16 | PtTime:                     {Tag: 0x8004<<16 | PtTime, Value: ft("2024-03-08T00:00:00Z")},
		0x8005<<16 | PtBinary:                   {Tag: 0x8005<<16 | PtBinary, Value: []byte{4, 0x30}},
		0x8006<<16 | PtBool:                     {Tag: 0x8006<<16 | PtBool, Value: []byte{1}},
	}
	src := &Source{address: "user@example.com"}
	sf := &sourceFile{names: names}
	c, err := src.convertItem(sf, "pst:file:24", export.KindTask, &Message{NID: 0x24, Props: ps}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"BEGIN:VTODO", "SUMMARY:File the report", "DESCRIPTION:numbers in the attachment",
		"STATUS:IN-PROCESS", "PERCENT-COMPLETE:50", "DTSTART;VALUE=DATE:20240304", "DUE;VALUE=DATE:20240308"} {
		if !strings.Contains(string(c.Data), want) {
			t.Errorf("task lacks %q:\n%s", want, c.Data)
		}
	}
	if !c.Rebuilt || !strings.Contains(c.RebuiltWhy.Error(), "task recurrence") {
		t.Errorf("recurring task not reported: %v", c.RebuiltWhy)
	}
}
