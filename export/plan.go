package export

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/iemproject/iem/exchange/directory"
)

// A PlanSource is a source that can count a mailbox cheaply and time a
// sample of it, for [MakePlan].
type PlanSource interface {
	// CountMailbox returns the folders of mailbox and the items the
	// server reports in them (one request).
	CountMailbox(ctx context.Context, mailbox string) (folders, items int, err error)
	// SampleInbox fetches up to n messages of mailbox's Inbox, as a round
	// would, and returns how many it got, the rate in items/s of one job
	// and the bytes per item.
	SampleInbox(ctx context.Context, mailbox string, n int) (got int, rate, bytesPerItem float64, err error)
}

// A Plan is what a round would take: per mailbox the folders and items
// the server reports, and the rate of the archive's last round if there
// is one (or of a sample).
type Plan struct {
	Rows           []PlanRow
	Folders, Items int
	rate           float64 // items/s measured by the last round or a sample, or 0
	bytesPerItem   float64 // from the last round or a sample, or 0
	measuredRound  int
	sample         string // "20 items of alice@example.com's Inbox" when measured on a sample
	jobs           int
}

// A PlanRow is one mailbox of a Plan.
type PlanRow struct {
	Mailbox, Type  string
	Folders, Items int
}

// sampleItems is how many messages a plan samples.
const sampleItems = 20

// MakePlan counts the selected mailboxes of src and takes the rate from
// the newest export report in archiveDir (if set) or, with jobs > 0,
// from a sample of the biggest mailbox; it writes nothing.
func MakePlan(ctx context.Context, src PlanSource, selected []*directory.Mailbox, archiveDir string, jobs int) (*Plan, error) {
	p := &Plan{jobs: max(jobs, 1)}
	for _, m := range selected {
		folders, items, err := src.CountMailbox(ctx, m.PrimarySMTP)
		if err != nil {
			return nil, fmt.Errorf("mailbox %s: %w", m.PrimarySMTP, err)
		}
		p.Rows = append(p.Rows, PlanRow{Mailbox: m.PrimarySMTP, Type: m.Type.String(), Folders: folders, Items: items})
		p.Folders += folders
		p.Items += items
	}
	if archiveDir != "" {
		p.rate, p.bytesPerItem, p.measuredRound = lastRate(filepath.Join(archiveDir, "reports"))
	}
	if p.rate <= 0 && jobs > 0 {
		// No round measured yet: time a sample from the biggest mailbox.
		big := ""
		most := 0
		for _, r := range p.Rows {
			if r.Items > most {
				big, most = r.Mailbox, r.Items
			}
		}
		if big != "" {
			if n, rate, bpi, err := src.SampleInbox(ctx, big, sampleItems); err == nil && n > 0 {
				p.rate, p.bytesPerItem = rate*float64(p.jobs), bpi
				p.sample = fmt.Sprintf("%d items of %s's Inbox", n, big)
			}
		}
	}
	return p, nil
}

// Print writes the per-mailbox table.
func (p *Plan) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "mailbox\ttype\tfolders\titems\n")
	for _, r := range p.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", r.Mailbox, r.Type, r.Folders, r.Items)
	}
	tw.Flush()
}

// assumedRate is the items/s used before any round measured one: a
// conservative figure for one EWS job against a loaded server [inferred,
// not measured against a real Exchange].
const assumedRate = 10.0

// Estimate says how long the items take at the measured (or assumed) rate.
func (p *Plan) Estimate() string {
	rate, from := p.rate, fmt.Sprintf("measured in round %d", p.measuredRound)
	switch {
	case p.sample != "":
		from = fmt.Sprintf("measured on %s, %d jobs", p.sample, p.jobs)
	case rate <= 0:
		rate, from = assumedRate, "assumed; the first round measures it"
	}
	d := time.Duration(float64(p.Items) / rate * float64(time.Second)).Round(time.Second)
	s := fmt.Sprintf("estimate: %s at %.0f items/s (%s)", d, rate, from)
	if p.bytesPerItem > 0 {
		s += fmt.Sprintf(", about %.1f MB", float64(p.Items)*p.bytesPerItem/1e6)
	}
	return s
}

// lastRate reads the newest export report in dir and returns its rate
// (items/s), bytes per item and round; zeros when there is none.
func lastRate(dir string) (rate, bytesPerItem float64, round int) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		var n int
		if _, err := fmt.Sscanf(e.Name(), "export-round-%d.json", &n); err != nil || n <= round || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		var r struct {
			Seconds   float64 `json:"seconds"`
			Mailboxes []struct {
				Exported int   `json:"exported"`
				Bytes    int64 `json:"bytes"`
			} `json:"mailboxes"`
		}
		if json.Unmarshal(b, &r) != nil || r.Seconds <= 0 {
			continue
		}
		items, bytes := 0, int64(0)
		for _, m := range r.Mailboxes {
			items += m.Exported
			bytes += m.Bytes
		}
		if items < 100 { // too few to measure a rate from
			continue
		}
		rate, bytesPerItem, round = float64(items)/r.Seconds, float64(bytes)/float64(items), n
	}
	return
}
