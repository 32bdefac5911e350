//go:build !windows

package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/icewarp/icewarptest"
	"github.com/iemproject/iem/internal/archivetest"
	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/internal/cmdtest"
	"github.com/iemproject/iem/internal/ptytest"
)

// startTerm runs the command (this test binary) with args on a
// pseudo-terminal.
func startTerm(t *testing.T, dir string, args ...string) (*ptytest.Term, *exec.Cmd) {
	t.Helper()
	cmd := command(args...)
	cmd.Dir = dir
	return ptytest.Start(t, cmd), cmd
}

// TestInitOnTerminal types into `iem-import init` on a pseudo-terminal,
// against the IceWarp emulator: wrong answers are refused with a clear
// message and asked again; the written config then runs an import.
func TestInitOnTerminal(t *testing.T) {
	iw, dir, arch := initBed(t)
	conf := filepath.Join(dir, "import.conf")
	tm, cmd := startTerm(t, dir, "init", "--config", conf)

	tm.Expect("Step 1 of 5: Initial info")
	tm.Expect("Archive folder: ")
	tm.Send(filepath.Join(dir, "missing"))
	tm.Expect("is not a folder")
	tm.Send(filepath.Join(dir, "mail"))
	tm.Expect("holds no archive volume")
	tm.Send("archive")
	tm.Expect("1 rounds, 1 mailboxes, 0 groups, domains: example.com")

	tm.Expect("Step 2 of 5: Target")
	tm.Expect("IceWarp admin API: ")
	tm.Send("ftp://127.0.0.1/icewarpapi/")
	tm.Expect(`scheme "ftp" not allowed: use https:// or http://`)
	tm.Send("https://127.0.0.1:1/icewarpapi/")
	tm.Expect("not reachable")
	tm.Send(iw.URL())
	tm.Expect("sha256:" + iw.CertSHA256())
	tm.Expect("not trusted by this system")
	tm.Expect("Pin this certificate")
	tm.Send("y")
	// The passwords are typed ahead, before their question is printed:
	// they must not appear on the terminal either.
	tm.LoginTypedAhead("Admin user", iw.AdminEmail(), "wrong-password", iw.AdminPassword(), "refused the login", "IceWarp accepted the login")

	tm.Expect("Step 3 of 5: Mail and groupware")
	cmdtest.Answer(tm, [2]string{"Mail mode [imap]: ", ""}, [2]string{"IMAP security [tls]: ", "none"},
		[2]string{"IMAP address [127.0.0.1:143]: ", "127.0.0.1"}, [2]string{`"127.0.0.1" is not HOST:PORT`, "127.0.0.1:1"},
		[2]string{"not reachable", iw.IMAPAddr()}, [2]string{"WebDAV URL [https://127.0.0.1/webdav/]: ", iw.WebDAVURL()})

	tm.Expect("Step 4 of 5: Selection")
	cmdtest.Answer(tm, [2]string{"Domain map [none]: ", "example.com"}, [2]string{`"example.com" is not OLD=NEW`, ""},
		[2]string{"Sent, Trash and Spam? [y/N]: ", ""}, [2]string{"Mailboxes imported in parallel [2]: ", ""})

	tm.Expect("Step 5 of 5: Review")
	tm.ExpectMatch(regexp.MustCompile(`alice@example.com +3 `))
	tm.Expect("target:    " + iw.URL() + " as " + iw.AdminEmail())
	tm.Expect("Write " + conf)
	tm.Send("")
	tm.Expect("wrote " + conf)
	tm.Finish(cmd, iw.AdminPassword(), "wrong-password")
	ptytest.CheckSetupFiles(t, conf, []string{filepath.Join(dir, "import.icewarp.pw")}, iw.AdminPassword())
	sum, out, err := runIn(t, "--config", conf, "--log-level", "warn", "--passwords-report", filepath.Join(dir, "pw.csv"))
	if err != nil {
		t.Fatalf("run --config: %v\n%s", err, out)
	}
	if got := sum.total(); got.Appended != 3 {
		t.Errorf("run --config: %+v, want 3 items appended\n%s", got, out)
	}
	logs, _ := filepath.Glob(filepath.Join(arch, "logs", "import-*.log"))
	if len(logs) != 1 {
		t.Fatalf("log files = %v, want one", logs)
	}
	for _, f := range []string{"import-round-1.html", "import-round-1.json"} {
		if _, err := os.Stat(filepath.Join(arch, "reports", f)); err != nil {
			t.Error(err)
		}
	}
}

// TestConfigValidatesLikeInit: a --config run checks the target the way
// init does and exits 2 naming the field.
func TestConfigValidatesLikeInit(t *testing.T) {
	iw, dir, arch := initBed(t)
	pw := writeFile(t, dir, "iw.pw", iw.AdminPassword())
	bad := writeFile(t, dir, "bad.pw", "wrong")
	conf := writeFile(t, dir, "c.conf", "archive = "+arch+"\napi-url = "+iw.URL()+"\nadmin-user = "+iw.AdminEmail()+
		"\npassword-file = "+pw+"\nimap-addr = "+iw.IMAPAddr()+"\nimap-tls = none\nwebdav-url = "+iw.WebDAVURL()+"\n")
	pin := "sha256:" + iw.CertSHA256()
	for _, tc := range []struct{ name, args, field, want string }{
		{"untrusted certificate", "", "trust-cert", "not trusted by this system"},
		{"pin mismatch", "--trust-cert sha256:" + strings.Repeat("ab", 32), "trust-cert", "not the pinned one"},
		{"wrong password", "--trust-cert " + pin + " --password-file " + bad, "password-file", "refused the login"},
		{"unreachable", "--api-url https://127.0.0.1:1/icewarpapi/", "api-url", "127.0.0.1:1 not reachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, out, err := runIn(t, append([]string{"--config", conf}, strings.Fields(tc.args)...)...)
			var ue *cliutil.UsageError
			if !errors.As(err, &ue) || ue.Field != tc.field || !strings.Contains(ue.Msg, tc.want) {
				t.Fatalf("run = %v, want a usage error naming --%s: %q\n%s", err, tc.field, tc.want, out)
			}
			if strings.Contains(err.Error(), iw.AdminPassword()) {
				t.Errorf("the error shows the password: %v", err)
			}
			if _, err := os.Stat(filepath.Join(arch, "iem-import.ledger")); err == nil {
				t.Error("a run that failed its checks created the ledger")
			}
		})
	}
	if _, out, err := runIn(t, "--config", conf, "--trust-cert", pin, "--log-level", "warn", "--passwords-report", filepath.Join(dir, "pw.csv")); err != nil {
		t.Fatalf("pinned run: %v\n%s", err, out)
	}
}

// TestRunProgressAndReport: without a terminal, progress comes as plain
// lines; the summary is the report's table, and the JSON keeps the keys
// scripts read.
func TestRunProgressAndReport(t *testing.T) {
	iw, dir, arch := initBed(t)
	args := initArgs(iw, dir, arch, "debug")
	sum, out, err := runIn(t, args...)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^\s*mailbox +in archive +appended +updated +unchanged +on target +deleted +skipped +failed +permissions +not set +MB\s*$`),
		regexp.MustCompile(`(?m)^\s*alice@example.com +3 +3 +0 +0 +0 +0 +0 +0 +0 +0 +[0-9.]+\s*$`),
		regexp.MustCompile(`(?m)^import: 1 mailboxes, 3 items written `),
		regexp.MustCompile(`(?m)^report: .*import-round-1.html$`),
	} {
		if !want.MatchString(out) {
			t.Errorf("output lacks %v:\n%s", want, out)
		}
	}
	if sum.total().Appended != 3 || len(sum.Mailboxes) != 1 || sum.Mailboxes[0].Bytes == 0 {
		t.Errorf("summary JSON = %+v", sum)
	}
	logs, _ := filepath.Glob(filepath.Join(arch, "logs", "import-*.log"))
	if len(logs) != 1 {
		t.Fatalf("log files = %v, want one", logs)
	}
	b, _ := os.ReadFile(logs[0])
	if !strings.Contains(string(b), "level=DEBUG") || !strings.Contains(string(b), `msg="import finished" round=1`) {
		t.Errorf("log file lacks the run's lines:\n%.2000s", b)
	}
	if strings.Contains(string(b), iw.AdminPassword()) {
		t.Error("the log file holds the password")
	}
	if st, _ := os.Stat(logs[0]); st.Mode().Perm() != 0o600 {
		t.Errorf("log file mode %v, want 0600", st.Mode().Perm())
	}
}

// TestCompletion sources the bash script and completes as bash would.
func TestCompletion(t *testing.T) {
	cmdtest.TestCompletion(t, "iem-import", "#!/bin/sh\nIEM_IMPORT_AS_MAIN=1 exec "+os.Args[0]+" \"$@\"\n",
		func() ([]byte, error) {
			var script bytes.Buffer
			err := newApp(&script, io.Discard).Run([]string{"iem-import", "completion", "bash"})
			return script.Bytes(), err
		}, []cmdtest.Completion{
			{Words: "iem-import ''", Want: "init run plan check verify console completion"},
			{Words: "iem-import run --mail", Want: "--mail-mode --mail-path --mail-owner"},
			{Words: "iem-import init --", Want: "--config"},
		})
}

// TestHelpHasExamples: every command's --help shows examples.
func TestHelpHasExamples(t *testing.T) {
	for _, sub := range []string{"", "init", "run", "plan", "check", "verify", "completion"} {
		var out bytes.Buffer
		args := []string{"iem-import", sub, "--help"}
		if sub == "" {
			args = []string{"iem-import", "--help"}
		}
		if err := newApp(&out, &out).Run(args); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if !strings.Contains(out.String(), "Examples:\n  iem-import ") && !strings.Contains(out.String(), "Examples:\n     iem-import ") &&
			!regexp.MustCompile(`Examples:\s+(source <\()?iem-import `).MatchString(out.String()) {
			t.Errorf("%v shows no examples:\n%s", args, out.String())
		}
	}
}

// TestRunOnTerminalInterruptResume: on a terminal, run shows a live line
// per mailbox with the time spent throttled; SIGINT stops it with exit
// 130 and the next run imports the rest, nothing twice.
func TestRunOnTerminalInterruptResume(t *testing.T) {
	b := newEmulatorBed(t, icewarptest.Options{})
	dir, arch, iw := b.dir, b.arch, b.iw
	const contacts = 30
	day := time.Date(2024, 5, 6, 7, 8, 9, 0, time.Local)
	writeRound(t, arch, func(r *round) {
		r.mailbox("alice@example.com")
		r.folder("alice@example.com", folder{id: "inbox", name: "Inbox", class: "IPF.Note", dist: "inbox"})
		r.folder("alice@example.com", folder{id: "contacts", name: "Contacts", class: "IPF.Contact", dist: "contacts"})
		for i := range 5 {
			r.message(msg{mbx: "alice@example.com", folder: "inbox", id: "m" + string(rune('a'+i)), received: day.Add(time.Duration(i) * time.Hour)})
		}
		for i := range contacts {
			id := "c" + string(rune('a'+i/26)) + string(rune('a'+i%26))
			r.item(archive.KindContact, "alice@example.com", "contacts", id, strings.Replace(contactV1, "c1@iem.test", id+"@iem.test", 1))
		}
	})
	// The first PUT is refused three times with a back-off of a second:
	// the run takes long enough to be interrupted, and its time
	// throttled shows.
	iw.Inject(icewarptest.Fault{Command: "webdav PUT", HTTPStatus: 503, RetryAfter: 1, Times: 3})
	args := b.args("--webdav-url", iw.WebDAVURL(), "--log-level", "warn", "--passwords-report", filepath.Join(dir, "pw.csv"))
	tm, cmd := startTerm(t, dir, append([]string{"run"}, args...)...)
	tm.ExpectMatch(regexp.MustCompile(`alice@example.com +Contacts +\[[^\]]*\] [0-9]+/35 items [0-9.]+ MB [0-9.]+/s( ETA \S+)? throttled [1-9]`))
	cmdtest.Interrupt(t, tm, cmd, "interrupted: stopping after the items in hand")
	sum, out, err := runIn(t, args...)
	if err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	got := sum.total()
	if got.Appended == 0 || got.Appended+got.Unchanged+got.Found != 5+contacts {
		t.Errorf("second run: %+v; want the rest of the 35 items, and the others unchanged or found\n%s", got, out)
	}
	checkIn(t, args...)
}

// TestInitPathMode: the set-up for path mode asks for the mail path and
// checks it; an IMAP port that does not speak TLS is refused; "none"
// leaves WebDAV out. The config then imports the mail as files.
func TestInitPathMode(t *testing.T) {
	iw, dir, arch := initBed(t)
	conf := filepath.Join(dir, "import.conf")
	tm, cmd := startTerm(t, dir, "init", "--config", conf)
	cmdtest.Answer(tm, [2]string{"Archive folder: ", arch}, [2]string{"IceWarp admin API: ", iw.URL()}, [2]string{"Pin this certificate", ""},
		[2]string{"Admin user: ", iw.AdminEmail()}, [2]string{"Password of ", iw.AdminPassword()})
	tm.Expect("IceWarp accepted the login")
	cmdtest.Answer(tm, [2]string{"Mail mode [imap]: ", "2"}, [2]string{"IMAP security [tls]: ", ""},
		[2]string{"IMAP address [127.0.0.1:993]: ", iw.IMAPAddr()}) // plain IMAP: no TLS handshake
	tm.Expect("not reachable over TLS")
	tm.Expect("IMAP address [127.0.0.1:993]: ")
	tm.Send("\x04") // Ctrl-D gives up
	if err := cmd.Wait(); err == nil {
		t.Fatalf("init went on after Ctrl-D\n%s", tm.Transcript())
	}
	if _, err := os.Stat(conf); err == nil {
		t.Fatal("an aborted set-up wrote the config")
	}

	tm, cmd = startTerm(t, dir, "init", "--config", conf)
	for _, qa := range [][2]string{{"Archive folder: ", arch}, {"IceWarp admin API: ", iw.URL()}, {"Pin this certificate", "y"},
		{"Admin user: ", iw.AdminEmail()}, {"Password of ", iw.AdminPassword()}, {"Mail mode [imap]: ", "path"},
		{"IMAP security [tls]: ", "3"}, {"IMAP address [127.0.0.1:143]: ", iw.IMAPAddr()}} {
		tm.Expect(qa[0])
		tm.Send(qa[1])
	}
	tm.Expect("Mail path: ")
	tm.Send(filepath.Join(dir, "import.icewarp.pw"))
	tm.Expect("exists and is not a folder")
	tm.Send(filepath.Join(dir, "mail"))
	tm.Expect("mail-owner = UID:GID")
	tm.Expect("WebDAV URL [https://127.0.0.1/webdav/]: ")
	tm.Send("none")
	for _, qa := range [][2]string{{"Domain map [none]: ", ""}, {"Spam? [y/N]: ", "y"}, {"parallel [2]: ", "1"}} {
		tm.Expect(qa[0])
		tm.Send(qa[1])
	}
	tm.Expect("mail:      path over " + iw.IMAPAddr() + "; groupware: none")
	tm.Expect("Write " + conf)
	tm.Send("y")
	tm.Expect("wrote " + conf)
	tm.Finish(cmd, iw.AdminPassword())
	b, _ := os.ReadFile(conf)
	for _, want := range []string{"mail-mode = path\n", "mail-path = " + filepath.Join(dir, "mail") + "\n", "icewarp-folder-names = true\n", "jobs = 1\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("config lacks %q:\n%s", want, b)
		}
	}
	if strings.Contains(string(b), "webdav-url") {
		t.Errorf("config names a WebDAV URL after none:\n%s", b)
	}
	sum, out, err := runIn(t, "--config", conf, "--log-level", "warn", "--passwords-report", filepath.Join(dir, "pw.csv"))
	if err != nil {
		t.Fatalf("run --config: %v\n%s", err, out)
	}
	if got := sum.total(); got.Appended != 2 || got.Skipped != 1 {
		t.Errorf("run --config: %+v, want 2 messages written as files and the contact skipped (no WebDAV)\n%s", got, out)
	}
}

// TestInitEncryptedArchive: an encrypted archive asks for its key; a key
// that does not open it is refused; the config names the key file.
func TestInitEncryptedArchive(t *testing.T) {
	dir := t.TempDir()
	arch := filepath.Join(dir, "archive")
	id, _ := age.GenerateX25519Identity()
	other, _ := age.GenerateX25519Identity()
	key := writeFile(t, dir, "key.txt", id.String()+"\n")
	wrong := writeFile(t, dir, "other.txt", other.String()+"\n")
	os.Mkdir(arch, 0o700)
	f, err := archive.OpenFolder(arch, &archive.FolderOptions{Writer: "iem-import test", Recipients: []age.Recipient{id.Recipient()}})
	if err != nil {
		t.Fatal(err)
	}
	w, err := f.Begin()
	if err != nil {
		t.Fatal(err)
	}
	r := &round{&archivetest.Round{T: t, W: w}}
	r.mailbox("alice@example.com")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	conf := filepath.Join(dir, "import.conf")
	tm, cmd := startTerm(t, dir, "init", "--config", conf)
	tm.Expect("Archive folder: ")
	tm.Send(arch)
	tm.Expect("Key file: ")
	tm.Send(wrong)
	tm.Expect("--identity: this key does not open the archive")
	tm.Send(key)
	tm.Expect("1 rounds, 1 mailboxes")
	tm.Expect("IceWarp admin API: ")
	tm.Send("\x04")
	if err := cmd.Wait(); err == nil {
		t.Fatalf("init went on after Ctrl-D\n%s", tm.Transcript())
	}
	t.Logf("terminal session:\n%s", tm.Transcript())
}
