package exchange_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/iemproject/iem/exchange"
	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/internal/retry"
	"github.com/iemproject/iem/internal/syncbuf"
)

// sleeps records the waits the retry loop asks for and returns at once,
// so that tests assert on requested waits, never on the wall clock.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// env is an emulator with a client talking to it.
type env struct {
	srv    *ewstest.Server
	org    *ewstest.Org
	c      *exchange.Client
	gate   *retry.Gate
	sleeps *sleeps
	log    *syncbuf.Buffer
}

// alice is the first generated user.
const alice = "alice@example.com"

func newOrg() *ewstest.Org { return ewstest.Generate(1, ewstest.OrgOptions{}) }

// start runs an emulator of personality p for org (nil: a fresh default
// org) and a client that trusts its certificate by pin, logs at Debug into
// env.log and never really sleeps. mod may adjust the client options.
func start(t testing.TB, p ewstest.Personality, org *ewstest.Org, srvOpt *ewstest.Options, mod func(*exchange.Options)) *env {
	t.Helper()
	if org == nil {
		org = newOrg()
	}
	var so ewstest.Options
	if srvOpt != nil {
		so = *srvOpt
	}
	so.Personality = p
	srv, err := ewstest.Start(org, &so)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	e := &env{srv: srv, org: org, gate: new(retry.Gate), sleeps: new(sleeps), log: new(syncbuf.Buffer)}
	opt := exchange.Options{
		URL:       srv.URL(),
		Username:  srv.Username(),
		Password:  srv.Password(),
		TrustCert: srv.Fingerprint(),
		Logger:    slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Gate:      e.gate,
		Retry:     retry.Policy{Sleep: e.sleeps.sleep},
	}
	if mod != nil {
		mod(&opt)
	}
	c, err := exchange.New(opt)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.c = c
	return e
}

// collectMIME fetches ids as mail and returns each item's MIME (or error
// text) by id.
func collectMIME(t testing.TB, c *exchange.Client, mailbox string, ids []exchange.ItemID) (map[string][]byte, map[string]error) {
	t.Helper()
	mimes := map[string][]byte{}
	errs := map[string]error{}
	err := c.GetItems(context.Background(), mailbox, ids, exchange.KindMail, func(it *exchange.Item) error {
		if it.Err != nil {
			errs[it.ID.ID] = it.Err
			return nil
		}
		var b bytes.Buffer
		if _, err := b.ReadFrom(it.MIME); err != nil {
			return err
		}
		mimes[it.ID.ID] = b.Bytes()
		return nil
	})
	if err != nil {
		t.Fatalf("GetItems: %v", err)
	}
	return mimes, errs
}

// syncIDs returns the ids SyncFolderItems reports as created in folder.
func syncIDs(t testing.TB, c *exchange.Client, mailbox, folder string) ([]exchange.ItemID, string) {
	t.Helper()
	var ids []exchange.ItemID
	state, err := c.SyncFolderItems(context.Background(), mailbox, folder, "", func(ch exchange.ItemChange) error {
		if ch.Kind == exchange.Create {
			ids = append(ids, ch.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("SyncFolderItems(%s): %v", folder, err)
	}
	return ids, state
}

func asErr[T error](err error, target *T) bool { return errors.As(err, target) }
