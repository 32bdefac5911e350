package settings

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPSTMapSameFile: one file under two names (a hard link) is refused, naming both
// lines and both names; two different files are not.
func TestPSTMapSameFile(t *testing.T) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "alice.pst"), filepath.Join(dir, "copy.pst"), filepath.Join(dir, "carol.pst")
	os.WriteFile(a, []byte("x"), 0o600)
	os.WriteFile(c, []byte("x"), 0o600)
	if err := os.Link(a, b); err != nil {
		t.Skipf("no hard links here: %v", err)
	}
	m := filepath.Join(dir, "map.csv")
	os.WriteFile(m, []byte("alice.pst,alice@example.com\ncarol.pst,carol@example.com\ncopy.pst,bob@example.com,root\n"), 0o600)
	_, err := PSTMap(m)
	wantField(t, "the same file twice", err, "pst-map")
	if err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "line 1") ||
		!strings.Contains(err.Error(), b) || !strings.Contains(err.Error(), a) {
		t.Errorf("the same file twice: %v", err)
	}
	os.WriteFile(m, []byte("alice.pst,alice@example.com\ncarol.pst,carol@example.com\n"), 0o600)
	if ms, err := PSTMap(m); err != nil || len(ms) != 2 {
		t.Errorf("two files: %v, %v", ms, err)
	}
}
