package imapsink

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

func TestUIDSets(t *testing.T) {
	tests := []struct {
		uids   []imap.UID
		maxLen int
		want   []string
	}{
		{nil, 100, nil},
		{[]imap.UID{0}, 100, nil},
		{[]imap.UID{5}, 100, []string{"5"}},
		{[]imap.UID{3, 1, 2, 2, 7, 9, 8, 0}, 100, []string{"1:3,7:9"}},
		{[]imap.UID{1, 3, 5, 7, 9, 11}, 100, []string{"1,3,5,7,9,11"}},
		{[]imap.UID{1, 3, 5, 7, 9, 11}, 5, []string{"1,3,5", "7,9", "11"}},
		{[]imap.UID{1, 2, 3, 10, 11, 100}, 4, []string{"1:3", "10:11", "100"}},
		{[]imap.UID{123456}, 3, []string{"123456"}}, // one range longer than the limit still goes
	}
	for _, tt := range tests {
		var got []string
		for _, s := range uidSets(tt.uids, tt.maxLen) {
			got = append(got, s.String())
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("uidSets(%v, %d) = %q, want %q", tt.uids, tt.maxLen, got, tt.want)
		}
	}
	// A big sparse folder: every set within the limit, every UID once.
	var uids []imap.UID
	for u := imap.UID(1); u < 30000; u += 2 {
		uids = append(uids, u)
	}
	sets := uidSets(uids, maxSetLen)
	if len(sets) < 2 {
		t.Fatalf("%d sets for %d sparse UIDs, want several", len(sets), len(uids))
	}
	var all []imap.UID
	for _, s := range sets {
		if n := len(s.String()); n > maxSetLen {
			t.Errorf("set of %d bytes, limit %d", n, maxSetLen)
		}
		nums, _ := s.Nums()
		all = append(all, nums...)
	}
	if !slices.Equal(all, uids) {
		t.Errorf("sets hold %d UIDs, want the %d given, in order", len(all), len(uids))
	}
}

// TestSetFlagsMany sets flags on groups of messages, with the connection
// cut between two UID STOREs of one call: every message ends up with its
// group's flags and no other message changes.
func TestSetFlagsMany(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, m, folder := aliceFolder(t, "Many")
	user := d.Users[0].Name
	var msgs []Message
	for i := range 30 {
		msgs = append(msgs, msgOf(fmt.Sprintf("many-%d@x", i), 200, date0.Add(time.Duration(i)*time.Minute), "$Old"))
	}
	res, err := m.AppendBatch(ctx, folder, msgs, nil)
	if err != nil {
		t.Fatal(err)
	}
	var seen, flagged, untouched []imap.UID
	for i, r := range res {
		if r.Err != nil || r.UID == 0 {
			t.Fatalf("AppendBatch[%d] = %+v", i, r)
		}
		switch {
		case i%3 == 0:
			seen = append(seen, r.UID)
		case i%3 == 1:
			flagged = append(flagged, r.UID)
		default:
			untouched = append(untouched, r.UID)
		}
	}
	// Several UID STOREs in one call (sets of at most 4 bytes), the second
	// one cut before the server reads it.
	p := newCutProxy(t, d.Addr, func(fromClient bool, seen []byte) bool {
		return fromClient && bytes.Count(seen, []byte("UID STORE")) >= 2
	})
	cut := dial(t, d, p.addr(), user, 1)
	if err := cut.storeSets(ctx, folder, uidSets(seen, 4), []imap.Flag{imap.FlagSeen, flagRecent}); err != nil {
		t.Fatalf("storeSets = %v", err)
	}
	if p.cuts.Load() != 1 {
		t.Fatalf("proxy cut %d connections, want 1", p.cuts.Load())
	}
	// Duplicates, a UID not in the folder and 0 are harmless.
	if err := m.SetFlagsMany(ctx, folder, append(append(flagged, flagged[0], 99999, 0), flagged...), []imap.Flag{imap.FlagFlagged, "$Label1"}); err != nil {
		t.Fatalf("SetFlagsMany = %v", err)
	}
	if err := m.SetFlagsMany(ctx, folder, nil, []imap.Flag{imap.FlagDeleted}); err != nil {
		t.Errorf("SetFlagsMany(no UIDs) = %v", err)
	}
	if err := m.SetFlagsMany(ctx, []string{".."}, seen, nil); err == nil {
		t.Errorf("SetFlagsMany(bad folder) = nil, want error")
	}
	want := map[imap.UID][]imap.Flag{}
	for _, u := range seen {
		want[u] = []imap.Flag{imap.FlagSeen}
	}
	for _, u := range flagged {
		want[u] = []imap.Flag{"$Label1", imap.FlagFlagged}
	}
	for _, u := range untouched {
		want[u] = []imap.Flag{"$Old"}
	}
	got := listAll(t, m, folder)
	if len(got) != len(msgs) {
		t.Fatalf("folder holds %d messages, want %d", len(got), len(msgs))
	}
	for _, s := range got {
		fl := slices.DeleteFunc(slices.Clone(s.Flags), func(f imap.Flag) bool { return f == flagRecent })
		slices.Sort(fl)
		if !slices.Equal(fl, want[s.UID]) {
			t.Errorf("UID %d (%s) has flags %v, want %v", s.UID, s.MessageID, fl, want[s.UID])
		}
	}
}
