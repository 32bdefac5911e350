package export

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/internal/report"
)

// SummaryOptions say where [WriteSummary] writes the reports of a round.
type SummaryOptions struct {
	Folder     *archive.Folder // the folder the round was written to
	ArchiveDir string          // the reports go to ArchiveDir/reports
	JSONPath   string          // also the JSON report here, if set
	Started    time.Time       // when the run started
	Throttled  time.Duration   // the time spent waiting on server back-off
	Log        *slog.Logger
}

// WriteSummary prints the per-mailbox table of the round res to w, writes
// the JSON and HTML reports into ArchiveDir/reports (and JSONPath), and
// says whether the round is partial (skipped or failed items, a failed
// mailbox).
func WriteSummary(w io.Writer, res *Result, opt SummaryOptions) (partial bool, err error) {
	took := time.Since(opt.Started)
	round := res.Round
	rep := &report.Report{Command: "iem-export", Title: "iem-export round " + strconv.Itoa(round), Round: round,
		Started: opt.Started, Took: took, Throttled: opt.Throttled,
		Columns: []string{"found", "exported", "unchanged", "filtered", "skipped", "failed", "deleted", "flags", "archive"}, Primary: 1,
		// The round writer added each part it closed to the folder, so
		// its history includes this round (reopening the folder held a
		// second copy of every manifest).
		Rounds: report.RoundsOf(opt.Folder)}
	var tot MailboxStats
	var arch archiveTotals
	for _, s := range res.Stats {
		problems := append(report.ProblemsOf("skipped", s.Skipped), report.ProblemsOf("failed", s.Failed)...)
		problems = append(problems, report.ProblemsOf(NotReadKind, s.NotReadable)...)
		problems = append(append(problems, report.ProblemsOf("filtered", s.Filtered)...), report.ProblemsOf("rebuilt", s.Rebuilt)...)
		rep.Rows = append(rep.Rows, report.Row{Mailbox: s.Mailbox, Bytes: s.Bytes, Seconds: s.Seconds, Err: s.Err, Detail: s,
			Counts:   []int{s.Found, s.Exported, s.Unchanged, report.Sum(s.Filtered), report.Sum(s.Skipped), report.Sum(s.Failed), s.Deleted, s.Flags, arch.add(s)},
			Problems: append(append(problems, report.ProblemsOf(report.NotAsked, s.NotAsked)...), archiveProblems(s)...)})
		tot.Exported += s.Exported
		tot.Bytes += s.Bytes
		if s.Archive != nil { // the round's totals include the archives
			tot.Exported += s.Archive.Exported
			tot.Bytes += s.Archive.Bytes
		}
	}
	if err := rep.Table(w); err != nil {
		return false, err
	}
	for _, r := range res.NotReadable {
		fmt.Fprintf(w, "%-8s the organisation: %s\n", NotReadKind, r)
	}
	if len(res.NotReadable) > 0 {
		rep.Fields = map[string]any{"notReadable": res.NotReadable}
	}
	arch.print(w)
	rate := float64(tot.Exported) / took.Seconds()
	fmt.Fprintf(w, "round %d: %d mailboxes, %d items exported (%.1f MB) in %s, %.0f items/s, %s waiting on server back-off\n",
		round, len(rep.Rows), tot.Exported, float64(tot.Bytes)/1e6, took.Round(time.Millisecond), rate, opt.Throttled.Round(time.Millisecond))
	html, err := rep.Save(filepath.Join(opt.ArchiveDir, "reports"), fmt.Sprintf("export-round-%d", round))
	if err != nil {
		return false, fmt.Errorf("report: %w", err)
	}
	fmt.Fprintf(w, "report: %s\n", html)
	opt.Log.Info("round finished", "round", round, "mailboxes", len(rep.Rows), "exported", tot.Exported, "bytes", tot.Bytes,
		"seconds", took.Seconds(), "throttled", opt.Throttled, "partial", rep.Partial(), "report", html)
	if opt.JSONPath != "" {
		var b bytes.Buffer
		if err := rep.JSON(&b); err != nil {
			return false, err
		}
		if err := os.WriteFile(filepath.Clean(opt.JSONPath), b.Bytes(), 0o600); err != nil {
			return false, err
		}
	}
	return rep.Partial(), nil
}
