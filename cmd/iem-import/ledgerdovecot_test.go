package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDovecotLedgerLost is finding 5 of issue 14 against a real Dovecot: an
// archive imported over IMAP, then imported again into the same mailboxes
// with a new ledger (another machine, a deleted ledger, a typo in
// --ledger). The second run finds every message on the target instead of
// appending it a second time, and says so once per mailbox.
func TestDovecotLedgerLost(t *testing.T) {
	b := newDovecotBed(t, "alice", "bob")
	alice, bob := b.email(t, "alice"), b.email(t, "bob")
	day := time.Date(2024, 4, 5, 6, 7, 8, 0, time.UTC)
	var msgs []msg
	add := func(m msg) msg {
		m.received = day.Add(time.Duration(len(msgs)) * time.Hour)
		msgs = append(msgs, m)
		return m
	}
	writeRound(t, b.arch, func(r *round) {
		r.mailbox(alice)
		r.mailbox(bob)
		r.folder(alice, folder{id: "inbox", name: "Inbox", class: "IPF.Note", dist: "inbox"})
		r.folder(alice, folder{id: "proj", name: "Projects", class: "IPF.Note"})
		r.folder(bob, folder{id: "inbox", name: "Inbox", class: "IPF.Note", dist: "inbox"})
		for i := range 4 {
			r.message(add(msg{mbx: alice, folder: "inbox", id: fmt.Sprintf("a%d", i), read: i%2 == 0}))
		}
		r.message(add(msg{mbx: alice, folder: "proj", id: "p1", flagged: true}))
		r.message(add(msg{mbx: alice, folder: "proj", id: "p2", noID: true}))
		r.message(add(msg{mbx: bob, folder: "inbox", id: "b1"}))
	})
	paths := map[string][]string{"inbox": {"INBOX"}, "proj": {"Projects"}}
	first, second := filepath.Join(b.dir, "ledger1"), filepath.Join(b.dir, "ledger2")
	for i, st := range []struct {
		ledger  string
		want    totals
		notices []string
	}{
		{ledger: first, want: totals{Appended: len(msgs)}},
		{ledger: second, want: totals{Found: len(msgs)}, notices: []string{
			alice + " already holds 6 messages in 2 folders the ledger does not know",
			bob + "/INBOX already holds 1 message the ledger does not know"}},
		{ledger: second, want: totals{Unchanged: len(msgs)}},
	} {
		sum, out, err := runIn(t, append(slices.Clone(b.args), "--ledger", st.ledger)...)
		if err != nil {
			t.Fatalf("run %d: %v\n%s", i+1, err, out)
		}
		got := sum.total()
		got.InArchive, got.Permissions = 0, 0
		if got != st.want {
			t.Errorf("run %d: summary %+v\nwant %+v\n%s", i+1, got, st.want, out)
		}
		for _, n := range st.notices {
			if strings.Count(out, n) != 1 {
				t.Errorf("run %d: output does not say once %q:\n%s", i+1, n, out)
			}
		}
		if n := strings.Count(out, "already holds"); n != len(st.notices) {
			t.Errorf("run %d: %d notices, want %d\n%s", i+1, n, len(st.notices), out)
		}
		ma := b.dial(t, alice)
		expectMail(t, ma, paths, only(msgs, alice))
		ma.Close()
		mbb := b.dial(t, bob)
		expectMail(t, mbb, map[string][]string{"inbox": {"INBOX"}}, only(msgs, bob))
		mbb.Close()
		checkIn(t, append(slices.Clone(b.args), "--ledger", st.ledger)...)
	}
}
