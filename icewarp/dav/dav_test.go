package dav

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"
	"github.com/iemproject/iem/internal/retry"
	"github.com/iemproject/iem/internal/testbed"
)

var fastRetry = retry.Policy{Attempts: 4, Sleep: func(context.Context, time.Duration) error { return nil }}

func TestResourceName(t *testing.T) {
	safe := regexp.MustCompile(`^[0-9a-f]{32}(\.vcf|\.ics|\.vnt)?$`)
	tests := []struct {
		id, ct, ext string
	}{
		{"AAMkAGI2TG93AAA=", "text/vcard", ".vcf"},
		{"AAMkAGI2TG93AAA=", "text/vcard; charset=utf-8", ".vcf"},
		{"AAMkAGI2TG93AAB/", "text/calendar", ".ics"},
		{"id with spaces/and slashes?&", "text/x-vnote", ".vnt"},
		{"", "application/octet-stream", ""},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		got := ResourceName(tt.id, tt.ct)
		if !safe.MatchString(got) || !strings.HasSuffix(got, tt.ext) {
			t.Errorf("ResourceName(%q, %q) = %q, want 32 hex digits + %q", tt.id, tt.ct, got, tt.ext)
		}
		if again := ResourceName(tt.id, tt.ct); again != got {
			t.Errorf("ResourceName(%q, %q) = %q then %q, want stable", tt.id, tt.ct, got, again)
		}
		stem := strings.TrimSuffix(got, tt.ext)
		if prev, ok := seen[stem]; ok && prev != tt.id {
			t.Errorf("ResourceName(%q) and ResourceName(%q) share %q", tt.id, prev, stem)
		}
		seen[stem] = tt.id
	}
}

const vcard30 = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c1-uid\r\nFN:Jürgen Müller\r\nN:Müller;Jürgen;;Dr.;\r\n" +
	"ORG:Example GmbH;Entwicklung\r\nTITLE:Leiter\r\nEMAIL;TYPE=INTERNET,WORK:juergen@example.com\r\n" +
	"TEL;TYPE=WORK,VOICE:+49 30 1234567\r\nTEL;TYPE=CELL:+49 170 7654321\r\n" +
	"ADR;TYPE=WORK:;;Hauptstraße 1;Berlin;;10115;Germany\r\nNOTE:Zeile eins\\nZeile zwei\\, mit Komma\r\nEND:VCARD\r\n"

const vevent = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//iem//test//EN\r\n" +
	"BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n" +
	"BEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n" +
	"BEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\n" +
	"END:VTIMEZONE\r\n" +
	"BEGIN:VEVENT\r\nUID:e1-uid\r\nDTSTAMP:20240101T120000Z\r\nDTSTART;TZID=Europe/Berlin:20240108T090000\r\nDTEND;TZID=Europe/Berlin:20240108T093000\r\n" +
	"SUMMARY:Weekly sync\r\nRRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=10\r\nEXDATE;TZID=Europe/Berlin:20240115T090000\r\n" +
	"ATTENDEE;CN=Bob;ROLE=REQ-PARTICIPANT:mailto:bob@example.com\r\nORGANIZER;CN=Alice:mailto:alice@example.com\r\nEND:VEVENT\r\n" +
	"BEGIN:VEVENT\r\nUID:e1-uid\r\nDTSTAMP:20240101T120000Z\r\nRECURRENCE-ID;TZID=Europe/Berlin:20240122T090000\r\n" +
	"DTSTART;TZID=Europe/Berlin:20240122T110000\r\nDTEND;TZID=Europe/Berlin:20240122T113000\r\nSUMMARY:Weekly sync (moved)\r\nEND:VEVENT\r\n" +
	"END:VCALENDAR\r\n"

const vtodo = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//iem//test//EN\r\n" +
	"BEGIN:VTODO\r\nUID:t1-uid\r\nDTSTAMP:20240101T120000Z\r\nSUMMARY:File report\r\nDUE;VALUE=DATE:20240201\r\n" +
	"PRIORITY:1\r\nSTATUS:NEEDS-ACTION\r\nPERCENT-COMPLETE:20\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"

// cardKey renders a vCard as sorted "NAME;params:value" lines, so that two
// cards with the same content compare equal whatever the property order.
func cardKey(t *testing.T, b []byte) []string {
	t.Helper()
	card, err := vcard.NewDecoder(bytes.NewReader(b)).Decode()
	if err != nil {
		t.Fatalf("decode vCard %q: %v", b, err)
	}
	var out []string
	for name, fields := range card {
		if name == "PRODID" || name == "REV" {
			continue
		}
		for _, f := range fields {
			out = append(out, name+paramsKey(map[string][]string(f.Params))+":"+f.Value)
		}
	}
	sort.Strings(out)
	return out
}

func paramsKey(p map[string][]string) string {
	var ps []string
	for k, vs := range p {
		vs = slices.Clone(vs)
		var split []string
		for _, v := range vs {
			split = append(split, strings.Split(strings.ToUpper(v), ",")...)
		}
		sort.Strings(split)
		ps = append(ps, strings.ToUpper(k)+"="+strings.Join(split, ","))
	}
	sort.Strings(ps)
	return ";" + strings.Join(ps, ";")
}

// calKey renders an iCalendar object as sorted lines, one per property,
// prefixed by its component path (name, UID, RECURRENCE-ID).
func calKey(t *testing.T, b []byte) []string {
	t.Helper()
	cal, err := ical.NewDecoder(bytes.NewReader(b)).Decode()
	if err != nil {
		t.Fatalf("decode iCalendar %q: %v", b, err)
	}
	var out []string
	var walk func(prefix string, c *ical.Component)
	walk = func(prefix string, c *ical.Component) {
		id := c.Name
		for _, k := range []string{"UID", "RECURRENCE-ID", "TZID"} {
			if p := c.Props.Get(k); p != nil {
				id += "[" + k + "=" + p.Value + "]"
			}
		}
		prefix += "/" + id
		for name, props := range c.Props {
			if name == "PRODID" {
				continue
			}
			for _, p := range props {
				out = append(out, prefix+" "+name+paramsKey(map[string][]string(p.Params))+":"+p.Value)
			}
		}
		for _, ch := range c.Children {
			walk(prefix, ch)
		}
	}
	walk("", cal.Component)
	sort.Strings(out)
	return out
}

func newClient(t *testing.T, r *testbed.Radicale, u testbed.RadicaleUser) *Client {
	t.Helper()
	c, err := New(Options{BaseURL: r.URL, Username: u.Name, Password: u.Password, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRadicaleRoundTrip(t *testing.T) {
	t.Parallel()
	r := testbed.StartRadicale(t, "alice")
	u := r.Users[0]
	c := newClient(t, r, u)
	ctx := context.Background()
	type item struct {
		name, ct, body, changed string
	}
	tests := []struct {
		folder string
		make   func(folder string) error
		item   item
	}{
		{"Contacts", func(f string) error { return c.EnsureAddressBook(ctx, u.Name, f) },
			item{"contact", "text/vcard; charset=utf-8", vcard30, strings.Replace(vcard30, "TITLE:Leiter", "TITLE:Direktor", 1)}},
		{"Kalender & Termine", func(f string) error { return c.EnsureCalendar(ctx, u.Name, f, []string{"VEVENT"}) },
			item{"event", "text/calendar; charset=utf-8", vevent, strings.Replace(vevent, "SUMMARY:Weekly sync\r\n", "SUMMARY:Weekly sync v2\r\n", 1)}},
		{"Tasks", func(f string) error { return c.EnsureCalendar(ctx, u.Name, f, []string{"VTODO"}) },
			item{"task", "text/calendar; charset=utf-8", vtodo, strings.NewReplacer("PERCENT-COMPLETE:20", "PERCENT-COMPLETE:100", "STATUS:NEEDS-ACTION", "STATUS:COMPLETED").Replace(vtodo)}},
	}
	for _, tt := range tests {
		t.Run(tt.item.name, func(t *testing.T) {
			for i := range 2 { // a rerun finds the collection in place
				if err := tt.make(tt.folder); err != nil {
					t.Fatalf("ensure %q (run %d) = %v\n%s", tt.folder, i, err, r.Log())
				}
			}
			name := ResourceName("src-"+tt.item.name, tt.item.ct)
			for _, body := range []string{tt.item.body, tt.item.body, tt.item.changed} {
				if _, err := c.Put(ctx, u.Name, tt.folder, name, tt.item.ct, []byte(body)); err != nil {
					t.Fatalf("Put(%s) = %v", name, err)
				}
				got, etag, err := c.Get(ctx, u.Name, tt.folder, name)
				if err != nil {
					t.Fatalf("Get(%s) = %v", name, err)
				}
				key := cardKey
				if strings.HasPrefix(tt.item.ct, "text/calendar") {
					key = calKey
				}
				if g, w := key(t, got), key(t, []byte(body)); !slices.Equal(g, w) {
					t.Errorf("Get(%s) = \n%s\nwant (semantically)\n%s", name, strings.Join(g, "\n"), strings.Join(w, "\n"))
				}
				list, err := c.List(ctx, u.Name, tt.folder)
				if err != nil {
					t.Fatalf("List = %v", err)
				}
				if len(list) != 1 || list[0].Name != name || list[0].ETag != etag {
					t.Errorf("List(%q) = %+v, want only %s with ETag %s", tt.folder, list, name, etag)
				}
			}
			if err := c.Delete(ctx, u.Name, tt.folder, name); err != nil {
				t.Fatalf("Delete = %v", err)
			}
			if _, _, err := c.Get(ctx, u.Name, tt.folder, name); !errors.Is(err, ErrNotFound) {
				t.Errorf("Get after Delete = %v, want ErrNotFound", err)
			}
			if err := c.Delete(ctx, u.Name, tt.folder, name); !errors.Is(err, ErrNotFound) {
				t.Errorf("Delete again = %v, want ErrNotFound", err)
			}
		})
	}
	// Many items: one resource each, however often they are sent.
	if err := c.EnsureAddressBook(ctx, u.Name, "Bulk"); err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		for i := range 20 {
			card := strings.Replace(vcard30, "UID:c1-uid", fmt.Sprintf("UID:bulk-%d", i), 1)
			if _, err := c.Put(ctx, u.Name, "Bulk", ResourceName(fmt.Sprintf("bulk-%d", i), "text/vcard"), "text/vcard", []byte(card)); err != nil {
				t.Fatalf("round %d: Put(bulk-%d) = %v", round, i, err)
			}
		}
	}
	if list, err := c.List(ctx, u.Name, "Bulk"); err != nil || len(list) != 20 {
		t.Errorf("List(Bulk) = %d items, %v, want 20", len(list), err)
	}
	// Radicale has no plain collections for items: MKCOL without a body is
	// refused (TestEnsureCollection covers it with a fake).
	if err := c.EnsureCollection(ctx, u.Name, "Notes"); !errors.Is(err, ErrAuth) {
		t.Errorf("EnsureCollection(Radicale) = %v, want 403 (ErrAuth)", err)
	}
	// A calendar cannot stand in for an address book.
	if err := c.EnsureAddressBook(ctx, u.Name, "Tasks"); !errors.Is(err, ErrNotDAV) {
		t.Errorf("EnsureAddressBook(existing calendar) = %v, want ErrNotDAV", err)
	}
}

func TestRadicaleAuth(t *testing.T) {
	t.Parallel()
	r := testbed.StartRadicale(t, "alice", "bob")
	alice, bob := r.Users[0], r.Users[1]
	ctx := context.Background()
	bad := newClient(t, r, testbed.RadicaleUser{Name: alice.Name, Password: "wrong"})
	if err := bad.EnsureAddressBook(ctx, alice.Name, "Contacts"); !errors.Is(err, ErrAuth) {
		t.Errorf("EnsureAddressBook(bad password) = %v, want ErrAuth", err)
	}
	a := newClient(t, r, alice)
	if err := a.EnsureAddressBook(ctx, alice.Name, "Contacts"); err != nil {
		t.Fatal(err)
	}
	// owner_only: bob may not write into alice's collection.
	b := newClient(t, r, bob)
	if _, err := b.Put(ctx, alice.Name, "Contacts", "x.vcf", "text/vcard", []byte(vcard30)); !errors.Is(err, ErrAuth) {
		t.Errorf("Put(other owner) = %v, want ErrAuth", err)
	}
}

// TestRetry checks the one retry decision with a server that fails first.
func TestRetry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		statuses []int
		header   string
		wantErr  error
		calls    int32
	}{
		{"503 then ok", []int{503, 503, 201}, "", nil, 3},
		{"429 with Retry-After", []int{429, 204}, "1", nil, 2},
		{"500 forever", []int{500, 500, 500, 500, 500}, "", retry.ErrExhausted, 4},
		{"404 not retried", []int{404, 201}, "", ErrNotFound, 1},
		{"409 not retried", []int{409, 201}, "", ErrConflict, 1},
		{"501 not retried", []int{501, 201}, "", nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			var slept []time.Duration
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				n := calls.Add(1)
				if user, pw, ok := req.BasicAuth(); !ok || user != "u" || pw != "p" {
					t.Errorf("request %d: basic auth = %q %q %v", n, user, pw, ok)
				}
				if tt.header != "" {
					w.Header().Set("Retry-After", tt.header)
				}
				w.Header().Set("ETag", `"e1"`)
				w.WriteHeader(tt.statuses[n-1])
			}))
			defer srv.Close()
			pol := fastRetry
			pol.Sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
			c, err := New(Options{BaseURL: srv.URL + "/webdav/", Username: "u", Password: "p", Retry: pol})
			if err != nil {
				t.Fatal(err)
			}
			etag, err := c.Put(context.Background(), "a@example.com", "Contacts", "x.vcf", "text/vcard", []byte(vcard30))
			switch {
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("Put = %v, want %v", err, tt.wantErr)
			case tt.wantErr == nil && tt.statuses[len(tt.statuses)-1] < 300 && tt.calls == int32(len(tt.statuses)) && (err != nil || etag != `"e1"`):
				t.Errorf("Put = %q, %v, want \"e1\"", etag, err)
			}
			if got := calls.Load(); got != tt.calls {
				t.Errorf("Put made %d requests, want %d", got, tt.calls)
			}
			if tt.header == "1" && (len(slept) != 1 || slept[0] != time.Second) {
				t.Errorf("Put slept %v, want [1s] (Retry-After)", slept)
			}
		})
	}
}

func TestLayout(t *testing.T) {
	tests := []struct {
		base, owner, folder, want string
	}{
		{"https://mail.example.com/webdav/", "alice@example.com", "Contacts", "https://mail.example.com/webdav/alice@example.com/Contacts/"},
		{"https://mail.example.com/webdav", "alice@example.com", "Kalender & Termine", "https://mail.example.com/webdav/alice@example.com/Kalender%20&%20Termine/"},
		{"http://127.0.0.1:5232/", "bob", "a/b:c", "http://127.0.0.1:5232/bob/a%2Fb:c/"},
	}
	for _, tt := range tests {
		c, err := New(Options{BaseURL: tt.base})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.CollectionURL(tt.owner, tt.folder); got != tt.want {
			t.Errorf("CollectionURL(%q, %q) = %q, want %q", tt.owner, tt.folder, got, tt.want)
		}
	}
	if _, err := New(Options{BaseURL: "/relative"}); err == nil {
		t.Errorf("New(relative) = nil error, want one")
	}
}

// TestEnsureCollection: plain MKCOL, then 405 on an existing collection,
// answered by a PROPFIND that says what is there (RFC 4918 §9.3.1).
func TestEnsureCollection(t *testing.T) {
	tests := []struct {
		name    string
		mkcol   int
		restype string
		wantErr error
	}{
		{"created", http.StatusCreated, "", nil},
		{"exists", http.StatusMethodNotAllowed, "<D:collection/>", nil},
		{"exists as a file", http.StatusMethodNotAllowed, "", ErrNotDAV},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				switch req.Method {
				case "MKCOL":
					if req.URL.Path != "/webdav/a@example.com/Notes/" || req.ContentLength > 0 {
						t.Errorf("MKCOL %s with %d bytes", req.URL.Path, req.ContentLength)
					}
					w.WriteHeader(tt.mkcol)
				case "PROPFIND":
					w.WriteHeader(http.StatusMultiStatus)
					fmt.Fprintf(w, `<?xml version="1.0"?><D:multistatus xmlns:D="DAV:"><D:response><D:href>/webdav/a@example.com/Notes/</D:href>`+
						`<D:propstat><D:prop><D:resourcetype>%s</D:resourcetype></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>`, tt.restype)
				default:
					t.Errorf("unexpected %s", req.Method)
				}
			}))
			defer srv.Close()
			c, err := New(Options{BaseURL: srv.URL + "/webdav/", Retry: fastRetry})
			if err != nil {
				t.Fatal(err)
			}
			err = c.EnsureCollection(context.Background(), "a@example.com", "Notes")
			if (tt.wantErr == nil && err != nil) || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Errorf("EnsureCollection = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
