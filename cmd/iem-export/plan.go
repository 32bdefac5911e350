package main

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

	"github.com/iemproject/iem/exchange"
	"github.com/iemproject/iem/exchange/directory"
	"github.com/iemproject/iem/internal/cliutil"
)

// runPlan prints the selection with folder and item counts, from the
// directory and the folder hierarchy of each mailbox, and an estimated
// duration; it writes nothing.
func runPlan(ctx context.Context, cfg *config, stdout, stderr io.Writer) error {
	log, err := cliutil.Logger(stderr, cfg.logLevel, cfg.logFormat)
	if err != nil {
		return err
	}
	snap, err := readDirectory(ctx, cfg, log)
	if err != nil {
		return err
	}
	selected, err := selectMailboxes(snap, cfg.selector)
	if err != nil {
		return err
	}
	eopt := cfg.ews
	eopt.Logger = log
	client, _, err := checkEWS(ctx, eopt)
	if err != nil {
		return err
	}
	p, err := makePlan(ctx, client, selected, cfg.archiveDir)
	if err != nil {
		return err
	}
	p.print(stdout)
	fmt.Fprintf(stdout, "%d mailboxes, %d groups, %d folders, %d items would be exported\n",
		len(selected), len(snap.Groups), p.folders, p.items)
	fmt.Fprintln(stdout, p.estimate())
	return nil
}

// A plan is what a round would take: per mailbox the folders and items
// the server reports (FolderHierarchy TotalCount: cheap, one request per
// mailbox), and the rate of the archive's last round if there is one.
type plan struct {
	rows           []planRow
	folders, items int
	rate           float64 // items/s measured by the last round, or 0
	bytesPerItem   float64 // from the last round, or 0
	measuredRound  int
}

type planRow struct {
	mailbox, typ   string
	folders, items int
}

func makePlan(ctx context.Context, client *exchange.Client, selected []*directory.Mailbox, archiveDir string) (*plan, error) {
	p := &plan{}
	for _, m := range selected {
		changes, _, err := client.SyncFolderHierarchy(ctx, m.PrimarySMTP, "")
		if err != nil {
			return nil, fmt.Errorf("mailbox %s: %w", m.PrimarySMTP, err)
		}
		r := planRow{mailbox: m.PrimarySMTP, typ: m.Type.String(), folders: len(changes)}
		for _, c := range changes {
			r.items += c.Folder.TotalCount
		}
		p.rows = append(p.rows, r)
		p.folders += r.folders
		p.items += r.items
	}
	if archiveDir != "" {
		p.rate, p.bytesPerItem, p.measuredRound = lastRate(filepath.Join(archiveDir, "reports"))
	}
	return p, nil
}

func (p *plan) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "mailbox\ttype\tfolders\titems\n")
	for _, r := range p.rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", r.mailbox, r.typ, r.folders, r.items)
	}
	tw.Flush()
}

// assumedRate is the items/s used before any round measured one: a
// conservative figure for one EWS job against a loaded server [inferred,
// not measured against a real Exchange].
const assumedRate = 10.0

// estimate says how long the items take at the measured (or assumed) rate.
func (p *plan) estimate() string {
	rate, from := p.rate, fmt.Sprintf("measured in round %d", p.measuredRound)
	if rate <= 0 {
		rate, from = assumedRate, "assumed; the first round measures it"
	}
	d := time.Duration(float64(p.items) / rate * float64(time.Second)).Round(time.Second)
	s := fmt.Sprintf("estimate: %s at %.0f items/s (%s)", d, rate, from)
	if p.bytesPerItem > 0 {
		s += fmt.Sprintf(", about %.0f MB", float64(p.items)*p.bytesPerItem/1e6)
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
