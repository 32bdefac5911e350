package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/internal/syncbuf"
)

// TestLedgerTarget: a ledger records the target it was first used with;
// another target is refused (exit 2, naming the file and both targets)
// unless adopted (--rebuild); the same target under another spelling, or
// with groupware added, is the same; an old ledger without meta gets it.
func TestLedgerTarget(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger")
	a := Target{API: "https://mail.example.com:32001/icewarpapi/", IMAP: "mail.example.com:993"}
	b := Target{API: "https://other.example.com:32001/icewarpapi/", IMAP: "other.example.com:993"}

	// An "old" ledger: the items bucket alone, no meta.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(bucketItems)
		if err != nil {
			return err
		}
		return b.Put(ledgerKey("alice@example.com", "m1"), []byte(`{"kind":"message","folder":["INBOX"],"uid":1,"digest":"00"}`))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	l, err := OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := l.target(); ok {
		t.Fatal("an old ledger has a target before its first use")
	}
	if prev, err := l.UseFor(a, false); err != nil || prev != nil {
		t.Fatalf("first use: %v, %v", prev, err)
	}
	if got, ok, _ := l.target(); !ok || got != a.normal() {
		t.Fatalf("recorded %+v, %v; want %+v", got, ok, a.normal())
	}
	if r, ok := l.get("alice@example.com", "m1"); !ok || r.UID != 1 {
		t.Errorf("old record lost: %+v %v", r, ok)
	}
	l.Close()

	l, err = OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// The same target, spelled differently and with WebDAV added.
	same := Target{API: "HTTPS://Mail.Example.com:32001/icewarpapi", IMAP: "MAIL.example.com:993", WebDAV: "https://mail.example.com/webdav/"}
	if _, err := l.UseFor(same, false); err != nil {
		t.Fatalf("same target refused: %v", err)
	}
	if got, _, _ := l.target(); got.WebDAV != "https://mail.example.com/webdav" {
		t.Errorf("WebDAV root not added to the recorded target: %+v", got)
	}
	// Another target.
	_, err = l.UseFor(b, false)
	var me *TargetMismatchError
	if !errors.As(err, &me) {
		t.Fatalf("another target: %v, want a *TargetMismatchError", err)
	}
	for _, want := range []string{path, "mail.example.com:993", "other.example.com:993", "--ledger", "--rebuild"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not name %q:\n%v", want, err)
		}
	}
	t.Logf("refusal: %v", err)
	if got, _, _ := l.target(); got.IMAP != "mail.example.com:993" {
		t.Errorf("a refused run changed the recorded target: %+v", got)
	}
	// A different WebDAV root of the same admin API and IMAP endpoints is
	// another target too.
	if _, err := l.UseFor(Target{API: a.API, IMAP: a.IMAP, WebDAV: "https://elsewhere/webdav/"}, false); err == nil {
		t.Error("another WebDAV root accepted")
	}
	// --rebuild adopts the new target.
	prev, err := l.UseFor(b, true)
	if err != nil || prev == nil || prev.IMAP != "mail.example.com:993" {
		t.Fatalf("adopt: %v, %v", prev, err)
	}
	if got, _, _ := l.target(); got != b.normal() {
		t.Errorf("after --rebuild the ledger records %+v, want %+v", got, b.normal())
	}
	// The old target's UIDs mean nothing on the new one: the records are
	// pending (looked up by Message-ID, date and size) and name no UID.
	if r, ok := l.get("alice@example.com", "m1"); !ok || !r.Pending || r.UID != 0 || !slices.Equal(r.Folder, []string{"INBOX"}) {
		t.Errorf("record after adopting a new target = %+v, %v; want pending in INBOX without a UID", r, ok)
	}
}

// TestLedgerDamagedRecord: a record that does not decode is pending (looked
// up on the target), for get and each, never an error.
func TestLedgerDamagedRecord(t *testing.T) {
	l, err := OpenLedger(filepath.Join(t.TempDir(), "ledger"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const mbx = "alice@example.com"
	if err := l.put(mbx, "good", applied{Kind: "message", Folder: []string{"INBOX"}, UID: 7, Digest: "ab"}); err != nil {
		t.Fatal(err)
	}
	if err := l.put(mbx, "bad", applied{Kind: "message", Folder: []string{"INBOX"}, UID: 8, Digest: "cd"}); err != nil {
		t.Fatal(err)
	}
	// Flip bytes of one record, as a bad disk sector would.
	if err := l.db.Update(func(tx *bolt.Tx) error {
		v := slices.Clone(tx.Bucket(bucketItems).Get(ledgerKey(mbx, "bad")))
		for i := 0; i < len(v); i += 3 {
			v[i] ^= 0x5a
		}
		return tx.Bucket(bucketItems).Put(ledgerKey(mbx, "bad"), v)
	}); err != nil {
		t.Fatal(err)
	}
	a, ok := l.get(mbx, "bad")
	if !ok || !a.Pending || !a.Damaged || a.UID != 0 {
		t.Errorf("damaged record = %+v, %v; want pending, damaged", a, ok)
	}
	if a, ok := l.get(mbx, "good"); !ok || a.Damaged || a.UID != 7 {
		t.Errorf("good record = %+v, %v", a, ok)
	}
	if _, ok := l.get(mbx, "missing"); ok {
		t.Error("a missing record is found")
	}
	got := map[string]applied{}
	if err := l.each(mbx, nil, func(id string, a applied) error { got[id] = a; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got["bad"].Damaged || got["good"].UID != 7 {
		t.Errorf("each = %+v", got)
	}
	// A damaged record is never written back as such.
	if err := l.put(mbx, "bad", got["bad"]); err != nil {
		t.Fatal(err)
	}
	if a, ok := l.get(mbx, "bad"); !ok || a.Damaged || !a.Pending {
		t.Errorf("rewritten damaged record = %+v, %v; want a sound pending record", a, ok)
	}
}

// TestLedgerDamagedFile: a ledger file that is not a bbolt file any more is
// refused with its name and what to do; nothing is changed.
func TestLedgerDamagedFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	l, err := OpenLedger(good)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		l.put("alice@example.com", fmt.Sprint(i), applied{Kind: "message", Digest: strings.Repeat("x", 64)})
	}
	l.Close()
	full, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		body []byte
	}{
		{"truncated", full[:100]},
		{"garbage", bytes.Repeat([]byte("not a ledger "), 2000)},
		{"first pages overwritten", append(make([]byte, 8192), full[8192:]...)},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.name)
			if err := os.WriteFile(p, c.body, 0o600); err != nil {
				t.Fatal(err)
			}
			l, err := OpenLedger(p)
			if err == nil {
				l.Close()
				t.Fatal("a damaged ledger opened")
			}
			for _, want := range []string{p, "damaged", "mv " + p, "nothing is duplicated"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not say %q: %v", want, err)
				}
			}
			if cliutil.ExitCode(err) != cliutil.ExitFatal {
				t.Errorf("exit %d, want %d", cliutil.ExitCode(err), cliutil.ExitFatal)
			}
			if b, _ := os.ReadFile(p); !bytes.Equal(b, c.body) {
				t.Error("the damaged ledger was changed")
			}
		})
	}
}

// TestLedgerHolder: while one process holds the ledger, a second open fails
// at once naming the holder (from the holder file); with Wait it says so
// once and gets the ledger when the holder closes it.
func TestLedgerHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger")
	h := ThisProcess("iem-import run", []string{"run", "--config", "c.conf", "--admin-password", "s3cret", "--token=abc", "--password-file", "pw"})
	first, err := OpenLedgerWith(context.Background(), path, LedgerOptions{Holder: h})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(holderPath(path))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "s3cret") || strings.Contains(string(b), "abc") || !strings.Contains(string(b), `"pw"`) {
		t.Errorf("holder file keeps a secret or loses a file name:\n%s", b)
	}
	if st, _ := os.Stat(holderPath(path)); st.Mode().Perm() != 0o600 {
		t.Errorf("holder file mode %v, want 0600", st.Mode().Perm())
	}

	// "At once" is checked by the event, not a clock: the first holder
	// keeps the lock throughout, so an open that waited would never
	// return and the test would time out.
	_, err = OpenLedgerWith(context.Background(), path, LedgerOptions{Holder: ThisProcess("iem-import run", nil)})
	var inUse *ledgerInUseError
	if !errors.As(err, &inUse) {
		t.Fatalf("second open: %v, want in use", err)
	}
	host, _ := os.Hostname()
	want := fmt.Sprintf("ledger %s is in use by iem-import run (pid %d on host %s since %s)", path, os.Getpid(), host, h.Since.Format(time.RFC3339))
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--wait") {
		t.Errorf("error:\n %v\nwant it to contain\n %s\nand name --wait", err, want)
	}
	if cliutil.ExitCode(err) != cliutil.ExitFatal {
		t.Errorf("exit %d, want %d", cliutil.ExitCode(err), cliutil.ExitFatal)
	}

	// --wait: one notice, then the ledger once the holder is done.
	var notice syncbuf.Buffer
	done := make(chan error, 1)
	go func() {
		l, err := OpenLedgerWith(context.Background(), path, LedgerOptions{Holder: ThisProcess("iem-import run", nil), Wait: true, Notice: &notice})
		if err == nil {
			l.Close()
		}
		done <- err
	}()
	time.Sleep(2500 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("waiting open returned while the ledger was held: %v", err)
	default:
	}
	first.Close()
	if _, err := os.Stat(holderPath(path)); err == nil {
		t.Error("holder file left after close")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("waiting open: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("waiting open did not get the ledger after the holder closed it")
	}
	if n := strings.Count(notice.String(), "waiting for"); n != 1 || !strings.Contains(notice.String(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Errorf("notice %q: want one \"waiting for\" naming the holder", notice.String())
	}

	// Wait ends with the context.
	first, err = OpenLedgerWith(context.Background(), path, LedgerOptions{Holder: h})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = OpenLedgerWith(ctx, path, LedgerOptions{Wait: true})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("wait cut by the context: %v, want the context's error", err)
	}
}

func TestRedactArgs(t *testing.T) {
	got := redactArgs([]string{"run", "--password", "x", "--passphrase=y", "--password-file", "f", "--passwords-from", "p.csv", "--archive", "a", "--api-token", "z"})
	want := []string{"run", "--password", "…", "--passphrase=…", "--password-file", "f", "--passwords-from", "p.csv", "--archive", "a", "--api-token", "…"}
	if !slices.Equal(got, want) {
		t.Errorf("redactArgs = %q\nwant %q", got, want)
	}
}
