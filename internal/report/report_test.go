package report

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/internal/testbed"
)

func sample() *Report {
	return &Report{
		Command: "iem-export", Title: "Export of example.com", Round: 3,
		Started: time.Date(2026, 11, 29, 2, 0, 0, 0, time.UTC), Took: 90 * time.Second, Throttled: 9 * time.Second,
		Columns: []string{"found", "exported", "unchanged"}, Primary: 1,
		Rows: []Row{
			{Mailbox: "bob@example.com", Counts: []int{40, 37, 1}, Bytes: 2_500_000, Seconds: 12,
				Problems: append(ProblemsOf("skipped", map[string]int{"item not found (deleted during export)": 2}),
					ProblemsOf("failed", map[string]int{"mime unavailable and rebuild failed": 1})...)},
			{Mailbox: "alice@example.com", Counts: []int{1234, 1234, 0}, Bytes: 98_765_432, Seconds: 60},
			{Mailbox: "carol@example.com", Err: "sync folder hierarchy: exchange: ErrorMailboxMoveInProgress"},
		},
		Rounds: []Round{
			{N: 1, Volumes: 2, Entries: 5000, Bytes: 700_000_000, Created: time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC), Final: true},
			{N: 2, Volumes: 1, Entries: 120, Bytes: 4_000_000, Created: time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC), Final: true},
			{N: 3, Volumes: 1, Entries: 1300, Bytes: 101_000_000, Created: time.Date(2026, 11, 29, 2, 0, 0, 0, time.UTC)},
		},
		Fields: map[string]any{"extra": 1},
	}
}

func TestTable(t *testing.T) {
	var b bytes.Buffer
	if err := sample().Table(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"mailbox", "exported", "alice@example.com", "1234", "98.8",
		"skipped  bob@example.com: 2 × item not found (deleted during export)",
		"failed   bob@example.com: 1 × mime unavailable and rebuild failed",
		"failed   carol@example.com: mailbox stopped: sync folder hierarchy"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "alice") > strings.Index(out, "bob") {
		t.Errorf("rows not sorted by mailbox:\n%s", out)
	}
	if !sample().Partial() {
		t.Error("Partial() = false with failed items")
	}
}

func TestJSON(t *testing.T) {
	r := sample()
	type detail struct {
		Mailbox  string `json:"mailbox"`
		Exported int    `json:"exported"`
	}
	r.Rows[0].Detail = detail{"bob@example.com", 37}
	var b bytes.Buffer
	if err := r.JSON(&b); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Round            int               `json:"round"`
		Seconds          float64           `json:"seconds"`
		ThrottledSeconds float64           `json:"throttledSeconds"`
		Mailboxes        []json.RawMessage `json:"mailboxes"`
		Rounds           []Round           `json:"rounds"`
		Extra            int               `json:"extra"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Round != 3 || got.Seconds != 90 || got.ThrottledSeconds != 9 || got.Extra != 1 || len(got.Rounds) != 3 || len(got.Mailboxes) != 3 {
		t.Errorf("JSON = %s", b.String())
	}
	if !strings.Contains(string(got.Mailboxes[1]), `"exported": 37`) {
		t.Errorf("Detail not used for bob: %s", got.Mailboxes[1])
	}
}

// TestHTMLInBrowser renders the report in Debian's chromium and finds the
// numbers in the DOM the browser built.
func TestHTMLInBrowser(t *testing.T) {
	r := sample()
	var b bytes.Buffer
	if err := r.HTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, bad := range []string{"<script", "http://", "https://", "src=", "@import", "url("} {
		if strings.Contains(page, bad) {
			t.Errorf("page is not self-contained: contains %q", bad)
		}
	}
	bin := testbed.Need(t, "chromium")
	dir := t.TempDir()
	path, err := r.Save(dir, "export-round-3")
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("Save: %v, mode %v", err, st.Mode())
	}
	dom := renderDOM(t, bin, path)
	for _, want := range []string{
		"Export of example.com", "round 3",
		`id="kpi-items"><b>1271</b>`, // 1234 + 37
		`id="kpi-bytes"><b>101.3 MB</b>`,
		`id="kpi-problems"><b class="bad">3</b>`,
		`id="kpi-throttled"><b>9s</b>throttled (10%)`,
		"item not found (deleted during export)", "mime unavailable and rebuild failed", "ErrorMailboxMoveInProgress",
		`aria-label="1234 items, 98.8 MB"`, `width="300"`, // alice has the longest bar
		"<td>700.0 MB</td>", "in progress or interrupted",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered DOM lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("DOM:\n%s", dom)
	}
}

// renderDOM runs chromium headless on a file and returns the serialised DOM.
func renderDOM(t *testing.T, bin, path string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	abs, _ := filepath.Abs(path)
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--user-data-dir="+t.TempDir(), "--dump-dom", "file://"+abs)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return string(out)
}
