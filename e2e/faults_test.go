package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/icewarp/icewarptest"
)

// cutter is a TCP proxy in front of the emulator's IMAP port that breaks
// every nth APPEND: either mid-literal (the server never sees the whole
// message) or after the server stored it but before its tagged OK reaches
// the client (the answer is lost on the way back: the importer must not
// append the message a second time).
type cutter struct {
	ln     net.Listener
	target string
	every  int
	lost   bool // drop the answer instead of cutting the request

	mu      sync.Mutex
	appends int
	cuts    int
}

func startCutter(t *testing.T, target string, every int, lost bool) *cutter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &cutter{ln: ln, target: target, every: every, lost: lost}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go c.serve(conn)
		}
	}()
	return c
}

func (c *cutter) addr() string { return c.ln.Addr().String() }

func (c *cutter) cutCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cuts
}

// decide counts one APPEND and reports whether this one is cut.
func (c *cutter) decide() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.appends++
	if c.appends%c.every == 0 {
		c.cuts++
		return true
	}
	return false
}

func (c *cutter) serve(client net.Conn) {
	server, err := net.Dial("tcp", c.target)
	if err != nil {
		client.Close()
		return
	}
	var once sync.Once
	closeBoth := func() { once.Do(func() { client.Close(); server.Close() }) }
	defer closeBoth()
	// dropTag is set to the tag of an APPEND whose answer is to be lost.
	var mu sync.Mutex
	dropTag := ""
	go func() {
		defer closeBoth()
		buf := make([]byte, 64<<10)
		var pending []byte
		for {
			n, err := server.Read(buf)
			if n > 0 {
				pending = append(pending, buf[:n]...)
				// Forward whole lines; hold back a partial line.
				for {
					i := bytes.IndexByte(pending, '\n')
					if i < 0 {
						break
					}
					line := pending[:i+1]
					mu.Lock()
					tag := dropTag
					mu.Unlock()
					if tag != "" && bytes.HasPrefix(line, []byte(tag+" ")) {
						return // the server stored the message; the client never hears
					}
					if _, err := client.Write(line); err != nil {
						return
					}
					pending = pending[i+1:]
				}
			}
			if err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := client.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			if i := bytes.Index(bytes.ToUpper(chunk), []byte(" APPEND ")); i > 0 && c.decide() {
				if c.lost {
					line := chunk
					if j := bytes.LastIndexByte(chunk[:i], '\n'); j >= 0 {
						line = chunk[j+1:]
					}
					tag, _, _ := strings.Cut(string(line), " ")
					mu.Lock()
					dropTag = tag
					mu.Unlock()
				} else {
					server.Write(chunk[:i+len(chunk[i:])/2])
					return
				}
			}
			if _, err := server.Write(chunk); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// faultCase is one row of the fault matrix.
type faultCase struct {
	name string
	sopt *ewstest.Options    // random EWS faults on a share of all calls
	ews  []ewstest.Fault     // queued EWS faults
	iw   []icewarptest.Fault // queued IceWarp faults (admin API, WebDAV)
	cut  int                 // cut every cut-th IMAP APPEND (0: none)
	lost bool                // with cut: lose the answer instead
	// minWait is the back-off the exporter must report having waited
	// (the server asked for it); 0 means no throttling was injected.
	minWait time.Duration
	// iwWait: IceWarp was told to send Retry-After; the import summary
	// must report time spent waiting.
	iwWait bool
}

func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("many full migrations")
	}
	busy := 150 * time.Millisecond
	cases := []faultCase{
		{name: "ews 5% resets and 5% busy SOAP faults", sopt: &ewstest.Options{ResetPercent: 5, BusyPercent: 5, BusyBackOff: busy, Seed: 61},
			minWait: busy},
		{name: "ews busy SOAP fault with BackOffMilliseconds", ews: []ewstest.Fault{
			{Kind: ewstest.FaultBusySOAP, Op: "GetItem", Count: 3, BackOff: busy},
			{Kind: ewstest.FaultBusySOAP, Op: "SyncFolderItems", Count: 2, BackOff: busy}}, minWait: 5 * busy},
		{name: "ews busy in body with BackOffMilliseconds", ews: []ewstest.Fault{
			{Kind: ewstest.FaultBusyInBody, Op: "GetItem", Count: 3, BackOff: busy},
			{Kind: ewstest.FaultBusyInBody, Op: "SyncFolderItems", Count: 2, BackOff: busy}}, minWait: 5 * busy},
		{name: "ews http 503 with Retry-After", ews: []ewstest.Fault{
			{Kind: ewstest.Fault503, Op: "GetItem", Count: 2, BackOff: time.Second}}, minWait: 2 * time.Second},
		{name: "ews inner ErrorServerBusy without hint", ews: []ewstest.Fault{
			{Kind: ewstest.FaultInnerBusy, Op: "GetItem", Count: 3}}},
		{name: "ews connection resets", ews: []ewstest.Fault{
			{Kind: ewstest.FaultReset, Count: 3}, {Kind: ewstest.FaultResetMidBody, Op: "GetItem", Count: 2}}},
		{name: "ews invalid sync state", ews: []ewstest.Fault{
			{Kind: ewstest.FaultInvalidSyncState, Op: "SyncFolderItems", Count: 3}}},
		{name: "ews per-item conversion errors", ews: []ewstest.Fault{
			{Kind: ewstest.FaultMimeConversion, Count: 2}, {Kind: ewstest.FaultItemCorrupt, Count: 2}}},
		{name: "ews illegal xml characters", ews: []ewstest.Fault{
			{Kind: ewstest.FaultIllegalChars, Count: 4}}},
		{name: "ews truncated data", ews: []ewstest.Fault{
			{Kind: ewstest.FaultTruncated, Op: "GetItem", Count: 3}}},
		{name: "imap disconnect mid-APPEND on 5%", cut: 20},
		{name: "imap APPEND answer lost on 5%", cut: 20, lost: true},
		{name: "admin api 503 and resets", iw: []icewarptest.Fault{
			{Command: "createaccount", HTTPStatus: 503, RetryAfter: 1, Times: 2},
			{Command: "getaccountproperties", Reset: true, Times: 2},
			{Command: "setaccountproperties", HTTPStatus: 500, Times: 1}}, iwWait: true},
		{name: "admin api answer lost after createaccount", iw: []icewarptest.Fault{
			{Command: "createaccount", Reset: true, AfterApply: true, Times: 2}}},
		{name: "admin api error uid", iw: []icewarptest.Fault{
			{Command: "createaccount", ErrorUID: "account_create_failed", Times: 1}}},
		{name: "webdav 5xx", iw: []icewarptest.Fault{
			{Command: "webdav PUT", HTTPStatus: 503, RetryAfter: 1, Times: 2},
			{Command: "webdav PUT", HTTPStatus: 500, Times: 2},
			{Command: "webdav PUT", Reset: true, AfterApply: true, Times: 1}}, iwWait: true},
	}
	total := struct{ ewsFaults, iwFaults, cuts, runs, reruns, failed int }{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if t.Failed() {
					total.failed++
				}
			}()
			b := newBed(t, ewstest.OrgOptions{Users: 3, MessagesPerFolder: 10, Contacts: 3, Tasks: 2}, tc.sopt)
			for _, f := range tc.ews {
				b.ews.Inject(f)
			}
			for _, f := range tc.iw {
				b.iw.Inject(f)
			}
			imapAddr := b.iw.IMAPAddr()
			var cut *cutter
			if tc.cut > 0 {
				cut = startCutter(t, imapAddr, tc.cut, tc.lost)
				imapAddr = cut.addr()
			}
			hinted := 0
			for round := 1; round <= 2; round++ {
				if round > 1 {
					b.ews.NextRound(int64(round))
					for _, f := range tc.ews { // the same faults again in round 2
						b.ews.Inject(f)
					}
				}
				var waited time.Duration
				reruns := b.untilDone(t, "export", func(run int) (string, error) {
					sum := filepath.Join(b.dir, fmt.Sprintf("export-%d-%d.json", round, run))
					defer func() { waited += summaryWaited(t, sum, false) }()
					out, err := b.export("--summary-json", sum)
					hinted += strings.Count(out, "server_hint=true")
					return out, err
				})
				total.reruns += reruns
				total.runs++
				b.assertArchiveMatchesOrg(t)
				if tc.minWait > 0 && waited < tc.minWait {
					t.Errorf("round %d: export summaries report %v waiting on server back-off, want at least %v", round, waited, tc.minWait)
				}
				var iwaited time.Duration
				reruns = b.untilDone(t, "import", func(run int) (string, error) {
					sum := filepath.Join(b.dir, fmt.Sprintf("import-%d-%d.json", round, run))
					defer func() {
						if tc.iwWait {
							iwaited += summaryWaited(t, sum, true)
						}
					}()
					return b.importRun("--imap-addr", imapAddr, "--webdav-url", b.iw.WebDAVURL(), "--summary-json", sum)
				})
				total.reruns += reruns
				total.runs++
				if tc.iwWait && round == 1 && iwaited <= 0 {
					t.Errorf("round %d: import summaries report %v waiting on server back-off (Retry-After was sent)", round, iwaited)
				}
				t.Logf("round %d: export and import done", round)
				b.assertExactlyOnce(t)
			}
			// Every busy answer with a hint must be honoured: one retry
			// logged with the server's wait per hint.
			if want := b.ews.Injected(ewstest.FaultBusySOAP) + b.ews.Injected(ewstest.FaultBusyInBody) + b.ews.Injected(ewstest.Fault503); hinted < want {
				t.Errorf("%d busy answers with a back-off hint delivered, but the exporter logged only %d retries honouring a server hint", want, hinted)
			}
			for _, k := range []ewstest.FaultKind{ewstest.FaultBusySOAP, ewstest.FaultBusyInBody, ewstest.Fault503, ewstest.FaultReset,
				ewstest.FaultResetMidBody, ewstest.FaultInvalidSyncState, ewstest.FaultMimeConversion, ewstest.FaultItemCorrupt,
				ewstest.FaultIllegalChars, ewstest.FaultTruncated, ewstest.FaultInnerBusy} {
				total.ewsFaults += b.ews.Injected(k)
			}
			if tc.ews != nil && b.ews.Pending() > 0 {
				t.Errorf("%d queued EWS faults never delivered: the case tests nothing", b.ews.Pending())
			}
			if cut != nil {
				if cut.cutCount() == 0 {
					t.Error("no IMAP APPEND was cut: the case tests nothing")
				}
				total.cuts += cut.cutCount()
			}
			if tc.iw != nil {
				n := 0
				for _, f := range tc.iw {
					n += max(f.Times, 1)
				}
				total.iwFaults += n
			}
		})
	}
	t.Logf("fault matrix: %d cases (%d failed), %d EWS faults delivered, %d IceWarp faults queued, %d IMAP APPENDs cut, %d command runs that completed after %d failed runs; every passing case: 0 lost, 0 duplicated",
		len(cases), total.failed, total.ewsFaults, total.iwFaults, total.cuts, total.runs, total.reruns)
}

// untilDone reruns a command until it succeeds (at most 6 runs). A failed
// run must exit 1 or 3 with an error line or a failure summary; anything
// else (a crash, a usage error, a silent exit) fails the test. It returns
// the number of reruns.
func (b *bed) untilDone(t *testing.T, what string, run func(attempt int) (string, error)) int {
	t.Helper()
	var out string
	for i := 0; i < 6; i++ {
		var err error
		out, err = run(i)
		switch c := exitCode(err); {
		case c == 0 && !strings.Contains(out, "\nfailed "):
			return i
		case c == 1 && strings.Contains(out, "iem-"+what+": error: "):
		case c == 3 && (strings.Contains(out, "failed ") || strings.Contains(out, "skipped ")):
		default:
			t.Fatalf("%s run %d: exit %d without a clear message:\n%s", what, i+1, c, out)
		}
		if strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") {
			t.Fatalf("%s run %d panicked:\n%s", what, i+1, out)
		}
	}
	t.Fatalf("%s did not complete in 6 runs; last output:\n%s", what, out)
	return 0
}

// summaryWaited reads the back-off time a summary reports; a run that
// ended without a summary waited 0. need says the field must be present.
func summaryWaited(t *testing.T, path string, need bool) time.Duration {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatalf("summary json: %v", err)
	}
	var s struct {
		Throttled *float64 `json:"throttledSeconds"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("summary json: %v", err)
	}
	if s.Throttled == nil {
		if need {
			t.Errorf("%s has no throttledSeconds: the time spent waiting on server back-off is not reported", filepath.Base(path))
		}
		return 0
	}
	return time.Duration(*s.Throttled * float64(time.Second))
}
