package exchange_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/iemproject/iem/exchange"
	"github.com/iemproject/iem/exchange/ewstest"
)

// TestSyncResumeAfterCallbackError checks SyncFolderItems' contract: on
// error it returns the state after the last page fully passed to fn, and
// resuming from it delivers every remaining change exactly once.
func TestSyncResumeAfterCallbackError(t *testing.T) {
	e := start(t, ewstest.Exchange2013, nil, nil, nil)
	e.org.AddMessages(alice, "inbox", 1200)
	stop := errors.New("disk full")
	seen := map[string]int{}
	n := 0
	state, err := e.c.SyncFolderItems(context.Background(), alice, "inbox", "", func(ch exchange.ItemChange) error {
		if n == 700 { // in the second page
			return stop
		}
		n++
		seen[ch.ID.ID]++
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("SyncFolderItems = %v, want the callback's error", err)
	}
	if state == "" {
		t.Fatal("no state after the first page")
	}
	// Resume: the first page (512) is behind the state; the 188 seen of
	// the second page come again, which the caller must tolerate.
	again := 0
	_, err = e.c.SyncFolderItems(context.Background(), alice, "inbox", state, func(ch exchange.ItemChange) error {
		if seen[ch.ID.ID] > 0 {
			again++
		}
		seen[ch.ID.ID]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := 1204; len(seen) != want {
		t.Errorf("%d distinct items after resume, want %d (lost items)", len(seen), want)
	}
	if again != 700-exchange.MaxChanges {
		t.Errorf("%d items delivered again after resume, want %d (the unfinished page)", again, 700-exchange.MaxChanges)
	}
}

func TestHierarchyInvalidState(t *testing.T) {
	e := start(t, ewstest.Exchange2010SP2, nil, nil, nil)
	_, state, err := e.c.SyncFolderHierarchy(context.Background(), alice, "H4sIAAAAbroken")
	if !errors.Is(err, exchange.ErrInvalidSyncState) || state != "H4sIAAAAbroken" {
		t.Errorf("SyncFolderHierarchy(bad state) = %q, %v; want the input state and ErrInvalidSyncState", state, err)
	}
	// A state of another mailbox is invalid too (states are bound to their root).
	_, bobState, err := e.c.SyncFolderHierarchy(context.Background(), "bob@example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.c.SyncFolderHierarchy(context.Background(), alice, bobState); !errors.Is(err, exchange.ErrInvalidSyncState) {
		t.Errorf("SyncFolderHierarchy(other mailbox's state) = %v, want ErrInvalidSyncState", err)
	}
}

func TestGetItemsCallbackError(t *testing.T) {
	e := start(t, ewstest.Exchange2016, nil, nil, nil)
	ids, _ := syncIDs(t, e.c, alice, "inbox")
	stop := errors.New("stop here")
	calls := 0
	err := e.c.GetItems(context.Background(), alice, ids, exchange.KindMail, func(it *exchange.Item) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil // MIME left unread: the client drains it
	})
	if !errors.Is(err, stop) || calls != 2 {
		t.Errorf("GetItems = %v after %d calls, want the callback's error after 2", err, calls)
	}
	// The client is still usable (the abandoned response was closed).
	if mimes, errs := collectMIME(t, e.c, alice, ids); len(mimes) != len(ids) || len(errs) != 0 {
		t.Errorf("after a stopped GetItems: %d MIME, %v", len(mimes), errs)
	}
}

func TestGetItemsBatching(t *testing.T) {
	e := start(t, ewstest.Exchange2010SP2, nil, nil, func(o *exchange.Options) {
		o.BatchSize = 50
		o.LargeItemSize = 1 << 20
	})
	e.org.AddMessages(alice, "inbox", 116)
	big := e.org.AddLargeMessage(alice, 3<<20, 1)
	ids, _ := syncIDs(t, e.c, alice, "inbox") // newest first: the big one leads
	if len(ids) != 121 || ids[0].ID != big {
		t.Fatalf("%d ids, first %s; want 121 with the large one first", len(ids), ids[0].ID)
	}
	n0 := len(e.srv.RequestLog("GetItem"))
	mimes, errs := collectMIME(t, e.c, alice, ids)
	if len(mimes) != 121 || len(errs) != 0 {
		t.Fatalf("%d MIME, errors %v", len(mimes), errs)
	}
	want, _ := io.ReadAll(ewstest.LargeMIME(3<<20, 1))
	if !bytes.Equal(mimes[big], want) {
		t.Errorf("large item MIME differs")
	}
	var props, mime, maxIDs int
	for _, r := range e.srv.RequestLog("GetItem")[n0:] {
		k := bytes.Count(r.Body, []byte("<t:ItemId "))
		maxIDs = max(maxIDs, k)
		if bytes.Contains(r.Body, []byte("IncludeMimeContent")) {
			mime++
			if bytes.Contains(r.Body, []byte(big)) && k != 1 {
				t.Errorf("large item fetched with %d others", k-1)
			}
		} else {
			props++
		}
	}
	// 121 ids in batches of 50: 3 property requests; MIME: the large item
	// alone, then the small ones in groups of at most 50.
	if props != 3 || mime != 1+3 || maxIDs != 50 {
		t.Errorf("GetItem requests: %d property, %d MIME, largest batch %d; want 3, 4, 50", props, mime, maxIDs)
	}
}

// TestContextCancelled: cancelling while the client waits out a back-off
// stops at once with the context's error.
func TestContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := start(t, ewstest.Exchange2016, nil, nil, func(o *exchange.Options) {
		o.Retry.Sleep = func(ctx context.Context, d time.Duration) error {
			cancel() // the user presses ^C during the wait
			return ctx.Err()
		}
	})
	if _, err := e.c.RequestVersion(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.srv.Inject(ewstest.Fault{Kind: ewstest.FaultBusySOAP, Count: 100})
	calls := 0
	_, err := e.c.SyncFolderItems(ctx, alice, "inbox", "", func(exchange.ItemChange) error { calls++; return nil })
	if !errors.Is(err, context.Canceled) || calls != 0 {
		t.Errorf("SyncFolderItems = %v with %d changes, want context.Canceled", err, calls)
	}
	if n := e.srv.Injected(ewstest.FaultBusySOAP); n != 1 {
		t.Errorf("%d attempts, want 1 (no retry after cancel)", n)
	}
}
