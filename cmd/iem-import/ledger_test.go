package main

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

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/icewarp/icewarptest"
	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/internal/syncbuf"
	"github.com/iemproject/iem/replay"
)

// TestLedgerExitCodes: a ledger of another target is a usage error (exit
// 2, naming --ledger); a --wait cut by the context is an interruption
// (exit 130).
func TestLedgerExitCodes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger")
	l, err := replay.OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.UseFor(replay.Target{API: "https://a.example.com/icewarpapi/", IMAP: "a.example.com:993"}, false); err != nil {
		t.Fatal(err)
	}
	_, err = l.UseFor(replay.Target{API: "https://b.example.com/icewarpapi/", IMAP: "b.example.com:993"}, false)
	err = ledgerError(context.Background(), err)
	if cliutil.ExitCode(err) != cliutil.ExitUsage || !strings.HasPrefix(err.Error(), "--ledger: ledger "+path+" belongs to another target") {
		t.Errorf("another target: %v (exit %d), want exit 2 naming --ledger", err, cliutil.ExitCode(err))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = replay.OpenLedgerWith(ctx, path, replay.LedgerOptions{Wait: true})
	if got := cliutil.ExitCode(ledgerError(ctx, err)); got != cliutil.ExitInterrupted {
		t.Errorf("wait cut by the context: %v (exit %d), want exit 130", err, got)
	}
}

// ledgerBed is an archive imported over IMAP into the IceWarp emulator:
// two users, mail in two folders of one of them, a contact and an event.
type ledgerBed struct {
	iw     *icewarptest.Server
	dir    string
	arch   string
	pw     string
	msgs   int            // messages in the archive
	items  int            // groupware items in the archive
	counts map[string]int // "email/folder" → messages in the archive
}

const ledgerAlice, ledgerBob = "alice@example.com", "bob@example.com"

func newLedgerBed(t *testing.T, opt *icewarptest.Options) *ledgerBed {
	t.Helper()
	iw, err := icewarptest.Start(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { iw.Close() })
	dir := t.TempDir()
	b := &ledgerBed{iw: iw, dir: dir, arch: filepath.Join(dir, "archive"), pw: writeFile(t, dir, "pw", iw.AdminPassword()),
		counts: map[string]int{}}
	os.Mkdir(b.arch, 0o700)
	day := time.Date(2024, 2, 3, 4, 5, 6, 0, time.Local)
	writeRound(t, b.arch, func(r *round) {
		r.mailbox(ledgerAlice)
		r.mailbox(ledgerBob)
		r.folder(ledgerAlice, folder{id: "inbox", name: "Inbox", class: "IPF.Note", dist: "inbox"})
		r.folder(ledgerAlice, folder{id: "proj", name: "Projects", class: "IPF.Note"})
		r.folder(ledgerAlice, folder{id: "contacts", name: "Contacts", class: "IPF.Contact", dist: "contacts"})
		r.folder(ledgerAlice, folder{id: "cal", name: "Calendar", class: "IPF.Appointment", dist: "calendar"})
		r.folder(ledgerBob, folder{id: "inbox", name: "Inbox", class: "IPF.Note", dist: "inbox"})
		add := func(m msg, folder string) {
			m.received = day.Add(time.Duration(b.msgs) * time.Hour)
			r.message(m)
			b.msgs++
			b.counts[m.mbx+"/"+folder]++
		}
		add(msg{mbx: ledgerAlice, folder: "inbox", id: "a1", read: true}, "INBOX")
		add(msg{mbx: ledgerAlice, folder: "inbox", id: "a2", flagged: true}, "INBOX")
		add(msg{mbx: ledgerAlice, folder: "inbox", id: "a3", size: 20 << 10}, "INBOX")
		add(msg{mbx: ledgerAlice, folder: "proj", id: "a4"}, "Projects")
		add(msg{mbx: ledgerAlice, folder: "proj", id: "a5", noID: true}, "Projects")
		add(msg{mbx: ledgerBob, folder: "inbox", id: "b1"}, "INBOX")
		r.item(archive.KindContact, ledgerAlice, "contacts", "c1", contactV1)
		r.item(archive.KindEvent, ledgerAlice, "cal", "ev1", eventV1)
		b.items = 2
	})
	return b
}

// args are the run arguments against iw (the bed's emulator if nil).
func (b *ledgerBed) args(iw *icewarptest.Server, ledger string, extra ...string) []string {
	if iw == nil {
		iw = b.iw
	}
	return append([]string{"--archive", b.arch, "--api-url", iw.URL(), "--admin-user", iw.AdminEmail(), "--password-file", b.pw,
		"--imap-addr", iw.IMAPAddr(), "--imap-tls", "none", "--webdav-url", iw.WebDAVURL(), "--log-level", "error",
		"--ledger", ledger, "--passwords-report", filepath.Join(b.dir, "pw.csv")}, extra...)
}

// expectCounts fails unless every folder holds as many messages as the
// archive has for it, and each groupware collection one item.
func (b *ledgerBed) expectCounts(t *testing.T, iw *icewarptest.Server) {
	t.Helper()
	if iw == nil {
		iw = b.iw
	}
	for k, want := range b.counts {
		email, folder, _ := strings.Cut(k, "/")
		n, err := iw.MailboxStatus(email, folder)
		if err != nil || int(n) != want {
			t.Errorf("%s holds %d messages (%v), want %d", k, n, err, want)
		}
	}
	for _, f := range []string{"Contacts", "Calendar"} {
		if n := len(iw.DAVItems(ledgerAlice, f)); n != 1 {
			t.Errorf("WebDAV %s/%s holds %d items, want 1", ledgerAlice, f, n)
		}
	}
}

// TestLedgerLost: an archive imported, then imported again into the same
// mailboxes with a new (or deleted, or partly damaged) ledger: every
// message is matched against the target, found there and counted as
// "on target", the operator is told once per mailbox, and the folders hold
// what they held. Groupware is PUT again to the same resource names, which
// replaces and never duplicates. A ledger is refused for another target
// unless --rebuild.
func TestLedgerLost(t *testing.T) {
	b := newLedgerBed(t, nil)
	first, second := filepath.Join(b.dir, "ledger1"), filepath.Join(b.dir, "ledger2")
	notice := "already holds"
	steps := []struct {
		name    string
		prep    func(t *testing.T)
		ledger  string
		want    totals   // Appended, Unchanged, Found compared
		notices []string // printed; none if empty
	}{
		{name: "first import", ledger: first, want: totals{Appended: b.msgs + b.items}},
		{name: "rerun with the same ledger", ledger: first, want: totals{Unchanged: b.msgs + b.items}},
		{name: "another ledger: matched against the target", ledger: second, want: totals{Found: b.msgs, Appended: b.items},
			notices: []string{
				"iem-import: alice@example.com already holds 5 messages in 2 folders the ledger does not know (ledger " + second + "; INBOX: 3, Projects: 2): matching against the target (as --rebuild does) so nothing is duplicated",
				"iem-import: bob@example.com/INBOX already holds 1 message the ledger does not know (ledger " + second + "): matching against the target (as --rebuild does) so nothing is duplicated",
			}},
		{name: "rerun with the new ledger", ledger: second, want: totals{Unchanged: b.msgs + b.items}},
		{name: "a damaged record: looked up, found", ledger: second, prep: func(t *testing.T) {
			db, err := bolt.Open(second, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.Update(func(tx *bolt.Tx) error {
				// The ledger's file format: bucket "items", key mailbox NUL id.
				k, items := []byte(ledgerAlice+"\x00a2"), []byte("items")
				v := slices.Clone(tx.Bucket(items).Get(k))
				if v == nil {
					return errors.New("no record of a2")
				}
				for i := range v {
					v[i] ^= 0xff
				}
				return tx.Bucket(items).Put(k, v)
			}); err != nil {
				t.Fatal(err)
			}
		}, want: totals{Found: 1, Unchanged: b.msgs + b.items - 1}},
		{name: "ledger deleted", ledger: second, prep: func(t *testing.T) {
			if err := os.Remove(second); err != nil {
				t.Fatal(err)
			}
		}, want: totals{Found: b.msgs, Appended: b.items}, notices: []string{"alice@example.com already holds 5 messages", "bob@example.com/INBOX already holds 1 message"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.prep != nil {
				st.prep(t)
			}
			sum, out, err := runIn(t, b.args(nil, st.ledger)...)
			if err != nil {
				t.Fatalf("run: %v\n%s", err, out)
			}
			got := sum.total()
			if got.Failed != 0 || got.Skipped != 0 || got.Deleted != 0 {
				t.Errorf("failed %d, skipped %d, deleted %d; want none\n%s", got.Failed, got.Skipped, got.Deleted, out)
			}
			if got.Appended != st.want.Appended || got.Unchanged != st.want.Unchanged || got.Found != st.want.Found {
				t.Errorf("appended %d, unchanged %d, on target %d; want %d, %d, %d\n%s",
					got.Appended, got.Unchanged, got.Found, st.want.Appended, st.want.Unchanged, st.want.Found, out)
			}
			for _, n := range st.notices {
				if strings.Count(out, n) != 1 {
					t.Errorf("output does not say once %q:\n%s", n, out)
				}
			}
			if len(st.notices) == 0 && strings.Contains(out, notice) {
				t.Errorf("unexpected notice:\n%s", out)
			}
			if strings.Count(out, notice) != len(st.notices) {
				t.Errorf("%d notices, want %d (one per mailbox):\n%s", strings.Count(out, notice), len(st.notices), out)
			}
			b.expectCounts(t, nil)
			checkIn(t, b.args(nil, st.ledger)...)
			if _, err := os.Stat(st.ledger + ".holder.json"); err == nil {
				t.Error("holder file left after the run")
			}
		})
	}

	// The ledger now belongs to b.iw; another server is refused before it
	// is contacted, and adopted with --rebuild.
	other, err := icewarptest.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	t.Run("another target: refused", func(t *testing.T) {
		_, out, err := runIn(t, b.args(other, second)...)
		if cliutil.ExitCode(err) != cliutil.ExitUsage {
			t.Fatalf("run against another target: %v (exit %d), want exit 2\n%s", err, cliutil.ExitCode(err), out)
		}
		for _, want := range []string{second, b.iw.IMAPAddr(), other.IMAPAddr(), "--rebuild"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error does not name %q: %v", want, err)
			}
		}
		if n := len(other.Accounts()); n != 0 {
			t.Errorf("the other target was changed: %d accounts", n)
		}
	})
	t.Run("another target with --rebuild", func(t *testing.T) {
		sum, out, err := runIn(t, b.args(other, second, "--rebuild")...)
		if err != nil {
			t.Fatalf("run: %v\n%s", err, out)
		}
		// Groupware known to the ledger is PUT again: updated.
		if got := sum.total(); got.Appended != b.msgs || got.Updated != b.items || got.Failed != 0 {
			t.Errorf("summary %+v, want %d appended, %d updated\n%s", got, b.msgs, b.items, out)
		}
		if !strings.Contains(out, "recorded another target") {
			t.Errorf("the change of target is not told:\n%s", out)
		}
		b.expectCounts(t, other)
		sum, out, err = runIn(t, b.args(other, second)...)
		if err != nil || sum.total().Unchanged != b.msgs+b.items {
			t.Errorf("rerun against the adopted target: %v, %+v\n%s", err, sum.total(), out)
		}
		if _, _, err := runIn(t, b.args(nil, second)...); cliutil.ExitCode(err) != cliutil.ExitUsage {
			t.Errorf("the first target after adopting another: %v, want exit 2", err)
		}
		b.expectCounts(t, nil)
	})
}

// TestLedgerLostPathMode: in path mode a folder the ledger does not know
// that already holds messages is matched against the target too.
func TestLedgerLostPathMode(t *testing.T) {
	root := filepath.Join(t.TempDir(), "mail")
	os.Mkdir(root, 0o700)
	b := newLedgerBed(t, &icewarptest.Options{MailRoot: root})
	for i, ledger := range []string{"ledger1", "ledger2", "ledger2"} {
		sum, out, err := runIn(t, b.args(nil, filepath.Join(b.dir, ledger), "--mail-mode", "path", "--mail-path", root)...)
		if err != nil {
			t.Fatalf("run %d: %v\n%s", i+1, err, out)
		}
		got := sum.total()
		want := []totals{{Appended: b.msgs + b.items}, {Found: b.msgs, Appended: b.items}, {Unchanged: b.msgs + b.items}}[i]
		if got.Appended != want.Appended || got.Found != want.Found || got.Unchanged != want.Unchanged || got.Failed != 0 {
			t.Errorf("run %d (%s): %+v, want %+v\n%s", i+1, ledger, got, want, out)
		}
		if n := strings.Count(out, "already holds"); n != []int{0, 2, 0}[i] {
			t.Errorf("run %d: %d notices\n%s", i+1, n, out)
		}
		if err := b.iw.CheckMailPath(); err != nil {
			t.Errorf("run %d: mail path checker: %v", i+1, err)
		}
		b.expectCounts(t, nil)
	}
}

// TestLedgerSecondRun: a second iem-import run on a ledger in use fails at
// once, naming the holder, before it contacts the target; with --wait it
// says it waits and runs once the holder is done.
func TestLedgerSecondRun(t *testing.T) {
	b := newLedgerBed(t, nil)
	ledger := filepath.Join(b.dir, "ledger")
	held, err := replay.OpenLedgerWith(context.Background(), ledger, replay.LedgerOptions{Holder: replay.ThisProcess("iem-import run", []string{"run", "--archive", b.arch})})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if held != nil {
			held.Close()
		}
	}()
	host, _ := os.Hostname()
	holderText := fmt.Sprintf("ledger %s is in use by iem-import run (pid %d on host %s since ", ledger, os.Getpid(), host)

	cmd := command(append([]string{"run"}, b.args(nil, ledger)...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Run()
	took := time.Since(start)
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != cliutil.ExitFatal {
		t.Fatalf("second run: %v, want exit %d\n%s", err, cliutil.ExitFatal, out.String())
	}
	if !strings.Contains(out.String(), holderText) {
		t.Errorf("second run does not name the holder (%q):\n%s", holderText, out.String())
	}
	// No clock check: the lock stays held, so a run that waited instead of
	// failing would never exit and the test would time out.
	t.Logf("second run failed after %v: %s", took.Round(time.Millisecond), strings.TrimSpace(out.String()))
	if n := len(b.iw.Accounts()); n != 0 {
		t.Errorf("the refused run changed the target: %d accounts", n)
	}

	// --wait: it says so once, and runs when the holder is done.
	cmd = command(append([]string{"run", "--wait"}, b.args(nil, ledger)...)...)
	var wout syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &wout, &wout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(wout.String(), "waiting for") && time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("waiting run ended while the ledger was held: %v\n%s", err, wout.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	if !strings.Contains(wout.String(), "waiting for iem-import run (pid "+fmt.Sprint(os.Getpid())) {
		t.Fatalf("the waiting run does not say whom it waits for:\n%s", wout.String())
	}
	time.Sleep(1500 * time.Millisecond)
	held.Close()
	held = nil
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("waiting run: %v\n%s", err, wout.String())
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("waiting run did not finish after the holder was done\n%s", wout.String())
	}
	if n := strings.Count(wout.String(), "waiting for"); n != 1 {
		t.Errorf("\"waiting for\" printed %d times, want once:\n%s", n, wout.String())
	}
	b.expectCounts(t, nil)
}
