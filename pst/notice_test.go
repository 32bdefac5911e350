package pst

import (
	"testing"
)

// TestPasswordNotice: the combined Source gives one summary notice per file with a PST
// password and none for the file without one.
func TestPasswordNotice(t *testing.T) {
	orig := testFiles[1].path(t)
	locked := withPassword(t, orig, 0x1C4A3D7E)
	a, err := NewSource("user", "user@example.com", "", []string{locked}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewSource("user", "user@example.com", "Archives/plain", []string{orig}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Combine(nil, a, b)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	got := m.Notices()
	want := locked + ": has a PST password (a check in the file, not encryption); read without it"
	if len(got) != 1 || got[0] != want {
		t.Errorf("notices %q, want [%q]", got, want)
	}
}
