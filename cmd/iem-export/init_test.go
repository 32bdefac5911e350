//go:build !windows

package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/exchange/directory"
	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/internal/cmdtest"
	"github.com/iemproject/iem/internal/ptytest"
	"github.com/iemproject/iem/internal/settings"
	"github.com/iemproject/iem/internal/testbed"
)

// TestMain lets the test binary act as iem-export, so the init test can
// run the command on a real pseudo-terminal without building it first.
func TestMain(m *testing.M) {
	if os.Getenv("IEM_EXPORT_AS_MAIN") == "1" {
		os.Args = append([]string{"iem-export"}, strings.Fields(os.Getenv("IEM_EXPORT_ARGS"))...)
		main()
	}
	os.Exit(m.Run())
}

// startTerm runs the command (this test binary) with args on a
// pseudo-terminal.
func startTerm(t *testing.T, dir string, args ...string) (*ptytest.Term, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "IEM_EXPORT_AS_MAIN=1", "IEM_EXPORT_ARGS="+strings.Join(args, " "))
	return ptytest.Start(t, cmd), cmd
}

// TestInitOnTerminal types into `iem-export init` on a pseudo-terminal,
// against the EWS emulator: wrong answers are refused with a clear message
// and asked again; the written config then runs an export.
func TestInitOnTerminal(t *testing.T) {
	srv, dir := testOrg(t, ewstest.OrgOptions{}, nil)
	conf := filepath.Join(dir, "export.conf")
	tm, cmd := startTerm(t, dir, "init", "--config", conf)

	tm.Expect("Step 1 of 5: Initial info")
	tm.Expect("Archive folder")
	tm.Send(filepath.Join(dir, "ad.ldf")) // a file, not a folder
	tm.Expect("exists and is not a folder")
	tm.Send("archive")
	tm.Expect("Mailboxes exported in parallel [2]")
	tm.Send("100")
	tm.Expect(`"100" is not a number between 1 and 64`)
	tm.Send("")

	tm.Expect("Step 2 of 5: Source")
	tm.Expect("Source [Exchange on premises (EWS)]: ")
	tm.Send("")
	tm.Expect("EWS URL: ")
	tm.Send(strings.Replace(srv.URL(), "https://", "http://", 1))
	tm.Expect(`scheme "http" not allowed: use https://`)
	tm.Send("https://127.0.0.1:1/EWS/Exchange.asmx")
	tm.Expect("not reachable")
	tm.Send(srv.URL())
	tm.Expect(srv.Fingerprint())
	tm.Expect("not trusted by this system")
	tm.Expect("Pin this certificate")
	tm.Send("y")
	tm.Expect("Authentication [basic]")
	tm.Send("")
	// The passwords are typed ahead, before their question is printed:
	// they must not appear on the terminal either.
	tm.LoginTypedAhead("Admin user", srv.Username(), "wrong-password", srv.Password(), "the server refused the credentials", "accepted the credentials")

	tm.Expect("Step 3 of 5: Directory")
	tm.Expect("Directory: ")
	tm.Send("http://dc.example.com")
	tm.Expect("not allowed: use ldap:// or ldaps://")
	tm.Send("missing.ldf")
	tm.Expect("no such file")
	tm.Send("ad.ldf")
	tm.Expect("mailboxes,")

	tm.Expect("Step 4 of 5: Selection")
	tm.ExpectMatch(regexp.MustCompile(`alice@example.com +user +12 +30 +Alice`))
	tm.Expect("Mailboxes to export [all]: ")
	tm.Send("nobody@example.com")
	tm.Expect(`no mailbox matches "nobody@example.com"`)
	tm.Send("alice@example.com b*@example.com")
	tm.Expect("2 of 5 mailboxes selected")

	tm.Expect("Step 5 of 5: Review")
	tm.Expect("selected:  2 mailboxes")
	tm.ExpectMatch(regexp.MustCompile(`estimate: \S+ at [0-9]+ items/s \(measured on [0-9]+ items of \S+'s Inbox, 2 jobs\), about [0-9.]+ MB`))
	tm.Expect("Write " + conf)
	tm.Send("")
	tm.Expect("wrote " + conf)
	tm.Finish(cmd, srv.Password(), "wrong-password")
	ptytest.CheckSetupFiles(t, conf, []string{filepath.Join(dir, "export.ews.pw")}, srv.Password())
	out, logs, err := runApp(t, "iem-export", "run", "--config", conf, "--log-level", "warn")
	if err != nil {
		t.Fatalf("run --config: %v\n%s\n%s", err, out, logs)
	}
	if !strings.Contains(out, "round 1: 2 mailboxes") {
		t.Errorf("run --config did not export the 2 selected mailboxes:\n%s", out)
	}
}

// TestConfigValidatesLikeInit: a --config run checks the same fields the
// same way and exits 2 naming the field.
func TestConfigValidatesLikeInit(t *testing.T) {
	srv, dir := testOrg(t, ewstest.OrgOptions{}, nil)
	os.WriteFile(filepath.Join(dir, "bad.pw"), []byte("wrong\n"), 0o600)
	for _, tc := range []struct{ name, args, want string }{
		{"untrusted certificate", "", "--trust-cert: the server certificate is not trusted by this system"},
		{"wrong password", "--trust-cert " + srv.Fingerprint() + " --password-file " + filepath.Join(dir, "bad.pw"), "--password-file: the server refused the credentials"},
		{"unreachable", "--ews-url https://127.0.0.1:1/EWS/Exchange.asmx", "--ews-url: host 127.0.0.1:1 not reachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := filepath.Join(dir, "c.conf")
			os.WriteFile(conf, []byte("ews-url = "+srv.URL()+"\nadmin-user = "+srv.Username()+"\npassword-file = "+filepath.Join(dir, "ews.pw")+
				"\ndirectory-file = "+filepath.Join(dir, "ad.ldf")+"\narchive = "+filepath.Join(dir, "a")+"\n"), 0o600)
			args := append([]string{"iem-export", "run", "--config", conf}, strings.Fields(tc.args)...)
			_, _, err := runApp(t, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestRunLogFileAndProgress: each run logs to ARCHIVE/logs/export-*.log,
// without the password even at debug level, and plain progress lines go
// to stderr when it is not a terminal.
func TestRunLogFileAndProgress(t *testing.T) {
	srv, dir := testOrg(t, ewstest.OrgOptions{}, nil)
	args := exportArgs(srv, dir)
	for i, a := range args {
		if a == "warn" {
			args[i] = "debug"
		}
	}
	out, _, err := runApp(t, args...)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "archive", "logs", "export-*.log"))
	if len(logs) != 1 {
		t.Fatalf("log files = %v, want one", logs)
	}
	b, _ := os.ReadFile(logs[0])
	if !strings.Contains(string(b), "msg=connected") || !strings.Contains(string(b), "level=DEBUG") || !strings.Contains(string(b), `msg="round finished" round=1`) {
		t.Errorf("log file lacks the run's lines:\n%.2000s", b)
	}
	if strings.Contains(string(b), srv.Password()) {
		t.Error("the log file holds the password")
	}
	if st, _ := os.Stat(logs[0]); st.Mode().Perm() != 0o600 {
		t.Errorf("log file mode %v, want 0600", st.Mode().Perm())
	}
	for _, f := range []string{"export-round-1.html", "export-round-1.json"} {
		if _, err := os.Stat(filepath.Join(dir, "archive", "reports", f)); err != nil {
			t.Error(err)
		}
	}
}

// TestRunOnTerminalInterruptResume: on a terminal, run shows a live line
// per mailbox; SIGINT stops it with exit 130 and the next run continues
// the same round to the end.
func TestRunOnTerminalInterruptResume(t *testing.T) {
	srv, dir := testOrg(t, ewstest.OrgOptions{}, &ewstest.Options{BusyPercent: 30, BusyBackOff: 150 * time.Millisecond, Seed: 7})
	args := exportArgs(srv, dir)[1:]
	tm, cmd := startTerm(t, dir, args...)
	tm.ExpectMatch(regexp.MustCompile(`[1-9][0-9]*/[0-9]+ items [0-9.]+ MB [0-9.]+/s`))
	cmdtest.Interrupt(t, tm, cmd, "interrupted: finishing the items being fetched")
	out, logs, err := runApp(t, exportArgs(srv, dir, "--log-level", "info")...)
	if err != nil {
		t.Fatalf("second run: %v\n%s\n%s", err, out, logs)
	}
	if !strings.Contains(logs, "continuing an interrupted round") || !strings.Contains(out, "round 1:") {
		t.Errorf("second run did not continue round 1:\n%s\n%s", out, logs)
	}
	// Nothing was lost: an unchanged organisation has nothing new for round 2.
	out, logs, err = runApp(t, exportArgs(srv, dir)...)
	if err != nil || !strings.Contains(out, "round 2:") || !strings.Contains(out, " 0 items exported") {
		t.Errorf("round 2 after the resumed round 1: %v\n%s\n%s", err, out, logs)
	}
}

// TestCompletion sources the bash script and completes as bash would.
func TestCompletion(t *testing.T) {
	cmdtest.TestCompletion(t, "iem-export", "#!/bin/sh\nIEM_EXPORT_AS_MAIN=1 IEM_EXPORT_ARGS=\"$*\" exec "+os.Args[0]+" -test.run='^$'\n",
		func() ([]byte, error) {
			script, _, err := runApp(t, "iem-export", "completion", "bash")
			return []byte(script), err
		}, []cmdtest.Completion{
			{Words: "iem-export ''", Want: "init run plan repair pst console completion"},
			{Words: "iem-export run --ews", Want: "--ews-url"},
			{Words: "iem-export init --", Want: "--config"},
		})
}

// TestExportReportInBrowser renders a real run's HTML report in headless
// chromium and finds the run's numbers in the DOM.
func TestExportReportInBrowser(t *testing.T) {
	bin := testbed.Need(t, "chromium")
	srv, dir := testOrg(t, ewstest.OrgOptions{}, nil)
	sum := filepath.Join(dir, "summary.json")
	if out, logs, err := runApp(t, exportArgs(srv, dir, "--summary-json", sum)...); err != nil {
		t.Fatalf("run: %v\n%s\n%s", err, out, logs)
	}
	var s struct {
		Mailboxes []struct {
			Mailbox  string `json:"mailbox"`
			Exported int    `json:"exported"`
		} `json:"mailboxes"`
	}
	b, _ := os.ReadFile(sum)
	if err := json.Unmarshal(b, &s); err != nil || len(s.Mailboxes) == 0 {
		t.Fatalf("summary: %v\n%s", err, b)
	}
	total := 0
	for _, m := range s.Mailboxes {
		total += m.Exported
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	page := filepath.Join(dir, "archive", "reports", "export-round-1.html")
	dom, err := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--user-data-dir="+t.TempDir(), "--dump-dom", "file://"+page).Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	for _, want := range []string{fmt.Sprintf(`id="kpi-items"><b>%d</b>`, total), "<td>" + s.Mailboxes[0].Mailbox + "</td>",
		fmt.Sprintf(`aria-label="%d items`, s.Mailboxes[0].Exported), `<table id="rounds">`, "<td>1</td>"} {
		if !strings.Contains(string(dom), want) {
			t.Errorf("rendered report lacks %q", want)
		}
	}
}

func TestParseSelection(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "wave1.txt")
	os.WriteFile(list, []byte("# wave 1\ncarol@example.com\n\n"), 0o600)
	sel, file, err := settings.ParseSelection("alice@example.com *@sales.example.com @allstaff@example.com <" + list)
	if err != nil || file != list || strings.Join(sel.Mailboxes, ",") != "alice@example.com,*@sales.example.com" ||
		strings.Join(sel.Groups, ",") != "allstaff@example.com" {
		t.Fatalf("ParseSelection = %+v, %q, %v", sel, file, err)
	}
	full, err := settings.SelectorFromFile(sel, file)
	if err != nil || len(full.Mailboxes) != 3 || len(sel.Mailboxes) != 2 {
		t.Errorf("SelectorFromFile = %+v, %v (given %+v must stay as it was)", full, err, sel)
	}
	if sel, _, _ := settings.ParseSelection("all"); len(sel.Mailboxes)+len(sel.Groups) != 0 {
		t.Errorf("all = %+v, want the empty selector", sel)
	}
	if _, _, err := settings.ParseSelection("<a <b"); err == nil {
		t.Error("two files accepted")
	}
}

// TestPlanEstimate: plan measures a sample before the first round, then
// uses the rate the last round measured.
func TestPlanEstimate(t *testing.T) {
	srv, dir := testOrg(t, ewstest.OrgOptions{}, nil)
	planArgs := func() []string {
		a := exportArgs(srv, dir)
		a[1] = "plan"
		return a
	}
	out, logs, err := runApp(t, planArgs()...)
	if err != nil {
		t.Fatalf("plan: %v\n%s", err, logs)
	}
	if !regexp.MustCompile(`(?m)^alice@example.com +user +12 +30$`).MatchString(out) ||
		!regexp.MustCompile(`estimate: \S+ at [0-9]+ items/s \(measured on [0-9]+ items of \S+'s Inbox, 2 jobs\)`).MatchString(out) {
		t.Errorf("plan before round 1:\n%s", out)
	}
	if out, logs, err := runApp(t, exportArgs(srv, dir)...); err != nil {
		t.Fatalf("run: %v\n%s\n%s", err, out, logs)
	}
	out, _, err = runApp(t, planArgs()...)
	if err != nil || !strings.Contains(out, "(measured in round 1)") {
		t.Errorf("plan after round 1: %v\n%s", err, out)
	}
}

// TestCheckDirectoryUnreachable: a directory that does not answer names
// the directory-url field.
func TestCheckDirectoryUnreachable(t *testing.T) {
	port := testbed.FreePort(t)
	_, err := checkDirectory(context.Background(), &directory.Options{URL: fmt.Sprintf("ldap://127.0.0.1:%d", port),
		BindDN: "reader@example.com", Password: "x"}, "")
	var ue *cliutil.UsageError
	if !errors.As(err, &ue) || ue.Field != "directory-url" || !strings.Contains(ue.Msg, "not reachable") {
		t.Errorf("checkDirectory(closed port) = %v, want a usage error naming directory-url", err)
	}
	if strings.Contains(fmt.Sprint(err), `"x"`) {
		t.Errorf("error shows the password: %v", err)
	}
}

// TestCheckDirectorySamba binds to a real Active Directory (Samba): a
// wrong password names directory-password-file, the right one reads the
// directory; this is the check init makes on the spot.
func TestCheckDirectorySamba(t *testing.T) {
	for _, b := range []string{"samba", "samba-tool", "ldbadd", "ldbmodify"} {
		testbed.Need(t, b)
	}
	if os.Geteuid() != 0 {
		if testbed.InCI() {
			t.Fatal("samba needs root (CI=true)")
		}
		t.Skip("samba needs root for ports 389/636/88")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	srv, err := testbed.StartSamba(ctx, testbed.SambaOptions{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	opt := &directory.Options{URL: srv.URL, BindDN: srv.BindDN, Password: "Wrong-Pa55word", StartTLS: true,
		TLSConfig: &tls.Config{InsecureSkipVerify: true}}
	_, err = checkDirectory(ctx, opt, "")
	var ue *cliutil.UsageError
	if !errors.As(err, &ue) || ue.Field != "directory-password-file" || !strings.Contains(ue.Msg, "refused the credentials") {
		t.Errorf("wrong password: %v, want a usage error naming directory-password-file", err)
	}
	if strings.Contains(fmt.Sprint(err), opt.Password) {
		t.Errorf("error shows the password: %v", err)
	}
	opt.Password = srv.Password
	if _, err := checkDirectory(ctx, opt, ""); err != nil {
		t.Errorf("right password: %v", err)
	}
}
