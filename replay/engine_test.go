package replay

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/format"
	"github.com/iemproject/iem/internal/archivetest"
)

// The tests of this file replay archives into memTarget, the in-memory
// Sinks; the emulators and real servers are cmd/iem-import's and e2e's.

// round writes one round of an archive folder, as iem-export would.
type round struct{ *archivetest.Round }

func writeRound(t testing.TB, dir string, fn func(r *round)) {
	t.Helper()
	archivetest.Write(t, dir, "replay test", func(r *archivetest.Round) { fn(&round{r}) })
}

func (r *round) put(h *archive.Header, body []byte) { r.Put(h, body) }
func (r *round) putJSON(h *archive.Header, v any)   { r.PutJSON(h, v) }
func (r *round) mailbox(email string)               { r.Mailbox(email) }

func (r *round) folder(mbx, id, name, class string, acl *format.ACL) {
	r.putJSON(&archive.Header{Kind: archive.KindFolder, Mailbox: mbx, ID: id},
		FolderRecord{ID: id, DisplayName: name, Path: []string{name}, Class: class, ACL: acl})
}

var day = time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)

// message writes message id; n varies its content under the same id.
func (r *round) message(mbx, folder, id string, n int, read bool) {
	attrs := map[string]string{"message-id": "<" + id + "@iem.test>", "read": "0"}
	if read {
		attrs["read"] = "1"
	}
	body := fmt.Sprintf("From: a@example.org\r\nMessage-ID: <%s@iem.test>\r\nSubject: %s\r\n\r\nversion %d\r\n", id, id, n)
	r.put(&archive.Header{Kind: archive.KindMessage, Mailbox: mbx, Folder: folder, ID: id, Received: day.Add(time.Duration(len(id)) * time.Hour),
		Attrs: attrs}, []byte(body))
}

func (r *round) contact(mbx, folder, id string) {
	r.put(&archive.Header{Kind: archive.KindContact, Mailbox: mbx, Folder: folder, ID: id},
		[]byte("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:"+id+"\r\nEND:VCARD\r\n"))
}

const alice, bob = "alice@example.com", "bob@example.com"

// round1 is two mailboxes: alice with two mail folders (one shared with
// bob), a contacts folder with two contacts; bob with one message.
func round1(r *round) {
	r.mailbox(alice)
	r.mailbox(bob)
	rights, _ := format.LevelRights("Reviewer")
	acl := &format.ACL{Entries: []format.ACLEntry{{Grantee: format.Grantee{Kind: format.GranteeUser, Address: bob}, Level: "Reviewer", Rights: rights}}}
	r.folder(alice, "inbox", "Inbox", "IPF.Note", nil)
	r.folder(alice, "proj", "Projects", "IPF.Note", acl)
	r.folder(alice, "cont", "Contacts", "IPF.Contact", nil)
	r.folder(bob, "inbox", "Inbox", "IPF.Note", nil)
	r.message(alice, "inbox", "m1", 1, true)
	r.message(alice, "inbox", "m2", 1, false)
	r.message(alice, "inbox", "m3", 1, false)
	r.message(alice, "proj", "m4", 1, true)
	r.message(bob, "inbox", "b1", 1, false)
	r.contact(alice, "cont", "c1")
	r.contact(alice, "cont", "c2")
}

// round2 changes round 1: a deletion in each kind, a read-flag change,
// new content under the same id, a move, a new message.
func round2(r *round) {
	r.Tombstone(alice, "inbox", "m1")
	r.Tombstone(alice, "cont", "c2")
	r.State(alice, "inbox", "m2", map[string]string{"read": "1"})
	r.message(alice, "inbox", "m3", 2, false) // new content
	r.message(alice, "inbox", "m4", 1, true)  // moved from Projects
	r.message(bob, "inbox", "b2", 1, false)   // new
}

// totals adds up the mailboxes of a run.
type totals struct{ InArchive, Appended, Updated, Unchanged, Found, Deleted, Skipped, Failed, Permissions int }

type bed struct {
	t     *testing.T
	dir   string
	arch  string
	tg    *memTarget
	files *memFiles // path mode; nil: IMAP APPEND
}

// modes runs a test in both mail modes.
func modes(t *testing.T, fn func(t *testing.T, b *bed)) {
	for _, mode := range []string{"imap", "path"} {
		t.Run(mode, func(t *testing.T) {
			b := newBed(t)
			if mode == "path" {
				_, b.files = b.tg.fileSinks()
			}
			fn(t, b)
		})
	}
}

func newBed(t *testing.T) *bed {
	dir := t.TempDir()
	arch := filepath.Join(dir, "archive")
	if err := os.Mkdir(arch, 0o700); err != nil {
		t.Fatal(err)
	}
	return &bed{t: t, dir: dir, arch: arch, tg: newMemTarget()}
}

// engine opens the archive (as it is now) for a new Engine with opt; done
// closes it.
func (b *bed) engine(opt Options) (im *Engine, done func() error) {
	b.t.Helper()
	f, err := archive.OpenFolder(b.arch, &archive.FolderOptions{Existing: true})
	if err != nil {
		b.t.Fatal(err)
	}
	im, err = New([]*archive.Folder{f}, opt)
	if err != nil {
		f.Close()
		b.t.Fatal(err)
	}
	return im, f.Close
}

// run replays the archive into the target with the ledger file ledger,
// and returns the counts, the notices printed and the mailboxes' errors.
func (b *bed) run(ledger string) (totals, string, []string) {
	b.t.Helper()
	var notice bytes.Buffer
	im, done := b.engine(Options{Notice: &notice, PasswordReport: filepath.Join(b.dir, "pw.csv")})
	defer done()
	led, err := OpenLedger(filepath.Join(b.dir, ledger))
	if err != nil {
		b.t.Fatal(err)
	}
	defer led.Close()
	if _, err := led.UseFor(Target{API: "mem://admin", IMAP: "mem:143"}, false); err != nil {
		b.t.Fatal(err)
	}
	im.Ledger, im.Sinks = led, b.tg.sinks()
	if b.files != nil {
		im.Sinks.Files = b.files
	}
	ctx := context.Background()
	if err := im.CreateAccounts(ctx); err != nil {
		b.t.Fatal(err)
	}
	if err := im.Run(ctx, 2); err != nil {
		b.t.Fatal(err)
	}
	var tt totals
	var errs []string
	for _, s := range im.Stats() {
		tt.InArchive += s.InArchive
		tt.Appended += s.Appended
		tt.Updated += s.Updated
		tt.Unchanged += s.Unchanged
		tt.Found += s.Found
		tt.Deleted += s.Deleted
		tt.Skipped += sum(s.Skipped)
		tt.Failed += sum(s.Failed)
		tt.Permissions += s.Permissions
		if s.Err != "" {
			errs = append(errs, s.Mailbox+": "+s.Err)
		}
	}
	return tt, notice.String(), errs
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// check compares archive and target with Engine.Check and fails on any
// difference (missing, extra or duplicated).
func (b *bed) check() {
	b.t.Helper()
	im, done := b.engine(Options{})
	defer done()
	im.Sinks = b.tg.sinks()
	var out bytes.Buffer
	if err := im.Check(context.Background(), &out); err != nil {
		b.t.Errorf("check: %v\n%s", err, out.String())
	}
}

// plan returns Engine.Plan's summary line.
func (b *bed) plan(ledger string) string {
	b.t.Helper()
	im, done := b.engine(Options{})
	defer done()
	led, err := OpenLedgerReadOnly(filepath.Join(b.dir, ledger))
	if err != nil {
		b.t.Fatal(err)
	}
	if led != nil {
		defer led.Close()
	}
	var out bytes.Buffer
	if err := im.Plan(&out, led); err != nil {
		b.t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	return lines[len(lines)-1]
}

// noDuplicates fails if a message is on the target more than once.
func (b *bed) noDuplicates() {
	b.t.Helper()
	for _, acct := range []string{alice, bob} {
		for folder, ids := range b.tg.messages(acct) {
			for id, n := range ids {
				if n > 1 {
					b.t.Errorf("%s %s: %s stored %d times", acct, folder, id, n)
				}
			}
		}
	}
}

// TestRounds: round 1 applied; a rerun applies nothing; round 2 with
// changes and deletions applies exactly those; a rerun again nothing. In
// both mail modes.
func TestRounds(t *testing.T) { modes(t, testRounds) }

func testRounds(t *testing.T, b *bed) {
	writeRound(t, b.arch, round1)
	if got, want := b.plan("ledger"), "plan: 2 mailboxes: 7 to create, 0 to update, 0 flag changes, 0 unchanged, 0 skipped, 0 to delete"; got != want {
		t.Errorf("plan before round 1:\n got %s\nwant %s", got, want)
	}
	steps := []struct {
		name  string
		round func(*round)
		want  totals
		plan  string
	}{
		{name: "round 1", want: totals{InArchive: 7, Appended: 7, Permissions: 1}},
		{name: "rerun", want: totals{InArchive: 7, Unchanged: 7, Permissions: 1}},
		// m3 (content) and m4 (moved) are new copies replacing old ones:
		// updates; m2's read flag: an update; m1 and c2: deleted.
		{name: "round 2", round: round2, want: totals{InArchive: 6, Appended: 1, Updated: 3, Unchanged: 2, Deleted: 2, Permissions: 1},
			plan: "plan: 2 mailboxes: 1 to create, 2 to update, 1 flag changes, 2 unchanged, 0 skipped, 2 to delete"},
		{name: "rerun after round 2", want: totals{InArchive: 6, Unchanged: 6, Permissions: 1}},
	}
	for _, st := range steps {
		if st.round != nil {
			writeRound(t, b.arch, st.round)
		}
		if st.plan != "" {
			if got := b.plan("ledger"); got != st.plan {
				t.Errorf("%s: plan\n got %s\nwant %s", st.name, got, st.plan)
			}
		}
		before := b.tg.writeCount()
		got, notice, errs := b.run("ledger")
		if got != st.want || len(errs) > 0 {
			t.Errorf("%s: %+v, errors %q\nwant %+v", st.name, got, errs, st.want)
		}
		if notice != "" {
			t.Errorf("%s: notices printed:\n%s", st.name, notice)
		}
		if strings.HasPrefix(st.name, "rerun") {
			if n := b.tg.writeCount() - before; n != 0 {
				t.Errorf("%s: %d writes to the target, want none", st.name, n)
			}
		}
		b.check()
		b.noDuplicates()
	}
	// What round 2 left, message by message.
	msgs := b.tg.messages(alice)
	if n := msgs["[Inbox]"]; n["m1@iem.test"] != 0 || n["m2@iem.test"] != 1 || n["m3@iem.test"] != 1 || n["m4@iem.test"] != 1 {
		t.Errorf("alice's Inbox: %v", n)
	}
	if n := msgs["[Projects]"]; len(n) != 0 {
		t.Errorf("alice's Projects still holds %v after m4 moved", n)
	}
	if got := b.tg.accounts[alice].Password; got != "generated-Passw0rd" {
		t.Errorf("alice's password %q", got)
	}
}

// TestCrashBetweenAppendAndLedger: the APPENDs of a batch land but their
// results never reach the ledger (the connection breaks, or the process
// dies). The records stay pending; the next run looks each up on the
// target instead of appending it again, and one the source deleted in the
// meantime is found and deleted. In path mode the files of a batch are
// published but their names never recorded.
func TestCrashBetweenAppendAndLedger(t *testing.T) { modes(t, testCrash) }

func testCrash(t *testing.T, b *bed) {
	writeRound(t, b.arch, round1)
	b.tg.crashAppends = 1 << 10 // every batch of this run
	if b.files != nil {
		b.files.failCommits = 1 << 10
	}
	got, _, errs := b.run("ledger")
	// The contacts are PUT before the first mail batch; each mailbox stops
	// at its first batch.
	if len(errs) != 2 || got.Appended != 2 || got.Found != 0 {
		t.Fatalf("crashing run: %+v, errors %q; want both mailboxes stopped, only the 2 contacts recorded", got, errs)
	}
	b.tg.crashAppends = 0
	if b.files != nil {
		b.files.failCommits = 0
	}
	if got := b.plan("ledger"); !strings.Contains(got, "5 to create") {
		t.Errorf("plan after the crash: %s; want the 5 pending messages to create", got)
	}
	// The source deletes m2 before the next run.
	writeRound(t, b.arch, func(r *round) { r.Tombstone(alice, "inbox", "m2") })
	got, _, errs = b.run("ledger")
	// m1, m3 and b1 were stored: found; m4 (Projects, never reached) is
	// appended; m2, stored and then deleted by the source, is found and
	// deleted.
	want := totals{InArchive: 6, Found: 3, Appended: 1, Unchanged: 2, Deleted: 1, Permissions: 1}
	if got != want || len(errs) > 0 {
		t.Errorf("run after the crash: %+v, errors %q\nwant %+v", got, errs, want)
	}
	b.noDuplicates()
	b.check()
	if got, _, _ := b.run("ledger"); got != (totals{InArchive: 6, Unchanged: 6, Permissions: 1}) {
		t.Errorf("rerun: %+v", got)
	}
}

// TestLostLedger: a run with a new ledger (lost, deleted, another
// --ledger) over a target that holds the mail already matches each folder
// the ledger does not know against the target, says so once per mailbox,
// and stores nothing twice.
func TestLostLedger(t *testing.T) { modes(t, testLostLedger) }

func testLostLedger(t *testing.T, b *bed) {
	writeRound(t, b.arch, round1)
	if got, _, errs := b.run("first"); got.Appended != 7 || len(errs) > 0 {
		t.Fatalf("first run: %+v, %q", got, errs)
	}
	got, notice, errs := b.run("second")
	// Messages are found on the target; groupware items are PUT again
	// under their own names (a PUT replaces: never a duplicate).
	want := totals{InArchive: 7, Found: 5, Appended: 2, Permissions: 1}
	if got != want || len(errs) > 0 {
		t.Errorf("run with a new ledger: %+v, %q\nwant %+v", got, errs, want)
	}
	for _, line := range []string{
		"iem-import: " + alice + " already holds 4 messages in 2 folders the ledger does not know (ledger " + filepath.Join(b.dir, "second") +
			"; Inbox: 3, Projects: 1): matching against the target (as --rebuild does) so nothing is duplicated\n",
		"iem-import: " + bob + "/Inbox already holds 1 message the ledger does not know (ledger " + filepath.Join(b.dir, "second") +
			"): matching against the target (as --rebuild does) so nothing is duplicated\n",
	} {
		if strings.Count(notice, line) != 1 {
			t.Errorf("notice %q not printed once:\n%s", line, notice)
		}
	}
	b.noDuplicates()
	b.check()
	if got, notice, _ := b.run("second"); got != (totals{InArchive: 7, Unchanged: 7, Permissions: 1}) || notice != "" {
		t.Errorf("rerun with the new ledger: %+v\n%s", got, notice)
	}
}
