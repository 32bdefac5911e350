package replay

import (
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// TestFolderIndexTake: messages are matched by RFC822.SIZE and INTERNALDATE
// alone, each UID once and in order, UIDs listed before the writes left
// out; nothing else of the message counts.
func TestFolderIndexTake(t *testing.T) {
	d := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sum := func(uid imap.UID, size int64, date time.Time) Summary {
		return Summary{UID: uid, Size: size, InternalDate: date}
	}
	ix := &folderIndex{taken: map[imap.UID]bool{}, msgs: []Summary{
		sum(1, 100, d),                  // there before the run
		sum(2, 100, d.Add(time.Second)), // another date
		sum(3, 100, d),                  // new, and
		sum(4, 100, d),                  // a byte-identical copy
		sum(5, 200, d),
		sum(6, 300, d.Add(500*time.Millisecond).In(time.FixedZone("", 3600))), // same second, other zone
	}}
	old := map[imap.UID]bool{1: true}
	for _, c := range []struct {
		size  int64
		date  time.Time
		old   map[imap.UID]bool
		uid   imap.UID
		found bool
	}{
		{100, d, old, 3, true},                  // lowest new UID of that size and date
		{100, d, old, 4, true},                  // its copy gets the next
		{100, d, old, 0, false},                 // a third: missing (1 is old, 2 another date)
		{100, d, nil, 1, true},                  // an earlier run's file may be an old UID
		{100, d.Add(time.Second), old, 2, true}, // date to the second
		{150, d, old, 0, false},                 // no such size
		{200, d.Add(time.Hour), old, 0, false},  // no such date
		{300, d.Add(900 * time.Millisecond), old, 6, true},
		{200, time.Time{}, old, 5, true}, // no date: size alone
		{0, time.Time{}, old, 0, false},  // nothing to match by
	} {
		uid, found := ix.take(c.size, c.date, c.old)
		if uid != c.uid || found != c.found {
			t.Errorf("take(%d, %v) = %d, %v; want %d, %v", c.size, c.date, uid, found, c.uid, c.found)
		}
	}
	if !ix.taken[3] || !ix.taken[4] || ix.taken[2] && !ix.taken[1] {
		t.Errorf("taken = %v", ix.taken)
	}
	if got := fileDate("11" + "20260102030405" + "0042.imap"); !got.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.Local)) {
		t.Errorf("fileDate = %v", got)
	}
	if got := fileDate("x.imap"); !got.IsZero() {
		t.Errorf("fileDate(x.imap) = %v, want zero", got)
	}
	for in, want := range map[string]int64{"": 0, "a\nb": 4, "a\r\nb\n": 6, "\n\n": 4, "\r\r\n": 3} {
		if n, err := repairedSize(strings.NewReader(in)); err != nil || n != want {
			t.Errorf("repairedSize(%q) = %d, %v; want %d", in, n, err, want)
		}
	}
}
