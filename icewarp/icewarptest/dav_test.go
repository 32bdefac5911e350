package icewarptest

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"
	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/caldav"
	"github.com/emersion/go-webdav/carddav"
)

func davDo(t *testing.T, s *Server, method, path, user, pass, ctype, body string, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, strings.TrimSuffix(s.WebDAVURL(), "/webdav/")+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const (
	vcardBody = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c1\r\nFN:Ann\r\nN:;Ann;;;\r\nEND:VCARD\r\n"
	eventBody = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:e1\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240101T100000Z\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	todoBody  = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VTODO\r\nUID:t1\r\nDTSTAMP:20240101T000000Z\r\nSUMMARY:x\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
	noteBody  = "BEGIN:VNOTE\r\nVERSION:1.1\r\nBODY:hello\r\nEND:VNOTE\r\n"
)

func TestWebDAV(t *testing.T) {
	s := startServer(t)
	setupAccount(t, s, "john@example.com")
	const u, p = "john@example.com", "user-pw"
	steps := []struct {
		name, method, path, user, ctype, body string
		hdr                                   []string
		want                                  int
	}{
		{"no auth", "PROPFIND", "/webdav/john@example.com/", "", "", "", nil, 401},
		{"wrong password", "PROPFIND", "/webdav/john@example.com/", "john@example.com:bad", "", "", nil, 401},
		{"home", "PROPFIND", "/webdav/john@example.com/", u, "", "", []string{"Depth", "1"}, 207},
		{"principal", "PROPFIND", "/webdav/users/john@example.com", u, "", "", []string{"Depth", "0"}, 207},
		{"vcard", "PUT", "/webdav/john@example.com/Contacts/c1.vcf", u, "text/vcard", vcardBody, nil, 201},
		{"vcard again updates", "PUT", "/webdav/john@example.com/Contacts/c1.vcf", u, "text/vcard; charset=utf-8", vcardBody, nil, 204},
		{"vcard if-none-match", "PUT", "/webdav/john@example.com/Contacts/c1.vcf", u, "text/vcard", vcardBody, []string{"If-None-Match", "*"}, 412},
		{"event into contacts", "PUT", "/webdav/john@example.com/Contacts/e1.ics", u, "text/calendar", eventBody, nil, 415},
		{"event", "PUT", "/webdav/john@example.com/Calendar/e1.ics", u, "text/calendar", eventBody, nil, 201},
		{"todo into calendar", "PUT", "/webdav/john@example.com/Calendar/t1.ics", u, "text/calendar", todoBody, nil, 403},
		{"todo", "PUT", "/webdav/john@example.com/Tasks/t1.ics", u, "text/calendar", todoBody, nil, 201},
		{"note as text/plain", "PUT", "/webdav/john@example.com/Notes/n1.vnt", u, "text/plain", noteBody, nil, 415},
		{"note", "PUT", "/webdav/john@example.com/Notes/n1.vnt", u, "text/x-vnote", noteBody, nil, 201},
		{"no such folder", "PUT", "/webdav/john@example.com/Nope/x.vcf", u, "text/vcard", vcardBody, nil, 409},
		{"mkcalendar", "MKCALENDAR", "/webdav/john@example.com/Holidays/", u, "", "", nil, 201},
		{"mkcalendar again", "MKCALENDAR", "/webdav/john@example.com/Holidays/", u, "", "", nil, 405},
		{"mkcol addressbook", "MKCOL", "/webdav/john@example.com/Friends/", u, "application/xml",
			`<D:mkcol xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>`, nil, 201},
		{"mkcalendar tasks", "MKCALENDAR", "/webdav/john@example.com/Chores/", u, "application/xml",
			`<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><C:supported-calendar-component-set><C:comp name="VTODO"/></C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>`, nil, 201},
		{"subfolder segment", "MKCALENDAR", "/webdav/john@example.com/Calendar:Sub/", u, "", "", nil, 201},
		{"get", "GET", "/webdav/john@example.com/Contacts/c1.vcf", u, "", "", nil, 200},
		{"admin may read", "GET", "/webdav/john@example.com/Contacts/c1.vcf", "admin@icewarp.test:admin-secret", "", "", nil, 200},
		{"delete", "DELETE", "/webdav/john@example.com/Notes/n1.vnt", u, "", "", nil, 204},
		{"get deleted", "GET", "/webdav/john@example.com/Notes/n1.vnt", u, "", "", nil, 404},
		{"escape", "GET", "/webdav/john@example.com/..%2F..%2Fetc/passwd", u, "", "", nil, 400},
	}
	for _, st := range steps {
		user, pass := st.user, p
		if i := strings.IndexByte(st.user, ':'); i >= 0 {
			user, pass = st.user[:i], st.user[i+1:]
		}
		got, body := davDo(t, s, st.method, st.path, user, pass, st.ctype, st.body, st.hdr...)
		if got != st.want {
			t.Errorf("%s: %s %s = %d (%s), want %d", st.name, st.method, st.path, got, strings.TrimSpace(body), st.want)
		}
	}
	folders := map[string]string{}
	for _, f := range s.DAVFolders("john@example.com") {
		folders[f.Name] = f.Type
	}
	for name, typ := range map[string]string{"Contacts": "C", "Calendar": "E", "Holidays": "E", "Friends": "C", "Chores": "T", "Calendar:Sub": "E", "Notes": "N"} {
		if folders[name] != typ {
			t.Errorf("folder %s type = %q, want %q", name, folders[name], typ)
		}
	}
	items := s.DAVItems("john@example.com", "Contacts")
	if it, ok := items["c1.vcf"]; !ok || it.Updates != 1 || string(it.Body) != vcardBody || len(items) != 1 {
		t.Errorf("Contacts items = %v, want c1.vcf updated once", items)
	}
}

// TestWebDAVGoWebdavClient checks the layout with an independent client.
func TestWebDAVGoWebdavClient(t *testing.T) {
	s := startServer(t)
	setupAccount(t, s, "john@example.com")
	ctx := context.Background()
	hc := webdav.HTTPClientWithBasicAuth(http.DefaultClient, "john@example.com", "user-pw")
	cal, err := caldav.NewClient(hc, s.WebDAVURL())
	if err != nil {
		t.Fatal(err)
	}
	home, err := cal.FindCalendarHomeSet(ctx, "/webdav/users/john@example.com")
	if err != nil || home != "/webdav/john@example.com/" {
		t.Fatalf("FindCalendarHomeSet = %q, %v, want /webdav/john@example.com/", home, err)
	}
	cals, err := cal.FindCalendars(ctx, home)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cals {
		names = append(names, c.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"Calendar", "Journal", "Tasks"}) {
		t.Errorf("FindCalendars = %v, want [Calendar Journal Tasks]", names)
	}
	ev, err := ical.NewDecoder(strings.NewReader(eventBody)).Decode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cal.PutCalendarObject(ctx, "/webdav/john@example.com/Calendar/e1.ics", ev); err != nil {
		t.Fatalf("PutCalendarObject = %v", err)
	}

	card, err := carddav.NewClient(hc, s.WebDAVURL())
	if err != nil {
		t.Fatal(err)
	}
	books, err := card.FindAddressBooks(ctx, home)
	if err != nil || len(books) != 1 || books[0].Name != "Contacts" {
		t.Fatalf("FindAddressBooks = %v, %v, want [Contacts]", books, err)
	}
	vc, err := vcard.NewDecoder(strings.NewReader(vcardBody)).Decode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := card.PutAddressObject(ctx, books[0].Path+"c1.vcf", vc); err != nil {
		t.Fatalf("PutAddressObject = %v", err)
	}
	if got := s.DAVItems("john@example.com", "Contacts"); len(got) != 1 {
		t.Errorf("Contacts has %d items, want 1", len(got))
	}
	if got := s.DAVItems("john@example.com", "Calendar"); len(got) != 1 {
		t.Errorf("Calendar has %d items, want 1", len(got))
	}
}

func TestWebDAVFaults(t *testing.T) {
	s := startServer(t)
	setupAccount(t, s, "john@example.com")
	const u, p = "john@example.com", "user-pw"
	s.Inject(Fault{Command: "webdav PUT", HTTPStatus: 503, RetryAfter: 2})
	s.Inject(Fault{Command: "webdav PUT", AfterApply: true, HTTPStatus: 502})
	if got, _ := davDo(t, s, "PUT", "/webdav/john@example.com/Contacts/c1.vcf", u, p, "text/vcard", vcardBody); got != 503 {
		t.Errorf("first PUT = %d, want 503", got)
	}
	if n := len(s.DAVItems(u, "Contacts")); n != 0 {
		t.Errorf("after a failed PUT %d items, want 0", n)
	}
	if got, _ := davDo(t, s, "PUT", "/webdav/john@example.com/Contacts/c1.vcf", u, p, "text/vcard", vcardBody); got != 502 {
		t.Errorf("second PUT = %d, want 502", got)
	}
	if n := len(s.DAVItems(u, "Contacts")); n != 1 { // applied, answer lost
		t.Errorf("after a lost answer %d items, want 1", n)
	}
	if got, _ := davDo(t, s, "PUT", "/webdav/john@example.com/Contacts/c1.vcf", u, p, "text/vcard", vcardBody); got != 204 {
		t.Errorf("third PUT = %d, want 204 (update)", got)
	}
	// An admin API fault with no command does not hit WebDAV.
	s.Inject(Fault{HTTPStatus: 500})
	if got, _ := davDo(t, s, "GET", "/webdav/john@example.com/Contacts/c1.vcf", u, p, "", ""); got != 200 {
		t.Errorf("GET = %d, want 200", got)
	}
}
