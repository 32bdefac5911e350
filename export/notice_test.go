package export_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/export"
)

// TestSummaryNotices: each of SummaryOptions.Notices is one "notice" line of the summary.
func TestSummaryNotices(t *testing.T) {
	ar := newArchive(t)
	res, err := ar.run(context.Background(), org(), export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	notes := []string{"a.pst: has a PST password (a check in the file, not encryption); read without it", "b.pst: second"}
	if _, err := export.WriteSummary(&out, res, export.SummaryOptions{Folder: ar.f, ArchiveDir: ar.dir, Started: time.Now(),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Notices: notes}); err != nil {
		t.Fatal(err)
	}
	for _, n := range notes {
		if !strings.Contains(out.String(), "notice   "+n+"\n") {
			t.Errorf("no notice %q in the summary:\n%s", n, out.String())
		}
	}
}
