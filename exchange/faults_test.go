package exchange_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/exchange"
	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/internal/retry"
)

// sampleBackOff is the BackOffMilliseconds of the ServerBusy fault sample
// [V ews.md §3.1 A EXLIB test_error_server_busy].
const sampleBackOff = 297749 * time.Millisecond

// checkHonoured asserts that the retry loop waited for the server's hint:
// the retry log line carries exactly the hint, and the gate asked for a
// sleep of at most the hint and not much less (the gate sleeps until the
// held deadline, which started when the hint arrived).
func checkHonoured(t *testing.T, e *env, hint time.Duration) {
	t.Helper()
	if !strings.Contains(e.log.String(), "wait="+hint.String()) || !strings.Contains(e.log.String(), "server_hint=true") {
		t.Errorf("log has no retry with wait=%v server_hint=true:\n%s", hint, e.log)
	}
	var best time.Duration
	for _, d := range e.sleeps.all() {
		best = max(best, d)
	}
	if best > hint || best < hint-hint/10 {
		t.Errorf("longest gate sleep = %v, want about the server's %v (sleeps %v)", best, hint, e.sleeps.all())
	}
}

// readMIME is a GetItems callback that reads each item's MIME and hands
// broken streams back (so GetItems refetches), counting calls per id.
type readMIME struct {
	calls map[string]int
	mime  map[string][]byte
	errs  map[string]error
}

func newReadMIME() *readMIME {
	return &readMIME{calls: map[string]int{}, mime: map[string][]byte{}, errs: map[string]error{}}
}

func (r *readMIME) fn(it *exchange.Item) error {
	r.calls[it.ID.ID]++
	if it.Err != nil {
		r.errs[it.ID.ID] = it.Err
		return nil
	}
	b, err := io.ReadAll(it.MIME)
	if err != nil {
		return err
	}
	r.mime[it.ID.ID] = b
	return nil
}

func noRetry(t *testing.T, e *env) {
	t.Helper()
	if strings.Contains(e.log.String(), "retrying") {
		t.Errorf("the client retried:\n%s", e.log)
	}
}

func TestFaults(t *testing.T) {
	type tc struct {
		name  string
		fault ewstest.Fault
		run   func(t *testing.T, e *env)
	}
	syncInbox := func(t *testing.T, e *env) {
		ids, state := syncIDs(t, e.c, alice, "inbox")
		if len(ids) != 4 || state == "" {
			t.Errorf("sync after fault: %d ids, state %q; want 4 and a state", len(ids), state)
		}
	}
	hierarchy := func(t *testing.T, e *env) {
		ch, _, err := e.c.SyncFolderHierarchy(context.Background(), alice, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range ch {
			if strings.ContainsFunc(c.Folder.DisplayName, func(r rune) bool { return r < 0x20 }) {
				t.Errorf("folder name %q has control characters", c.Folder.DisplayName)
			}
		}
		if len(ch) < 12 {
			t.Errorf("%d folders after fault, want >= 12", len(ch))
		}
	}
	fetchInbox := func(t *testing.T, e *env) *readMIME {
		ids, _ := syncIDs(t, e.c, alice, "inbox")
		r := newReadMIME()
		if err := e.c.GetItems(context.Background(), alice, ids, exchange.KindMail, r.fn); err != nil {
			t.Fatalf("GetItems: %v", err)
		}
		for _, id := range ids {
			if r.errs[id.ID] != nil {
				continue
			}
			if !bytes.Equal(r.mime[id.ID], e.org.MIME(id.ID)) {
				t.Errorf("MIME of %s = %d bytes, want %d", id.ID, len(r.mime[id.ID]), len(e.org.MIME(id.ID)))
			}
		}
		return r
	}
	itemError := func(code string) func(t *testing.T, e *env) {
		return func(t *testing.T, e *env) {
			r := fetchInbox(t, e)
			if len(r.errs) != 1 {
				t.Fatalf("item errors = %v, want exactly one %s", r.errs, code)
			}
			for id, err := range r.errs {
				var ee *exchange.Error
				if !errors.As(err, &ee) || ee.Code != code {
					t.Errorf("item %s: Err = %v, want *Error %s", id, err, code)
				}
				if r.calls[id] != 1 {
					t.Errorf("item %s delivered %d times", id, r.calls[id])
				}
			}
			if len(r.mime) != 3 {
				t.Errorf("%d items with MIME, want 3", len(r.mime))
			}
		}
	}
	tests := []tc{
		{"busy-soap-fault", ewstest.Fault{Kind: ewstest.FaultBusySOAP, Op: "SyncFolderItems", BackOff: sampleBackOff}, func(t *testing.T, e *env) {
			syncInbox(t, e)
			checkHonoured(t, e, sampleBackOff)
		}},
		{"busy-in-body-sync", ewstest.Fault{Kind: ewstest.FaultBusyInBody, Op: "SyncFolderItems", BackOff: 5000 * time.Millisecond}, func(t *testing.T, e *env) {
			syncInbox(t, e)
			checkHonoured(t, e, 5000*time.Millisecond)
		}},
		{"busy-in-body-getitem", ewstest.Fault{Kind: ewstest.FaultBusyInBody, Op: "GetItem", BackOff: 5000 * time.Millisecond}, func(t *testing.T, e *env) {
			r := fetchInbox(t, e)
			if len(r.errs) != 0 || len(r.mime) != 4 {
				t.Errorf("after in-body busy: %d MIME, errors %v; want 4, none", len(r.mime), r.errs)
			}
			for id, n := range r.calls {
				if n != 1 {
					t.Errorf("item %s delivered %d times", id, n)
				}
			}
			checkHonoured(t, e, 5000*time.Millisecond)
		}},
		{"http-503-retry-after", ewstest.Fault{Kind: ewstest.Fault503, Op: "GetFolder", BackOff: 2 * time.Second}, func(t *testing.T, e *env) {
			f, err := e.c.GetFolder(context.Background(), alice, "inbox")
			if err != nil || f.DisplayName != "Inbox" {
				t.Errorf("GetFolder after 503 = %+v, %v", f, err)
			}
			checkHonoured(t, e, 2*time.Second)
		}},
		{"connection-reset", ewstest.Fault{Kind: ewstest.FaultReset, Op: "SyncFolderItems", Count: 2}, func(t *testing.T, e *env) {
			syncInbox(t, e)
			if n := len(e.sleeps.all()); n < 2 {
				t.Errorf("%d back-off sleeps after 2 resets, want >= 2", n)
			}
		}},
		{"reset-mid-mime", ewstest.Fault{Kind: ewstest.FaultResetMidBody, Op: "GetItem"}, func(t *testing.T, e *env) {
			r := fetchInbox(t, e)
			if len(r.errs) != 0 || len(r.mime) != 4 {
				t.Errorf("after mid-body reset: %d MIME, errors %v", len(r.mime), r.errs)
			}
			refetched := 0
			for _, n := range r.calls {
				if n > 2 {
					t.Errorf("item delivered %d times", n)
				}
				refetched += n - 1
			}
			if refetched != 1 {
				t.Errorf("%d items delivered again, want the one broken item (calls %v)", refetched, r.calls)
			}
		}},
		{"invalid-sync-state", ewstest.Fault{Kind: ewstest.FaultInvalidSyncState}, func(t *testing.T, e *env) {
			const in = "H4sIAAAAAAAA/wEAAP//AAAAAAAAAAA="
			state, err := e.c.SyncFolderItems(context.Background(), alice, "inbox", in, func(exchange.ItemChange) error {
				t.Error("change delivered with an invalid state")
				return nil
			})
			if !errors.Is(err, exchange.ErrInvalidSyncState) {
				t.Fatalf("SyncFolderItems = %v, want ErrInvalidSyncState", err)
			}
			var ee *exchange.Error
			if !errors.As(err, &ee) || ee.Code != exchange.CodeInvalidSyncStateData {
				t.Errorf("err = %#v, want *Error %s", err, exchange.CodeInvalidSyncStateData)
			}
			if state != in {
				t.Errorf("state after error = %q, want the input state", state)
			}
			syncInbox(t, e) // restarting without state works
		}},
		{"mime-conversion-failed", ewstest.Fault{Kind: ewstest.FaultMimeConversion}, itemError(exchange.CodeMimeConversionFailed)},
		{"item-corrupt", ewstest.Fault{Kind: ewstest.FaultItemCorrupt}, itemError(exchange.CodeItemCorrupt)},
		{"illegal-chars-hierarchy", ewstest.Fault{Kind: ewstest.FaultIllegalChars, Op: "SyncFolderHierarchy"}, func(t *testing.T, e *env) {
			hierarchy(t, e)
			noRetry(t, e) // filtered, not refetched
		}},
		{"illegal-chars-getitem", ewstest.Fault{Kind: ewstest.FaultIllegalChars, Op: "GetItem"}, func(t *testing.T, e *env) {
			ids, _ := syncIDs(t, e.c, alice, "inbox")
			var subjects []string
			err := e.c.GetItems(context.Background(), alice, ids, exchange.KindContact, func(it *exchange.Item) error {
				if it.Err != nil {
					return it.Err
				}
				subjects = append(subjects, it.Subject)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range subjects {
				if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 }) {
					t.Errorf("subject %q: empty or with control characters", s)
				}
			}
			noRetry(t, e)
		}},
		{"inner-busy-sync", ewstest.Fault{Kind: ewstest.FaultInnerBusy, Op: "SyncFolderItems"}, func(t *testing.T, e *env) {
			syncInbox(t, e)
			if !strings.Contains(e.log.String(), "retrying") {
				t.Errorf("no retry logged:\n%s", e.log)
			}
		}},
		{"inner-busy-getitem", ewstest.Fault{Kind: ewstest.FaultInnerBusy, Op: "GetItem", Count: 2}, func(t *testing.T, e *env) {
			r := fetchInbox(t, e)
			if len(r.errs) != 0 || len(r.mime) != 4 {
				t.Errorf("after inner busy: %d MIME, errors %v", len(r.mime), r.errs)
			}
		}},
		{"truncated-tree", ewstest.Fault{Kind: ewstest.FaultTruncated, Op: "SyncFolderHierarchy"}, hierarchy},
		{"truncated-mime", ewstest.Fault{Kind: ewstest.FaultTruncated, Op: "GetItem"}, func(t *testing.T, e *env) {
			r := fetchInbox(t, e)
			if len(r.errs) != 0 || len(r.mime) != 4 {
				t.Errorf("after truncation: %d MIME, errors %v", len(r.mime), r.errs)
			}
		}},
	}
	for _, p := range ewstest.Personalities {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					e := start(t, p, nil, nil, nil)
					// Warm up (version detection) before the fault.
					if _, err := e.c.RequestVersion(context.Background()); err != nil {
						t.Fatal(err)
					}
					e.srv.Inject(tt.fault)
					tt.run(t, e)
					if got := e.srv.Injected(tt.fault.Kind); got == 0 {
						t.Errorf("fault %v was never delivered", tt.fault.Kind)
					}
					if e.srv.Pending() != 0 {
						t.Errorf("%d faults still pending", e.srv.Pending())
					}
				})
			}
		})
	}
}

func TestItemNotFound(t *testing.T) {
	e := start(t, ewstest.Exchange2010SP2, nil, nil, nil)
	ids, _ := syncIDs(t, e.c, alice, "inbox")
	gone := exchange.ItemID{ID: "AAMkADdeletedBetweenSyncAndGet", ChangeKey: "CQAAAA=="}
	ids = append(ids[:2:2], append([]exchange.ItemID{gone}, ids[2:]...)...)
	var order []string
	r := newReadMIME()
	err := e.c.GetItems(context.Background(), alice, ids, exchange.KindMail, func(it *exchange.Item) error {
		order = append(order, it.ID.ID)
		return r.fn(it)
	})
	if err != nil {
		t.Fatal(err)
	}
	var ee *exchange.Error
	if !errors.As(r.errs[gone.ID], &ee) || ee.Code != exchange.CodeItemNotFound {
		t.Errorf("Err of deleted item = %v, want %s", r.errs[gone.ID], exchange.CodeItemNotFound)
	}
	if len(r.mime) != 4 {
		t.Errorf("%d items with MIME, want 4", len(r.mime))
	}
	// fn is called once per id, in order.
	for i, id := range ids {
		if i >= len(order) || order[i] != id.ID {
			t.Fatalf("callback order = %q, want the ids' order", order)
		}
	}
}

// TestMIMEFallbackProperties checks that an item whose MIME conversion
// failed comes with its properties for a rebuild [V ews.md §2.7 DAVMAIL].
func TestMIMEFallbackProperties(t *testing.T) {
	e := start(t, ewstest.Exchange2016, nil, nil, nil)
	ids, _ := syncIDs(t, e.c, alice, "inbox")
	e.srv.Inject(ewstest.Fault{Kind: ewstest.FaultMimeConversion})
	var failed *exchange.Item
	err := e.c.GetItems(context.Background(), alice, ids[:1], exchange.KindMail, func(it *exchange.Item) error {
		failed = it
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if failed == nil || failed.Err == nil || failed.MIME != nil {
		t.Fatalf("item = %+v, want Err and no MIME", failed)
	}
	if failed.Subject == "" || !bytes.Contains(failed.XML, []byte("<t:Body")) || failed.ID != ids[0] {
		t.Errorf("failed item lacks its properties: subject %q, XML %.80q", failed.Subject, failed.XML)
	}
}

// TestThrottleIsGlobal: a back-off reported to one client delays another
// client sharing the gate [V ews.md §3.3 DAVMAIL global gate].
func TestThrottleIsGlobal(t *testing.T) {
	e := start(t, ewstest.Exchange2013, nil, nil, nil)
	other, err := exchange.New(exchange.Options{URL: e.srv.URL(), Username: e.srv.Username(), Password: e.srv.Password(),
		TrustCert: e.srv.Fingerprint(), Gate: e.gate, Retry: retry.Policy{Sleep: e.sleeps.sleep}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.RequestVersion(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.srv.Inject(ewstest.Fault{Kind: ewstest.FaultBusySOAP, BackOff: sampleBackOff})
	if _, err := e.c.GetFolder(context.Background(), alice, "inbox"); err != nil {
		t.Fatal(err)
	}
	n := len(e.sleeps.all())
	if _, err := other.GetFolder(context.Background(), "bob@example.com", "inbox"); err != nil {
		t.Fatal(err)
	}
	sl := e.sleeps.all()
	if len(sl) != n+1 || sl[n] <= sampleBackOff/2 || sl[n] > sampleBackOff {
		t.Errorf("other client's sleeps = %v, want one wait of about %v", sl[n:], sampleBackOff)
	}
}

// TestRetriesExhausted: a server that stays busy yields a typed error
// after Policy.Attempts.
func TestRetriesExhausted(t *testing.T) {
	e := start(t, ewstest.Exchange2016, nil, nil, func(o *exchange.Options) { o.Retry.Attempts = 3 })
	if _, err := e.c.RequestVersion(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.srv.Inject(ewstest.Fault{Kind: ewstest.FaultBusySOAP, Count: 5})
	_, err := e.c.GetFolder(context.Background(), alice, "inbox")
	var ee *exchange.Error
	if !errors.Is(err, retry.ErrExhausted) || !errors.As(err, &ee) || ee.Code != exchange.CodeServerBusy || !ee.Fault || ee.BackOff != 20*time.Millisecond {
		t.Fatalf("GetFolder = %v, want ErrExhausted with a ServerBusy fault of 20ms", err)
	}
	if got := e.srv.Injected(ewstest.FaultBusySOAP); got != 3 {
		t.Errorf("%d attempts, want 3", got)
	}
}

// TestChaos runs a whole mailbox pass with random resets and busy faults.
func TestChaos(t *testing.T) {
	e := start(t, ewstest.Exchange2010SP2, nil, &ewstest.Options{ResetPercent: 15, BusyPercent: 15, Seed: 3},
		func(o *exchange.Options) { o.Retry.Attempts = 30 })
	changes, _, err := e.c.SyncFolderHierarchy(context.Background(), alice, "")
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, ch := range changes {
		if ch.Folder.Class != "IPF.Note" {
			continue
		}
		ids, _ := syncIDs(t, e.c, alice, ch.Folder.ID)
		mimes, errs := collectMIME(t, e.c, alice, ids)
		if len(errs) != 0 || len(mimes) != len(ids) {
			t.Errorf("%s: %d MIME for %d ids, errors %v", ch.Folder.DisplayName, len(mimes), len(ids), errs)
		}
		total += len(mimes)
	}
	if total == 0 || e.srv.Injected(ewstest.FaultReset) == 0 || e.srv.Injected(ewstest.FaultBusySOAP) == 0 {
		t.Errorf("%d items, %d resets, %d busy: chaos did not happen", total, e.srv.Injected(ewstest.FaultReset), e.srv.Injected(ewstest.FaultBusySOAP))
	}
}

// TestFirstRequestFault: a fault on the very first request (version
// detection) is retried like any other.
func TestFirstRequestFault(t *testing.T) {
	for _, k := range []ewstest.FaultKind{ewstest.FaultBusySOAP, ewstest.Fault503, ewstest.FaultReset, ewstest.FaultTruncated, ewstest.FaultIllegalChars} {
		t.Run(k.String(), func(t *testing.T) {
			e := start(t, ewstest.Exchange2007SP1, nil, nil, nil)
			e.srv.Inject(ewstest.Fault{Kind: k})
			v, err := e.c.RequestVersion(context.Background())
			if err != nil || v != exchange.Exchange2007SP1 {
				t.Errorf("RequestVersion = %v, %v; want Exchange2007_SP1", v, err)
			}
			if e.srv.Injected(k) != 1 {
				t.Errorf("fault delivered %d times, want 1", e.srv.Injected(k))
			}
		})
	}
}
