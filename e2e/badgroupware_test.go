package e2e

import (
	"strings"
	"testing"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/exchange/ewstest"
)

// TestBadGroupware appends a round of damaged contacts and events to a
// real archive (invalid vCard and iCalendar, binary, empty) and imports
// it: the run does not crash, each bad item is named on the way out
// (skipped or failed, exit 3) or stored as given, and the good items
// all arrive exactly once.
func TestBadGroupware(t *testing.T) {
	b := newBed(t, ewstest.OrgOptions{Users: 1, MessagesPerFolder: 2, Contacts: 2, Tasks: 1}, nil)
	b.mustExport(t)

	f, err := archive.OpenFolder(b.arch, &archive.FolderOptions{Writer: "e2e"})
	if err != nil {
		t.Fatal(err)
	}
	var contact, event *archive.Entry
	f.Walk(func(e *archive.Entry) error {
		switch {
		case e.Kind == archive.KindContact && contact == nil:
			contact = e
		case e.Kind == archive.KindEvent && event == nil:
			event = e
		}
		return nil
	})
	if contact == nil || event == nil {
		t.Fatal("no contact or event in the archive")
	}
	bad := []struct {
		from *archive.Entry
		body string
	}{
		{contact, "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:no end\r\n"},
		{contact, "BEGIN:VCARD\r\nVERSION:9.9\r\nN;;;:\r\n:\r\nEND:VCARD\r\n"},
		{contact, "\x00\x01\xff binary"},
		{contact, ""},
		{event, "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:not-a-date\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"},
		{event, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\n"},
		{event, "BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nRRULE:FREQ=SOMETIMES;COUNT=-1\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"},
		{event, strings.Repeat("BEGIN:VEVENT\r\n", 5000)},
	}
	rw, err := f.Begin()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i, c := range bad {
		h := c.from.Header
		h.ID = c.from.ID + "-bad" + string(rune('a'+i))
		h.ChangeKey = "bad"
		h.Size = int64(len(c.body))
		h.Attrs = map[string]string{}
		for k, v := range c.from.Attrs {
			h.Attrs[k] = v
		}
		if err := rw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := rw.Write([]byte(c.body)); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, h.ID)
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	out, err := b.importRun("--webdav-url", b.iw.WebDAVURL())
	code := exitCode(err)
	if code != 0 && code != 3 {
		t.Fatalf("import: exit %d\n%s", code, out)
	}
	if strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") {
		t.Fatalf("import crashed:\n%s", out)
	}
	named := 0
	for _, id := range ids {
		if strings.Contains(out, id) {
			named++
		}
	}
	t.Logf("%d damaged contacts and events: exit %d, %d named in the output", len(bad), code, named)
	if code == 0 && named > 0 {
		t.Errorf("items were named as bad but the run exited 0:\n%s", out)
	}
	if code == 3 && !strings.Contains(out, "failed ") && !strings.Contains(out, "skipped ") {
		t.Errorf("exit 3 without a failure summary:\n%s", out)
	}
	// One rejected contact must not stop the mailbox: the mail arrives
	// exactly once whatever happened to the groupware.
	if strings.Contains(out, "mailbox stopped") {
		t.Errorf("a damaged groupware item stopped the whole mailbox:\n%s", out)
	}
	out, err = b.importRun("--webdav-url", b.iw.WebDAVURL())
	if c := exitCode(err); c != 0 && c != 3 {
		t.Fatalf("import rerun: exit %d\n%s", c, out)
	}
	b.assertExactlyOnce(t)
}
