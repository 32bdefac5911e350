// Package progress shows how far a run has come, per job (one mailbox
// being exported or imported): the folder it is in, items done of the
// items known so far, megabytes, rate, an estimate of the time left and the
// time the run spent throttled.
//
// On a terminal each job is a live line redrawn in place
// (github.com/vbauerster/mpb/v8), and log lines written through
// [Progress.Logs] appear above the bars instead of tearing them. Anywhere
// else (a pipe, a file, systemd) it writes one plain line per active job
// every [Options.Interval], so a log collector sees the progress without
// control characters. Progress is not logging: it goes to its own writer
// (stderr) and carries no secrets.
//
// All methods are safe for concurrent use; a nil *Job ignores every call,
// so code that reports progress needs no checks when none is shown.
package progress

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"
)

// Options configure a Progress. A nil *Options means the defaults.
type Options struct {
	// Terminal selects live lines; when false, plain periodic lines.
	// [IsTerminal] tells which fits the writer.
	Terminal bool
	// Interval between plain lines (default 10 s).
	Interval time.Duration
	// Throttled returns the time the run has waited on server back-off
	// so far (retry.Gate.Waited); nil shows none.
	Throttled func() time.Duration
	// Verb names what an item done is ("exported", "imported").
	Verb string
	// Observer, when set, also receives every job event the lines show
	// (the web console's dashboard); its methods must not block.
	Observer Observer
}

// An Observer receives the events of each job as they happen, by job name.
type Observer interface {
	JobStarted(name string)
	JobFolder(name, folder string, items int)
	JobAdded(name string, items int, bytes int64)
	JobDone(name string)
}

// IsTerminal reports whether w is a terminal (live lines fit).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// A Progress shows the jobs of one run. Close it at the end.
type Progress struct {
	w    io.Writer
	opt  Options
	bars *mpb.Progress // nil when not a terminal

	wmu  sync.Mutex // serialises plain lines and Logs writes
	mu   sync.Mutex
	jobs map[*Job]bool
	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// New starts showing progress on w.
func New(w io.Writer, opt *Options) *Progress {
	p := &Progress{w: w, jobs: map[*Job]bool{}, stop: make(chan struct{})}
	if opt != nil {
		p.opt = *opt
	}
	if p.opt.Interval <= 0 {
		p.opt.Interval = 10 * time.Second
	}
	if p.opt.Verb == "" {
		p.opt.Verb = "done"
	}
	if p.opt.Terminal {
		p.bars = mpb.New(mpb.WithOutput(w), mpb.WithWidth(160), mpb.WithRefreshRate(250*time.Millisecond), mpb.WithAutoRefresh())
		return p
	}
	p.wg.Add(1)
	go p.tick()
	return p
}

// Logs returns the writer log lines should go to while p runs: on a
// terminal it prints them above the live lines; otherwise it writes to
// fallback, one write at a time with the plain progress lines (they often
// share stderr).
func (p *Progress) Logs(fallback io.Writer) io.Writer {
	if p == nil {
		return fallback
	}
	if p.bars == nil {
		return &lockedWriter{mu: &p.wmu, w: fallback}
	}
	return &logWriter{p: p, fallback: fallback}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

type logWriter struct {
	p        *Progress
	fallback io.Writer
}

func (l *logWriter) Write(b []byte) (int, error) {
	n, err := l.p.bars.Write(b)
	if err != nil { // the bars are gone: write directly
		return l.fallback.Write(b)
	}
	return n, nil
}

func (p *Progress) tick() {
	defer p.wg.Done()
	t := time.NewTicker(p.opt.Interval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.printLines()
		}
	}
}

// printLines writes one plain line per active job, sorted by name.
func (p *Progress) printLines() {
	p.mu.Lock()
	var js []*Job
	for j := range p.jobs {
		js = append(js, j)
	}
	p.mu.Unlock()
	sort.Slice(js, func(a, b int) bool { return js[a].name < js[b].name })
	var b strings.Builder
	for _, j := range js {
		fmt.Fprintf(&b, "progress %s\n", j.status(p.opt.Verb, p.throttled()))
	}
	p.wmu.Lock()
	io.WriteString(p.w, b.String())
	p.wmu.Unlock()
}

func (p *Progress) throttled() time.Duration {
	if p.opt.Throttled == nil {
		return 0
	}
	return p.opt.Throttled()
}

// Close ends every job and stops the display. Lines written after Close
// through Logs go to their fallback.
func (p *Progress) Close() {
	if p == nil {
		return
	}
	p.once.Do(func() {
		p.mu.Lock()
		js := make([]*Job, 0, len(p.jobs))
		for j := range p.jobs {
			js = append(js, j)
		}
		p.mu.Unlock()
		for _, j := range js {
			j.Done()
		}
		close(p.stop)
		p.wg.Wait()
		if p.bars != nil {
			p.bars.Wait()
		}
	})
}

// A Job is one unit of work shown on its own line, e.g. a mailbox.
type Job struct {
	p       *Progress
	name    string
	start   time.Time
	bar     *mpb.Bar
	done    atomic.Int64
	total   atomic.Int64
	bytes   atomic.Int64
	folder  atomic.Pointer[string]
	stopped atomic.Bool
}

// Job starts a job called name.
func (p *Progress) Job(name string) *Job {
	if p == nil {
		return nil
	}
	j := &Job{p: p, name: name, start: time.Now()}
	empty := ""
	j.folder.Store(&empty)
	if p.bars != nil {
		j.bar = p.bars.New(0, mpb.BarStyle().Lbound("[").Rbound("]"),
			mpb.BarRemoveOnComplete(), mpb.BarWidth(20),
			mpb.PrependDecorators(
				decor.Name(name, decor.WCSyncSpaceR),
				decor.Any(func(decor.Statistics) string { return clip(*j.folder.Load(), 24) }, decor.WCSyncSpaceR),
			),
			mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return j.counters(p.throttled()) })),
		)
	}
	p.mu.Lock()
	p.jobs[j] = true
	p.mu.Unlock()
	if p.opt.Observer != nil {
		p.opt.Observer.JobStarted(name)
	}
	return j
}

// Folder says the job is now in folder, where items more items are to be
// done; they are added to the job's total.
func (j *Job) Folder(folder string, items int) {
	if j == nil {
		return
	}
	j.folder.Store(&folder)
	t := j.total.Add(int64(items))
	if j.bar != nil {
		j.bar.SetTotal(t, false)
	}
	if o := j.p.opt.Observer; o != nil {
		o.JobFolder(j.name, folder, items)
	}
}

// Add counts n items done with their bytes.
func (j *Job) Add(n int, bytes int64) {
	if j == nil {
		return
	}
	j.done.Add(int64(n))
	j.bytes.Add(bytes)
	if j.bar != nil {
		j.bar.IncrBy(n)
	}
	if o := j.p.opt.Observer; o != nil {
		o.JobAdded(j.name, n, bytes)
	}
}

// Done ends the job and removes its line; a plain-line display prints its
// final line.
func (j *Job) Done() {
	if j == nil || j.stopped.Swap(true) {
		return
	}
	p := j.p
	p.mu.Lock()
	delete(p.jobs, j)
	p.mu.Unlock()
	if p.opt.Observer != nil {
		p.opt.Observer.JobDone(j.name)
	}
	if j.bar != nil {
		j.bar.SetTotal(-1, true)
		return
	}
	if time.Since(j.start) >= p.opt.Interval { // short jobs only show in the summary
		line := fmt.Sprintf("progress %s finished\n", j.status(p.opt.Verb, p.throttled()))
		p.wmu.Lock()
		io.WriteString(p.w, line)
		p.wmu.Unlock()
	}
}

// counters is the right-hand side of a live line.
func (j *Job) counters(throttled time.Duration) string {
	done, total, bytes := j.done.Load(), j.total.Load(), j.bytes.Load()
	rate := float64(done) / time.Since(j.start).Seconds()
	s := fmt.Sprintf("%d/%d items %.1f MB %.1f/s", done, total, float64(bytes)/1e6, rate)
	if eta, ok := j.eta(rate); ok {
		s += " ETA " + eta.String()
	}
	if throttled > 0 {
		s += " throttled " + throttled.Round(time.Second).String()
	}
	return s
}

func (j *Job) eta(rate float64) (time.Duration, bool) {
	left := j.total.Load() - j.done.Load()
	if rate <= 0 || left <= 0 {
		return 0, false
	}
	return time.Duration(float64(left) / rate * float64(time.Second)).Round(time.Second), true
}

// status is a plain line: key=value pairs, as logfmt, so log collectors
// can parse it.
func (j *Job) status(verb string, throttled time.Duration) string {
	done, total, bytes := j.done.Load(), j.total.Load(), j.bytes.Load()
	el := time.Since(j.start)
	rate := float64(done) / el.Seconds()
	s := fmt.Sprintf("job=%s folder=%q %s=%d total=%d mb=%.1f rate=%.1f/s elapsed=%s",
		j.name, *j.folder.Load(), verb, done, total, float64(bytes)/1e6, rate, el.Round(time.Second))
	if eta, ok := j.eta(rate); ok {
		s += " eta=" + eta.String()
	}
	return s + " throttled=" + throttled.Round(time.Second).String()
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
