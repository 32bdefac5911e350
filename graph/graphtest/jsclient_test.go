package graphtest_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// jsClient is the npm package pinned (version and integrity of it and its
// dependencies) by testdata/jsclient/package-lock.json.
const jsClient = "@microsoft/microsoft-graph-client"

// installJSClient installs the pinned Graph JavaScript client into the
// user cache (~/.cache/iem/graph-js) with npm ci, once: npm ci checks every
// tarball against the lockfile's integrity. It skips when node or npm is
// missing, unless CI=true.
func installJSClient(t *testing.T) (nodeModules string) {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			skipOrFail(t, "%s not installed (scripts/testbed-install installs it)", tool)
		}
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		skipOrFail(t, "no cache dir: %v", err)
	}
	dir := filepath.Join(cache, "iem", "graph-js")
	lock, err := os.ReadFile("testdata/jsclient/package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := os.ReadFile("testdata/jsclient/package.json")
	if err != nil {
		t.Fatal(err)
	}
	// npm ci leaves its own copy of the lockfile in node_modules; an
	// unchanged one means this lockfile is what is installed.
	installed, _ := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", jsClient, "package.json")); err == nil && bytes.Equal(installed, lock) {
		return filepath.Join(dir, "node_modules")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"package.json": pkg, "package-lock.json": lock} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(filepath.Join(dir, "package-lock.json"))
		skipOrFail(t, "npm ci %s: %v\n%s", jsClient, err, out)
	}
	return filepath.Join(dir, "node_modules")
}

func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

type jsResult struct {
	IDs, Removed []string
	Pages        int
	DeltaLink    string
	Value        string
}

func runJS(t *testing.T, nodeModules string, env ...string) jsResult {
	t.Helper()
	cmd := exec.Command("node", "testdata/jsclient/delta.js")
	cmd.Env = append(os.Environ(), append([]string{"NODE_PATH=" + nodeModules}, env...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node delta.js: %v\n%s", err, stderr.Bytes())
	}
	var r jsResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("node delta.js printed %q: %v", out, err)
	}
	return r
}

// TestGraphJavaScriptClient: Microsoft's Graph JavaScript client, run by
// node, pages an inbox of the emulator through delta (@odata.nextLink
// pages until the @odata.deltaLink), fetches a message's $value, and
// follows the deltaLink after a round of changes; everything it got is
// checked against the emulator's org.
func TestGraphJavaScriptClient(t *testing.T) {
	nodeModules := installJSClient(t)
	srv, org := start(t, nil)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, srv.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	u := org.Users[0]
	rest := strings.NewReplacer("+", "-", "/", "_") // the emulator's REST ids
	want := func() []string {
		var ids []string
		for _, id := range org.FolderItems(u.SMTP, "inbox") {
			ids = append(ids, rest.Replace(id))
		}
		return ids
	}
	const page = 3
	env := []string{"NODE_EXTRA_CA_CERTS=" + ca, "GRAPH_URL=" + srv.GraphURL(), "TOKEN=" + token(t, srv),
		"PAGE=3"}
	first := org.FolderItems(u.SMTP, "inbox")[0]
	r := runJS(t, nodeModules, append(env, "START=/users/"+u.SMTP+"/mailFolders/inbox/messages/delta",
		"VALUE_PATH=/users/"+u.SMTP+"/messages/"+rest.Replace(first))...)
	inbox := want()
	if len(inbox) <= page {
		t.Fatalf("the inbox has %d messages: too few to page by %d", len(inbox), page)
	}
	if !slices.Equal(sorted(r.IDs), sorted(inbox)) || len(r.Removed) != 0 {
		t.Errorf("delta round 1: got %v (removed %v), the inbox holds %v", r.IDs, r.Removed, inbox)
	}
	if wantPages := (len(inbox) + page - 1) / page; r.Pages != wantPages {
		t.Errorf("delta round 1 took %d pages, want %d of %d", r.Pages, wantPages, page)
	}
	if !strings.Contains(r.DeltaLink, "$deltatoken=") || !strings.HasPrefix(r.DeltaLink, srv.GraphURL()+"/") {
		t.Errorf("deltaLink %q", r.DeltaLink)
	}
	mime, err := base64.StdEncoding.DecodeString(r.Value)
	if err != nil || len(mime) == 0 || !bytes.Equal(mime, org.MIME(first)) {
		t.Errorf("$value: %d bytes (%v), the org's MIME %d bytes, equal %v", len(mime), err, len(org.MIME(first)), bytes.Equal(mime, org.MIME(first)))
	}

	// Round 2: the org changes; the client follows the deltaLink it kept.
	org.Mutate(2)
	now := want()
	r2 := runJS(t, nodeModules, append(env, "START="+r.DeltaLink, "VALUE_PATH=")...)
	var added, gone []string
	for _, id := range now {
		if !slices.Contains(inbox, id) {
			added = append(added, id)
		}
	}
	for _, id := range inbox {
		if !slices.Contains(now, id) {
			gone = append(gone, id)
		}
	}
	// Mutate edits inbox[0], flips the read flag of inbox[1], moves inbox[2]
	// out and adds two: the changes are the edited, the re-flagged and the new.
	changed := append([]string{inbox[0], inbox[1]}, added...)
	if !slices.Equal(sorted(r2.IDs), sorted(changed)) || !slices.Equal(sorted(r2.Removed), sorted(gone)) {
		t.Errorf("delta round 2: changed %v removed %v; want changed %v removed %v", r2.IDs, r2.Removed, changed, gone)
	}
	if len(added) != 2 || len(gone) != 1 {
		t.Errorf("Mutate added %d and removed %d inbox messages, want 2 and 1", len(added), len(gone))
	}
	if r2.DeltaLink == "" || r2.DeltaLink == r.DeltaLink {
		t.Errorf("round 2 deltaLink %q (round 1 %q)", r2.DeltaLink, r.DeltaLink)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
