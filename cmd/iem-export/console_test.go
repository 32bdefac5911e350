package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/internal/console"
	"github.com/iemproject/iem/internal/progress"
	"github.com/iemproject/iem/internal/settings"
)

// A consoleClient is a browser's side of the console: the cookie from
// the printed URL and the CSRF token of its pages.
type consoleClient struct {
	t          *testing.T
	c          *http.Client
	base, csrf string
}

// startConsole serves iem-export's console over conf with the command's
// own flags and run.
func startConsole(t *testing.T, conf string) *consoleClient {
	t.Helper()
	return startConsoleRun(t, conf, runExport)
}

// startConsoleRun is startConsole with run as the console's run.
func startConsoleRun(t *testing.T, conf string, run func(context.Context, *settings.Export, io.Writer, io.Writer) error) *consoleClient {
	t.Helper()
	s := serveConsole(t, conf, run)
	jar, _ := cookiejar.New(nil)
	cc := &consoleClient{t: t, c: &http.Client{Jar: jar}, base: strings.SplitN(s.URL(), "/?", 2)[0]}
	body := cc.get(s.URL())
	m := regexp.MustCompile(`name="csrf-token" content="([0-9a-f]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token in the first page:\n%s", body)
	}
	cc.csrf = m[1]
	return cc
}

// serveConsole serves the console until the test ends.
func serveConsole(t *testing.T, conf string, run func(context.Context, *settings.Export, io.Writer, io.Writer) error) *console.Server {
	t.Helper()
	s, err := console.NewServer(console.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := console.NewExport(ctx, s, console.ExportSide{Flags: runCommand().Flags, ConfigPath: conf, Run: run}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return s
}

func (cc *consoleClient) get(u string) string {
	cc.t.Helper()
	if !strings.HasPrefix(u, "http") {
		u = cc.base + u
	}
	resp, err := cc.c.Get(u)
	if err != nil {
		cc.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		cc.t.Fatalf("GET %s: %s\n%s", u, resp.Status, b)
	}
	return string(b)
}

// post sends a form and decodes the JSON answer into v.
func (cc *consoleClient) post(path string, form url.Values, v any) {
	cc.t.Helper()
	req, _ := http.NewRequest("POST", cc.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", cc.csrf)
	resp, err := cc.c.Do(req)
	if err != nil {
		cc.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		cc.t.Fatalf("POST %s: %s\n%s", path, resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		cc.t.Fatalf("POST %s: %v", path, err)
	}
}

type checkAnswer struct{ Field, Message, Info string }

func (cc *consoleClient) check(path string, form url.Values) checkAnswer {
	cc.t.Helper()
	var a checkAnswer
	cc.post(path, form, &a)
	return a
}

// consoleSource is the source step as typed: the emulator, its password,
// the pinned certificate and the test org's LDIF directory.
func consoleSource(srv *ewstest.Server, dir string) url.Values {
	return url.Values{"ews-url": {srv.URL()}, "auth": {"basic"}, "admin-user": {srv.Username()}, "password": {srv.Password()},
		"trust": {"pin"}, "directory-file": {filepath.Join(dir, "ad.ldf")}}
}

// TestConsoleChecksAsTheCLI enters each bad input of the command line's
// table into the console: the console names the same setting with the
// same message as `iem-export run`.
func TestConsoleChecksAsTheCLI(t *testing.T) {
	srv, dir := testOrg(t, ewstest.OrgOptions{}, nil)
	cc := startConsole(t, filepath.Join(dir, "export.conf"))
	if a := cc.check("/export/connect", merge(consoleSource(srv, dir), url.Values{"pin": {"1"}})); a.Message != "" || !strings.Contains(a.Info, srv.Fingerprint()) {
		t.Fatalf("connect: %+v, want no error and the fingerprint %s", a, srv.Fingerprint())
	}
	for _, tc := range []struct {
		step, name, value string
		flag              []string // the same input on the command line
	}{
		{"start", "archive", filepath.Join(dir, "ad.ldf"), nil},
		{"start", "volume-size", "1000", nil},
		{"source", "ews-url", strings.Replace(srv.URL(), "https://", "http://", 1), nil},
		{"source", "ews-url", "not a url", nil},
		{"source", "admin-user", "", nil},
		{"source", "auth", "kerberos", nil},
		{"source", "directory-url", "http://dc.example.com", nil},
		{"source", "directory-file", filepath.Join(dir, "missing.ldf"), nil},
		{"review", "jobs", "100", nil},
		{"review", "jobs", "0", nil},
		{"review", "start-year", "1800", nil},
		{"review", "log-level", "loud", nil},
	} {
		args := exportArgs(srv, dir, "--"+tc.name+"="+tc.value)
		if tc.name == "directory-url" {
			args = removeFlag(args, "--directory-file")
		}
		_, _, cliErr := runApp(t, args...)
		var want *cliutil.UsageError
		if !errors.As(cliErr, &want) {
			t.Fatalf("%s=%q on the command line: %v, want a usage error", tc.name, tc.value, cliErr)
		}
		form := url.Values{tc.name: {tc.value}}
		if tc.name == "directory-url" {
			form.Set("directory-file", "")
		}
		got := cc.check("/export/validate?step="+tc.step, form)
		if got.Field != want.Field || got.Message != want.Msg {
			t.Errorf("%s=%q: the console says %s: %q; the command line %s: %q", tc.name, tc.value, got.Field, got.Message, want.Field, want.Msg)
		}
		// Put the good value back.
		good := map[string]string{"archive": filepath.Join(dir, "archive"), "volume-size": "", "ews-url": srv.URL(), "admin-user": srv.Username(),
			"auth": "basic", "directory-url": "", "directory-file": filepath.Join(dir, "ad.ldf"), "jobs": "2", "start-year": "1900", "log-level": "warn"}
		if a := cc.check("/export/validate?step="+tc.step, url.Values{tc.name: {good[tc.name]}, "directory-file": {good["directory-file"]}}); a.Message != "" {
			t.Fatalf("%s back to %q: %+v", tc.name, good[tc.name], a)
		}
	}
}

func merge(a, b url.Values) url.Values {
	for k, v := range b {
		a[k] = v
	}
	return a
}

func removeFlag(args []string, name string) []string {
	for i, a := range args {
		if a == name {
			return append(args[:i:i], args[i+2:]...)
		}
	}
	return args
}

// TestConsoleRun walks the export steps over HTTP against the EWS
// emulator, checks that `iem-export run --config` reads the config the
// console wrote, runs the round from the console and follows the
// dashboard's events to "done": the rows hold what a command-line run of
// the same selection exports.
func TestConsoleRun(t *testing.T) {
	srv, dir := testOrg(t, ewstest.OrgOptions{}, nil)
	conf := filepath.Join(dir, "export.conf")
	cc := startConsole(t, conf)
	if a := cc.check("/export/validate?step=start", url.Values{"archive": {filepath.Join(dir, "archive")}}); a.Message != "" {
		t.Fatalf("archive: %+v", a)
	}
	if a := cc.check("/export/connect", merge(consoleSource(srv, dir), url.Values{"pin": {"1"}})); a.Message != "" {
		t.Fatalf("connect: %+v", a)
	}
	// The selection: filter, clear all, then pick two mailboxes.
	var page struct {
		Total    int
		Selected int
		Rows     []struct {
			Address, Type string
			Selected      bool
		}
	}
	mbx := srv.Org.Users
	if err := json.Unmarshal([]byte(cc.get("/export/directory?type=user&limit=500")), &page); err != nil || page.Total == 0 {
		t.Fatalf("directory: %v %+v", err, page)
	}
	var sel struct{ Selected int }
	cc.post("/export/select", url.Values{"all": {"1"}, "on": {"0"}}, &sel)
	if sel.Selected != 0 {
		t.Fatalf("after clear all: %d selected", sel.Selected)
	}
	picked := []string{mbx[0].SMTP, mbx[1].SMTP}
	for _, m := range picked {
		cc.post("/export/select", url.Values{"address": {m}, "on": {"1"}}, &sel)
	}
	if sel.Selected != 2 {
		t.Fatalf("picked 2, %d selected", sel.Selected)
	}
	if a := cc.check("/export/validate?step=review", url.Values{"jobs": {"2"}, "start-year": {"1900"}, "log-level": {"warn"}}); a.Message != "" {
		t.Fatalf("review: %+v", a)
	}
	if a := cc.check("/export/save", nil); a.Message != "" {
		t.Fatalf("save: %+v", a)
	}

	// The command reads what the console wrote.
	c, err := runCommandContext(conf)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := settings.ExportSettings(c, true)
	if err != nil {
		t.Fatalf("the console's config: %v", err)
	}
	if cfg.EWS.URL != srv.URL() || cfg.EWS.Username != srv.Username() || cfg.EWS.Password != srv.Password() || cfg.EWS.TrustCert != srv.Fingerprint() ||
		cfg.DirectoryFile != filepath.Join(dir, "ad.ldf") || cfg.ArchiveDir != filepath.Join(dir, "archive") || cfg.LogLevel != "warn" ||
		strings.Join(cfg.Selector.Mailboxes, " ") != strings.Join(sortedCopy(picked), " ") {
		t.Errorf("the CLI read %+v from the console's config", cfg)
	}
	if st, err := os.Stat(cfg.EWS.Password); err == nil {
		t.Errorf("the password is a path?! %v", st)
	}
	pw := settingOf(t, conf, "password-file")
	if st, err := os.Stat(pw); err != nil || (runtime.GOOS != "windows" && st.Mode().Perm() != 0o600) {
		t.Errorf("password file %s: %v %v, want mode 0600", pw, st.Mode(), err)
	}
	for _, step := range []string{"start", "source", "public", "selection", "review", "run", "summary"} {
		if body := cc.get("/export/" + step); strings.Contains(body, srv.Password()) {
			t.Errorf("page %s holds the password", step)
		}
	}
	b, _ := os.ReadFile(conf)
	if strings.Contains(string(b), srv.Password()) {
		t.Errorf("the config holds the password:\n%s", b)
	}

	// The run, followed through the dashboard's events.
	events := cc.events()
	if a := cc.check("/export/run", nil); a.Message != "" {
		t.Fatalf("run: %+v", a)
	}
	// (A short run may end within one coalesced update: the rows shown
	// running are TestConsoleStop's.)
	st := lastState(events)
	if st.State != console.Done || st.Exit != 0 {
		t.Fatalf("the run ended %q (exit %d): %s\n%s", st.State, st.Exit, st.Message, st.Summary)
	}

	// The same selection from the command line, into another archive.
	sum := filepath.Join(dir, "cli.json")
	if out, logs, err := runApp(t, "iem-export", "run", "--config", conf, "--archive", filepath.Join(dir, "cli-archive"), "--summary-json", sum); err != nil {
		t.Fatalf("CLI run: %v\n%s\n%s", err, out, logs)
	}
	var rep struct{ Mailboxes []export.MailboxStats }
	b, _ = os.ReadFile(sum)
	json.Unmarshal(b, &rep)
	want := map[string]export.MailboxStats{}
	for _, s := range rep.Mailboxes {
		want[s.Mailbox] = s
	}
	if len(st.Rows) != len(picked) || len(want) != len(picked) {
		t.Fatalf("dashboard rows %d, CLI rows %d, want %d", len(st.Rows), len(want), len(picked))
	}
	total := 0
	for _, r := range st.Rows {
		w := want[r.Mailbox]
		if r.State != console.Done || r.Items != w.Exported || r.Bytes != w.Bytes || r.Items == 0 {
			t.Errorf("row %+v, the CLI exported %d items (%d bytes)", r, w.Exported, w.Bytes)
		}
		total += r.Items
	}
	if st.Items != total || st.Round != 1 || !st.Report {
		t.Errorf("totals: %d items, round %d, report %v; want %d items, round 1 and a report", st.Items, st.Round, st.Report, total)
	}
	if !strings.Contains(cc.get("/export/report"), "iem-export round 1") {
		t.Errorf("the round's report is not served")
	}
}

// events follows the dashboard's server-sent events.
func (cc *consoleClient) events() <-chan console.RunState {
	cc.t.Helper()
	resp, err := cc.c.Get(cc.base + "/export/events")
	if err != nil {
		cc.t.Fatal(err)
	}
	cc.t.Cleanup(func() { resp.Body.Close() })
	ch := make(chan console.RunState)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var st console.RunState
				if json.Unmarshal([]byte(d), &st) == nil {
					ch <- st
				}
			}
		}
	}()
	// The first event is the state before the run (none).
	if st := <-ch; st.State != "" {
		cc.t.Fatalf("first event %+v, want no run", st)
	}
	return ch
}

// runCommandContext is `iem-export run --config conf` up to its checks.
func runCommandContext(conf string) (*cli.Context, error) {
	var got *cli.Context
	cmd := runCommand()
	cmd.Action = func(c *cli.Context) error {
		got = c
		return cliutil.ApplyConfig(c, conf)
	}
	err := (&cli.App{Commands: []*cli.Command{cmd}}).Run([]string{"iem-export", "run"})
	return got, err
}

// settingOf returns the value of name in the config file conf.
func settingOf(t *testing.T, conf, name string) string {
	t.Helper()
	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("%s sets no %s", conf, name)
	return ""
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// setUpConsole enters the steps over HTTP: the archive, the source (pinned),
// the whole directory, and saves.
func setUpConsole(t *testing.T, cc *consoleClient, srv *ewstest.Server, dir string) {
	t.Helper()
	for _, step := range []struct {
		path string
		form url.Values
	}{
		{"/export/validate?step=start", url.Values{"archive": {filepath.Join(dir, "archive")}}},
		{"/export/connect", merge(consoleSource(srv, dir), url.Values{"pin": {"1"}})},
		{"/export/save", url.Values{"jobs": {"1"}, "log-level": {"warn"}}},
	} {
		if a := cc.check(step.path, step.form); a.Message != "" {
			t.Fatalf("%s: %+v", step.path, a)
		}
	}
}

// A stopGate holds the run's first item until the run is stopped, so
// that the stop comes while a mailbox is being exported.
type stopGate struct {
	progress.Observer
	ctx     context.Context
	running chan struct{}
	once    sync.Once
}

func (g *stopGate) JobAdded(name string, items int, bytes int64) {
	g.Observer.JobAdded(name, items, bytes)
	g.once.Do(func() {
		close(g.running)
		<-g.ctx.Done()
	})
}

// TestConsoleStop stops a run from the console while a mailbox is being
// exported: the run ends interrupted (exit 130) and the mailbox shows
// stopped; the next run from the console continues the round, and the
// archive then holds what a command-line export of the same org holds.
func TestConsoleStop(t *testing.T) {
	srv, dir := testOrg(t, ewstest.OrgOptions{}, nil)
	running := make(chan struct{})
	first := true
	cc := startConsoleRun(t, filepath.Join(dir, "export.conf"), func(ctx context.Context, cfg *settings.Export, stdout, stderr io.Writer) error {
		if first {
			first = false
			cfg.Watch = &stopGate{Observer: cfg.Watch, ctx: ctx, running: running}
		}
		return runExport(ctx, cfg, stdout, stderr)
	})
	setUpConsole(t, cc, srv, dir)
	events := cc.events()
	if a := cc.check("/export/run", nil); a.Message != "" {
		t.Fatalf("run: %+v", a)
	}
	<-running
	if a := cc.check("/export/stop", nil); a.Message != "" {
		t.Fatalf("stop: %+v", a)
	}
	st := lastState(events)
	stopped := 0
	for _, r := range st.Rows {
		if r.State == console.Stopped {
			stopped++
		}
	}
	if st.State != console.Interrupted || st.Exit != cliutil.ExitInterrupted || stopped != 1 {
		t.Fatalf("after stop: %q exit %d, %d rows stopped: %+v", st.State, st.Exit, stopped, st.Rows)
	}

	if a := cc.check("/export/run", nil); a.Message != "" {
		t.Fatalf("rerun: %+v", a)
	}
	if st = lastState(events); st.State != console.Done || st.Round != 1 {
		t.Fatalf("the rerun ended %q, round %d: %s\n%s", st.State, st.Round, st.Message, st.Summary)
	}
	kinds, _ := countKinds(t, dir)
	cliDir := t.TempDir()
	if out, logs, err := runApp(t, "iem-export", "run", "--config", filepath.Join(dir, "export.conf"), "--archive", filepath.Join(cliDir, "archive")); err != nil {
		t.Fatalf("CLI run: %v\n%s\n%s", err, out, logs)
	}
	want, _ := countKinds(t, cliDir)
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Errorf("stopped and continued from the console: %v; exported by the command line: %v", kinds, want)
	}
}

// lastState follows the events to the end of the run.
func lastState(events <-chan console.RunState) console.RunState {
	for st := range events {
		if st.State != "" && st.State != console.Running {
			return st
		}
	}
	return console.RunState{}
}
