package export_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/export"
)

// TestRebuiltCounted: an item a Source rebuilt (Content.Rebuilt) is exported, counted
// in the mailbox's stats by the Reason of its RebuiltWhy Problem (else a generic one),
// listed in the summary, and does not make the round partial.
func TestRebuiltCounted(t *testing.T) {
	src := org()
	a := "alice@example.com"
	src.add(a, "inbox", &memItem{id: "r1", version: "v1", class: "IPM.Note", kind: export.KindMail, received: t0,
		body: "Subject: rtf\r\n\r\nbody text", rebuilt: &export.Problem{Reason: "rtf-only body kept as attachment"}})
	src.add(a, "inbox", &memItem{id: "r2", version: "v1", class: "IPM.Note", kind: export.KindMail, received: t0,
		body: "Subject: partial\r\n\r\nbody text", rebuilt: errors.New("attachment 2 unreadable")})
	ar := newArchive(t)
	res, err := ar.run(context.Background(), src, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := statsOf(res)[a]
	if st.Exported != 8 || st.Rebuilt["rtf-only body kept as attachment"] != 1 || st.Rebuilt["rebuilt from properties"] != 1 {
		t.Fatalf("stats %+v", st)
	}
	var out bytes.Buffer
	partial, err := export.WriteSummary(&out, res, export.SummaryOptions{Folder: ar.f, ArchiveDir: ar.dir, Started: time.Now(),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if partial || !strings.Contains(out.String(), "rtf-only body kept as attachment") {
		t.Errorf("partial %v, summary:\n%s", partial, out.String())
	}
}
