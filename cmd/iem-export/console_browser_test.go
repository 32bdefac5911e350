//go:build !windows

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/internal/testbed"
)

// -console.screenshots saves the pages, at 1280x800, to docs/console.
var screenshots = flag.Bool("console.screenshots", false, "save the console's pages as PNG files into docs/console")

// browser starts headless Chromium (Debian's chromium), sized 1280x800.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := testbed.Need(t, "chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 800), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx, chromedp.WithBrowserOption(chromedp.WithConsolef(t.Logf)))
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 3*time.Minute) // a hung browser fails the test instead of the suite
	t.Cleanup(cancel3)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	return ctx
}

// page is the browser on one step: each field check it waits for is an
// answer of the server counted by the page (body[data-checked]).
type page struct {
	t   *testing.T
	ctx context.Context
}

func (p *page) run(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatal(err)
	}
}

// value runs an action that returns a value.
func value[T any](p *page, a chromedp.Action[T]) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, a)
	if err != nil {
		p.t.Fatal(err)
	}
	return v
}

// open loads a page and waits for its script.
func (p *page) open(url string) {
	p.t.Helper()
	p.run(chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("body")))
}

// enter types v into the field name and leaves it (Tab), then waits for
// the server's answer, which shows or clears the message beside the field
// (the page counts the answers in body[data-checked]).
func (p *page) enter(name, v string) {
	p.t.Helper()
	sel := chromedp.CSS("#f-" + name)
	before := value(p, chromedp.Evaluate[int](`document.body.dataset.checked|0`))
	set := chromedp.SetValue(sel, v)
	if v == "" {
		set = chromedp.Steps(chromedp.Clear(sel), chromedp.Click(sel))
	}
	p.run(chromedp.Click(sel), set, chromedp.KeyEvent("\t"))
	value(p, chromedp.Poll[bool](fmt.Sprintf(`(document.body.dataset.checked|0) > %d && (document.body.dataset.pending|0) == 0`, before),
		chromedp.WithPollingMutation()))
}

// message returns the message beside field name if it is shown red.
func (p *page) message(name string) (string, bool) {
	p.t.Helper()
	msg := value(p, chromedp.TextContent(chromedp.CSS("#e-"+name)))
	red := value(p, chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector('.field[data-field="%s"]').classList.contains("invalid") && getComputedStyle(document.getElementById("f-%s")).borderTopColor === "rgb(179, 38, 30)"`, name, name)))
	return strings.TrimSpace(msg), red
}

// wantBad enters a bad value and checks the red field and the command
// line's message for the same value.
func (p *page) wantBad(name, value string, cliArgs []string) {
	p.t.Helper()
	_, _, err := runApp(p.t, cliArgs...)
	var ue *cliutil.UsageError
	if !errors.As(err, &ue) || ue.Field != strings.TrimSuffix(name, "word")+map[bool]string{true: "word-file"}[strings.HasSuffix(name, "password")] && ue.Field != name {
		p.t.Fatalf("--%s=%q on the command line: %v", name, value, err)
	}
	p.enter(name, value)
	msg, red := p.message(name)
	if !red || msg != ue.Msg {
		p.t.Errorf("%s=%q: red %v, message %q; the command line says %q", name, value, red, msg, ue.Msg)
	}
}

// css is a CSS selector made with fmt.Sprintf.
func css(format string, args ...any) chromedp.CSS { return chromedp.CSS(fmt.Sprintf(format, args...)) }

func (p *page) shot(name string) {
	p.t.Helper()
	if !*screenshots {
		return
	}
	value(p, chromedp.Evaluate[any](`window.scrollTo(0, 0)`))
	png := value(p, chromedp.CaptureScreenshot())
	dir := filepath.Join("..", "..", "docs", "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// TestConsoleInBrowser walks the export steps in headless Chromium against
// the EWS emulator: bad inputs show red with the command line's message,
// the run started from the review reaches "done" on the dashboard with
// the counts a command-line run of the same selection exports.
func TestConsoleInBrowser(t *testing.T) {
	ctx := browser(t)
	srv, dir := testOrg(t, ewstest.OrgOptions{}, nil)
	conf := filepath.Join(dir, "export.conf")
	s := serveConsole(t, conf, runExport)
	base := strings.SplitN(s.URL(), "/?", 2)[0]
	p := &page{t: t, ctx: ctx}

	// 1. New or continue.
	p.open(s.URL())
	p.wantBad("archive", filepath.Join(dir, "ad.ldf"), exportArgs(srv, dir, "--archive", filepath.Join(dir, "ad.ldf")))
	p.shot("1-start-invalid")
	p.enter("archive", filepath.Join(dir, "archive"))
	if msg, red := p.message("archive"); red || msg != "" {
		t.Errorf("a good archive folder: red %v, %q", red, msg)
	}

	// 2. Source.
	p.open(base + "/export/source")
	p.wantBad("ews-url", strings.Replace(srv.URL(), "https://", "http://", 1), exportArgs(srv, dir, "--ews-url", strings.Replace(srv.URL(), "https://", "http://", 1)))
	p.enter("ews-url", srv.URL())
	p.wantBad("admin-user", "", exportArgs(srv, dir, "--admin-user="))
	p.enter("admin-user", srv.Username())
	p.enter("password", srv.Password())
	p.enter("directory-file", filepath.Join(dir, "ad.ldf"))
	var certInfo string
	p.run(chromedp.Click(chromedp.CSS(`input[name="trust"][value="pin"]`)), chromedp.Click(chromedp.CSS("#connect")),
		chromedp.WaitReady(chromedp.CSS(`body[data-connected]`)))
	certInfo = value(p, chromedp.TextContent(chromedp.CSS("#connect-info")))
	if !strings.Contains(certInfo, srv.Fingerprint()) || !strings.Contains(certInfo, "accepted the credentials") {
		t.Fatalf("connection check shows %q, want the fingerprint %s and the credentials accepted", certInfo, srv.Fingerprint())
	}
	p.shot("2-source")

	// 3. Public folders, 4. selection.
	p.open(base + "/export/public")
	p.shot("3-public")
	p.open(base + "/export/selection")
	users := srv.Org.Users
	loaded := 1
	p.run(chromedp.WaitReady(chromedp.CSS(`body[data-loaded="1"]`)))
	p.shot("4-selection")
	loaded++
	p.run(chromedp.Click(chromedp.CSS("#select-none")), chromedp.WaitReady(css(`body[data-loaded="%d"]`, loaded)))
	for _, u := range users[:2] {
		loaded++
		p.run(chromedp.SetValue(chromedp.CSS("#q"), u.SMTP), chromedp.SendKeys(chromedp.CSS("#q"), " "), // the input event
			chromedp.WaitReady(css(`body[data-loaded="%d"]`, loaded)))
		n := value(p, chromedp.Evaluate[int](`document.querySelectorAll("#dir-rows tr").length`))
		if n != 1 {
			t.Fatalf("search %q: %d rows, want 1", u.SMTP, n)
		}
		loaded++
		p.run(chromedp.Click(chromedp.CSS(`#dir-rows input[type="checkbox"]`)), chromedp.WaitReady(css(`body[data-loaded="%d"]`, loaded)))
	}
	count := value(p, chromedp.TextContent(chromedp.CSS("#sel-count")))
	if count != "2 mailboxes selected" {
		t.Fatalf("selection: %q", count)
	}

	// 5. Review, 6. run.
	p.open(base + "/export/review")
	p.wantBad("jobs", "100", exportArgs(srv, dir, "--jobs", "100"))
	p.wantBad("start-year", "1800", exportArgs(srv, dir, "--start-year", "1800"))
	p.enter("start-year", "1900")
	p.enter("jobs", "2")
	p.shot("5-review")
	p.run(chromedp.Click(chromedp.CSS("#start-run")), chromedp.WaitReady(chromedp.CSS(`#dashboard[data-state="done"]`)))
	p.shot("6-run")
	rows := value(p, chromedp.Evaluate[[]struct{ Mailbox, State, Items string }](`[...document.querySelectorAll("#run-rows tr")].map(tr => ({Mailbox: tr.cells[0].textContent, State: tr.cells[1].textContent, Items: tr.cells[3].textContent}))`))

	// What the command line exports of the same selection.
	sum := filepath.Join(dir, "cli.json")
	if out, logs, err := runApp(t, "iem-export", "run", "--config", conf, "--archive", filepath.Join(dir, "cli-archive"), "--summary-json", sum); err != nil {
		t.Fatalf("CLI run: %v\n%s\n%s", err, out, logs)
	}
	var rep struct{ Mailboxes []export.MailboxStats }
	b, _ := os.ReadFile(sum)
	json.Unmarshal(b, &rep)
	want := map[string]string{}
	for _, m := range rep.Mailboxes {
		want[m.Mailbox] = fmt.Sprint(m.Exported)
	}
	if len(rows) != 2 || len(want) != 2 {
		t.Fatalf("dashboard rows %+v, the CLI's %v", rows, want)
	}
	for _, r := range rows {
		if r.State != "done" || r.Items != want[r.Mailbox] || r.Items == "0" {
			t.Errorf("dashboard row %+v; the CLI exported %s", r, want[r.Mailbox])
		}
	}

	// 7. Summary.
	p.open(base + "/export/summary")
	p.run(chromedp.WaitReady(chromedp.CSS(`#dashboard[data-state="done"]`)))
	summary := value(p, chromedp.TextContent(chromedp.CSS("#run-summary")))
	if !strings.Contains(summary, "round 1: 2 mailboxes") {
		t.Errorf("summary page: %q", summary)
	}
	p.shot("7-summary")
}
