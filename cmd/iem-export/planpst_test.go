package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/internal/cliutil"
)

// sharedPST is the path of a public PST file of ../shared/testdata/pst; the test
// skips without them unless CI=true.
func sharedPST(t *testing.T, name string) string {
	t.Helper()
	file := filepath.Join("/work/shared/testdata/pst", name) // where a clean clone elsewhere finds them
	if _, err := os.Stat(filepath.Join("../../../shared/testdata/pst", name)); err == nil {
		file, _ = filepath.Abs(filepath.Join("../../../shared/testdata/pst", name))
	}
	if _, err := os.Stat(file); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the shared PST test files are missing: %v", err)
		}
		t.Skip("no shared PST test files")
	}
	return file
}

// TestPlanPST: plan --source pst (a Source with nothing to ask a server, no
// export.PlanSource) is a usage error on --source that points at pst inspect,
// exit 2, and prints no plan; it does not panic (commit 5143694).
func TestPlanPST(t *testing.T) {
	file := sharedPST(t, "dist-list.pst")
	_, dir := testOrg(t, ewstest.OrgOptions{Users: 1}, nil)
	mapFile := filepath.Join(dir, "map.csv")
	if err := os.WriteFile(mapFile, []byte(file+",alice@example.com,root\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, logs, err := runApp(t, "iem-export", "plan", "--source", "pst", "--pst-map", mapFile,
		"--directory-file", filepath.Join(dir, "ad.ldf"), "--archive", filepath.Join(dir, "archive"), "--log-level", "warn")
	if code := cliutil.ExitCode(err); code != cliutil.ExitUsage {
		t.Fatalf("plan --source pst: exit %d (%v), want 2\n%s\n%s", code, err, out, logs)
	}
	for _, want := range []string{"--source", "plan needs a server source", "iem-export pst inspect FILE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("plan --source pst: error %q lacks %q", err, want)
		}
	}
	if strings.Contains(out, "would be exported") {
		t.Errorf("plan --source pst printed a plan:\n%s", out)
	}
}
