package replay

import (
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/iemproject/iem/internal/report"
)

// SummaryOptions say where [Engine.WriteSummary] writes the reports of a run.
type SummaryOptions struct {
	ArchiveDir string        // the reports go to ArchiveDir/reports
	JSONPath   string        // also the JSON report here, if set
	Started    time.Time     // when the run started
	Throttled  time.Duration // the time spent waiting on server back-off
	Log        *slog.Logger
}

// WriteSummary prints the per-mailbox table and the totals of the run to
// w, writes the JSON and HTML reports into ArchiveDir/reports (and
// JSONPath), and says whether the run is partial: failed items or a
// stopped mailbox make it so; skipped items and permissions the server
// refused do not.
func (im *Engine) WriteSummary(w io.Writer, opt SummaryOptions) (partial bool, err error) {
	took := time.Since(opt.Started)
	waited, log := opt.Throttled, opt.Log
	round := im.LastRound()
	rep := &report.Report{Command: "iem-import", Title: "iem-import through round " + strconv.Itoa(round), Round: round,
		Started: opt.Started, Took: took, Throttled: waited,
		Columns: []string{"in archive", "appended", "updated", "unchanged", "on target", "deleted", "skipped", "failed", "permissions", "not set"},
		Primary: 1}
	if f := im.Folders(); len(f) > 0 {
		rep.Rounds = report.RoundsOf(f[0])
	}
	var items int
	var bytes int64
	kinds, settings := map[string]int{}, map[string]int{}
	archItems, archBoxes := 0, 0
	for _, s := range im.Stats() {
		if s.Archive > 0 {
			archItems += s.Archive
			archBoxes++
		}
		sk, fa, pf := report.Sum(s.Skipped), report.Sum(s.Failed), report.Sum(s.PermissionsFailed)
		problems := append(report.ProblemsOf("skipped", s.Skipped), report.ProblemsOf("failed", s.Failed)...)
		if s.DefaultFoldersError != "" {
			problems = append(problems, report.ProblemsOf("default folders not set", map[string]int{s.DefaultFoldersError: 1})...)
		}
		rep.Rows = append(rep.Rows, report.Row{Mailbox: s.Mailbox, Bytes: s.Bytes, Seconds: s.Seconds, Err: s.Err, Detail: s,
			Counts: []int{s.InArchive, s.Appended, s.Updated, s.Unchanged, s.Found, s.Deleted, sk, fa, s.Permissions, pf},
			Problems: append(append(problems, report.ProblemsOf("permissions not set", s.PermissionsFailed)...),
				report.ProblemsOf("not moved", s.NotMoved)...)})
		if fa > 0 || s.Err != "" {
			partial = true
		}
		items += s.Appended + s.Updated
		bytes += s.Bytes
		for k, n := range s.Written {
			kinds[k] += n
		}
		for _, k := range s.Settings {
			settings[k]++
		}
	}
	if err := rep.Table(w); err != nil {
		return false, err
	}
	if len(kinds) > 0 {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(kinds)) {
			parts = append(parts, fmt.Sprintf("%d × %s", kinds[k], k))
		}
		fmt.Fprintf(w, "written: %s\n", strings.Join(parts, ", "))
	}
	if len(settings) > 0 {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(settings)) {
			parts = append(parts, fmt.Sprintf("%d × %s", settings[k], k))
		}
		fmt.Fprintf(w, "settings set: %s\n", strings.Join(parts, ", "))
	}
	printArchive(w, archItems, archBoxes, im.archivePath)
	fmt.Fprintf(w, "import: %d mailboxes, %d items written (%.1f MB) in %s, %.0f items/s, %s waiting on server back-off\n",
		len(rep.Rows), items, float64(bytes)/1e6, took.Round(time.Millisecond), float64(items)/took.Seconds(), waited.Round(time.Millisecond))
	reports := filepath.Join(opt.ArchiveDir, "reports")
	html, err := rep.Save(reports, reportName(reports, round))
	if err != nil {
		log.Warn("no report in the archive folder", "err", err)
	} else {
		fmt.Fprintf(w, "report: %s\n", html)
	}
	log.Info("import finished", "round", round, "mailboxes", len(rep.Rows), "written", items, "bytes", bytes,
		"seconds", took.Seconds(), "throttled", waited, "partial", partial, "report", html)
	if opt.JSONPath != "" {
		var b strings.Builder
		if err := rep.JSON(&b); err != nil {
			return false, err
		}
		if err := os.WriteFile(opt.JSONPath, []byte(b.String()), 0o600); err != nil {
			return false, err
		}
	}
	return partial, nil
}

// reportName is import-round-N for the first import of round N, and
// import-round-N-run-K for the K-th run of the same round (a rerun after an
// interruption or failure), so no report replaces an earlier one.
func reportName(dir string, round int) string {
	name := fmt.Sprintf("import-round-%d", round)
	for k := 2; ; k++ {
		if _, err := os.Stat(filepath.Join(dir, name+".json")); err != nil {
			return name
		}
		name = fmt.Sprintf("import-round-%d-run-%d", round, k)
	}
}
