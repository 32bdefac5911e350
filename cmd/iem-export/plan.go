package main

import (
	"context"
	"encoding/json"
	"errors"
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
	selected = cfg.shard.engine().Filter(selected)
	eopt := cfg.ews
	eopt.Logger = log
	client, _, err := checkEWS(ctx, eopt)
	if err != nil {
		return err
	}
	p, err := makePlan(ctx, client, selected, cfg.archiveDir, cfg.jobs)
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
	rate           float64 // items/s measured by the last round or a sample, or 0
	bytesPerItem   float64 // from the last round or a sample, or 0
	measuredRound  int
	sample         string // "20 items of alice@example.com's Inbox" when measured on a sample
	jobs           int
}

type planRow struct {
	mailbox, typ   string
	folders, items int
}

func makePlan(ctx context.Context, client *exchange.Client, selected []*directory.Mailbox, archiveDir string, jobs int) (*plan, error) {
	p := &plan{jobs: max(jobs, 1)}
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
	if p.rate <= 0 && jobs > 0 {
		// No round measured yet: time a sample from the biggest mailbox.
		big := ""
		most := 0
		for _, r := range p.rows {
			if r.items > most {
				big, most = r.mailbox, r.items
			}
		}
		if big != "" {
			if n, rate, bpi, err := measureSample(ctx, client, big, sampleItems); err == nil && n > 0 {
				p.rate, p.bytesPerItem = rate*float64(p.jobs), bpi
				p.sample = fmt.Sprintf("%d items of %s's Inbox", n, big)
			}
		}
	}
	return p, nil
}

// sampleItems is how many messages measureSample fetches.
const sampleItems = 20

var errEnough = errors.New("enough items")

// measureSample fetches up to n messages of mailbox's Inbox with their
// MIME, as a round would, and returns how many it got, the rate in items/s
// of one job and the bytes per item.
func measureSample(ctx context.Context, client *exchange.Client, mailbox string, n int) (int, float64, float64, error) {
	inbox, err := client.GetFolder(ctx, mailbox, "inbox")
	if err != nil {
		return 0, 0, 0, err
	}
	var ids []exchange.ItemID
	_, err = client.SyncFolderItems(ctx, mailbox, inbox.ID, "", func(c exchange.ItemChange) error {
		if c.Kind == exchange.Create && exchange.KindOf(c.Type, c.Class) == exchange.KindMail {
			ids = append(ids, c.ID)
		}
		if len(ids) >= n {
			return errEnough
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return 0, 0, 0, err
	}
	if len(ids) == 0 {
		return 0, 0, 0, nil
	}
	start := time.Now()
	var bytes int64
	got := 0
	err = client.GetItems(ctx, mailbox, ids, exchange.KindMail, func(it *exchange.Item) error {
		if it.MIME != nil {
			m, err := io.Copy(io.Discard, it.MIME)
			if err != nil {
				return err
			}
			bytes += m
		}
		got++
		return nil
	})
	if err != nil || got == 0 {
		return 0, 0, 0, err
	}
	took := time.Since(start).Seconds()
	return got, float64(got) / took, float64(bytes) / float64(got), nil
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
	switch {
	case p.sample != "":
		from = fmt.Sprintf("measured on %s, %d jobs", p.sample, p.jobs)
	case rate <= 0:
		rate, from = assumedRate, "assumed; the first round measures it"
	}
	d := time.Duration(float64(p.items) / rate * float64(time.Second)).Round(time.Second)
	s := fmt.Sprintf("estimate: %s at %.0f items/s (%s)", d, rate, from)
	if p.bytesPerItem > 0 {
		s += fmt.Sprintf(", about %.1f MB", float64(p.items)*p.bytesPerItem/1e6)
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
