// Package ewstest is an in-process Exchange Web Services emulator for
// tests and demos: an HTTPS server (httptest.NewTLSServer) serving a
// generated organisation ([Generate]) with the version personalities of
// Exchange 2007 SP1, 2010 SP2, 2013 and 2016, opaque gzip+base64 sync
// states, change rounds ([Org.Mutate]), fault injection ([Server.Inject])
// and a log of the requests received ([Server.RequestLog]), so tests can
// check what a client put on the wire.
//
// Every response shape follows a sample in shared/research/ews.md and
// cites it in a comment ([V MSDOCS ...], [V EXLIB ...]); shapes that are
// inferred are marked [I]. It implements the operations an export needs:
// GetFolder, FindFolder, SyncFolderHierarchy, SyncFolderItems, FindItem and
// GetItem, with Basic (and optionally NTLM) authentication and
// ExchangeImpersonation.
package ewstest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/iemproject/iem/internal/xmltree"
)

// Personality selects the Exchange version the server imitates.
type Personality int

// Personalities.
const (
	Exchange2007SP1 Personality = iota + 1
	Exchange2010SP2
	Exchange2013
	Exchange2016
)

func (p Personality) String() string {
	switch p {
	case Exchange2007SP1:
		return "Exchange2007_SP1"
	case Exchange2010SP2:
		return "Exchange2010_SP2"
	case Exchange2013:
		return "Exchange2013"
	case Exchange2016:
		return "Exchange2016"
	}
	panic(fmt.Sprintf("ewstest: unknown Personality %d", int(p)))
}

// Personalities lists all personalities, oldest first.
var Personalities = []Personality{Exchange2007SP1, Exchange2010SP2, Exchange2013, Exchange2016}

// ServerVersionInfo values [V ews.md §1.1 table: VIEWPOINT find_folder_response.xml
// (2007), PYEX (2010 SP2 14.2.328.11, no Version), MSDOCS (2013 V2_x),
// VIEWPOINT dodgy_ews_response.xml (2016 15.1.761.16 V2016_10_10)]. The
// exact 2013 build/Version pair is [I].
func (p Personality) info() (major, minor, mbuild, nbuild int, version string) {
	switch p {
	case Exchange2007SP1:
		return 8, 1, 240, 6, ""
	case Exchange2010SP2:
		return 14, 2, 328, 11, ""
	case Exchange2013:
		return 15, 0, 1497, 2, "V2_23"
	}
	return 15, 1, 761, 16, "V2016_10_10"
}

// requestVersions are the RequestServerVersion values each personality
// accepts, in order [V ews.md §1.1 requestserverversion.md].
var requestVersions = []string{"Exchange2007", "Exchange2007_SP1", "Exchange2010", "Exchange2010_SP1", "Exchange2010_SP2", "Exchange2013", "Exchange2013_SP1", "Exchange2016"}

func (p Personality) maxRequest() int {
	switch p {
	case Exchange2007SP1:
		return 1
	case Exchange2010SP2:
		return 4
	case Exchange2013:
		return 6
	}
	return 7
}

// TestPassword is the admin password of the emulator unless
// Options.Password says otherwise.
const TestPassword = "Adm1n-Test-Pa55!"

// Options configure a server. Zero fields mean defaults.
type Options struct {
	Personality Personality // default Exchange2016
	Username    string      // admin account (default "EXAMPLE\\admin"; the UPN admin@<domain> works too)
	Password    string      // default TestPassword
	// ResetPercent and BusyPercent make that share of requests end in a
	// connection reset or an ErrorServerBusy SOAP fault (with BusyBackOff),
	// chosen with a PRNG seeded by Seed.
	ResetPercent, BusyPercent int
	BusyBackOff               time.Duration // default 20ms
	Seed                      uint64
	// NTLM offers and accepts NTLM (NTLMv2) besides Basic; the handshake
	// authenticates the connection [V ews.md §1.2].
	NTLM bool
	// RequireAnchor rejects impersonated requests without a matching
	// X-AnchorMailbox header (default on for 2013 and 2016)
	// [V ews.md §2.1 impersonation-and-ews-in-exchange.md].
	RequireAnchor *bool
}

// FaultKind is a kind of injected fault.
type FaultKind int

// Fault kinds.
const (
	// FaultBusySOAP: HTTP 500 SOAP fault ErrorServerBusy with
	// BackOffMilliseconds [V ews.md §3.1 A EXLIB test_error_server_busy].
	FaultBusySOAP FaultKind = iota + 1
	// FaultBusyInBody: HTTP 200, ResponseClass=Error ErrorServerBusy with
	// BackOffMilliseconds in MessageXml [V ews.md §3.1 B EWSRS soap.rs].
	FaultBusyInBody
	// Fault503: HTTP 503 with Retry-After set to the fault's BackOff in
	// whole seconds (0 by default) [V ews.md §3.2 Table 4; §3.3 EXLIB
	// "honours Retry-After"].
	Fault503
	// FaultReset: the connection is reset before any response.
	FaultReset
	// FaultResetMidBody: a GetItem MIME response is cut by a connection
	// reset in the middle of the MimeContent.
	FaultResetMidBody
	// FaultInvalidSyncState: SyncFolderItems answers ErrorInvalidSyncStateData
	// [V ews.md §2.5 syncfolderitems-operation.md].
	FaultInvalidSyncState
	// FaultMimeConversion: the next GetItem-with-MIME item fails with
	// ErrorMimeContentConversionFailed [V ews.md §2.7 responsecode.md].
	FaultMimeConversion
	// FaultItemCorrupt: the next GetItem-with-MIME item fails with ErrorItemCorrupt.
	FaultItemCorrupt
	// FaultIllegalChars: texts in the next response carry &#x1; and other
	// illegal references [V ews.md §1.2 VIEWPOINT dodgy_ews_response.xml].
	FaultIllegalChars
	// FaultTruncated: the next response is cut off and ends with
	// "=== Truncated Data ===" [V ews.md §2.7 how-to-export-items-by-using-ews-in-exchange.md].
	FaultTruncated
	// FaultInnerBusy: HTTP 200, ResponseClass=Error ErrorInternalServerError
	// whose MessageXml names the inner code ErrorServerBusy, without a
	// back-off hint [V ews.md §3.1 C EXLIB test_inner_error_parsing for
	// the shape; §3.2 Table 4 "200 + ErrorInternalServerError with inner
	// ErrorServerBusy"].
	FaultInnerBusy
)

var faultNames = map[FaultKind]string{
	FaultBusySOAP: "busy-soap", FaultBusyInBody: "busy-in-body", Fault503: "http-503", FaultReset: "reset",
	FaultResetMidBody: "reset-mid-body", FaultInvalidSyncState: "invalid-sync-state", FaultMimeConversion: "mime-conversion",
	FaultItemCorrupt: "item-corrupt", FaultIllegalChars: "illegal-chars", FaultTruncated: "truncated",
	FaultInnerBusy: "inner-busy",
}

func (k FaultKind) String() string {
	if n, ok := faultNames[k]; ok {
		return n
	}
	panic(fmt.Sprintf("ewstest: unknown FaultKind %d", int(k)))
}

// Fault is one injected fault. It applies to the next Count (default 1)
// requests of operation Op ("" = any operation).
type Fault struct {
	Kind    FaultKind
	Op      string
	Count   int
	BackOff time.Duration // for the busy kinds (default 20ms)
}

// Server is a running emulator.
type Server struct {
	Org *Org
	ts  *httptest.Server
	opt Options

	mu       sync.Mutex
	faults   []Fault
	requests map[string]int
	injected map[FaultKind]int
	anchors  int
	logins   map[string]int
	rng      *rand.Rand
	log      []Request
}

// Request is one request as the server received it, for tests that check
// what a client put on the wire.
type Request struct {
	Op     string      // operation element, e.g. "SyncFolderItems"
	Header http.Header // HTTP headers (Authorization removed)
	Body   []byte      // the SOAP envelope
}

// maxRequestSize bounds a request body; EWS requests of an export are
// small (IIS' own limit is tens of MB [V ews.md §6.2 maxAllowedContentLength]).
const maxRequestSize = 4 << 20

// maxLog bounds the request log; older requests are dropped.
const maxLog = 4096

// Start starts an HTTPS emulator for org on 127.0.0.1. opt may be nil.
func Start(org *Org, opt *Options) (*Server, error) {
	if org == nil {
		return nil, errors.New("ewstest: nil org")
	}
	var o Options
	if opt != nil {
		o = *opt
	}
	if o.Personality == 0 {
		o.Personality = Exchange2016
	}
	if o.Username == "" {
		o.Username = `EXAMPLE\admin`
	}
	if o.Password == "" {
		o.Password = TestPassword
	}
	if o.BusyBackOff <= 0 {
		o.BusyBackOff = 20 * time.Millisecond
	}
	if o.RequireAnchor == nil {
		req := o.Personality >= Exchange2013
		o.RequireAnchor = &req
	}
	s := &Server{Org: org, opt: o, requests: map[string]int{}, injected: map[FaultKind]int{}, logins: map[string]int{}, rng: rand.New(rand.NewPCG(o.Seed, 99))}
	s.ts = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.ts.EnableHTTP2 = false
	s.ts.Config.ConnContext = connContext
	s.ts.StartTLS()
	return s, nil
}

// URL returns the EWS endpoint, https://127.0.0.1:port/EWS/Exchange.asmx.
func (s *Server) URL() string { return s.ts.URL + "/EWS/Exchange.asmx" }

// Close stops the server.
func (s *Server) Close() { s.ts.Close() }

// Certificate returns the server's DER certificate.
func (s *Server) Certificate() []byte { return s.ts.Certificate().Raw }

// Fingerprint returns the certificate pin, "sha256:<hex>".
func (s *Server) Fingerprint() string {
	sum := sha256.Sum256(s.Certificate())
	return "sha256:" + hex.EncodeToString(sum[:])
}

// CertPEM returns the certificate in PEM form (for other clients' CA bundles).
func (s *Server) CertPEM() []byte {
	b64 := base64.StdEncoding.EncodeToString(s.Certificate())
	var b strings.Builder
	b.WriteString("-----BEGIN CERTIFICATE-----\n")
	for len(b64) > 64 {
		b.WriteString(b64[:64] + "\n")
		b64 = b64[64:]
	}
	b.WriteString(b64 + "\n-----END CERTIFICATE-----\n")
	return []byte(b.String())
}

// Username and Password return the admin credentials.
func (s *Server) Username() string { return s.opt.Username }
func (s *Server) Password() string { return s.opt.Password }

// Personality returns the server's personality.
func (s *Server) Personality() Personality { return s.opt.Personality }

// Inject queues a fault.
func (s *Server) Inject(f Fault) {
	if f.Count <= 0 {
		f.Count = 1
	}
	if f.BackOff <= 0 {
		f.BackOff = 20 * time.Millisecond
	}
	s.mu.Lock()
	s.faults = append(s.faults, f)
	s.mu.Unlock()
}

// NextRound mutates the organisation (see Org.Mutate).
func (s *Server) NextRound(seed int64) { s.Org.Mutate(seed) }

// Requests returns how many requests of op were received ("" = all).
func (s *Server) Requests(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[op]
}

// RequestLog returns the requests of op received so far ("" = all), oldest
// first (at most the last few thousand are kept).
func (s *Server) RequestLog(op string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.log {
		if op == "" || r.Op == op {
			out = append(out, r)
		}
	}
	return out
}

// Injected returns how many faults of kind k were delivered.
func (s *Server) Injected(k FaultKind) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.injected[k]
}

// Pending returns how many queued faults were not delivered yet.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, f := range s.faults {
		n += f.Count
	}
	return n
}

// take removes and returns a queued fault of one of kinds for op.
func (s *Server) take(op string, kinds ...FaultKind) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.faults {
		f := &s.faults[i]
		if f.Op != "" && f.Op != op {
			continue
		}
		for _, k := range kinds {
			if f.Kind == k {
				got := *f
				f.Count--
				if f.Count == 0 {
					s.faults = append(s.faults[:i], s.faults[i+1:]...)
				}
				s.injected[k]++
				return got, true
			}
		}
	}
	return Fault{}, false
}

// req is one parsed request.
type req struct {
	op          string
	body        *xmltree.Node // the operation element
	version     int           // index into requestVersions
	mailbox     *User         // impersonated mailbox, nil for the admin
	illegal     bool
	personality Personality
}

// schema2007 reports whether the request uses the 2007 schema.
func (r *req) schema2007() bool { return r.version <= 1 }

func (s *Server) serve(rw http.ResponseWriter, hr *http.Request) {
	if hr.Method != http.MethodPost || !strings.EqualFold(hr.URL.Path, "/EWS/Exchange.asmx") {
		http.NotFound(rw, hr)
		return
	}
	if !s.authenticate(rw, hr) {
		return
	}
	raw, err := io.ReadAll(io.LimitReader(hr.Body, maxRequestSize+1))
	if err != nil {
		return
	}
	if len(raw) > maxRequestSize {
		s.fault(rw, s.opt.Personality, "ErrorSchemaValidation", "The request failed schema validation: request too large.", 0)
		return
	}
	root, err := parseXML(bytes.NewReader(raw))
	if err != nil {
		s.fault(rw, s.opt.Personality, "ErrorSchemaValidation", "The request failed schema validation: "+err.Error(), 0)
		return
	}
	env := root.Child("Envelope")
	bodyEl := env.Child("Body")
	if bodyEl == nil || len(bodyEl.Children) == 0 {
		s.fault(rw, s.opt.Personality, "ErrorSchemaValidation", "The request failed schema validation: no body.", 0)
		return
	}
	r := &req{op: bodyEl.Children[0].Local, body: bodyEl.Children[0], personality: s.opt.Personality}
	hdrCopy := hr.Header.Clone()
	hdrCopy.Del("Authorization")
	s.mu.Lock()
	s.requests[r.op]++
	s.requests[""]++
	if len(s.log) >= maxLog {
		s.log = append(s.log[:0], s.log[maxLog/2:]...)
	}
	s.log = append(s.log, Request{Op: r.op, Header: hdrCopy, Body: raw})
	chaos := s.rng.IntN(100)
	s.mu.Unlock()

	// Transport-level faults first.
	if chaos < s.opt.ResetPercent {
		s.mu.Lock()
		s.injected[FaultReset]++
		s.mu.Unlock()
		reset(rw)
		return
	}
	if chaos < s.opt.ResetPercent+s.opt.BusyPercent {
		s.mu.Lock()
		s.injected[FaultBusySOAP]++
		s.mu.Unlock()
		s.busyFault(rw, s.opt.BusyBackOff)
		return
	}
	if f, ok := s.take(r.op, FaultReset, Fault503, FaultBusySOAP); ok {
		switch f.Kind {
		case FaultReset:
			reset(rw)
		case Fault503:
			// [V ews.md §3.2 Table 4: 503 = requests queuing in IIS]
			rw.Header().Set("Retry-After", strconv.Itoa(int(f.BackOff/time.Second)))
			http.Error(rw, "Service Unavailable", http.StatusServiceUnavailable)
		case FaultBusySOAP:
			s.busyFault(rw, f.BackOff)
		}
		return
	}

	// Header: version and impersonation.
	hdr := env.Child("Header")
	v := hdr.Child("RequestServerVersion").Attr("Version")
	r.version = -1
	for i, n := range requestVersions {
		if n == v {
			r.version = i
		}
	}
	if v == "" {
		r.version = 1
	}
	if r.version < 0 || r.version > s.opt.Personality.maxRequest() {
		// [V ews.md §1.1 EXLIB version.py: "The specified server version is invalid"]
		s.fault(rw, s.opt.Personality, "ErrorInvalidServerVersion", "The specified server version is invalid.", 0)
		return
	}
	if imp := hdr.Path("ExchangeImpersonation", "ConnectingSID"); imp != nil {
		addr := imp.Child("PrimarySmtpAddress").Text()
		if sa := imp.Child("SmtpAddress"); sa != nil {
			if r.schema2007() {
				// The 2007 schema has no SmtpAddress [V ews.md §2.1 learn aa581005(v=exchg.80)].
				s.fault(rw, s.opt.Personality, "ErrorSchemaValidation", "The request failed schema validation: The element 'ConnectingSID' has invalid child element 'SmtpAddress'.", 0)
				return
			}
			addr = sa.Text()
		}
		if pn := imp.Child("PrincipalName").Text(); pn != "" {
			addr = pn
		}
		r.mailbox = s.Org.Mailbox(addr)
		if r.mailbox == nil {
			// [V ews.md §3.1 A: ErrorNonExistentMailbox arrives as a fault]
			s.fault(rw, s.opt.Personality, "ErrorNonExistentMailbox", "The SMTP address has no mailbox associated with it.", 0)
			return
		}
		if *s.opt.RequireAnchor && !strings.EqualFold(hr.Header.Get("X-AnchorMailbox"), addr) {
			s.mu.Lock()
			s.anchors++
			s.mu.Unlock()
			s.fault(rw, s.opt.Personality, "ErrorInternalServerError", "X-AnchorMailbox does not match the impersonated mailbox.", 0)
			return
		}
	}
	if _, ok := s.take(r.op, FaultIllegalChars); ok {
		r.illegal = true
	}
	s.dispatch(rw, r)
}

// authenticate checks Basic credentials or, with Options.NTLM, the NTLM
// handshake of the connection. When it returns false it has answered.
func (s *Server) authenticate(rw http.ResponseWriter, hr *http.Request) bool {
	auth := hr.Header.Get("Authorization")
	if s.opt.NTLM && (strings.HasPrefix(auth, "NTLM ") || auth == "") {
		if auth == "" {
			if ca, _ := hr.Context().Value(connKey{}).(*connAuth); ca == nil || !s.connOK(ca) {
				s.unauthorized(rw, hr)
				return false
			}
			return true
		}
		// The NTLM legs carry the request body; drain it so the
		// connection stays usable for the next leg.
		ok := s.ntlm(rw, hr)
		if !ok {
			io.Copy(io.Discard, io.LimitReader(hr.Body, maxRequestSize))
		}
		return ok
	}
	user, pass, ok := hr.BasicAuth()
	if !ok || pass != s.opt.Password || !(strings.EqualFold(user, s.opt.Username) || strings.EqualFold(user, "admin@"+s.Org.Domain)) {
		s.unauthorized(rw, hr)
		return false
	}
	s.login("basic")
	return true
}

func (s *Server) login(method string) {
	s.mu.Lock()
	s.logins[method]++
	s.mu.Unlock()
}

// Logins returns how many successful logins used method: "basic" counts
// requests with valid Basic credentials, "ntlm" completed NTLM handshakes
// (each authenticates a connection).
func (s *Server) Logins(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins[method]
}

func (s *Server) connOK(ca *connAuth) bool {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	return ca.ok
}

// reset closes the connection with a TCP RST.
func reset(rw http.ResponseWriter) {
	hj, ok := rw.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	c, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := c.(interface{ NetConn() net.Conn }); ok {
		if tcp, ok := tc.NetConn().(*net.TCPConn); ok {
			tcp.SetLinger(0)
		}
	}
	c.Close()
}

// envelope writes the SOAP envelope of the personality around fn's
// response messages. 2007 answers soap: + t:ServerVersionInfo without
// Version and a default-namespace body element; 2010+ answers s: +
// h:ServerVersionInfo and m: body elements [V ews.md §1 "Prefix styles
// differ by version": VIEWPOINT find_folder_response.xml, PYEX fixtures].
func envelope(b *w, p Personality, op string, fn func()) {
	major, minor, mb, nb, ver := p.info()
	resp, open, closing := op+"Response", "<m:ResponseMessages>", "</m:ResponseMessages>"
	if name, ok := bareResponses[op]; ok {
		resp, open, closing = name, "", ""
	}
	tag, _, _ := strings.Cut(resp, " ") // resp may carry attributes

	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>`)
	if p == Exchange2007SP1 {
		b.WriteString(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Header>`)
		b.printf(`<t:ServerVersionInfo MajorVersion="%d" MinorVersion="%d" MajorBuildNumber="%d" MinorBuildNumber="%d" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"/>`, major, minor, mb, nb)
		b.WriteString(`</soap:Header><soap:Body>`)
		b.WriteString(`<` + resp + ` xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns="http://schemas.microsoft.com/exchange/services/2006/messages">` + open)
		fn()
		b.WriteString(closing + `</` + tag + `></soap:Body></soap:Envelope>`)
		return
	}
	b.WriteString(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header>`)
	b.printf(`<h:ServerVersionInfo MajorVersion="%d" MinorVersion="%d" MajorBuildNumber="%d" MinorBuildNumber="%d"`, major, minor, mb, nb)
	if ver != "" {
		b.printf(` Version="%s"`, ver)
	}
	b.WriteString(` xmlns:h="http://schemas.microsoft.com/exchange/services/2006/types" xmlns="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>`)
	b.WriteString(`</s:Header><s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">`)
	b.WriteString(`<m:` + resp + ` xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">` + open)
	fn()
	b.WriteString(closing + `</m:` + tag + `></s:Body></s:Envelope>`)
}

// bareResponses names the responses of the operations that answer with
// one ResponseMessage beside their payload instead of a ResponseMessages
// list [V MS-OXWOOF 4.2 GetUserOofSettingsResponse], or as the response
// message themselves [V MS-OXWSRULES 4.4 GetInboxRulesResponse; GetDelegateResponse:
// learn.microsoft.com getdelegate-operation, its ResponseMessages written by getDelegate].
var bareResponses = map[string]string{"GetUserOofSettingsRequest": "GetUserOofSettingsResponse",
	"GetInboxRules": `GetInboxRulesResponse ResponseClass="Success"`, "GetDelegate": `GetDelegateResponse ResponseClass="Success"`}

// fault writes an HTTP 500 SOAP fault [V ews.md §3.1 A EXLIB test_error_server_busy;
// impersonation faults: issue OfficeDev/ews-managed-api#223].
func (s *Server) fault(rw http.ResponseWriter, p Personality, code, msg string, backoff time.Duration) {
	rw.Header().Set("Content-Type", "text/xml; charset=utf-8")
	rw.WriteHeader(http.StatusInternalServerError)
	b := &w{Writer: bufio.NewWriter(rw)}
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>`)
	b.printf(`<faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:%s</faultcode>`, code)
	b.WriteString(`<faultstring xml:lang="en-US">`)
	b.esc(msg)
	b.WriteString(`</faultstring><detail>`)
	b.printf("<e:ResponseCode xmlns:e=\"http://schemas.microsoft.com/exchange/services/2006/errors\">\n          %s\n        </e:ResponseCode>", code)
	b.WriteString(`<e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">`)
	b.esc(msg)
	b.WriteString(`</e:Message>`)
	if backoff > 0 {
		b.printf(`<t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><t:Value Name="BackOffMilliseconds">%d</t:Value></t:MessageXml>`, backoff.Milliseconds())
	}
	b.WriteString(`</detail></s:Fault></s:Body></s:Envelope>`)
	b.Flush()
}

func (s *Server) busyFault(rw http.ResponseWriter, d time.Duration) {
	s.fault(rw, s.opt.Personality, "ErrorServerBusy", "The server cannot service this request right now. Try again later.", d)
}

// errorMessage writes a ResponseClass="Error" message [V ews.md §3.1 B, D].
func errorMessage(b *w, op, code, text string, backoff time.Duration, extra string) {
	b.printf(`<m:%sResponseMessage ResponseClass="Error"><m:MessageText>`, op)
	b.esc(text)
	b.printf(`</m:MessageText><m:ResponseCode>%s</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>`, code)
	if backoff > 0 {
		b.printf(`<m:MessageXml><t:Value Name="BackOffMilliseconds">%d</t:Value></m:MessageXml>`, backoff.Milliseconds())
	}
	b.WriteString(extra)
	b.printf(`</m:%sResponseMessage>`, op)
}

// truncWriter passes through limit bytes, then writes the truncation
// marker and swallows the rest.
type truncWriter struct {
	w     io.Writer
	limit int
	done  bool
}

func (t *truncWriter) Write(p []byte) (int, error) {
	if t.done {
		return len(p), nil
	}
	if len(p) <= t.limit {
		t.limit -= len(p)
		return t.w.Write(p)
	}
	t.w.Write(p[:t.limit])
	t.w.Write([]byte("=== Truncated Data ==="))
	t.done = true
	return len(p), nil
}
