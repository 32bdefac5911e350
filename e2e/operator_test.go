package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/icewarp/icewarptest"
	"github.com/iemproject/iem/internal/testbed"
)

// TestHostileOperator is what a new administrator, a cron job or bad luck
// does to a migration (issue 14): two runs at once, a lost or damaged
// ledger, damaged and incomplete archives, secret files written by Windows
// tools, a full disk, odd real-world mail, interruptions and a target that
// goes away. Each case states its exact expected outcome; a table of cases
// and outcomes is printed at the end.
func TestHostileOperator(t *testing.T) {
	if testing.Short() {
		t.Skip("runs many migrations")
	}
	var (
		mu   sync.Mutex
		rows [][3]string
	)
	t.Cleanup(func() {
		var b strings.Builder
		fmt.Fprintf(&b, "hostile operator: %d cases\n", len(rows))
		for _, r := range rows {
			fmt.Fprintf(&b, "  %-4s %-46s %s\n", r[2], r[0], r[1])
		}
		t.Log("\n" + b.String())
		fmt.Print(b.String())
	})
	operator := func(name, want string, fn func(t *testing.T)) {
		ran := false
		outcome := "ok"
		if !t.Run(name, func(t *testing.T) { ran = true; fn(t) }) {
			outcome = "FAIL"
		}
		if !ran { // filtered out by -run
			return
		}
		mu.Lock()
		rows = append(rows, [3]string{name, want, outcome})
		mu.Unlock()
	}
	org := ewstest.OrgOptions{Users: 3, MessagesPerFolder: 6, Contacts: 2, Tasks: 1}

	operator("two exports at once", "the second refuses at once naming the first (pid, host); the archive verifies", func(t *testing.T) {
		b := newBed(t, org, nil)
		for round := 1; round <= 2; round++ {
			if round == 2 {
				b.ews.NextRound(2)
			}
			first := b.heldExport(t, b.arch) // holds the lock, waits on Exchange
			code, _, stderr := runHung("iem-export", "run", "--config", first.conf, "--archive", b.arch)
			want := fmt.Sprintf("pid %d", first.cmd.Process.Pid)
			if code != 1 || !strings.Contains(stderr, "in use") || !strings.Contains(stderr, want) {
				t.Errorf("round %d: second export: exit %d, want 1 with \"in use\" and %q:\n%s", round, code, want, stderr)
			}
			first.finish(t)
			mustVerify(t, b.arch)
			b.assertArchiveMatchesOrg(t)
		}
		b.mustImportOnce(t)
	})

	operator("two exports at once through a symlink", "the lock is on the folder, not the path: refused", func(t *testing.T) {
		b := newBed(t, org, nil)
		b.mustExport(t)
		link := filepath.Join(b.dir, "link, with a comma")
		if err := os.Symlink(b.arch, link); err != nil {
			t.Fatal(err)
		}
		b.ews.NextRound(2)
		first := b.heldExport(t, link)
		code, _, stderr := runHung("iem-export", "run", "--config", first.conf, "--archive", b.arch)
		if code != 1 || !strings.Contains(stderr, "in use") {
			t.Errorf("export through the real path while one runs through the symlink: exit %d\n%s", code, stderr)
		}
		first.finish(t)
		code, stdout, stderr := runBin("iem-import", nil, "verify", "--archive", link)
		if code != 0 || !strings.Contains(stdout, "ok, every checksum") {
			t.Errorf("verify through the symlink: exit %d\n%s%s", code, stdout, stderr)
		}
		b.mustImportOnce(t)
	})

	operator("no archive in the folder", "verify, plan, check and run say so and exit 2", func(t *testing.T) {
		b := newBed(t, org, nil)
		empty, junk := filepath.Join(b.dir, "empty"), filepath.Join(b.dir, "junk")
		os.Mkdir(empty, 0o700)
		os.Mkdir(junk, 0o700)
		rnd := make([]byte, 64<<10)
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range rnd {
			rnd[i] = byte(rng.Uint32())
		}
		os.WriteFile(filepath.Join(junk, "export.zip"), rnd, 0o600)
		os.WriteFile(filepath.Join(junk, "notes.txt"), []byte("round 1 copied on monday\n"), 0o600)
		imp := filepath.Join(b.dir, "import.conf")
		for _, dir := range []string{empty, junk} {
			for _, args := range [][]string{{"verify"}, {"plan", "--config", imp}, {"check", "--config", imp}, {"run", "--config", imp}} {
				code, stdout, stderr := runBin("iem-import", nil, append(args, "--archive", dir)...)
				if code != 2 || !strings.Contains(stderr, "no iem volume") || strings.Contains(stdout, " ok") {
					t.Errorf("%s on %s: exit %d, want 2 saying \"no iem volume\"\n%s%s", args[0], filepath.Base(dir), code, stdout, stderr)
				}
			}
		}
		if n := len(b.iw.Accounts()); n != 0 {
			t.Errorf("the target got %d accounts", n)
		}
	})

	secretCases := []struct {
		name, want string
		data       func(pw string) []byte
		mode       os.FileMode
		code       int
		say        string
		refused    int // 401s the server may send
	}{
		{"password file in UTF-8 with BOM", "read as written: export ok", func(pw string) []byte { return append([]byte("\uFEFF"), pw+"\r\n"...) }, 0o600, 0, "", 0},
		{"password file in UTF-16LE (Notepad \"Unicode\")", "decoded: export ok", func(pw string) []byte { return utf16Bytes("\uFEFF"+pw+"\r\n", binary.LittleEndian) }, 0o600, 0, "", 0},
		{"password file in UTF-16BE", "decoded: export ok", func(pw string) []byte { return utf16Bytes("\uFEFF"+pw+"\n", binary.BigEndian) }, 0o600, 0, "", 0},
		{"tab in the password file", "exit 2 naming the file and the tab, no login sent", func(pw string) []byte { return []byte(pw[:3] + "\t" + pw[3:] + "\n") }, 0o600, 2, "tab", 0},
		{"password file readable by everyone", "a warning (chmod 600), export ok", func(pw string) []byte { return []byte(pw + "\n") }, 0o644, 0, "readable by group or others", 0},
		{"wrong password", "exit 2 saying user form and scheme; one 401, never retried", func(pw string) []byte { return []byte(pw + "-wrong\n") }, 0o600, 2, "Basic", 1},
	}
	for _, sc := range secretCases {
		operator(sc.name, sc.want, func(t *testing.T) {
			b := newBed(t, ewstest.OrgOptions{Users: 1, MessagesPerFolder: 2, Contacts: 1, Tasks: 1}, nil)
			auth := b.ews.CountAuth()
			pwFile := filepath.Join(b.dir, "secret.txt")
			if err := os.WriteFile(pwFile, sc.data(b.ews.Password()), sc.mode); err != nil {
				t.Fatal(err)
			}
			os.Chmod(pwFile, sc.mode)
			conf := b.conf(t, "export.conf", "password-file", pwFile)
			code, stdout, stderr := runBin("iem-export", nil, "run", "--config", conf, "--archive", b.arch)
			if code != sc.code || sc.say != "" && !strings.Contains(stderr, sc.say) {
				t.Errorf("exit %d, want %d saying %q\n%s%s", code, sc.code, sc.say, stdout, stderr)
			}
			if sc.code != 0 && !strings.Contains(stderr, "password-file") {
				t.Errorf("the message does not name the field:\n%s", stderr)
			}
			if strings.Contains(stdout+stderr, b.ews.Password()) {
				t.Errorf("the output shows the password:\n%s%s", stdout, stderr)
			}
			if n := auth.Refused(""); n != sc.refused {
				t.Errorf("the server refused %d logins, want %d (a refused login is never repeated)", n, sc.refused)
			}
			if sc.code == 0 {
				b.assertArchiveMatchesOrg(t)
			}
		})
	}

	operator("delivery reports and odd mail in path mode", "stored byte for byte, visible, flags set, exit 0", func(t *testing.T) {
		b := newBed(t, ewstest.OrgOptions{Users: 1, MessagesPerFolder: 2, Contacts: 1, Tasks: 1}, nil)
		u := b.ews.Org.Users[0].SMTP
		day := time.Date(2025, 3, 4, 5, 6, 0, 0, time.UTC)
		for i, m := range icewarptest.OddMessages() {
			if b.ews.Org.AddMessage(u, "inbox", m.Data, day.Add(time.Duration(i)*time.Minute), headerMessageID(m.Data)) == "" {
				t.Fatal("cannot add", m.Name)
			}
		}
		b.mustExport(t)
		out, err := b.importRun("--mail-mode", "path", "--mail-path", b.iw.MailRoot())
		if exitCode(err) != 0 {
			t.Fatalf("path-mode import: exit %d\n%s", exitCode(err), out)
		}
		b.assertExactlyOnce(t)
		if err := b.iw.CheckMailPath(); err != nil {
			t.Errorf("mail path: %v", err)
		}
	})

	operator("ledger lost, then a rerun", "finds every message on the target, says so, appends nothing", func(t *testing.T) {
		b := newBed(t, org, nil)
		b.mustExport(t)
		out, err := b.importRun()
		mustOK(t, "import", out, err)
		for i, ledger := range []string{filepath.Join(b.dir, "second-machine.ledger"), filepath.Join(b.arch, "iem-import.ledger")} {
			if i == 1 {
				os.Remove(ledger) // deleted by hand
			}
			out, err = b.importRun("--ledger", ledger)
			mustOK(t, "import with a new ledger", out, err)
			if !strings.Contains(out, "already holds") || !strings.Contains(out, " 0 items written") {
				t.Errorf("import with a lost ledger did not match against the target:\n%s", out)
			}
			b.assertExactlyOnce(t)
		}
	})

	operator("ledger truncated or with flipped bytes", "refused naming the file and what to do, or matched; never a duplicate", func(t *testing.T) {
		b := newBed(t, org, nil)
		b.mustExport(t)
		out, err := b.importRun()
		mustOK(t, "import", out, err)
		ledger := filepath.Join(b.arch, "iem-import.ledger")
		good, err := os.ReadFile(ledger)
		if err != nil {
			t.Fatal(err)
		}
		damage := map[string][]byte{
			"truncated": good[:len(good)/3],
			"flipped":   flipBytes(good, 4096+len(good)/2, 16),
		}
		for what, bad := range damage {
			os.WriteFile(ledger, bad, 0o600)
			out, err = b.importRun()
			switch code := exitCode(err); code {
			case 0, 3:
			case 1:
				if !strings.Contains(out, ledger) {
					t.Errorf("%s ledger: refused without naming it:\n%s", what, out)
				}
				os.Rename(ledger, ledger+".damaged") // what the message says
				out, err = b.importRun()
				mustOK(t, what+" ledger moved away", out, err)
			default:
				t.Errorf("%s ledger: exit %d\n%s", what, code, out)
			}
			b.assertExactlyOnce(t)
		}
	})

	operator("two imports at once", "the second refuses at once naming the holder; --wait waits, then writes nothing", func(t *testing.T) {
		b := newBed(t, org, nil)
		b.mustExport(t)
		first := b.startHeld(t, "iem-import", "import.conf", "imap-addr", b.iw.IMAPAddr(), func(a string) string { return a }) // holds the ledger, waits on IMAP
		conf := first.conf
		code, stdout, stderr := runHung("iem-import", "run", "--config", conf, "--archive", b.arch)
		want := fmt.Sprintf("pid %d", first.cmd.Process.Pid)
		if code != 1 || !strings.Contains(stderr, "iem-import.ledger") || !strings.Contains(stderr, "in use") || !strings.Contains(stderr, want) {
			t.Errorf("second import: exit %d, want 1 naming the ledger and %q\n%s%s", code, want, stdout, stderr)
		}
		waiter := b.command("iem-import", "run", "--config", conf, "--archive", b.arch, "--wait")
		wout := &syncBuffer{}
		waiter.Stdout, waiter.Stderr = wout, wout
		if err := startBackground(t, waiter); err != nil {
			t.Fatal(err)
		}
		waited, exited := make(chan error, 1), make(chan struct{})
		go func() { waited <- waiter.Wait(); close(exited); wout.Write(nil) }()
		if !wout.waitFor("waiting for", exited) {
			t.Errorf("import --wait ended without saying it waits:\n%s", wout.String())
		}
		first.finish(t)
		if err := <-waited; err != nil || !strings.Contains(wout.String(), " 0 items written") {
			t.Errorf("import --wait: %v\n%s", err, wout.String())
		}
		b.assertExactlyOnce(t)
	})

	operator("export with the disk full", "exit 1 saying no space; after freeing space the next run completes", func(t *testing.T) {
		b := newBed(t, org, nil)
		b.ews.Org.AddLargeMessage(b.ews.Org.Users[0].SMTP, 4<<20, 9) // about 3 MB in the archive
		mnt := mountTmpfs(t, filepath.Join(b.dir, "small"), "1m")
		b.arch = filepath.Join(mnt, "archive")
		out, err := b.export()
		if exitCode(err) != 1 || !strings.Contains(out, "no space left") {
			t.Errorf("export onto a full disk: exit %d, want 1 saying \"no space left\"\n%s", exitCode(err), out)
		}
		remount(t, mnt, "64m")
		out, err = b.export()
		mustOK(t, "export after freeing space", out, err)
		mustVerify(t, b.arch)
		b.assertArchiveMatchesOrg(t)
		b.mustImportOnce(t)
	})

	operator("import with the disk full", "exit non-zero saying no space; after freeing space nothing lost or doubled", func(t *testing.T) {
		b := newBed(t, org, nil)
		b.mustExport(t)
		mnt := mountTmpfs(t, filepath.Join(b.dir, "small"), "64k")
		ledger := filepath.Join(mnt, "iem-import.ledger")
		out, err := b.importRun("--ledger", ledger)
		if exitCode(err) == 0 || !strings.Contains(out, "no space left") {
			t.Errorf("import with a full disk for the ledger: exit %d, want non-zero saying \"no space left\"\n%s", exitCode(err), out)
		}
		remount(t, mnt, "64m")
		out, err = b.importRun("--ledger", ledger)
		mustOK(t, "import after freeing space", out, err)
		b.assertExactlyOnce(t)
	})

	operator("repair with the disk full", "the damaged tail is cut (needs no space); the next run completes", func(t *testing.T) {
		b := newBed(t, org, nil)
		mnt := mountTmpfs(t, filepath.Join(b.dir, "small"), "16m")
		b.arch = filepath.Join(mnt, "archive")
		b.mustExport(t)
		vols := volumes(t, b.arch)
		flipMiddle(t, vols[len(vols)-1])
		fill(t, mnt)
		code, stdout, stderr := runBin("iem-export", nil, "repair", "--archive", b.arch)
		if code != 0 || !strings.Contains(stdout, "repaired") {
			t.Errorf("repair on a full disk: exit %d\n%s%s", code, stdout, stderr)
		}
		os.Remove(filepath.Join(mnt, "filler"))
		out, err := b.export()
		mustOK(t, "export after repair", out, err)
		mustVerify(t, b.arch)
		b.assertArchiveMatchesOrg(t)
	})

	operator("damaged last round, next export", "repaired automatically with a message; the run fetches what was cut", func(t *testing.T) {
		b := newBed(t, org, nil)
		b.mustExport(t)
		vols := volumes(t, b.arch)
		flipMiddle(t, vols[len(vols)-1])
		os.Remove(filepath.Join(b.arch, archive.VerifiedName)) // as an older version, or a second writer, leaves it
		b.ews.NextRound(2)
		out, err := b.export()
		mustOK(t, "export after damage", out, err)
		if !strings.Contains(out, "repaired the archive") {
			t.Errorf("no repair message:\n%s", out)
		}
		mustVerify(t, b.arch)
		b.assertArchiveMatchesOrg(t)
		b.mustImportOnce(t)
	})

	// The archive as shipped: copies of a two-round archive, damaged.
	shipped := func(t *testing.T) *bed {
		b := newBed(t, org, nil)
		b.mustExport(t)
		b.ews.NextRound(2)
		out, err := b.export()
		mustOK(t, "export", out, err)
		return b
	}
	operator("a volume with one flipped byte", "import writes everything intact, lists the damaged entry (file, offset), exit 3", func(t *testing.T) {
		b := shipped(t)
		flipMessage(t, b.arch)
		out, err := b.importRun()
		if exitCode(err) != 3 || !strings.Contains(out, "offset") || !strings.Contains(out, ".iemv") {
			t.Errorf("import: exit %d, want 3 naming the volume and offset\n%s", exitCode(err), out)
		}
		code, stdout, stderr := runBin("iem-import", nil, "verify", "--archive", b.arch)
		if code != 1 || !strings.Contains(stderr, "checksum") {
			t.Errorf("verify: exit %d\n%s%s", code, stdout, stderr)
		}
	})
	operator("a truncated last volume", "import reads the complete rounds and says the last is incomplete; export continues it", func(t *testing.T) {
		b := shipped(t)
		vols := volumes(t, b.arch)
		truncateHalf(t, vols[len(vols)-1])
		out, err := b.importRun()
		if c := exitCode(err); c != 0 && c != 3 {
			t.Errorf("import of a truncated archive: exit %d\n%s", c, out)
		}
		out, err = b.export()
		mustOK(t, "export after truncation", out, err)
		if !strings.Contains(out, "continuing an interrupted round") && !strings.Contains(out, "repaired") {
			t.Errorf("export did not say it continued the round:\n%s", out)
		}
		mustVerify(t, b.arch)
		b.assertArchiveMatchesOrg(t)
		b.mustImportOnce(t)
	})
	operator("a missing middle volume", "verify and import name the missing volume, exit 1", func(t *testing.T) {
		b := shipped(t)
		b.ews.NextRound(3)
		out, err := b.export()
		mustOK(t, "export round 3", out, err)
		os.Remove(filepath.Join(b.arch, archive.VolumeName(2, 1)))
		code, stdout, stderr := runBin("iem-import", nil, "verify", "--archive", b.arch)
		if code != 1 || !strings.Contains(stderr, archive.VolumeName(2, 1)+" is missing") {
			t.Errorf("verify: exit %d\n%s%s", code, stdout, stderr)
		}
		out, err = b.importRun()
		if exitCode(err) != 1 || !strings.Contains(out, archive.VolumeName(2, 1)) {
			t.Errorf("import: exit %d\n%s", exitCode(err), out)
		}
		if n := len(b.iw.Accounts()); n != 0 {
			t.Errorf("import wrote %d accounts from a broken chain", n)
		}
	})
	operator("a volume from another archive", "verify and import refuse naming it, exit 1", func(t *testing.T) {
		b := shipped(t)
		other := newBed(t, org, nil)
		out, err := other.export()
		mustOK(t, "other export", out, err)
		other.ews.NextRound(2)
		out, err = other.export()
		mustOK(t, "other export", out, err)
		foreign, _ := os.ReadFile(filepath.Join(other.arch, archive.VolumeName(2, 1)))
		os.WriteFile(filepath.Join(b.arch, archive.VolumeName(2, 1)), foreign, 0o600)
		code, stdout, stderr := runBin("iem-import", nil, "verify", "--archive", b.arch)
		if code != 1 || !strings.Contains(stderr, "another archive") {
			t.Errorf("verify: exit %d\n%s%s", code, stdout, stderr)
		}
		out, err = b.importRun()
		if exitCode(err) != 1 || !strings.Contains(out, "another archive") {
			t.Errorf("import: exit %d\n%s", exitCode(err), out)
		}
	})

	operator("the admin API goes down half way", "the import waits it out and completes; nothing lost or doubled", func(t *testing.T) {
		b := newBed(t, org, nil)
		b.mustExport(t)
		api := startFlakyHTTP(t, b.iw.URL(), 6, 3)
		conf := b.conf(t, "import.conf", "api-url", api.url)
		raw, err := b.command("iem-import", "run", "--config", conf, "--archive", b.arch).CombinedOutput()
		mustOK(t, "import", string(raw), err)
		if api.dropped() != 3 {
			t.Errorf("the API was down for %d requests, want 3 (the import made %d)", api.dropped(), api.seen())
		}
		b.assertExactlyOnce(t)
	})

	operator("SIGINT and SIGKILL during export and import into Dovecot", "every rerun continues; nothing lost or doubled", func(t *testing.T) {
		b := newDovecotOpBed(t)
		rng := rand.New(rand.NewPCG(14, 6))
		start := time.Now()
		out, err := b.export()
		mustOK(t, "probe export", out, err)
		exportTime := time.Since(start)
		os.RemoveAll(b.arch)
		signals := []os.Signal{os.Interrupt, syscall.SIGKILL}
		hit := map[string]int{}
		for round := 1; round <= 3; round++ {
			if round > 1 {
				b.ews.NextRound(int64(round))
			}
			for i := 0; ; i++ {
				sig := signals[i%2]
				cmd := b.command("iem-export", "run", "--config", filepath.Join(b.dir, "export.conf"), "--archive", b.arch)
				stopped, code, out := signalAt(cmd, sig, time.Duration(rng.Int64N(int64(exportTime)*int64(i+1)/2+1)))
				if !stopped {
					if code != 0 {
						t.Fatalf("export: exit %d\n%s", code, out)
					}
					break
				}
				hit[fmt.Sprintf("export %v", sig)]++
				if sig == os.Interrupt && code != 130 && code != 0 && !diedAtStart(code, out) {
					t.Errorf("export after SIGINT: exit %d, want 130\n%s", code, out)
				}
			}
			b.assertArchiveMatchesOrg(t)
			start := time.Now()
			for i := 0; ; i++ {
				sig := signals[i%2]
				cmd := b.command("iem-import", "run", "--config", filepath.Join(b.dir, "import.conf"), "--archive", b.arch)
				stopped, code, out := signalAt(cmd, sig, time.Duration(rng.Int64N(int64(time.Since(start))+int64(time.Second))))
				if !stopped {
					if code != 0 && code != 3 {
						t.Fatalf("import: exit %d\n%s", code, out)
					}
					break
				}
				hit[fmt.Sprintf("import %v", sig)]++
				if sig == os.Interrupt && code != 130 && code != 0 && code != 3 && !diedAtStart(code, out) {
					t.Errorf("import after SIGINT: exit %d, want 130\n%s", code, out)
				}
			}
			b.assertExactlyOnce(t)
		}
		t.Logf("signals that landed: %v", hit)
	})
}

// conf writes a copy of the bed's config file name with key set to value
// and returns its path.
func (b *bed) conf(t *testing.T, name, key, value string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(b.dir, name))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	found := false
	for _, l := range strings.Split(strings.TrimRight(string(src), "\n"), "\n") {
		if k, _, _ := strings.Cut(l, "="); strings.TrimSpace(k) == key {
			l, found = key+" = "+value, true
		}
		lines = append(lines, l)
	}
	if !found {
		lines = append(lines, key+" = "+value)
	}
	p := filepath.Join(b.dir, fmt.Sprintf("%s-%s-%d.conf", strings.TrimSuffix(name, ".conf"), key, rand.Int()))
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustURL(t *testing.T, raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func mustVerify(t *testing.T, dir string) {
	t.Helper()
	code, stdout, stderr := runBin("iem-import", nil, "verify", "--archive", dir)
	if code != 0 {
		t.Fatalf("verify: exit %d\n%s%s", code, stdout, stderr)
	}
}

func utf16Bytes(s string, order binary.AppendByteOrder) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = order.AppendUint16(b, u)
	}
	return b
}

func flipBytes(b []byte, at, n int) []byte {
	out := append([]byte(nil), b...)
	for i := at; i < at+n && i < len(out); i++ {
		out[i] ^= 0xa5
	}
	return out
}

// headerMessageID returns the Message-ID header of raw mail, as Exchange
// reports it (InternetMessageId), or "".
func headerMessageID(raw []byte) string {
	for _, l := range strings.Split(string(raw), "\n") {
		l = strings.TrimRight(l, "\r")
		if l == "" {
			break
		}
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, "Message-ID") {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// A proxy forwards TCP connections to target. While held, new connections
// wait before anything is forwarded (a server that accepts and does not
// answer); the channel hold returns is closed when the first one arrives.
type proxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	held    chan struct{}
	reached chan struct{}
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	t.Cleanup(func() { p.release(); ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) hold() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.held, p.reached = make(chan struct{}), make(chan struct{})
	return p.reached
}

func (p *proxy) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held != nil {
		close(p.held)
		p.held = nil
	}
}

func (p *proxy) serve(c net.Conn) {
	defer c.Close()
	p.mu.Lock()
	held, reached := p.held, p.reached
	if held != nil {
		select {
		case <-reached:
		default:
			close(reached)
		}
	}
	p.mu.Unlock()
	if held != nil {
		<-held
	}
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer s.Close()
	go func() { io.Copy(s, c); s.(*net.TCPConn).CloseWrite() }()
	io.Copy(c, s)
}

// flakyHTTP is a reverse proxy in front of an HTTP server that drops the
// connection of requests from..from+n-1 (counted from 1), as a server that
// goes down for a while and comes back.
type flakyHTTP struct {
	url      string
	mu       sync.Mutex
	n, drops int
}

func startFlakyHTTP(t *testing.T, target string, from, n int) *flakyHTTP {
	t.Helper()
	u := mustURL(t, target)
	if u.Scheme != "http" {
		t.Fatalf("flaky proxy: %s is not plain HTTP", target)
	}
	f := &flakyHTTP{}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.n++
		down := f.n >= from && f.n < from+n
		if down {
			f.drops++
		}
		f.mu.Unlock()
		if down {
			if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
				c.Close()
			}
			return
		}
		rp.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	f.url = "http://" + ln.Addr().String() + u.Path
	return f
}

func (f *flakyHTTP) dropped() int { f.mu.Lock(); defer f.mu.Unlock(); return f.drops }
func (f *flakyHTTP) seen() int    { f.mu.Lock(); defer f.mu.Unlock(); return f.n }

// syncBuffer is an output buffer a test can wait on.
type syncBuffer struct {
	mu   sync.Mutex
	b    bytes.Buffer
	cond *sync.Cond
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cond == nil {
		s.cond = sync.NewCond(&s.mu)
	}
	s.cond.Broadcast()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// waitFor blocks until the output holds text (true) or the process ended
// without writing it (false): it waits on events, not on a timer. ended
// is closed when the process ends, before a Write that wakes the waiter.
func (s *syncBuffer) waitFor(text string, ended <-chan struct{}) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cond == nil {
		s.cond = sync.NewCond(&s.mu)
	}
	for !strings.Contains(s.b.String(), text) {
		select {
		case <-ended: // closed before the Write that wakes us
			return strings.Contains(s.b.String(), text)
		default:
		}
		s.cond.Wait()
	}
	return true
}

// hangLimit ends a command that should answer at once but waits instead
// (what the versions before issue 14 did): the case then fails with a
// message instead of blocking the suite. It is no timing assertion: a
// command that answers does so in well under a second.
const hangLimit = 2 * time.Minute

// runHung runs a command that must end by itself, killing it after hangLimit.
func runHung(name string, args ...string) (code int, stdout, stderr string) {
	ctx, cancel := context.WithTimeout(context.Background(), hangLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, name), args...)
	cmd.Env = append(os.Environ(), "IEM_EWS_PASSWORD=", "IEM_ICEWARP_PASSWORD=", "IEM_LDAP_PASSWORD=")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ctx.Err() != nil {
		e.WriteString(fmt.Sprintf("\n(killed after %v: it waited instead of answering)", hangLimit))
	}
	return exitCode(err), o.String(), e.String()
}

// A held run is a first run that holds the archive lock (or the ledger)
// while its first server connection waits in a proxy.
type held struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	conf string // the config file pointing at the proxy
	p    *proxy
}

// startHeld starts "command run" with a copy of the bed's config name
// whose key points at a proxy in front of target (value makes the setting
// from the proxy's address), and returns once its first connection waits.
func (b *bed) startHeld(t *testing.T, command, name, key, target string, value func(addr string) string, args ...string) *held {
	t.Helper()
	h := &held{p: startProxy(t, target)}
	reached := h.p.hold()
	h.conf = b.conf(t, name, key, value(h.p.addr()))
	h.cmd = b.command(command, append([]string{"run", "--config", h.conf, "--archive", b.arch}, args...)...)
	h.cmd.Stdout, h.cmd.Stderr = &h.out, &h.out
	if err := startBackground(t, h.cmd); err != nil {
		t.Fatal(err)
	}
	<-reached
	return h
}

// heldExport is startHeld for an export into archive (a path to b.arch).
func (b *bed) heldExport(t *testing.T, archive string) *held {
	t.Helper()
	host := mustURL(t, b.ews.URL()).Host
	h := b.startHeld(t, "iem-export", "export.conf", "ews-url", host,
		func(a string) string { return strings.Replace(b.ews.URL(), host, a, 1) }, "--archive", archive)
	return h
}

// finish lets the held run go on and requires it to succeed.
func (h *held) finish(t *testing.T) {
	t.Helper()
	h.p.release()
	if err := h.cmd.Wait(); err != nil {
		t.Fatalf("the first run: %v\n%s", err, h.out.String())
	}
}

// startBackground starts cmd and makes sure it is gone when the test
// ends, even when the test fails before waiting for it.
func startBackground(t *testing.T, cmd *exec.Cmd) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return nil
}

// signalAt runs cmd and sends sig after d; stopped reports whether the
// signal reached it before it finished.
// diedAtStart tells a process that a signal ended before its handler was
// installed (in the first milliseconds: no exit code, not a line written),
// which no program can prevent; the rerun after it is checked like any other.
func diedAtStart(code int, out string) bool { return code == -1 && out == "" }

func signalAt(cmd *exec.Cmd, sig os.Signal, d time.Duration) (stopped bool, code int, out string) {
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		return false, -1, err.Error()
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return false, exitCode(err), buf.String()
	case <-time.After(d):
		cmd.Process.Signal(sig)
		err := <-done
		return true, exitCode(err), buf.String()
	}
}

// mountTmpfs mounts a tmpfs of size at dir (a full disk on demand) and
// unmounts it when the test ends.
func mountTmpfs(t *testing.T, dir, size string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount a tmpfs for the full-disk case: %v %s", err, out)
		}
		t.Skipf("cannot mount a tmpfs (needs root): %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			exec.Command("umount", "-l", dir).Run()
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

func remount(t *testing.T, dir, size string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,size="+size, dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s: %v %s", dir, err, out)
	}
}

// fill writes a file that takes all free space of the file system at dir.
func fill(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			return
		}
	}
}

// newDovecotOpBed is a bed whose mail goes into a real Dovecot (master-user
// login), with accounts made through the IceWarp emulator's admin API.
func newDovecotOpBed(t *testing.T) *bed {
	t.Helper()
	d := testbed.StartDovecot(t)
	orgOpt := ewstest.OrgOptions{Domain: fmt.Sprintf("op%d.example.com", os.Getpid()%10000), Users: 3, MessagesPerFolder: 8, Contacts: 2, Tasks: 1}
	return dovecotBed(t, d, ewstest.Generate(14, orgOpt), nil)
}
