package console

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/internal/report"
)

// saveRound writes the JSON and HTML report of an export round as the
// export's summary writes them (report.Save, the stats as Detail).
func saveRound(t *testing.T, dir string, round int, stats ...*export.MailboxStats) {
	t.Helper()
	rep := &report.Report{Command: "iem-export", Round: round, Started: time.Now(), Took: time.Second, Columns: []string{"exported"}}
	for _, s := range stats {
		rep.Rows = append(rep.Rows, report.Row{Mailbox: s.Mailbox, Counts: []int{s.Exported}, Bytes: s.Bytes, Err: s.Err, Detail: s})
	}
	if _, err := rep.Save(filepath.Join(dir, "reports"), "export-round-"+strconv.Itoa(round)); err != nil {
		t.Fatal(err)
	}
}

// TestDashboardRounds: the run page of an archive of two rounds shows a
// row per mailbox with its state in each round, the totals per round,
// the chart of items per round and the failures with their reasons; a
// run going adds its column from the progress events, and once it ends
// its round's report takes that place.
func TestDashboardRounds(t *testing.T) {
	dir := t.TempDir()
	saveRound(t, dir, 1,
		&export.MailboxStats{Mailbox: "alice@example.com", Exported: 10, Bytes: 2_000_000},
		&export.MailboxStats{Mailbox: "bob@example.com", Err: "ErrorAccessDenied: no access to the mailbox"})
	saveRound(t, dir, 2,
		&export.MailboxStats{Mailbox: "alice@example.com", Exported: 3, Bytes: 500_000, Failed: map[string]int{"message too large for the archive": 1}},
		&export.MailboxStats{Mailbox: "carol@example.com", Exported: 2, Skipped: map[string]int{"item not found (deleted during export)": 1}})

	s, err := NewServer(Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewExport(context.Background(), s, ExportSide{Flags: testFlags(), ConfigPath: filepath.Join(t.TempDir(), "export.conf")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	base := strings.SplitN(s.URL(), "/?", 2)[0]
	get(t, c, s.URL())
	req, _ := http.NewRequest("POST", base+"/export/validate?step=start", strings.NewReader(url.Values{"archive": {dir}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", s.csrf)
	status(t, c, req)

	body := func(path string) string {
		t.Helper()
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	row := func(page, mailbox string) string {
		t.Helper()
		m := regexp.MustCompile(`(?s)<tr data-mailbox="` + regexp.QuoteMeta(mailbox) + `">.*?</tr>`).FindString(page)
		if m == "" {
			t.Fatalf("no row of %s in\n%s", mailbox, page)
		}
		return m
	}
	cells := regexp.MustCompile(`(?s)<td class="([^"]*)">(.*?)</td>`)
	states := func(tr string) []string {
		var out []string
		for _, m := range cells.FindAllStringSubmatch(tr, -1) {
			out = append(out, m[1])
		}
		return out
	}
	want := func(what string, got []string, w ...string) {
		t.Helper()
		if strings.Join(got, " ") != strings.Join(w, " ") {
			t.Errorf("%s: %q, want %q", what, got, w)
		}
	}

	page := body("/export/run")
	for _, h := range []string{`<th scope="col">round 1</th>`, `<th scope="col">round 2</th>`} {
		if !strings.Contains(page, h) {
			t.Errorf("no column %s", h)
		}
	}
	want("alice", states(row(page, "alice@example.com")), "state-done", "state-partial")
	want("bob", states(row(page, "bob@example.com")), "state-failed", "absent")
	want("carol", states(row(page, "carol@example.com")), "absent", "state-done")
	if r := row(page, "bob@example.com"); !strings.Contains(r, "<details><summary>failed, 0 items</summary>") || !strings.Contains(r, "mailbox stopped: ErrorAccessDenied: no access to the mailbox") {
		t.Errorf("bob's failure cannot be opened to its reason:\n%s", r)
	}
	if r := row(page, "alice@example.com"); !strings.Contains(r, "failed: 1 × message too large for the archive") {
		t.Errorf("alice's failed item and its reason not shown:\n%s", r)
	}
	if r := row(page, "carol@example.com"); !strings.Contains(r, "skipped: 1 × item not found (deleted during export)") {
		t.Errorf("carol's skipped item not shown:\n%s", r)
	}
	for _, tot := range []string{"2 mailboxes, 10 items, 2.0 MB, <span class=\"error\">1 with failures</span>", "2 mailboxes, 5 items, 0.5 MB, <span class=\"error\">1 with failures</span>"} {
		if !strings.Contains(page, tot) {
			t.Errorf("no total %q", tot)
		}
	}
	bars := regexp.MustCompile(`<rect class="bar[^"]*" x="\d+" y="\d+" width="\d+" height="(\d+)"><title>([^<]*)</title>`)
	var got []string
	for _, m := range bars.FindAllStringSubmatch(page, -1) {
		got = append(got, m[2]+"@"+m[1])
	}
	want("chart", got, "R1: 10 items@120", "R2: 5 items@60")

	// A run going: its column from the progress events.
	run := newRun([]string{"alice@example.com", "dave@example.com"})
	e.mu.Lock()
	e.run = run
	e.mu.Unlock()
	run.JobStarted("alice@example.com")
	run.JobAdded("alice@example.com", 4, 1000)
	frag := body("/export/history")
	if !strings.Contains(frag, `<th scope="col" class="live">this run</th>`) {
		t.Errorf("no column of the live run:\n%s", frag)
	}
	want("alice live", states(row(frag, "alice@example.com")), "state-done", "state-partial", "state-running")
	want("dave live", states(row(frag, "dave@example.com")), "absent", "absent", "state-waiting")
	want("bob live", states(row(frag, "bob@example.com")), "state-failed", "absent", "absent")
	if !strings.Contains(row(frag, "alice@example.com"), "running, 4 items") {
		t.Errorf("alice's live cell: %s", row(frag, "alice@example.com"))
	}

	// The run ends: its report is round 3, the live column goes.
	saveRound(t, dir, 3, &export.MailboxStats{Mailbox: "alice@example.com", Exported: 4, Bytes: 1000},
		&export.MailboxStats{Mailbox: "dave@example.com", Exported: 1})
	run.finish(nil, 3, "", []finalRow{{"alice@example.com", 4, 1000, ""}, {"dave@example.com", 1, 0, ""}})
	frag = body("/export/history")
	if strings.Contains(frag, "this run") || !strings.Contains(frag, `<th scope="col">round 3</th>`) {
		t.Errorf("after the run: want round 3 and no live column:\n%s", frag)
	}
	want("dave after", states(row(frag, "dave@example.com")), "absent", "absent", "state-done")
}
