package report

import (
	"bytes"
	"context"
	"encoding/json"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
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

// TestHTMLScreenshot renders the report to a PNG in headless chromium and
// measures the bars in the pixels: the longest items bar (alice, 1234 of
// 1234) is 300 px wide and bob's (37) about 9 px, in the items colour.
func TestHTMLScreenshot(t *testing.T) {
	bin := testbed.Need(t, "chromium")
	dir := t.TempDir()
	path, err := sample().Save(dir, "r")
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "r.png")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--hide-scrollbars", "--force-device-scale-factor=1", "--window-size=1200,1400",
		"--user-data-dir="+t.TempDir(), "--screenshot="+shot, "file://"+path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	runs := barRuns(t, shot, color.RGBA{0x3b, 0x7d, 0xd8, 0xff})
	if len(runs) < 2 {
		t.Fatalf("found %d items bars in the screenshot, want at least 2", len(runs))
	}
	sort.Sort(sort.Reverse(sort.IntSlice(runs)))
	if runs[0] < 295 || runs[0] > 305 {
		t.Errorf("longest items bar is %d px, want 300", runs[0])
	}
	if runs[1] < 6 || runs[1] > 12 {
		t.Errorf("second items bar is %d px, want about 9 (37/1234 of 300)", runs[1])
	}
	if len(barRuns(t, shot, color.RGBA{0x5a, 0xa4, 0x69, 0xff})) < 2 {
		t.Error("no bytes bars in the screenshot")
	}
}

// barRuns returns, per distinct bar, the longest horizontal run of pixels
// of colour c (bars are at least 8 px tall; each bar is counted once).
func barRuns(t *testing.T, path string, c color.RGBA) []int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	near := func(x, y int) bool {
		r, g, b, _ := img.At(x, y).RGBA()
		d := func(a uint32, b uint8) int { return int(a>>8) - int(b) }
		return abs(d(r, c.R)) < 12 && abs(d(g, c.G)) < 12 && abs(d(b, c.B)) < 12
	}
	var runs []int
	prev := 0
	bnd := img.Bounds()
	for y := bnd.Min.Y; y < bnd.Max.Y; y++ {
		best, cur := 0, 0
		for x := bnd.Min.X; x < bnd.Max.X; x++ {
			if near(x, y) {
				cur++
				best = max(best, cur)
			} else {
				cur = 0
			}
		}
		if best > 0 && prev == 0 {
			runs = append(runs, best)
		} else if best > 0 {
			runs[len(runs)-1] = max(runs[len(runs)-1], best)
		}
		prev = best
	}
	return runs
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func TestRunLog(t *testing.T) {
	dir := t.TempDir()
	var l RunLog
	l.Write([]byte("before\n"))
	if err := l.Open(dir, "export", time.Date(2026, 11, 29, 3, 4, 5, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	l.Write([]byte("after\n"))
	l.Close()
	want := filepath.Join(dir, "logs", "export-20261129T030405Z.log")
	b, err := os.ReadFile(want)
	if err != nil || string(b) != "before\nafter\n" {
		t.Errorf("%s = %q, %v", want, b, err)
	}
	if st, _ := os.Stat(want); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
}

func TestRunLogDiscard(t *testing.T) {
	var l RunLog
	l.Write([]byte("before\n"))
	l.Discard()
	if n, err := l.Write([]byte("after\n")); n != 6 || err != nil {
		t.Errorf("Write after Discard = %d, %v", n, err)
	}
	if l.buf.Len() != 0 {
		t.Errorf("held %q after Discard", l.buf.String())
	}
	l.Close()
}
