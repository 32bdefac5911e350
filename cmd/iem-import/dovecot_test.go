package main

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/iemproject/iem/icewarp/icewarptest"
	"github.com/iemproject/iem/icewarp/imapsink"
	"github.com/iemproject/iem/internal/testbed"
)

// dovecotBed imports into a real Dovecot (testbed.md §1c) over IMAP with
// its master user; the IceWarp emulator answers the admin API calls, with
// the same administrator credentials.
type dovecotBed struct {
	d    *testbed.Dovecot
	iw   *icewarptest.Server
	dir  string
	arch string
	args []string
}

func newDovecotBed(t testing.TB, users ...string) *dovecotBed {
	t.Helper()
	d := testbed.StartDovecot(t, users...)
	iw, err := icewarptest.Start(&icewarptest.Options{AdminEmail: d.MasterUser, AdminPassword: d.MasterPassword})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { iw.Close() })
	dir := t.TempDir()
	b := &dovecotBed{d: d, iw: iw, dir: dir, arch: filepath.Join(dir, "archive")}
	if err := os.Mkdir(b.arch, 0o700); err != nil {
		t.Fatal(err)
	}
	pw := writeFile(t, dir, "admin.pw", d.MasterPassword)
	b.args = []string{"--archive", b.arch, "--api-url", iw.URL(), "--admin-user", d.MasterUser, "--password-file", pw,
		"--imap-addr", d.Addr, "--imap-tls", "none", "--imap-auth", "master", "--log-level", "error",
		"--passwords-report", filepath.Join(dir, "passwords.csv")}
	return b
}

// email is the address of a testbed user (unique per test).
func (b *dovecotBed) email(t testing.TB, name string) string {
	return b.d.User(t, name).Name + "@example.test"
}

func (b *dovecotBed) dial(t testing.TB, email string) *imapsink.Mailbox {
	t.Helper()
	mb, err := imapsink.Dial(context.Background(), imapsink.Options{Addr: b.d.Addr, AdminUser: b.d.MasterUser,
		AdminPassword: b.d.MasterPassword, AuthzMode: imapsink.AuthzMasterUser, TLS: imapsink.TLSNone, Connections: 1}, email)
	if err != nil {
		t.Fatal(err)
	}
	return mb
}

// expectMail checks that every message of want is in its folder exactly
// once, with its flags and internal date, and that the folders hold
// nothing else.
func expectMail(t testing.TB, mb *imapsink.Mailbox, paths map[string][]string, want []msg) {
	t.Helper()
	ctx := context.Background()
	byFolder := map[string][]msg{}
	for _, m := range want {
		byFolder[m.folder] = append(byFolder[m.folder], m)
	}
	for id, path := range paths {
		got := map[string][]imapsink.Summary{}
		n := 0
		err := mb.List(ctx, path, func(s imapsink.Summary) error {
			k := s.MessageID
			if k == "" {
				k = fmt.Sprintf("@%d/%d", s.InternalDate.Unix(), s.Size)
			}
			got[k] = append(got[k], s)
			n++
			return nil
		})
		if err != nil && len(byFolder[id]) > 0 {
			t.Errorf("%s: list %q: %v", mb.Name(), path, err)
			continue
		}
		if n != len(byFolder[id]) {
			t.Errorf("%s: folder %q holds %d messages, want %d", mb.Name(), path, n, len(byFolder[id]))
		}
		for _, m := range byFolder[id] {
			ss := got[m.key()]
			if len(ss) != 1 {
				t.Errorf("%s: %q: message %s found %d times, want once", mb.Name(), path, m.id, len(ss))
				continue
			}
			s := ss[0]
			if !s.InternalDate.Equal(m.received) {
				t.Errorf("%s: %s: internal date %v, want %v", mb.Name(), m.id, s.InternalDate, m.received)
			}
			if s.Size != int64(len(m.body())) {
				t.Errorf("%s: %s: size %d, want %d", mb.Name(), m.id, s.Size, len(m.body()))
			}
			hasSeen, hasFlagged := slices.Contains(s.Flags, imap.FlagSeen), slices.Contains(s.Flags, imap.FlagFlagged)
			if hasSeen != m.read || hasFlagged != m.flagged {
				t.Errorf("%s: %s: flags %v, want seen=%v flagged=%v", mb.Name(), m.id, s.Flags, m.read, m.flagged)
			}
		}
	}
}

// awkwardNames are folder names that must arrive as one folder each, in
// Dovecot (LAYOUT=fs, one directory per folder) as on IceWarp.
var awkwardNames = []string{"Ünïcødé & Co", "a/b", "x.y", "~tilde", "..", ".", `back\slash`, "star*", "100%",
	" lead", "trail.", "a...b", `quote"d`, "日本語", "&-amp", "tab\there", "nul\x00inside", "Sent Items"}

func TestDovecotRounds(t *testing.T) {
	b := newDovecotBed(t, "alice", "bob")
	alice, bob := b.email(t, "alice"), b.email(t, "bob")
	day := time.Date(2024, 3, 1, 9, 30, 15, 0, time.UTC)
	msgs := map[string]msg{}
	add := func(m msg) msg {
		if m.received.IsZero() {
			m.received = day.Add(time.Duration(len(msgs)) * time.Hour)
		}
		msgs[m.id] = m
		return m
	}
	paths := map[string][]string{"inbox": {"INBOX"}, "sub": {"INBOX", "Projekte 2024"}, "shared": {"Shared"}}
	awkward := func(i int) string { return fmt.Sprintf("awk%02d", i) }
	for i, name := range awkwardNames {
		paths[awkward(i)] = []string{targetName(name)}
	}
	round1 := func(r *round) {
		r.mailbox(alice)
		r.mailbox(bob)
		r.folder(alice, folder{id: "inbox", name: "Inbox", class: "IPF.Note", dist: "inbox"})
		r.folder(alice, folder{id: "sub", parent: "inbox", name: "Projekte 2024", class: "IPF.Note"})
		r.folder(alice, folder{id: "shared", name: "Shared", class: "IPF.Note", acl: level(bob, "Reviewer")})
		r.folder(bob, folder{id: "inbox", name: "Inbox", class: "IPF.Note", dist: "inbox"})
		for i, name := range awkwardNames {
			r.folder(alice, folder{id: awkward(i), name: name, class: "IPF.Note"})
			r.message(add(msg{mbx: alice, folder: awkward(i), id: "awk-" + awkward(i)}))
		}
		r.message(add(msg{mbx: alice, folder: "inbox", id: "m1", read: true}))
		r.message(add(msg{mbx: alice, folder: "inbox", id: "m2", flagged: true}))
		r.message(add(msg{mbx: alice, folder: "inbox", id: "m3", received: time.Date(2003, 12, 31, 23, 59, 59, 0, time.UTC)}))
		r.message(add(msg{mbx: alice, folder: "sub", id: "m4", read: true, flagged: true, size: 200 << 10}))
		r.message(add(msg{mbx: alice, folder: "shared", id: "m5", noID: true, read: true}))
		r.message(add(msg{mbx: bob, folder: "inbox", id: "b1", read: true}))
	}
	round2 := func(r *round) {
		r.Tombstone(alice, "inbox", "m1")
		delete(msgs, "m1")
		r.Tombstone(alice, awkward(1), "awk-"+awkward(1))
		delete(msgs, "awk-"+awkward(1))
		r.State(alice, "inbox", "m3", map[string]string{"read": "1", "flag": "flagged"})
		m3 := msgs["m3"]
		m3.read, m3.flagged = true, true
		msgs["m3"] = m3
		r.State(alice, "sub", "m4", map[string]string{"read": "0"})
		m4 := msgs["m4"]
		m4.read = false
		msgs["m4"] = m4
		r.message(add(msg{mbx: alice, folder: "inbox", id: "m6"}))
		// New content under the same id, and a move under the same id:
		// the old copies must go.
		b1 := msgs["b1"]
		b1.size = 50 << 10
		r.message(b1)
		msgs["b1"] = b1
		m5 := msgs["m5"]
		m5.folder = "inbox"
		r.message(m5)
		msgs["m5"] = m5
	}
	ledger := filepath.Join(b.dir, "ledger")
	steps := []struct {
		name  string
		round func(*round)
		prep  func(t *testing.T)
		args  []string
		want  totals // all item counters are compared; failures must be 0
		plan  string // the plan's summary line before the run, if given
	}{
		{name: "round 1", round: round1, want: totals{Appended: len(awkwardNames) + 6, Permissions: 1},
			plan: fmt.Sprintf("plan: 2 mailboxes: %d to create, 0 to update, 0 flag changes, 0 unchanged, 0 skipped, 0 to delete", len(awkwardNames)+6)},
		{name: "rerun writes nothing", want: totals{Unchanged: len(awkwardNames) + 6, Permissions: 1}},
		{name: "round 2: deletions, flag changes, new mail", round: round2, want: totals{Appended: 1, Updated: 4, Unchanged: len(awkwardNames), Deleted: 2, Permissions: 1},
			plan: fmt.Sprintf("plan: 2 mailboxes: 1 to create, 2 to update, 2 flag changes, %d unchanged, 0 skipped, 2 to delete", len(awkwardNames))},
		{name: "rerun after round 2", want: totals{Unchanged: len(awkwardNames) + 5, Permissions: 1}},
		{name: "rebuild after wiping the mail store", prep: func(t *testing.T) {
			for _, e := range []string{alice, bob} {
				if err := os.RemoveAll(b.d.MailDir(e)); err != nil {
					t.Fatal(err)
				}
			}
		}, args: []string{"--rebuild"}, want: totals{Appended: len(awkwardNames) + 5, Permissions: 1}},
		{name: "rebuild into an intact target without the ledger", prep: func(t *testing.T) {
			if err := os.Remove(ledger); err != nil {
				t.Fatal(err)
			}
		}, args: []string{"--rebuild"}, want: totals{Found: len(awkwardNames) + 5, Permissions: 1}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.round != nil {
				writeRound(t, b.arch, st.round)
			}
			if st.prep != nil {
				st.prep(t)
			}
			if st.plan != "" {
				if got := planIn(t, b.arch, ledger); got != st.plan {
					t.Errorf("plan:\n got %s\nwant %s", got, st.plan)
				}
			}
			sum, out, err := runIn(t, append(append(slices.Clone(b.args), "--ledger", ledger), st.args...)...)
			if err != nil {
				t.Fatalf("run: %v\n%s", err, out)
			}
			got := sum.total()
			if got.Failed != 0 || got.PermissionsFailed != 0 || got.Skipped != 0 {
				t.Errorf("failed %d, permissions not set %d, skipped %d; want none\n%s", got.Failed, got.PermissionsFailed, got.Skipped, out)
			}
			got.InArchive = 0
			if got != st.want {
				t.Errorf("summary %+v\nwant    %+v\n%s", got, st.want, out)
			}
			checkIn(t, append(slices.Clone(b.args), "--ledger", ledger)...)
			ma := b.dial(t, alice)
			defer ma.Close()
			expectMail(t, ma, paths, only(slices.Collect(maps.Values(msgs)), alice))
			mbb := b.dial(t, bob)
			defer mbb.Close()
			expectMail(t, mbb, map[string][]string{"inbox": {"INBOX"}}, only(slices.Collect(maps.Values(msgs)), bob))
			acl, err := ma.GetACL(context.Background(), []string{"Shared"})
			if err != nil {
				t.Fatal(err)
			}
			if acl[bob] != "lrs" {
				t.Errorf("ACL of Shared = %v, want %s: lrs (Reviewer)", acl, bob)
			}
		})
	}
	if t.Failed() {
		t.Log(tail(b.d.Log(), 2000))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestDovecotKill kills the importer (SIGKILL) at random points of a run,
// then lets a rerun finish: every message must be there exactly once.
func TestDovecotKill(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	b := newDovecotBed(t, "carol", "dave")
	users := []string{b.email(t, "carol"), b.email(t, "dave")}
	day := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	var all []msg
	writeRound(t, b.arch, func(r *round) {
		for _, u := range users {
			r.mailbox(u)
			for f := range 3 {
				id := fmt.Sprintf("f%d", f)
				r.folder(u, folder{id: id, name: fmt.Sprintf("Folder %d", f), class: "IPF.Note"})
				for i := range 250 {
					m := msg{mbx: u, folder: id, id: fmt.Sprintf("%s-%s-%d", u, id, i), read: i%2 == 0, flagged: i%7 == 0,
						received: day.Add(time.Duration(len(all)) * time.Minute), size: 2 << 10, noID: i%10 == 3}
					r.message(m)
					all = append(all, m)
				}
			}
		}
	})
	args := append([]string{"run"}, b.args...)
	// How long an uninterrupted run would take is unknown; kill early and
	// late, at random, and stop once a run completes on its own.
	// Kill points: one at a random time during start-up, then after a
	// random number of further messages has reached Dovecot's store, so
	// the kills land inside the APPENDs however slow the machine is.
	stored := func() int {
		n := 0
		for _, u := range users {
			filepath.WalkDir(b.d.MailDir(u), func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() && (filepath.Base(filepath.Dir(p)) == "cur" || filepath.Base(filepath.Dir(p)) == "new") {
					n++
				}
				return nil
			})
		}
		return n
	}
	kills := 0
	for run := range 7 {
		cmd := command(args...)
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		before := stored()
		target := before + 1 + rand.IntN(max(1, (len(all)-before)/2))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		deadline := time.After(time.Duration(rand.Int64N(int64(200 * time.Millisecond))))
		if run > 0 {
			deadline = nil
		}
		tick := time.NewTicker(2 * time.Millisecond)
	wait:
		for {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("run finished with %v\n%s", err, out)
				}
				break wait
			case <-deadline:
				cmd.Process.Kill()
				<-done
				kills++
				break wait
			case <-tick.C:
				if run > 0 && stored() >= target {
					cmd.Process.Kill()
					<-done
					kills++
					break wait
				}
			}
		}
		tick.Stop()
	}
	t.Logf("%d runs killed", kills)
	sum, out, err := runIn(t, b.args...)
	if err != nil || sum.total().Failed != 0 {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	if tot := sum.total(); kills > 1 && tot.Unchanged+tot.Found == 0 {
		t.Errorf("the killed runs stored nothing (kill points too early?)\n%s", out)
	}
	paths := map[string][]string{}
	for f := range 3 {
		paths[fmt.Sprintf("f%d", f)] = []string{fmt.Sprintf("Folder %d", f)}
	}
	for _, u := range users {
		mb := b.dial(t, u)
		expectMail(t, mb, paths, only(all, u))
		mb.Close()
	}
}

// randomDelays returns n delays spread between lo and hi, in random order.
func randomDelays(n int, lo, hi time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = lo + time.Duration(rand.Int64N(int64(hi-lo)))
	}
	return out
}
