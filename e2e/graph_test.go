package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/graph/graphtest"
)

// graphBed is a migration from the Exchange Online emulator: iem-export
// --source graph, trusting the emulator's certificate through
// SSL_CERT_FILE as a machine would trust a public CA.
type graphBed struct {
	*bed
	graph *graphtest.Server
	env   []string
}

func newGraphBed(t *testing.T, users int) *graphBed {
	t.Helper()
	org := ewstest.Generate(7, ewstest.OrgOptions{Users: users})
	g, err := graphtest.Start(org, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	dir := t.TempDir()
	iw := startIceWarp(t, dir)
	env := writeGraphConf(t, dir, "export.conf", g)
	write(t, dir, "iw.pw", iw.AdminPassword())
	write(t, dir, "import.conf", fmt.Sprintf("api-url = %s\nadmin-user = %s\nimap-addr = %s\nimap-tls = none\npassword-file = %s\nlog-level = warn\n",
		iw.URL(), iw.AdminEmail(), iw.IMAPAddr(), filepath.Join(dir, "iw.pw")))
	return &graphBed{bed: &bed{t: t, iw: iw, dir: dir, arch: filepath.Join(dir, "archive")}, graph: g, env: env}
}

// write writes dir/name (mode 0600) and returns its path.
func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeGraphConf writes dir/conf, the export settings for the Graph
// emulator g (client secret), and returns the environment trusting g.
func writeGraphConf(t *testing.T, dir, conf string, g *graphtest.Server) []string {
	t.Helper()
	ca := write(t, dir, "graph-ca.pem", string(g.CertPEM()))
	login := strings.TrimSuffix(g.Authority(), "/"+g.Tenant())
	write(t, dir, conf, fmt.Sprintf("source = graph\ntenant = %s\nclient-id = %s\nclient-secret-file = %s\ngraph-endpoint = %s\nlogin-endpoint = %s\nlog-level = warn\n",
		g.Tenant(), g.ClientID(), write(t, dir, "graph.secret", g.ClientSecret()), g.GraphURL(), login))
	return []string{"SSL_CERT_FILE=" + ca}
}

func (b *graphBed) export(extra ...string) (string, error) {
	return b.runGraph(b.env, filepath.Join(b.dir, "export.conf"), b.arch, extra...)
}

// runGraph runs iem-export run with the settings conf into arch, in the
// environment env (trusting the Graph emulator).
func (b *bed) runGraph(env []string, conf, arch string, extra ...string) (string, error) {
	cmd := b.command("iem-export", append([]string{"run", "--config", conf, "--archive", arch}, extra...)...)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestGraphMigration: an Exchange Online tenant exported over Graph and
// imported into IceWarp, in two rounds: every message of the org once on
// the target, round 2 after changes moves the changes.
func TestGraphMigration(t *testing.T) {
	b := newGraphBed(t, 3)
	for round := 1; round <= 2; round++ {
		if round > 1 {
			b.graph.Org.Mutate(int64(round))
		}
		out, err := b.export()
		mustOK(t, fmt.Sprintf("graph export round %d", round), out, err)
		got := archivedItems(t, b.arch)
		for _, u := range b.graph.Org.Users {
			want := len(b.graph.Org.FolderItems(u.SMTP, "inbox")) + len(b.graph.Org.FolderItems(u.SMTP, "sentitems"))
			if n := got[u.SMTP+" message"]; n < want || want == 0 {
				t.Errorf("round %d: %s has %d messages in the archive, the org %d in inbox and sent items", round, u.SMTP, n, want)
			}
		}
		b.mustImportOnce(t)
	}
}

// TestGraphBadCredentials: a wrong tenant, client id or secret, and an
// http endpoint, each exit 2 naming the setting, with nothing written.
func TestGraphBadCredentials(t *testing.T) {
	b := newGraphBed(t, 1)
	wrong := filepath.Join(b.dir, "wrong.secret")
	if err := os.WriteFile(wrong, []byte("not-the-secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args  []string
		field string
	}{
		{[]string{"--tenant", "fabrikam.onmicrosoft.com"}, "--tenant"},
		{[]string{"--client-id", "00000000-0000-0000-0000-000000000001"}, "--client-id"},
		{[]string{"--client-secret-file", wrong}, "--client-secret-file"},
		{[]string{"--graph-endpoint", "http://graph.example.com"}, "--graph-endpoint"},
	} {
		out, err := b.export(tc.args...)
		if exitCode(err) != 2 || !strings.Contains(out, tc.field) {
			t.Errorf("%v: exit %d, want 2 naming %s:\n%s", tc.args, exitCode(err), tc.field, out)
		}
		if strings.Contains(out, b.graph.ClientSecret()) {
			t.Errorf("%v: the output shows the client secret", tc.args)
		}
		if _, err := os.Stat(b.arch); !os.IsNotExist(err) {
			t.Fatalf("%v: the archive folder was created", tc.args)
		}
	}
}

// exportGraph runs iem-export over Graph into arch, killed after d (0:
// never); it reports whether the kill landed and the output.
func (b *graphBed) exportKilled(arch string, d time.Duration) (killed bool, out string, took time.Duration) {
	cmd := b.command("iem-export", "run", "--config", filepath.Join(b.dir, "export.conf"), "--archive", arch)
	cmd.Env = append(cmd.Env, b.env...)
	if d == 0 {
		d = time.Hour
	}
	return kill(cmd, d)
}

// TestGraphExportSurvivesSIGKILL: a Graph export SIGKILLed at random
// points, over rounds of changes, then run to the end, holds what a clean
// export of the same tenant holds: the same messages, contacts and events
// per mailbox, none stored twice; and it imports with every item once.
func TestGraphExportSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns many processes")
	}
	b := newGraphBed(t, 3)
	rng := rand.New(rand.NewPCG(17, 10))
	_, _, took := b.exportKilled(filepath.Join(b.dir, "probe"), 0)
	const want = 10
	kills := 0
	for round := 1; round <= 50 && kills < want; round++ {
		if round > 1 {
			b.graph.Org.Mutate(int64(round))
		}
		for attempt := 1; ; attempt++ {
			killed, out, d := b.exportKilled(b.arch, time.Duration(rng.Int64N(int64(took)*int64(attempt))))
			if !killed {
				if !strings.Contains(out, "round ") {
					t.Fatalf("round %d: the export ended without a summary:\n%s", round, out)
				}
				took = d
				break
			}
			kills++
		}
		clean := filepath.Join(b.dir, fmt.Sprintf("clean-%d", round))
		if killed, out, _ := b.exportKilled(clean, 0); killed || !strings.Contains(out, "round 1") {
			t.Fatalf("clean export: %s", out)
		}
		if got, want := archivedItems(t, b.arch), archivedItems(t, clean); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("round %d after %d kills: the archive holds %v, a clean export %v", round, kills, got, want)
		}
		b.mustImportOnce(t)
	}
	t.Logf("%d SIGKILLs survived", kills)
	if kills < want {
		t.Errorf("only %d kills landed; want %d", kills, want)
	}
}

// archivedItems verifies the archive, counts the items of its view per
// mailbox and kind ("alice@example.com message"), and fails on an item
// version stored twice.
func archivedItems(t *testing.T, dir string) map[string]int {
	t.Helper()
	f := openVerified(t, dir)
	defer f.Close()
	n := map[string]int{}
	for _, e := range f.View().Entries() {
		switch e.Kind {
		case archive.KindMessage, archive.KindContact, archive.KindEvent:
			n[e.Mailbox+" "+e.Kind.String()]++
		}
	}
	seen := map[string]bool{}
	f.Walk(func(e *archive.Entry) error {
		if e.Kind == archive.KindMessage || e.Kind == archive.KindContact || e.Kind == archive.KindEvent {
			k := e.Mailbox + " " + e.ID + " " + e.ChangeKey
			if seen[k] {
				t.Errorf("%s (%v in folder %s, round %d) archived twice", k, e.Kind, e.Folder, e.Round)
			}
			seen[k] = true
		}
		return nil
	})
	return n
}

// openVerified opens the archive folder dir and verifies it; the caller
// closes it.
func openVerified(t *testing.T, dir string) *archive.Folder {
	t.Helper()
	f, err := archive.OpenFolder(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Verify(); err != nil {
		f.Close()
		t.Fatal(err)
	}
	return f
}
