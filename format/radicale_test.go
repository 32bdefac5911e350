package format

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"
	"github.com/iemproject/iem/internal/testbed"
)

// putRadicale stores items (name → vCard or iCalendar bytes; the name's
// extension says which) in a real CardDAV/CalDAV server (Radicale 3,
// testbed.md §1d, standing in for IceWarp's /webdav/, which is not available
// here) with a plain PUT, as the importer will, reads each back, and
// returns how many were stored and how many were refused only because the
// collection already holds their UID.
func putRadicale(t *testing.T, items map[string][]byte) (stored, dupUID int) {
	t.Helper()
	r := testbed.StartRadicale(t, "fmt")
	u := r.Users[0]
	base := strings.TrimSuffix(r.URL, "/") + "/" + u.Name + "/"
	do := func(method, url, ctype string, body []byte) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth(u.Name, u.Password)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	mkcol := `<?xml version="1.0" encoding="utf-8"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>`
	if code, b := do("MKCOL", base+"contacts/", "application/xml", []byte(mkcol)); code != http.StatusCreated {
		t.Fatalf("MKCOL addressbook = %d %s\n%s", code, b, r.Log())
	}
	if code, b := do("MKCALENDAR", base+"calendar/", "", nil); code != http.StatusCreated {
		t.Fatalf("MKCALENDAR = %d %s\n%s", code, b, r.Log())
	}
	// Premise: Radicale validates what it stores.
	if code, _ := do("PUT", base+"calendar/bad.ics", ICalType, []byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:x\r\nEND:VCALENDAR\r\n")); code < 400 {
		t.Fatalf("PUT of a broken calendar = %d, want an error (test premise)", code)
	}
	for i, name := range sortedKeys(items) {
		body := items[name]
		coll, ctype, uid := "contacts/", VCardType, ""
		if strings.HasSuffix(name, ".ics") {
			coll, ctype = "calendar/", ICalType
			cal, err := ical.NewDecoder(bytes.NewReader(body)).Decode()
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cal.Children {
				if c.Name != ical.CompTimezone {
					uid, _ = c.Props.Text(ical.PropUID)
					break
				}
			}
		} else {
			card, err := vcard.NewDecoder(bytes.NewReader(body)).Decode()
			if err != nil {
				t.Fatal(err)
			}
			uid = card.Value(vcard.FieldUID)
		}
		// Corpora reuse UIDs across files; one collection holds a UID once.
		href := base + coll + fmt.Sprintf("%04d-%x", i, uid) + filepath.Ext(name)
		code, b := do("PUT", href, ctype+"; charset=utf-8", body)
		if code == http.StatusConflict {
			dupUID++ // same UID already stored from another file
			continue
		}
		if code != http.StatusCreated && code != http.StatusNoContent {
			t.Errorf("PUT %s = %d %s\n%s", name, code, b, r.Log())
			continue
		}
		code, got := do("GET", href, "", nil)
		if code != http.StatusOK || (uid != "" && !bytes.Contains(got, []byte(uid[:min(len(uid), 20)]))) {
			t.Errorf("GET %s = %d, %d bytes, want the item back", name, code, len(got))
		}
		stored++
	}
	return stored, dupUID
}

// TestRadicaleAcceptsOutput stores every golden vCard and iCalendar.
func TestRadicaleAcceptsOutput(t *testing.T) {
	items := map[string][]byte{}
	for _, pat := range []string{"testdata/*.vcf", "testdata/*.ics"} {
		m, _ := filepath.Glob(pat)
		for _, p := range m {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			items[p] = b
		}
	}
	if len(items) < 8 {
		t.Fatalf("only %d goldens", len(items))
	}
	// calendar-pyex-customzone is calendar-pyex-monthly with another zone:
	// the same item, so the same UID.
	if n, dup := putRadicale(t, items); n+dup != len(items) || dup > 1 {
		t.Errorf("radicale stored %d of %d goldens (%d same-UID refusals)", n, len(items), dup)
	}
}
