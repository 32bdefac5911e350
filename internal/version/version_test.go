package version

import (
	"strings"
	"testing"
)

func TestStamped(t *testing.T) {
	defer func(v, c, d string) { Version, Commit, Date = v, c, d }(Version, Commit, Date)
	Version, Commit, Date = "1.2.3", "0123456789abcdef0123456789abcdef01234567", "2026-11-29T01:02:03Z"

	want := "1.2.3 (commit 0123456789ab, 2026-11-29T01:02:03Z; archive format: writes 1, reads 1)"
	if got := Info(); got != want {
		t.Errorf("Info() = %q, want %q", got, want)
	}
	if got, want := Writer("iem-export"), "iem-export 1.2.3 (0123456789ab)"; got != want {
		t.Errorf("Writer() = %q, want %q", got, want)
	}
}

func TestUnstamped(t *testing.T) {
	defer func(c, d string) { Commit, Date = c, d }(Commit, Date)
	Commit, Date = "", ""
	// A test binary has no vcs stamp: both fall back to "unknown".
	got := Info()
	if !strings.HasPrefix(got, Version+" (commit ") || !strings.Contains(got, "archive format: writes 1, reads 1") {
		t.Errorf("Info() = %q", got)
	}
	if w := Writer("iem-import"); !strings.HasPrefix(w, "iem-import "+Version) {
		t.Errorf("Writer() = %q", w)
	}
}
