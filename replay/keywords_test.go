package replay

import (
	"slices"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// TestCategoryKeywords: a message's categories reach the target as IMAP
// keywords and its follow-up flag as \Flagged; in round 2 the categories
// and the flag change and the message's flags follow, with no second copy
// and without losing a flag set on the target meanwhile. In both mail
// modes.
func TestCategoryKeywords(t *testing.T) { modes(t, testCategoryKeywords) }

func testCategoryKeywords(t *testing.T, b *bed) {
	writeRound(t, b.arch, func(r *round) {
		r.mailbox(alice)
		r.folder(alice, "inbox", "Inbox", "IPF.Note", nil)
		r.message(alice, "inbox", "k1", 1, true)
		r.State(alice, "inbox", "k1", map[string]string{"categories": `["Red Category","Projekt Ä","Follow-up"]`, "flag": "flagged"})
	})
	if got, _, errs := b.run("ledger"); got.Appended != 1 || len(errs) > 0 {
		t.Fatalf("round 1: %+v, errors %q", got, errs)
	}
	b.wantFlags("round 1", imap.FlagFlagged, imap.FlagSeen, "Follow-up", "Projekt_&AMQ-", "Red_Category")
	// The user answers the message on the target before round 2.
	b.tg.mu.Lock()
	msg := b.onlyMessage("round 1")
	msg.flags = append(msg.flags, imap.FlagAnswered)
	b.tg.mu.Unlock()

	writeRound(t, b.arch, func(r *round) {
		r.State(alice, "inbox", "k1", map[string]string{"categories": `["Red Category","Runde 2"]`, "flag": ""})
	})
	if got, _, errs := b.run("ledger"); got != (totals{InArchive: 1, Updated: 1}) || len(errs) > 0 {
		t.Errorf("round 2: %+v, errors %q, want 1 updated", got, errs)
	}
	b.wantFlags("round 2", imap.FlagAnswered, imap.FlagSeen, "Red_Category", "Runde_2")
	before := b.tg.writeCount()
	if got, _, errs := b.run("ledger"); got != (totals{InArchive: 1, Unchanged: 1}) || len(errs) > 0 || b.tg.writeCount() != before {
		t.Errorf("rerun: %+v, errors %q, %d writes, want nothing done", got, errs, b.tg.writeCount()-before)
	}
}

// wantFlags checks that alice holds exactly one message, with flags want
// (in any order).
func (b *bed) wantFlags(step string, want ...imap.Flag) {
	b.t.Helper()
	b.tg.mu.Lock()
	defer b.tg.mu.Unlock()
	got := slices.Clone(b.onlyMessage(step).flags)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		b.t.Errorf("%s: flags %q, want %q", step, got, want)
	}
}

// onlyMessage returns alice's one message (b.tg.mu held).
func (b *bed) onlyMessage(step string) *memMsg {
	b.t.Helper()
	var all []*memMsg
	for _, f := range b.tg.mail[alice] {
		all = append(all, f.msgs...)
	}
	if len(all) != 1 {
		b.t.Fatalf("%s: alice holds %d messages, want 1", step, len(all))
	}
	return all[0]
}
