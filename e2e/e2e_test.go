// Package e2e runs whole migrations through the real commands: the EWS
// emulator → iem-export → archive → iem-import → the IceWarp emulator, with
// rounds, crashes (SIGKILL) and reruns, and proves that every item arrives
// exactly once.
package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/icewarp/icewarptest"
)

var bin string // folder holding the built commands

// TestMain builds the commands. IEM_E2E_BIN names a folder of commands
// built elsewhere instead, to run these tests against another version
// (for example the one before a fix, to see a test fail).
func TestMain(m *testing.M) {
	if dir := os.Getenv("IEM_E2E_BIN"); dir != "" {
		bin = dir
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "iem-e2e-bin-")
	if err != nil {
		panic(err)
	}
	cmd := exec.Command("go", "build", "-o", dir, "../cmd/iem-export", "../cmd/iem-import")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build:", err)
		os.Exit(1)
	}
	bin = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// bed is one migration: both emulators and the files the commands read.
type bed struct {
	t    *testing.T
	ews  *ewstest.Server
	iw   *icewarptest.Server
	dir  string
	arch string
}

func newBed(t *testing.T, opt ewstest.OrgOptions, sopt *ewstest.Options) *bed {
	t.Helper()
	org := ewstest.Generate(7, opt)
	ews, err := ewstest.Start(org, sopt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ews.Close)
	dir := t.TempDir()
	iw := startIceWarp(t, dir)
	writeBedFiles(t, dir, ews, "public-folders-group = Public Folders\n", iw.AdminPassword(),
		fmt.Sprintf("api-url = %s\nadmin-user = %s\nimap-addr = %s\nimap-tls = none\n", iw.URL(), iw.AdminEmail(), iw.IMAPAddr()))
	return &bed{t: t, ews: ews, iw: iw, dir: dir, arch: filepath.Join(dir, "archive")}
}

// startIceWarp starts the IceWarp emulator with its mail path in dir.
func startIceWarp(t *testing.T, dir string) *icewarptest.Server {
	t.Helper()
	iw, err := icewarptest.Start(&icewarptest.Options{MailRoot: filepath.Join(dir, "mail")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { iw.Close() })
	return iw
}

// writeBedFiles writes what the commands read: the directory (ad.ldf),
// the EWS and target passwords, export.conf (with exportExtra) and
// import.conf (importConf, with the password file and log level added).
func writeBedFiles(t *testing.T, dir string, ews *ewstest.Server, exportExtra, targetPassword, importConf string) {
	t.Helper()
	var ldif bytes.Buffer
	ews.Org.WriteLDIF(&ldif)
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ad.ldf", ldif.String())
	write("ews.pw", ews.Password())
	write("iw.pw", targetPassword)
	write("export.conf", fmt.Sprintf("ews-url = %s\nadmin-user = %s\npassword-file = %s\ntrust-cert = %s\ndirectory-file = %s\n%slog-level = warn\n",
		ews.URL(), ews.Username(), filepath.Join(dir, "ews.pw"), ews.Fingerprint(), filepath.Join(dir, "ad.ldf"), exportExtra))
	write("import.conf", importConf+fmt.Sprintf("password-file = %s\nlog-level = warn\n", filepath.Join(dir, "iw.pw")))
}

func (b *bed) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(bin, name), args...)
	cmd.Env = append(os.Environ(), "IEM_EWS_PASSWORD=", "IEM_ICEWARP_PASSWORD=")
	return cmd
}

func (b *bed) export(extra ...string) (string, error) {
	args := append([]string{"run", "--config", filepath.Join(b.dir, "export.conf"), "--archive", b.arch}, extra...)
	out, err := b.command("iem-export", args...).CombinedOutput()
	return string(out), err
}

func (b *bed) importRun(extra ...string) (string, error) {
	args := append([]string{"run", "--config", filepath.Join(b.dir, "import.conf"), "--archive", b.arch}, extra...)
	out, err := b.command("iem-import", args...).CombinedOutput()
	return string(out), err
}

func (b *bed) check() (string, error) {
	out, err := b.command("iem-import", "check", "--config", filepath.Join(b.dir, "import.conf"), "--archive", b.arch).CombinedOutput()
	return string(out), err
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// mustOK accepts exit 0, and 3 when the only skips are the emulator's
// documented gaps (no SETACL, no WebDAV) — never failures.
func mustOK(t *testing.T, what, out string, err error) {
	t.Helper()
	if c := exitCode(err); c != 0 && c != 3 || strings.Contains(out, "\nfailed ") {
		t.Fatalf("%s: exit %d\n%s", what, c, out)
	}
}

// mustExport runs an export that must succeed (mustOK).
func (b *bed) mustExport(t *testing.T) {
	t.Helper()
	out, err := b.export()
	mustOK(t, "export", out, err)
}

// mustImportOnce runs an import that must succeed (mustOK), then checks
// that every message is on the target exactly once.
func (b *bed) mustImportOnce(t *testing.T) {
	t.Helper()
	out, err := b.importRun()
	mustOK(t, "import", out, err)
	b.assertExactlyOnce(t)
}

// assertExactlyOnce checks the target against the archive: every message of
// the logical view once in its folder, nothing extra.
func (b *bed) assertExactlyOnce(t *testing.T) {
	t.Helper()
	out, err := b.check()
	if exitCode(err) != 0 || !strings.Contains(out, " 0 missing on target, 0 extra or duplicated on target, 0 errors") {
		var bad []string
		for _, l := range strings.Split(out, "\n") {
			if !strings.HasPrefix(l, "= ") {
				bad = append(bad, l)
			}
		}
		t.Fatalf("check: exit %d\n%s", exitCode(err), strings.Join(bad, "\n"))
	}
}

// assertArchiveMatchesOrg checks that the archive's view holds every item of
// every mailbox inbox in the organisation, once per round at most.
func (b *bed) assertArchiveMatchesOrg(t *testing.T) int {
	t.Helper()
	f, err := archive.OpenFolder(b.arch, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Verify(); err != nil {
		t.Fatal(err)
	}
	v := f.View()
	items := 0
	for _, u := range b.ews.Org.Users {
		for _, folder := range []string{"inbox", "sentitems", "contacts", "calendar"} {
			for _, id := range b.ews.Org.FolderItems(u.SMTP, folder) {
				items++
				if _, ok := v.Item(u.SMTP, id); !ok {
					t.Errorf("%s %s item %s lost", u.SMTP, folder, id)
				}
			}
		}
	}
	// No item version stored twice.
	type key struct{ mbx, id, ck string }
	seen := map[key]int{}
	f.Walk(func(e *archive.Entry) error {
		if e.Kind == archive.KindMessage || e.Kind == archive.KindContact || e.Kind == archive.KindEvent || e.Kind == archive.KindTask {
			seen[key{e.Mailbox, e.ID, e.ChangeKey}]++
		}
		return nil
	})
	for k, n := range seen {
		if n > 1 {
			t.Errorf("item %s/%s (change key %s) archived %d times", k.mbx, k.id, k.ck, n)
		}
	}
	return items
}

func TestMigrationRounds(t *testing.T) {
	b := newBed(t, ewstest.OrgOptions{Users: 3}, nil)
	for round := 1; round <= 4; round++ {
		if round > 1 {
			b.ews.NextRound(int64(round))
		}
		out, err := b.export()
		mustOK(t, fmt.Sprintf("export round %d", round), out, err)
		b.assertArchiveMatchesOrg(t)
		out, err = b.importRun()
		mustOK(t, fmt.Sprintf("import round %d", round), out, err)
		b.assertExactlyOnce(t)
		// A second import of the same archive changes nothing.
		out, err = b.importRun()
		mustOK(t, "import rerun", out, err)
		if !strings.Contains(out, " 0 items written") {
			t.Fatalf("rerun wrote items:\n%s", out)
		}
		b.assertExactlyOnce(t)
	}
}

// kill runs a command and SIGKILLs it after d; it reports whether it was
// killed before finishing and how long a run that finished took.
func kill(cmd *exec.Cmd, d time.Duration) (killed bool, out string, took time.Duration) {
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return false, err.Error(), 0
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return false, buf.String(), time.Since(start)
	case <-time.After(d):
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
		return true, buf.String(), 0
	}
}

func TestExportAndImportSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns many processes")
	}
	b := newBed(t, ewstest.OrgOptions{Users: 4, MessagesPerFolder: 12, Contacts: 6, Tasks: 4}, nil)
	rng := rand.New(rand.NewPCG(6, 28))
	// Learn how long a clean run takes, on a throwaway copy of the setup.
	probe := newBed(t, ewstest.OrgOptions{Users: 4, MessagesPerFolder: 12, Contacts: 6, Tasks: 4}, nil)
	start := time.Now()
	out, err := probe.export()
	mustOK(t, "probe export", out, err)
	exportTime := time.Since(start)
	start = time.Now()
	out, err = probe.importRun()
	mustOK(t, "probe import", out, err)
	importTime := time.Since(start)

	// Rounds of changes; in each, the exporter and then the importer are
	// killed at random points until a run finishes, then the archive and
	// the target are checked. The kill window is scaled by the last run of
	// the same kind that finished: later rounds move less than the first,
	// and under load every run is slower, so a window fixed by the probe
	// would land too few kills or kill every run. Rounds go on until both
	// counts are reached; the cap only stops a run that never finishes.
	// runs runs the command with its config until a run finishes, killing
	// each attempt at random within the window took (scaled by the
	// attempt), then sets took to the finished run; it returns the kills.
	runs := func(name, conf, summary string, took *time.Duration) (kills int) {
		for attempt := 1; ; attempt++ {
			args := []string{"run", "--config", filepath.Join(b.dir, conf), "--archive", b.arch}
			killed, out, d := kill(b.command(name, args...), time.Duration(rng.Int64N(int64(*took)*int64(attempt))))
			if !killed {
				if !strings.Contains(out, summary) {
					t.Fatalf("%s ended without a summary:\n%s", strings.TrimPrefix(name, "iem-"), out)
				}
				*took = d
				return kills
			}
			kills++
		}
	}
	const want = 20
	kills, ikills, items := 0, 0, 0
	for round := 1; round <= 200 && (kills < want || ikills < want); round++ {
		if round > 1 {
			b.ews.NextRound(int64(round))
		}
		kills += runs("iem-export", "export.conf", "round ", &exportTime)
		items = b.assertArchiveMatchesOrg(t)
		ikills += runs("iem-import", "import.conf", "import: ", &importTime)
		b.assertExactlyOnce(t)
	}
	t.Logf("export: %d SIGKILLs survived, import: %d; %d source items; check: 0 lost, 0 duplicated", kills, ikills, items)
	if kills < want || ikills < want {
		t.Errorf("only %d export and %d import kills landed before the runs finished; want %d each", kills, ikills, want)
	}
}
