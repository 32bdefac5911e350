package imapsink

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/iemproject/iem/format"
	"github.com/iemproject/iem/internal/testbed"
)

// TestCategoryKeywordsDovecot appends a message with the keywords of the
// categories "Red Category", "Projekt Ä", "Follow-up" and the follow-up
// flag (\Flagged); FETCH FLAGS shows them as written. UpdateFlags then
// changes the keywords (STORE +FLAGS/-FLAGS) and keeps a flag set
// meanwhile. It also records what Dovecot accepts: a keyword of
// format.MaxKeywordLen bytes, but not one byte more.
func TestCategoryKeywordsDovecot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, m, folder := aliceFolder(t, "Kategorien")
	kws, tooLong := format.MailKeywords(`["Red Category","Projekt Ä","Follow-up"]`)
	if len(tooLong) > 0 {
		t.Fatalf("MailKeywords left out %q", tooLong)
	}
	flags := []imap.Flag{imap.FlagFlagged}
	for _, kw := range kws {
		flags = append(flags, imap.Flag(kw))
	}
	res, err := m.AppendBatch(ctx, folder, []Message{msgOf("cat-1@x", 300, date0, flags...)}, nil)
	if err != nil || res[0].Err != nil || res[0].UID == 0 {
		t.Fatalf("AppendBatch = %+v, %v", res, err)
	}
	uid := res[0].UID
	wantFlags(t, m, folder, imap.FlagFlagged, "Follow-up", "Projekt_&AMQ-", "Red_Category")

	// Round 2: "Projekt Ä" removed, "Runde 2" added; \Seen set on the
	// target meanwhile stays.
	if err := m.SetFlags(ctx, folder, uid, append(slices.Clone(flags), imap.FlagSeen)); err != nil {
		t.Fatal(err)
	}
	if err := m.UpdateFlags(ctx, folder, uid, []imap.Flag{imap.Flag(format.CategoryKeyword("Runde 2")), flagRecent}, []imap.Flag{"Projekt_&AMQ-"}); err != nil {
		t.Fatalf("UpdateFlags = %v", err)
	}
	wantFlags(t, m, folder, imap.FlagFlagged, imap.FlagSeen, "Follow-up", "Red_Category", "Runde_2")
	if err := m.UpdateFlags(ctx, folder, uid, nil, nil); err != nil {
		t.Errorf("UpdateFlags(nothing) = %v", err)
	}

	// Dovecot's mail_max_keyword_length (50 by default).
	ok := imap.Flag(strings.Repeat("k", format.MaxKeywordLen))
	if err := m.UpdateFlags(ctx, folder, uid, []imap.Flag{ok}, nil); err != nil {
		t.Errorf("keyword of %d bytes: %v", len(ok), err)
	}
	if err := m.UpdateFlags(ctx, folder, uid, []imap.Flag{ok + "k"}, nil); err == nil {
		t.Errorf("keyword of %d bytes accepted; format.MaxKeywordLen is too small", len(ok)+1)
	}
}

// wantFlags checks that the folder's one message has exactly flags want
// (\Recent aside, in any order).
func wantFlags(t *testing.T, m *Mailbox, folder []string, want ...imap.Flag) {
	t.Helper()
	got := listAll(t, m, folder)
	if len(got) != 1 {
		t.Fatalf("folder holds %d messages, want 1", len(got))
	}
	fl := slices.DeleteFunc(slices.Clone(got[0].Flags), func(f imap.Flag) bool { return f == flagRecent })
	slices.Sort(fl)
	slices.Sort(want)
	if !slices.Equal(fl, want) {
		t.Errorf("flags %q, want %q", fl, want)
	}
}

// aliceFolder starts a Dovecot with the user alice and returns it, her
// mailbox (one connection) and the folder name, created.
func aliceFolder(t *testing.T, name string) (*testbed.Dovecot, *Mailbox, []string) {
	t.Helper()
	d := testbed.StartDovecot(t, "alice")
	m := dial(t, d, "", d.Users[0].Name, 1)
	folder := []string{name}
	if _, err := m.EnsureFolder(context.Background(), folder); err != nil {
		t.Fatal(err)
	}
	return d, m, folder
}
