// Package report turns the summary of one run of iem-export or iem-import
// into what the operator reads at the end: a table on the terminal, JSON for
// scripts, and a self-contained HTML page (inline CSS and SVG, no external
// assets) with per-mailbox bars, the skipped and failed items with their
// reasons, the history of rounds and the time spent throttled.
//
// A command fills a [Report] from its own per-mailbox counters and calls
// [Report.Table], [Report.JSON] or [Report.HTML]; [Report.Save] writes the
// JSON and HTML side by side into a folder (ARCHIVE/reports). A [RunLog]
// is the run's log file beside them (ARCHIVE/logs).
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/iemproject/iem/archive"
)

// A Report is the summary of one run.
type Report struct {
	// Command is "iem-export" or "iem-import"; Title heads the HTML page.
	Command string
	Title   string
	// Round is the archive round written or read (0 when not known).
	Round     int
	Started   time.Time
	Took      time.Duration
	Throttled time.Duration // time spent waiting on server back-off
	// Columns name the per-mailbox counters, in table order, e.g. found,
	// exported, unchanged. Primary is the index of the column the HTML
	// bars show as "items".
	Columns []string
	Primary int
	Rows    []Row
	// Rounds is the archive's history, oldest first (see [RoundsOf]).
	Rounds []Round
	// Fields are extra top-level JSON fields, so a command keeps the keys
	// its scripts already read.
	Fields map[string]any
}

// A Row is one mailbox.
type Row struct {
	Mailbox string
	Counts  []int // aligned with Report.Columns
	Bytes   int64
	Seconds float64
	// Problems are the items not moved, by kind and reason.
	Problems []Problem
	// Err is set when the mailbox stopped early.
	Err string
	// Detail, when set, is what JSON writes for the mailbox instead of
	// the row (the command's own counters, keeping their JSON keys).
	Detail any
}

// A Problem counts the items of one mailbox left out for one reason.
type Problem struct {
	Kind   string // "skipped", "failed", "filtered", …
	Reason string
	Count  int
}

// NotAsked is the problem kind of what a source was not asked because
// its version cannot answer it: reported, but no reason for a partial run.
const NotAsked = "not asked"

// ProblemsOf turns a reason → count map into sorted problems of one kind.
func ProblemsOf(kind string, m map[string]int) []Problem {
	var ps []Problem
	for r, n := range m {
		if n > 0 {
			ps = append(ps, Problem{Kind: kind, Reason: r, Count: n})
		}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Reason < ps[j].Reason })
	return ps
}

// A Round is one round of the archive.
type Round struct {
	N       int       `json:"round"`
	Volumes int       `json:"volumes"`
	Entries int       `json:"entries"`
	Bytes   int64     `json:"bytes"`
	Created time.Time `json:"created"`
	Final   bool      `json:"complete"`
}

// RoundsOf summarises the volumes of an archive folder by round.
func RoundsOf(f *archive.Folder) []Round {
	var rs []Round
	for _, v := range f.Volumes() {
		if len(rs) == 0 || rs[len(rs)-1].N != v.Info.Round {
			rs = append(rs, Round{N: v.Info.Round, Created: v.Info.Created})
		}
		r := &rs[len(rs)-1]
		r.Volumes++
		r.Entries += len(v.Entries())
		r.Bytes += v.Info.Size
		r.Final = v.Info.Final && !v.Torn
	}
	return rs
}

// Total returns the sum of column i over all rows.
func (r *Report) Total(i int) int {
	n := 0
	for _, row := range r.Rows {
		if i < len(row.Counts) {
			n += row.Counts[i]
		}
	}
	return n
}

// Bytes returns the bytes of all rows.
func (r *Report) Bytes() int64 {
	var n int64
	for _, row := range r.Rows {
		n += row.Bytes
	}
	return n
}

// Partial reports whether any mailbox has failed items or stopped early;
// filtered items and what the Source cannot read ("not read") do not count.
func (r *Report) Partial() bool {
	for _, row := range r.Rows {
		if row.Err != "" {
			return true
		}
		for _, p := range row.Problems {
			// rebuilt items are exported; not read is what the source cannot read;
			// not asked is what the server version has no operation for
			if p.Kind != "filtered" && p.Kind != "not read" && p.Kind != "rebuilt" && p.Kind != NotAsked && p.Count > 0 {
				return true
			}
		}
	}
	return false
}

func (r *Report) sorted() []Row {
	rows := append([]Row(nil), r.Rows...)
	sort.Slice(rows, func(i, j int) bool { return rows[i].Mailbox < rows[j].Mailbox })
	return rows
}

// Table writes the per-mailbox table, then one line per problem reason
// ("skipped  alice@example.com: 2 × item not found").
func (r *Report) Table(w io.Writer) error {
	rows := r.sorted()
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "mailbox\t%s\tMB\t\n", strings.Join(r.Columns, "\t"))
	for _, row := range rows {
		fmt.Fprintf(tw, "%s\t", row.Mailbox)
		for i := range r.Columns {
			n := 0
			if i < len(row.Counts) {
				n = row.Counts[i]
			}
			fmt.Fprintf(tw, "%d\t", n)
		}
		fmt.Fprintf(tw, "%.1f\t\n", float64(row.Bytes)/1e6)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, row := range rows {
		for _, p := range row.Problems {
			fmt.Fprintf(w, "%-8s %s: %d × %s\n", p.Kind, row.Mailbox, p.Count, p.Reason)
		}
		if row.Err != "" {
			fmt.Fprintf(w, "%-8s %s: mailbox stopped: %s\n", "failed", row.Mailbox, row.Err)
		}
	}
	return nil
}

// JSON writes the report as indented JSON: command, round, seconds,
// throttledSeconds, mailboxes (each Row.Detail, or the row), rounds, and
// the Fields.
func (r *Report) JSON(w io.Writer) error {
	m := map[string]any{}
	for k, v := range r.Fields {
		m[k] = v
	}
	m["command"] = r.Command
	if r.Round > 0 {
		m["round"] = r.Round
	}
	m["started"] = r.Started.UTC().Format(time.RFC3339)
	m["seconds"] = r.Took.Seconds()
	m["throttledSeconds"] = r.Throttled.Seconds()
	var mbx []any
	for _, row := range r.sorted() {
		if row.Detail != nil {
			mbx = append(mbx, row.Detail)
			continue
		}
		counts := map[string]int{}
		for i, c := range r.Columns {
			if i < len(row.Counts) {
				counts[c] = row.Counts[i]
			}
		}
		mbx = append(mbx, map[string]any{"mailbox": row.Mailbox, "counts": counts, "bytes": row.Bytes,
			"seconds": row.Seconds, "problems": row.Problems, "error": row.Err})
	}
	m["mailboxes"] = mbx
	if len(r.Rounds) > 0 {
		m["rounds"] = r.Rounds
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Save writes DIR/NAME.json and DIR/NAME.html (mode 0600; DIR is created
// 0700) and returns the HTML path. Each file is written to a temporary
// name and renamed, so a reader never sees half a report.
func (r *Report) Save(dir, name string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	write := func(path string, fn func(io.Writer) error) error {
		f, err := os.CreateTemp(dir, ".report-*")
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		if err := fn(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		return os.Rename(f.Name(), path)
	}
	if err := write(filepath.Join(dir, name+".json"), r.JSON); err != nil {
		return "", err
	}
	html := filepath.Join(dir, name+".html")
	return html, write(html, r.HTML)
}
