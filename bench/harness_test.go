//go:build linux

package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/icewarp/icewarptest"
)

// BenchmarkHarness is `make bench`'s end-to-end harness (issue 7). It runs
// once whatever -benchtime says: each measure is a whole migration step,
// timed against its baseline in the same run, and the table goes to
// bench/results.md (or $IEM_BENCH_RESULTS).
func BenchmarkHarness(b *testing.B) {
	if b.N > 1 {
		b.Skip("runs once; use -benchtime 1x")
	}
	h := newHarness(b)
	h.machine()
	// IEM_BENCH_ONLY=name,... runs some measures only (while working on
	// one); the results file is then written next to the test, not over
	// bench/results.md.
	only := map[string]bool{}
	for _, m := range strings.Split(os.Getenv("IEM_BENCH_ONLY"), ",") {
		if m != "" {
			only[m] = true
		}
	}
	for _, m := range []struct {
		name string
		run  func()
	}{
		{"export", h.exportAndArchive},
		{"graph", h.graphExport},
		{"archive", h.archiveSpeed},
		{"imap", h.importIMAP},
		{"path", h.importPath},
		{"large", h.largeItem},
		{"scale", h.largeMailbox},
		{"pst", h.pstRead},
		{"bigarchive", h.bigArchive},
	} {
		if len(only) == 0 || only[m.name] {
			m.run()
		}
	}
	if len(only) > 0 && os.Getenv("IEM_BENCH_RESULTS") == "" {
		os.Setenv("IEM_BENCH_RESULTS", filepath.Join(h.dir, "results.md"))
	}
	if err := h.write(); err != nil {
		b.Fatal(err)
	}
}

type row struct {
	measure, iem, baseline string
	ratio                  float64
	goal                   string
	pass                   bool
	note                   string
	noGoal                 bool // a figure for the record: no pass or short
}

func (r row) result() string {
	switch {
	case r.noGoal:
		return "–"
	case r.pass:
		return "pass"
	}
	return "short"
}

type harness struct {
	b      *testing.B
	dir    string
	bin    string
	rows   []row
	header []string
	corpus *Corpus
	org    *bed   // the emulator holding the corpus
	arch   string // an archive of the corpus (round 1)
}

func newHarness(b *testing.B) *harness {
	dir := b.TempDir()
	h := &harness{b: b, dir: dir, bin: filepath.Join(dir, "bin")}
	cmd := exec.Command("go", "build", "-o", h.bin+"/", "../cmd/iem-export", "../cmd/iem-import")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("build: %v", err)
	}
	return h
}

func (h *harness) machine() {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(l, "model name") {
				model = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	load, _ := os.ReadFile("/proc/loadavg")
	h.header = append(h.header,
		fmt.Sprintf("Run %s on %d × %s, %s, %s/%s; load average at start: %s.", time.Now().UTC().Format("2006-01-02 15:04 UTC"),
			runtime.NumCPU(), model, runtime.Version(), runtime.GOOS, runtime.GOARCH, strings.Join(strings.Fields(string(load))[:3], " ")))
}

// bed is one EWS emulator with its export configuration.
type bed struct {
	ews  *ewstest.Server
	conf string
}

func (h *harness) startEWS(name string, org *ewstest.Org) *bed {
	srv, err := ewstest.Start(org, nil)
	if err != nil {
		h.b.Fatal(err)
	}
	h.b.Cleanup(srv.Close)
	dir := filepath.Join(h.dir, name)
	os.MkdirAll(dir, 0o700)
	var ldif bytes.Buffer
	org.WriteLDIF(&ldif)
	os.WriteFile(filepath.Join(dir, "ad.ldf"), ldif.Bytes(), 0o600)
	os.WriteFile(filepath.Join(dir, "ews.pw"), []byte(srv.Password()), 0o600)
	conf := filepath.Join(dir, "export.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("ews-url = %s\nadmin-user = %s\npassword-file = %s\ntrust-cert = %s\ndirectory-file = %s\nlog-level = warn\n",
		srv.URL(), srv.Username(), filepath.Join(dir, "ews.pw"), srv.Fingerprint(), filepath.Join(dir, "ad.ldf"))), 0o600)
	return &bed{ews: srv, conf: conf}
}

// run is one command run: wall time, CPU time and peak RSS.
type run struct {
	wall, cpu time.Duration
	maxRSS    int64 // bytes
	// harnessCPU is this process's CPU time during the run: the emulator.
	harnessCPU    time.Duration
	appended      int
	appendedBytes int64
	summary       summary
	out           string
}

type summary struct {
	Seconds   float64 `json:"seconds"`
	Mailboxes []struct {
		Exported int   `json:"exported"`
		Bytes    int64 `json:"bytes"`
	} `json:"mailboxes"`
}

func (s summary) items() (n int, bytes int64) {
	for _, m := range s.Mailboxes {
		n += m.Exported
		bytes += m.Bytes
	}
	return
}

func (h *harness) command(name string, args ...string) run {
	h.b.Helper()
	sj := filepath.Join(h.dir, fmt.Sprintf("summary-%d.json", time.Now().UnixNano()))
	args = append(args, "--summary-json", sj)
	cmd := exec.Command(filepath.Join(h.bin, name), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t0, c0 := time.Now(), selfCPU()
	hwm, err := runPeak(cmd)
	r := run{wall: time.Since(t0), out: out.String(), maxRSS: hwm, harnessCPU: selfCPU() - c0}
	if err != nil {
		h.b.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if data, err := os.ReadFile(sj); err == nil {
		json.Unmarshal(data, &r.summary)
	}
	return r
}

func (h *harness) add(r row) {
	h.rows = append(h.rows, r)
	status := r.result()
	h.b.Logf("%-50s %-28s %-28s %6.2f  %-22s %s", r.measure, r.iem, r.baseline, r.ratio, r.goal, status)
}

// exportAndArchive measures the exporter with 1, 2 and 4 jobs against the
// raw speed of compressing the same bytes with zstd to disk, the archive
// size against tar | zstd -3 of the same mail as a Maildir, and a second
// round on an unchanged organisation.
func (h *harness) exportAndArchive() {
	opt := corpusOptions()
	c, bd := h.corpusOrg(opt)
	// Baselines: the same bytes written plainly, and compressed with zstd
	// (SpeedDefault, one core) as one stream, to the same disk.
	rawDisk, rawZstd := h.rawBaselines(c)

	var first run
	var firstArchive string
	for _, jobs := range []int{1, 2, 4} {
		arch := filepath.Join(h.dir, fmt.Sprintf("archive-j%d", jobs))
		r := h.command("iem-export", "run", "--config", bd.conf, "--archive", arch, "--jobs", fmt.Sprint(jobs))
		n, by := r.summary.items()
		ips := float64(n) / r.wall.Seconds()
		mbs := float64(by) / 1e6 / r.wall.Seconds()
		h.add(row{measure: fmt.Sprintf("export, %d job(s): items/s, MB/s", jobs),
			iem:      fmt.Sprintf("%.0f items/s, %.1f MB/s", ips, mbs),
			baseline: fmt.Sprintf("raw zstd %.1f MB/s", rawZstd), ratio: mbs / rawZstd,
			goal: "≥ 0.5 of raw zstd", pass: mbs/rawZstd >= 0.5,
			note: fmt.Sprintf("exporter %.2f CPU s per 1,000 items; the emulator used %.1f CPU s beside the exporter's %.1f s in %.1f s on %d cores",
				r.cpu.Seconds()/float64(n)*1000, r.harnessCPU.Seconds(), r.cpu.Seconds(), r.wall.Seconds(), runtime.NumCPU())})
		if jobs == 4 {
			h.add(row{measure: "export, 4 jobs: items/s", iem: fmt.Sprintf("%.0f items/s", ips), baseline: "2,000 items/s",
				ratio: ips / 2000, goal: "≥ 2,000 items/s", pass: ips >= 2000})
		}
		h.add(rssRow(fmt.Sprintf("export, %d job(s): peak RSS", jobs), r.maxRSS, ""))
		if jobs == 1 {
			first, firstArchive = r, arch
			h.arch = arch
		}
	}
	_ = rawDisk

	// Archive size against tar | zstd -3 of a Maildir of the same mail.
	arSize := dirSize(firstArchive)
	tarSize, tarTime := h.tarZstd(c)
	h.add(row{measure: "archive size vs tar | zstd -3 of the Maildir", iem: fmt.Sprintf("%.1f MB", float64(arSize)/1e6),
		baseline: fmt.Sprintf("%.1f MB (in %s)", float64(tarSize)/1e6, tarTime.Round(time.Millisecond)),
		ratio:    float64(arSize) / float64(tarSize), goal: "≤ 1.0 (smaller with duplicates)", pass: arSize <= tarSize,
		note: fmt.Sprintf("raw mail %.1f MB", float64(c.Bytes())/1e6)})

	// Round 2 on the unchanged organisation.
	r2 := h.command("iem-export", "run", "--config", bd.conf, "--archive", firstArchive, "--jobs", "1")
	h.add(row{measure: "round 2, unchanged org: time vs round 1", iem: r2.wall.Round(time.Millisecond).String(),
		baseline: first.wall.Round(time.Millisecond).String(), ratio: r2.wall.Seconds() / first.wall.Seconds(),
		goal: "< 0.02", pass: r2.wall.Seconds()/first.wall.Seconds() < 0.02})
}

// corpusOptions is the generated organisation of the harness.
func corpusOptions() CorpusOptions {
	if os.Getenv("IEM_BENCH_FULL") != "" {
		return CorpusOptions{Users: 20, PerUser: 500, Huge: 3, Seed: 2026}
	}
	return CorpusOptions{Users: 8, PerUser: 250, Huge: 1, Seed: 2026}
}

// corpusOrg generates the corpus and an emulated organisation holding it
// (once per harness).
func (h *harness) corpusOrg(opt CorpusOptions) (*Corpus, *bed) {
	if h.corpus != nil {
		return h.corpus, h.org
	}
	c := Generate(opt)
	org := ewstest.Generate(11, ewstest.OrgOptions{Users: opt.Users, MessagesPerFolder: 1, Contacts: 1, Events: 1, Tasks: 1})
	for i := range opt.Users {
		c.Users = append(c.Users, org.Users[i].SMTP)
	}
	for _, m := range c.Messages {
		for _, u := range m.To {
			org.AddMessage(c.Users[u], "inbox", m.MIME, m.Received, m.MessageID)
		}
	}
	st := org.Stats()
	h.header = append(h.header, fmt.Sprintf("Corpus: %d mailboxes, %d messages, %d stored items (%.0f MB) of which %d are copies of "+
		"messages delivered to several mailboxes; the org's %d items in all (contacts, events, tasks, public folders included).",
		opt.Users, len(c.Messages), c.Deliveries(), float64(c.Bytes())/1e6, c.Deliveries()-len(c.Messages), st.Items+st.PublicItems))
	h.corpus, h.org = c, h.startEWS("org", org)
	return h.corpus, h.org
}

// corpusArchive returns an archive of the corpus, exporting it if the
// export measure did not run.
func (h *harness) corpusArchive() string {
	if h.arch == "" {
		_, bd := h.corpusOrg(corpusOptions())
		h.arch = filepath.Join(h.dir, "archive-corpus")
		h.command("iem-export", "run", "--config", bd.conf, "--archive", h.arch)
	}
	return h.arch
}

func (h *harness) rawBaselines(c *Corpus) (diskMBs, zstdMBs float64) {
	path := filepath.Join(h.dir, "raw")
	f, err := os.Create(path)
	if err != nil {
		h.b.Fatal(err)
	}
	t0 := time.Now()
	for _, m := range c.Messages {
		for range m.To {
			f.Write(m.MIME)
		}
	}
	f.Sync()
	f.Close()
	disk := time.Since(t0)
	f, _ = os.Create(path + ".zst")
	enc, _ := zstd.NewWriter(f, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
	t0 = time.Now()
	for _, m := range c.Messages {
		for range m.To {
			enc.Write(m.MIME)
		}
	}
	enc.Close()
	f.Sync()
	f.Close()
	zt := time.Since(t0)
	os.Remove(path)
	os.Remove(path + ".zst")
	mb := float64(c.Bytes()) / 1e6
	h.header = append(h.header, fmt.Sprintf("Baselines in this run: plain write %.0f MB/s, zstd SpeedDefault to disk %.1f MB/s (one core).",
		mb/disk.Seconds(), mb/zt.Seconds()))
	return mb / disk.Seconds(), mb / zt.Seconds()
}

func (h *harness) tarZstd(c *Corpus) (int64, time.Duration) {
	md := h.maildir(c)
	out := filepath.Join(h.dir, "maildir.tar.zst")
	t0 := time.Now()
	cmd := exec.Command("sh", "-c", fmt.Sprintf("tar -cf - -C %s . | zstd -3 -q -T1 -o %s", md, out))
	if o, err := cmd.CombinedOutput(); err != nil {
		h.b.Fatalf("tar | zstd: %v\n%s", err, o)
	}
	took := time.Since(t0)
	st, err := os.Stat(out)
	if err != nil {
		h.b.Fatal(err)
	}
	os.Remove(out)
	return st.Size(), took
}

// maildir writes the corpus as one Maildir per mailbox (INBOX only, the
// folder the emulator holds the corpus in), unread like the emulator's
// copies and dated by mtime (mbsync's APPEND date), once per harness.
func (h *harness) maildir(c *Corpus) string {
	md := filepath.Join(h.dir, "maildir")
	if _, err := os.Stat(md); err == nil {
		return md
	}
	for _, u := range c.Users {
		for _, sub := range []string{"cur", "new", "tmp"} {
			os.MkdirAll(filepath.Join(md, u, "INBOX", sub), 0o700)
		}
	}
	for i, m := range c.Messages {
		for _, u := range m.To {
			p := filepath.Join(md, c.Users[u], "INBOX", "cur", fmt.Sprintf("%d.%d.bench:2,", m.Received.Unix(), i))
			if err := os.WriteFile(p, m.MIME, 0o600); err != nil {
				h.b.Fatal(err)
			}
			os.Chtimes(p, m.Received, m.Received)
		}
	}
	return md
}

// largeItem exports and imports a single 200 MB message and reports the
// peak RSS of each command.
func (h *harness) largeItem() {
	org := ewstest.Generate(12, ewstest.OrgOptions{Users: 1, MessagesPerFolder: 1, Contacts: 1, Events: 1, Tasks: 1})
	org.AddLargeMessage(org.Users[0].SMTP, 200<<20, 1)
	bd := h.startEWS("large", org)
	arch := filepath.Join(h.dir, "archive-large")
	r := h.command("iem-export", "run", "--config", bd.conf, "--archive", arch)
	h.add(rssRow("export of a 200 MB item: peak RSS", r.maxRSS, r.wall.Round(time.Millisecond).String()))

	conf, _, stop := h.startIceWarp("iw", false)
	defer stop()
	// The emulator's IMAP (go-imap) refuses literals over 100 MiB, so the
	// import side is measured with a 95 MB message of its own.
	org2 := ewstest.Generate(13, ewstest.OrgOptions{Users: 1, MessagesPerFolder: 1, Contacts: 1, Events: 1, Tasks: 1})
	org2.AddLargeMessage(org2.Users[0].SMTP, 95<<20, 2)
	bd2 := h.startEWS("large95", org2)
	arch = filepath.Join(h.dir, "archive-large95")
	h.command("iem-export", "run", "--config", bd2.conf, "--archive", arch)
	ri := h.importRun(conf, arch)
	h.add(rssRow("import of a 95 MB item (IMAP): peak RSS", ri.maxRSS,
		fmt.Sprintf("%s, into the IceWarp emulator: %d items appended, %.0f MB", ri.wall.Round(time.Millisecond), ri.appended, float64(ri.appendedBytes)/1e6)))
	if ri.appendedBytes < 95<<20 {
		h.b.Errorf("the 95 MB item was not imported:\n%s", ri.out)
	}
}

// importRun runs iem-import, accepting exit code 3 (items skipped where the
// emulator has documented gaps); the summary says which.
func (h *harness) importRun(conf, arch string, extra ...string) run {
	sj := filepath.Join(h.dir, "import-summary.json")
	args := append([]string{"run", "--config", conf, "--archive", arch, "--summary-json", sj}, extra...)
	cmd := exec.Command(filepath.Join(h.bin, "iem-import"), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	hwm, err := runPeak(cmd)
	r := run{wall: time.Since(t0), out: out.String(), maxRSS: hwm}
	if err != nil && cmd.ProcessState.ExitCode() != 3 {
		h.b.Fatalf("iem-import: %v\n%s", err, out.String())
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	var is struct {
		Mailboxes []struct {
			Appended int   `json:"appended"`
			Bytes    int64 `json:"bytes"`
		} `json:"mailboxes"`
	}
	data, err := os.ReadFile(sj)
	if err != nil {
		h.b.Fatalf("iem-import wrote no summary: %v\n%s", err, out.String())
	}
	json.Unmarshal(data, &is)
	for _, m := range is.Mailboxes {
		r.appended += m.Appended
		r.appendedBytes += m.Bytes
	}
	return r
}

// runPeak runs cmd and returns its peak resident memory, polled from
// VmHWM in /proc/<pid>/status. Rusage's Maxrss cannot be used: a child
// started from this process (vfork + exec) inherits the parent's high-water
// mark, and this process holds the whole corpus.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func runPeak(cmd *exec.Cmd) (int64, error) {
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var peak int64
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if data, err := os.ReadFile(status); err == nil {
			for _, l := range strings.Split(string(data), "\n") {
				if f := strings.Fields(l); len(f) == 3 && f[0] == "VmHWM:" {
					var kb int64
					fmt.Sscan(f[1], &kb)
					peak = max(peak, kb*1024)
				}
			}
		}
		select {
		case err := <-done:
			return peak, err
		case <-tick.C:
		}
	}
}

func dirSize(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

func (h *harness) write() error {
	path := os.Getenv("IEM_BENCH_RESULTS")
	if path == "" {
		path = "results.md"
	}
	var b strings.Builder
	b.WriteString("# iem benchmark results\n\nWritten by `make bench` (bench/harness_test.go). Every figure is measured in the same run as its\n" +
		"baseline; absolute speeds on a shared machine vary from run to run, the ratios much less.\n\n")
	for _, l := range h.header {
		b.WriteString(l + "\n\n")
	}
	b.WriteString("| Measure | iem | Baseline | Ratio | Goal | Result | Notes |\n|---|---|---|---|---|---|---|\n")
	for _, r := range h.rows {
		status := r.result()
		cell := func(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
		fmt.Fprintf(&b, "| %s | %s | %s | %.2f | %s | %s | %s |\n", cell(r.measure), cell(r.iem), cell(r.baseline), r.ratio, cell(r.goal), status, cell(r.note))
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// startIceWarp starts an IceWarp emulator whose mail path is DIR/mail and
// writes an import configuration for it, in path mode if asked. It returns
// the configuration file, the mail root, and the function that stops the
// emulator (which holds its IMAP store in this process's memory).
func (h *harness) startIceWarp(name string, pathMode bool) (conf, root string, stop func()) {
	dir := filepath.Join(h.dir, name)
	root = filepath.Join(dir, "mail")
	os.MkdirAll(root, 0o700)
	iw, err := icewarptest.Start(&icewarptest.Options{MailRoot: root})
	if err != nil {
		h.b.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "iw.pw"), []byte(iw.AdminPassword()), 0o600)
	text := fmt.Sprintf("api-url = %s\nadmin-user = %s\npassword-file = %s\nimap-addr = %s\nimap-tls = none\nlog-level = warn\n",
		iw.URL(), iw.AdminEmail(), filepath.Join(dir, "iw.pw"), iw.IMAPAddr())
	if pathMode {
		text += "mail-mode = path\nmail-path = " + root + "\n"
	}
	conf = filepath.Join(dir, "import.conf")
	os.WriteFile(conf, []byte(text), 0o600)
	return conf, root, func() { iw.Close() }
}

// rssRow is a peak-memory row against the 200 MB.
func rssRow(measure string, rss int64, note string) row {
	return row{measure: measure, iem: fmt.Sprintf("%.0f MB", float64(rss)/1e6), baseline: "200 MB",
		ratio: float64(rss) / 200e6, goal: "< 200 MB", pass: rss < 200e6, note: note}
}
