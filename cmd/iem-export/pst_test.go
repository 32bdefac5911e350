package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iemproject/iem/internal/cliutil"
)

// TestPSTInspect: the shared public files are described (format, encoding,
// folders with counts); a file that is no PST, no file and a truncated PST
// each give their exit code and name the file.
func TestPSTInspect(t *testing.T) {
	shared := "/work/shared/testdata/pst" // where a clean clone elsewhere finds them
	if _, err := os.Stat("../../../shared/testdata/pst"); err == nil {
		shared = "../../../shared/testdata/pst"
	}
	if _, err := os.Stat(shared); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the shared PST test files are missing: %v", err)
		}
		t.Skip("no shared PST test files")
	}
	run := func(args ...string) (string, int) {
		var out bytes.Buffer
		err := newApp(&out, &out).RunContext(context.Background(), append([]string{"iem-export", "pst", "inspect"}, args...))
		if err != nil {
			out.WriteString("error: " + err.Error())
		}
		return out.String(), cliutil.ExitCode(err)
	}
	out, code := run(filepath.Join(shared, "32-bit.pst"), filepath.Join(shared, "dist-list.pst"))
	for _, want := range []string{"32-bit.pst: ANSI PST (wVer 14), encoding permute, 1 items", "dist-list.pst: Unicode PST (wVer 23)",
		"Calendar                                   1 items", "Contacts                                   2 items", "search folder", "no problems"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
	if code != 0 {
		t.Errorf("inspect of two good files: exit %d", code)
	}
	dir := t.TempDir()
	junk := filepath.Join(dir, "notes.pst")
	os.WriteFile(junk, []byte(strings.Repeat("these are not the folders you are looking for\n", 40)), 0o600)
	if out, code := run(junk); code != 1 || !strings.Contains(out, junk) || !strings.Contains(out, "not a PST or OST file") {
		t.Errorf("inspect of a text file: exit %d\n%s", code, out)
	}
	if out, code := run(); code != 2 || !strings.Contains(out, "FILE:") {
		t.Errorf("inspect without a file: exit %d\n%s", code, out)
	}
	data, err := os.ReadFile(filepath.Join(shared, "dist-list.pst"))
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.pst")
	os.WriteFile(cut, data[:len(data)/3], 0o600)
	if out, code := run(cut); code != 3 || !strings.Contains(out, "problems (what could not be read)") {
		t.Errorf("inspect of a truncated file: exit %d, want 3 with the problems listed\n%s", code, out)
	}
}
