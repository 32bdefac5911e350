package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/internal/settings"
	"github.com/iemproject/iem/internal/syncbuf"
)

// The states of a mailbox row and of a run.
const (
	Waiting     = "waiting"
	Running     = "running"
	Done        = "done"
	Failed      = "failed"
	Stopped     = "stopped" // the run was stopped while this mailbox ran
	Partial     = "done with skipped or failed items"
	Interrupted = "interrupted"
)

// A Row is one mailbox of the dashboard.
type Row struct {
	Mailbox string `json:"mailbox"`
	State   string `json:"state"`
	Folder  string `json:"folder,omitempty"`
	Items   int    `json:"items"`
	Total   int    `json:"total"` // items known so far
	Bytes   int64  `json:"bytes"`
	Reason  string `json:"reason,omitempty"` // why it failed
	// Rate (items/s) and ETA while running, as the terminal line shows them.
	Rate    float64 `json:"rate,omitempty"`
	ETA     string  `json:"eta,omitempty"`
	started time.Time
}

// RunState is what the dashboard shows: sent whole on every change.
type RunState struct {
	State   string  `json:"state"` // running, done, partial, interrupted, failed; "" no run
	Round   int     `json:"round,omitempty"`
	Exit    int     `json:"exit"`
	Message string  `json:"message,omitempty"`
	Rows    []*Row  `json:"rows"`
	Items   int     `json:"items"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
	Summary string  `json:"summary,omitempty"` // the table the command prints
	Report  bool    `json:"report,omitempty"`
}

// A Run is one run of the engine in the console's process, watched by
// every browser through its progress events (a [progress.Observer]).
type Run struct {
	mu      sync.Mutex
	st      RunState
	rows    map[string]*Row
	started time.Time
	report  string
	cancel  context.CancelFunc
	done    chan struct{}
	subs    map[chan struct{}]bool
	stop    bool
	out     syncbuf.Buffer // the command's stdout: the summary table
	log     syncbuf.Buffer // its stderr
}

func newRun(names []string) *Run {
	r := &Run{rows: map[string]*Row{}, subs: map[chan struct{}]bool{}, done: make(chan struct{}), started: time.Now()}
	r.st.State = Running
	for _, n := range names {
		r.row(n)
	}
	return r
}

// row returns the row of name, added (waiting) if new; r.mu held.
func (r *Run) row(name string) *Row {
	row, ok := r.rows[name]
	if !ok {
		row = &Row{Mailbox: name, State: Waiting}
		r.rows[name] = row
		r.st.Rows = append(r.st.Rows, row)
	}
	return row
}

func (r *Run) update(fn func()) {
	r.mu.Lock()
	fn()
	for c := range r.subs {
		select {
		case c <- struct{}{}:
		default: // a change is already pending for this browser
		}
	}
	r.mu.Unlock()
}

// JobStarted, JobFolder, JobAdded and JobDone receive the progress events
// the terminal lines are drawn from.
func (r *Run) JobStarted(name string) {
	r.update(func() {
		row := r.row(name)
		row.State, row.started = Running, time.Now()
	})
}

func (r *Run) JobFolder(name, folder string, items int) {
	r.update(func() {
		row := r.row(name)
		row.Folder = folder
		row.Total += items
	})
}

func (r *Run) JobAdded(name string, items int, bytes int64) {
	r.update(func() {
		row := r.row(name)
		row.Items += items
		row.Bytes += bytes
		r.st.Items += items
		r.st.Bytes += bytes
	})
}

func (r *Run) JobDone(name string) {
	r.update(func() {
		row := r.row(name)
		row.Folder = ""
		if r.stop && row.State == Running {
			row.State = Stopped
			return
		}
		row.State = Done
	})
}

// Stop interrupts the run as Ctrl-C does: the items in hand are written,
// and the next run continues the round.
func (r *Run) Stop() {
	r.update(func() { r.stop = true })
	r.cancel()
}

func (r *Run) finished() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// Wait waits for the run to end.
func (r *Run) Wait() { <-r.done }

// ReportPath is the round's HTML report, once written.
func (r *Run) ReportPath() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.report
}

// State returns a copy of the run's state.
func (r *Run) State() RunState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stateLocked()
}

func (r *Run) stateLocked() RunState {
	st := r.st
	st.Rows = make([]*Row, len(r.st.Rows))
	for i, row := range r.st.Rows {
		c := *row
		if c.State == Running && c.Items > 0 {
			c.Rate = float64(c.Items) / time.Since(c.started).Seconds()
			if left := c.Total - c.Items; left > 0 {
				c.ETA = time.Duration(float64(left) / c.Rate * float64(time.Second)).Round(time.Second).String()
			}
		}
		st.Rows[i] = &c
	}
	if st.State == Running {
		st.Seconds = time.Since(r.started).Seconds()
	}
	return st
}

// A finalRow is one mailbox of the run's JSON report: what it wrote, and
// its error.
type finalRow struct {
	Mailbox string
	Items   int
	Bytes   int64
	Err     string
}

// finishExport ends an export run from its JSON report at summaryJSON.
func (r *Run) finishExport(err error, summaryJSON, archiveDir string) {
	var rep struct {
		Round     int                    `json:"round"`
		Mailboxes []*export.MailboxStats `json:"mailboxes"`
	}
	if b, rerr := os.ReadFile(summaryJSON); rerr == nil {
		json.Unmarshal(b, &rep)
	}
	os.Remove(summaryJSON)
	var rows []finalRow
	for _, s := range rep.Mailboxes {
		rows = append(rows, finalRow{s.Mailbox, s.Exported, s.Bytes, s.Err})
	}
	html := ""
	if rep.Round > 0 {
		html = filepath.Join(archiveDir, "reports", fmt.Sprintf("export-round-%d.html", rep.Round))
	}
	r.finish(err, rep.Round, html, rows)
}

// finish records how the run ended: the exit code as the command's, and
// each mailbox's counts and error from the round's report (rows), whose
// HTML is at html.
func (r *Run) finish(err error, round int, html string, rows []finalRow) {
	r.update(func() {
		r.st.Exit = cliutil.ExitCode(err)
		r.st.Seconds = time.Since(r.started).Seconds()
		r.st.Summary = r.out.String()
		switch r.st.Exit {
		case cliutil.ExitOK:
			r.st.State = Done
		case cliutil.ExitPartial:
			r.st.State = Partial
		case cliutil.ExitInterrupted:
			r.st.State = Interrupted
			r.st.Message = "stopped: what was written is kept; run again to continue the round"
		default:
			r.st.State = Failed
			r.st.Message = err.Error()
		}
		r.st.Round = round
		if html != "" {
			r.report = html
			r.st.Report = true
		}
		r.st.Items, r.st.Bytes = 0, 0
		for _, s := range rows {
			row := r.row(s.Mailbox)
			row.Items, row.Bytes, row.State = s.Items, s.Bytes, Done
			if s.Err != "" {
				row.State, row.Reason = Failed, s.Err
			}
		}
		for _, row := range r.st.Rows {
			r.st.Items += row.Items
			r.st.Bytes += row.Bytes
		}
	})
	close(r.done)
}

// subscribe returns a channel told of each change, and its cancel.
func (r *Run) subscribe() (chan struct{}, func()) {
	c := make(chan struct{}, 1)
	r.mu.Lock()
	r.subs[c] = true
	r.mu.Unlock()
	return c, func() {
		r.mu.Lock()
		delete(r.subs, c)
		r.mu.Unlock()
	}
}

// startRun saves the settings, reads them back as `iem-export run
// --config` does and starts the run in the server's process: closing the
// tab does not stop it, and every browser sees it.
func (e *exportConsole) startRun(r *http.Request) (string, error) {
	if e.run != nil && !e.run.finished() {
		return "", errors.New("a run is going: stop it first")
	}
	if _, err := e.save(r); err != nil {
		return "", err
	}
	run, err := e.launch()
	if err != nil {
		return "", err
	}
	e.run = run
	close(e.started)
	e.started = make(chan struct{})
	return "started", nil
}

// launch reads the config file as the command does and starts the run.
func (e *exportConsole) launch() (*Run, error) {
	c, err := flagContext(e.side.Flags)
	if err != nil {
		return nil, err
	}
	if err := cliutil.ApplyConfig(c, e.side.ConfigPath); err != nil {
		return nil, err
	}
	cfg, err := settings.ExportSettings(c, true)
	if err != nil {
		return nil, err
	}
	var names []string
	if e.snap != nil && cfg.Source != "pst" {
		ms, err := settings.SelectMailboxes(e.snap, cfg.Selector)
		if err != nil {
			return nil, err
		}
		for _, m := range cfg.Shard.Filter(ms) {
			names = append(names, m.PrimarySMTP)
		}
	}
	if cfg.PublicFoldersGroup != "" && cfg.Shard.First() {
		names = append(names, export.PublicFoldersRow)
	}
	f, err := os.CreateTemp("", "iem-console-*.json")
	if err != nil {
		return nil, err
	}
	f.Close()
	user := cfg.Summary
	cfg.Summary, cfg.Progress = f.Name(), true
	run := newRun(names)
	run.Watch(cfg)
	ctx, cancel := context.WithCancel(e.ctx)
	run.cancel = cancel
	go func() {
		defer cancel()
		err := e.side.Run(ctx, cfg, &run.out, &run.log)
		if user != "" { // the config's own summary-json is written too
			if b, rerr := os.ReadFile(cfg.Summary); rerr == nil {
				os.WriteFile(user, b, 0o600)
			}
		}
		run.finishExport(err, cfg.Summary, cfg.ArchiveDir)
	}()
	return run, nil
}

// Watch makes cfg's run report its progress events to r.
func (r *Run) Watch(cfg *settings.Export) { cfg.Watch = r }

func (e *base) stopRun(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	run := e.run
	e.mu.Unlock()
	if run == nil || run.finished() {
		writeJSON(w, fieldError{Message: "no run is going"})
		return
	}
	run.Stop()
	writeJSON(w, fieldError{Info: "stopping: the items in hand are written first"})
}

func (e *base) current() RunState {
	e.mu.Lock()
	run := e.run
	e.mu.Unlock()
	if run == nil {
		return RunState{Rows: []*Row{}}
	}
	return run.State()
}

func (e *base) state(w http.ResponseWriter, r *http.Request) { writeJSON(w, e.current()) }

// events streams the state of the run (server-sent events) on every
// change, at most four times a second, then of the next run, until the
// browser leaves.
func (e *base) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming not supported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	send := func(st RunState) {
		b, _ := json.Marshal(st)
		fmt.Fprintf(w, "data: %s\n\n", b)
		fl.Flush()
	}
	for {
		e.mu.Lock()
		run, next := e.run, e.started
		e.mu.Unlock()
		if run == nil {
			send(RunState{Rows: []*Row{}})
		} else if !follow(r.Context(), run, send) {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-next:
		}
	}
}

// follow sends run's state on each change until it has sent the final
// one; false: the browser left first.
func follow(ctx context.Context, run *Run, send func(RunState)) bool {
	ch, cancel := run.subscribe()
	defer cancel()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		fin := run.finished()
		send(run.State())
		if fin {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-ch:
		case <-run.done:
		}
		select { // a burst of events is one update
		case <-ctx.Done():
			return false
		case <-tick.C:
		case <-run.done:
		}
	}
}
