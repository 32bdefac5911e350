package icewarptest

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// The WebDAV front end follows IceWarp's layout (icewarp.md §3,
// [V SS22 webdav/inc/resource/*.php, caldav_uri.php]): principal
// /webdav/users/<email>, calendar and address book home /webdav/<email>/,
// collections /webdav/<email>/<Folder>/ (a ":" in a folder segment is
// IceWarp's subfolder separator; the emulator keeps it as part of the name),
// resources /webdav/<email>/<Folder>/<name>.
//
// PUT checks the Content-Type against the folder type as IceWarp's
// datastore does [V SS22 webdav/inc/datastore.php put_item]: C takes vCard,
// E/T/J take text/calendar (the emulator also checks the component: VEVENT,
// VTODO, VJOURNAL — INFERRED), N takes text/x-vnote; a PUT to an existing
// resource name updates it. MKCALENDAR makes an E folder (T or J when
// supported-calendar-component-set names only VTODO or VJOURNAL); an
// extended MKCOL (RFC 5689) with an addressbook resourcetype makes a C folder,
// a plain MKCOL an F (files) folder (INFERRED). Every account starts with
// IceWarp's default GroupWare folders [V NET GetAccountFolderList.xml]:
// Calendar E, Contacts C, Tasks T, Notes N, Journal J, Documents F.
//
// Authentication is HTTP Basic with the account's email and u_password, or
// the administrator's credentials (INFERRED).
type davCollection struct {
	email, name string
	kind        string // C, E, T, N, J, F (icewarp.md §3)
	items       map[string]*DAVItem
}

// A DAVItem is a stored WebDAV resource.
type DAVItem struct {
	ContentType string
	Body        []byte
	ETag        string
	Updates     int // how often it was replaced by a PUT to the same name
}

// A DAVFolder is a GroupWare folder as seen over WebDAV.
type DAVFolder struct {
	Name  string
	Type  string // C, E, T, N, J or F
	Items int
}

var defaultGWFolders = []struct{ name, kind string }{
	{"Calendar", "E"}, {"Contacts", "C"}, {"Documents", "F"}, {"Journal", "J"}, {"Notes", "N"}, {"Tasks", "T"},
}

// seedDAV creates the default GroupWare folders. Called with s.mu held.
func (s *Server) seedDAV(email string) {
	for _, f := range defaultGWFolders {
		s.dav[email+"/"+f.name] = &davCollection{email: email, name: f.name, kind: f.kind, items: map[string]*DAVItem{}}
	}
}

// davCollectionsOf returns the account's collections sorted by name. Called with s.mu held.
func (s *Server) davCollectionsOf(email string) []*davCollection {
	var out []*davCollection
	for _, c := range s.dav {
		if c.email == email {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b *davCollection) int { return strings.Compare(a.name, b.name) })
	return out
}

// DAVFolders returns an account's GroupWare folders, sorted by name.
func (s *Server) DAVFolders(email string) []DAVFolder {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []DAVFolder
	for _, c := range s.davCollectionsOf(strings.ToLower(email)) {
		out = append(out, DAVFolder{Name: c.name, Type: c.kind, Items: len(c.items)})
	}
	return out
}

// DAVItems returns copies of the resources in a folder, by resource name.
func (s *Server) DAVItems(email, folder string) map[string]DAVItem {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.dav[strings.ToLower(email)+"/"+folder]
	if c == nil {
		return nil
	}
	out := map[string]DAVItem{}
	for k, v := range c.items {
		cp := *v
		cp.Body = bytes.Clone(v.Body)
		out[k] = cp
	}
	return out
}

func (s *Server) serveDAV(w http.ResponseWriter, r *http.Request) {
	// Faults for WebDAV use Command "webdav " + method, e.g. "webdav PUT".
	s.mu.Lock()
	fault := s.takeFault("webdav " + r.Method)
	s.mu.Unlock()
	if fault != nil && !fault.AfterApply && s.applyFault(w, fault) {
		return
	}
	if fault != nil && fault.AfterApply {
		rec := &discardWriter{header: http.Header{}}
		s.serveDAV2(rec, r)
		s.applyFault(w, fault)
		return
	}
	s.serveDAV2(w, r)
}

// discardWriter swallows a response whose answer a fault replaces.
type discardWriter struct{ header http.Header }

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

func (s *Server) serveDAV2(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.EscapedPath(), "/webdav/")
	var segs []string
	for _, p := range strings.Split(rest, "/") {
		if p == "" {
			continue
		}
		u, err := url.PathUnescape(p)
		if err != nil || u == "." || u == ".." || strings.ContainsAny(u, "/\\\x00") {
			http.Error(w, "bad path", http.StatusBadRequest)
			return
		}
		segs = append(segs, u)
	}
	if len(segs) == 2 && segs[0] == "users" { // principal /webdav/users/<email>
		segs = []string{segs[1]}
		if r.Method == "PROPFIND" {
			s.davAuthThen(w, r, segs[0], func() { s.propfindPrincipal(w, r, segs[0]) })
			return
		}
	}
	if len(segs) == 0 || len(segs) > 3 {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	email := strings.ToLower(segs[0])
	s.davAuthThen(w, r, email, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		switch len(segs) {
		case 1:
			s.davHome(w, r, email)
		case 2:
			s.davCollection(w, r, email, segs[1])
		case 3:
			s.davResource(w, r, email, segs[1], segs[2])
		}
	})
}

func (s *Server) davAuthThen(w http.ResponseWriter, r *http.Request, email string, fn func()) {
	user, pass, ok := r.BasicAuth()
	s.mu.Lock()
	a := s.accounts[strings.ToLower(email)]
	allowed := ok && a != nil && (strings.EqualFold(user, email) && a.props["u_password"] != "" &&
		subtle.ConstantTimeCompare([]byte(pass), []byte(a.props["u_password"])) == 1 ||
		strings.EqualFold(user, s.opt.AdminEmail) && subtle.ConstantTimeCompare([]byte(pass), []byte(s.opt.AdminPassword)) == 1)
	s.mu.Unlock()
	if !allowed {
		w.Header().Set("WWW-Authenticate", `Basic realm="IceWarp"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	fn()
}

func (s *Server) davHome(w http.ResponseWriter, r *http.Request, email string) {
	if r.Method != "PROPFIND" {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var b msBuilder
	b.collection("/webdav/"+url.PathEscape(email)+"/", email, "")
	if r.Header.Get("Depth") != "0" {
		for _, c := range s.davCollectionsOf(email) {
			b.collection(collHref(email, c.name), c.name, c.kind)
		}
	}
	b.write(w)
}

func (s *Server) propfindPrincipal(w http.ResponseWriter, r *http.Request, email string) {
	home := "/webdav/" + url.PathEscape(strings.ToLower(email)) + "/"
	var b msBuilder
	b.open("/webdav/users/" + url.PathEscape(email))
	fmt.Fprintf(&b.buf, "<D:resourcetype><D:principal/></D:resourcetype><D:displayname>%s</D:displayname>"+
		"<C:calendar-home-set><D:href>%s</D:href></C:calendar-home-set>"+
		"<CR:addressbook-home-set><D:href>%s</D:href></CR:addressbook-home-set>", esc(email), esc(home), esc(home))
	b.close()
	b.write(w)
}

func collHref(email, name string) string {
	return "/webdav/" + url.PathEscape(email) + "/" + url.PathEscape(name) + "/"
}

func (s *Server) davCollection(w http.ResponseWriter, r *http.Request, email, name string) {
	key := email + "/" + name
	c := s.dav[key]
	switch r.Method {
	case "PROPFIND":
		if c == nil {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		var b msBuilder
		b.collection(collHref(email, name), name, c.kind)
		if r.Header.Get("Depth") != "0" {
			for _, n := range slices.Sorted(mapsKeys(c.items)) {
				it := c.items[n]
				b.open(collHref(email, name) + url.PathEscape(n))
				fmt.Fprintf(&b.buf, "<D:resourcetype/><D:getetag>%s</D:getetag><D:getcontenttype>%s</D:getcontenttype><D:getcontentlength>%d</D:getcontentlength>",
					esc(it.ETag), esc(it.ContentType), len(it.Body))
				b.close()
			}
		}
		b.write(w)
	case "MKCALENDAR", "MKCOL":
		if c != nil {
			http.Error(w, "exists", http.StatusMethodNotAllowed) // RFC 4918 §9.3.1, RFC 4791 §5.3.1
			return
		}
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		kind, ok := mkcolKind(r.Method, body)
		if !ok {
			http.Error(w, "bad request body", http.StatusBadRequest)
			return
		}
		s.dav[key] = &davCollection{email: email, name: name, kind: kind, items: map[string]*DAVItem{}}
		w.WriteHeader(http.StatusCreated)
	case http.MethodDelete:
		if c == nil {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		delete(s.dav, key)
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// mkcolKind reads the folder type from a MKCALENDAR or extended MKCOL body.
func mkcolKind(method string, body []byte) (string, bool) {
	var doc struct {
		ResourceType struct {
			Any []struct{ XMLName xml.Name } `xml:",any"`
		} `xml:"set>prop>resourcetype"`
		Comps []struct {
			Name string `xml:"name,attr"`
		} `xml:"set>prop>supported-calendar-component-set>comp"`
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := xml.Unmarshal(body, &doc); err != nil {
			return "", false
		}
	}
	compKind := func() string {
		if len(doc.Comps) == 1 {
			switch strings.ToUpper(doc.Comps[0].Name) {
			case "VTODO":
				return "T"
			case "VJOURNAL":
				return "J"
			}
		}
		return "E"
	}
	if method == "MKCALENDAR" {
		return compKind(), true
	}
	for _, rt := range doc.ResourceType.Any {
		switch rt.XMLName.Local {
		case "addressbook":
			return "C", true
		case "calendar":
			return compKind(), true
		}
	}
	return "F", true
}

// contentTypes lists the media types and first component each folder type takes.
var contentTypes = map[string]struct {
	types []string
	begin string
}{
	"C": {[]string{"text/vcard", "text/x-vcard", "text/directory"}, "BEGIN:VCARD"},
	"E": {[]string{"text/calendar"}, "BEGIN:VEVENT"},
	"T": {[]string{"text/calendar"}, "BEGIN:VTODO"},
	"J": {[]string{"text/calendar"}, "BEGIN:VJOURNAL"},
	"N": {[]string{"text/x-vnote"}, "BEGIN:VNOTE"},
}

func (s *Server) davResource(w http.ResponseWriter, r *http.Request, email, folder, name string) {
	c := s.dav[email+"/"+folder]
	if c == nil {
		http.Error(w, "no such collection", http.StatusConflict) // RFC 4918 §9.7.1
		return
	}
	it := c.items[name]
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if it == nil {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", it.ContentType)
		w.Header().Set("ETag", it.ETag)
		if r.Method == http.MethodGet {
			w.Write(it.Body)
		}
	case http.MethodPut:
		if r.Header.Get("If-None-Match") == "*" && it != nil {
			http.Error(w, "exists", http.StatusPreconditionFailed)
			return
		}
		if m := r.Header.Get("If-Match"); m != "" && (it == nil || m != it.ETag && m != "*") {
			http.Error(w, "etag mismatch", http.StatusPreconditionFailed)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
		if err != nil {
			return
		}
		ct := r.Header.Get("Content-Type")
		mt, _, _ := mime.ParseMediaType(ct)
		if want, ok := contentTypes[c.kind]; ok {
			if !slices.Contains(want.types, strings.ToLower(mt)) {
				http.Error(w, fmt.Sprintf("folder type %s does not take %s", c.kind, mt), http.StatusUnsupportedMediaType)
				return
			}
			if !bytes.Contains(bytes.ToUpper(body), []byte(want.begin)) {
				http.Error(w, fmt.Sprintf("folder type %s needs %s", c.kind, want.begin), http.StatusForbidden)
				return
			}
		}
		sum := sha256.Sum256(body)
		etag := `"` + hex.EncodeToString(sum[:8]) + `"`
		status := http.StatusCreated
		updates := 0
		if it != nil {
			status = http.StatusNoContent
			updates = it.Updates + 1
		}
		c.items[name] = &DAVItem{ContentType: ct, Body: body, ETag: etag, Updates: updates}
		w.Header().Set("ETag", etag)
		w.WriteHeader(status)
	case http.MethodDelete:
		if it == nil {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		delete(c.items, name)
		w.WriteHeader(http.StatusNoContent)
	case "PROPFIND":
		if it == nil {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		var b msBuilder
		b.open(collHref(email, folder) + url.PathEscape(name))
		fmt.Fprintf(&b.buf, "<D:resourcetype/><D:getetag>%s</D:getetag><D:getcontenttype>%s</D:getcontenttype>", esc(it.ETag), esc(it.ContentType))
		b.close()
		b.write(w)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// msBuilder writes a 207 multistatus (RFC 4918 §13).
type msBuilder struct{ buf bytes.Buffer }

func (b *msBuilder) open(href string) {
	if b.buf.Len() == 0 {
		b.buf.WriteString(`<?xml version="1.0" encoding="utf-8"?>` +
			`<D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CR="urn:ietf:params:xml:ns:carddav">`)
	}
	fmt.Fprintf(&b.buf, "<D:response><D:href>%s</D:href><D:propstat><D:prop>", esc(href))
}

func (b *msBuilder) close() {
	b.buf.WriteString("</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>")
}

func (b *msBuilder) collection(href, name, kind string) {
	b.open(href)
	rt := "<D:collection/>"
	comp := ""
	switch kind {
	case "C":
		rt += "<CR:addressbook/>"
	case "E", "T", "J":
		rt += "<C:calendar/>"
		comp = map[string]string{"E": "VEVENT", "T": "VTODO", "J": "VJOURNAL"}[kind]
	}
	fmt.Fprintf(&b.buf, "<D:resourcetype>%s</D:resourcetype><D:displayname>%s</D:displayname>", rt, esc(name))
	if comp != "" {
		fmt.Fprintf(&b.buf, `<C:supported-calendar-component-set><C:comp name="%s"/></C:supported-calendar-component-set>`, comp)
	}
	b.close()
}

func (b *msBuilder) write(w http.ResponseWriter) {
	b.buf.WriteString("</D:multistatus>")
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(http.StatusMultiStatus)
	w.Write(b.buf.Bytes())
}
