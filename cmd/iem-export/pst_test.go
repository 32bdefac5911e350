package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/exchange/ewstest"
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

// TestExportPST: --source pst with an LDIF directory exports the mapped
// files into the mailbox they belong to (dist-list.pst: its contact, list
// and weekly series too, the series listed as converted with losses: its
// exceptions' own bodies), a second run exports nothing, and
// a map line naming a mailbox outside the directory exits 2 naming the line.
func TestExportPST(t *testing.T) {
	file := sharedPST(t, "dist-list.pst")
	_, dir := testOrg(t, ewstest.OrgOptions{Users: 1}, nil)
	mapFile := filepath.Join(dir, "map.csv")
	os.WriteFile(mapFile, []byte("# file, mailbox, where\n"+file+",alice@example.com,archive\n"), 0o600)
	args := []string{"iem-export", "run", "--source", "pst", "--pst-map", mapFile, "--directory-file", filepath.Join(dir, "ad.ldf"),
		"--archive", filepath.Join(dir, "archive"), "--log-level", "warn"}
	out, logs, err := runApp(t, args...)
	if err != nil || !strings.Contains(out, "alice@example.com") || !strings.Contains(out, "pst calendar item converted with losses") {
		t.Fatalf("export of dist-list.pst: %v (exit %d)\n%s\n%s", err, cliutil.ExitCode(err), out, logs)
	}
	if strings.Contains(out, "bob@example.com") {
		t.Errorf("a mailbox without files in the map was exported:\n%s", out)
	}
	kinds, f := countKinds(t, dir)
	f.Close()
	if kinds[archive.KindFolder] == 0 || kinds[archive.KindContact] != 1 || kinds[archive.KindDistributionList] != 1 || kinds[archive.KindEvent] != 1 {
		t.Errorf("archived %v, want folders, 1 contact, 1 distribution list, 1 event", kinds)
	}
	out, _, err = runApp(t, args...)
	if !strings.Contains(out, " 0 items exported") {
		t.Errorf("second run: %v\n%s", err, out)
	}
	os.WriteFile(mapFile, []byte(file+",nobody@example.com,root\n"), 0o600)
	_, _, err = runApp(t, args...)
	if cliutil.ExitCode(err) != 2 || !strings.Contains(err.Error(), "line 1: nobody@example.com is not a mailbox of the directory") {
		t.Errorf("a map line naming an unknown mailbox: %v", err)
	}
}
