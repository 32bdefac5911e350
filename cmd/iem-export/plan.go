package main

import (
	"context"
	"fmt"
	"io"

	"github.com/iemproject/iem/exchange"
	"github.com/iemproject/iem/exchange/directory"
	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/internal/cliutil"
)

// runPlan prints the selection with folder and item counts, from the
// directory and the folder hierarchy of each mailbox, and an estimated
// duration (export.MakePlan); it writes nothing.
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
	client, _, err := cliutil.CheckEWS(ctx, eopt)
	if err != nil {
		return err
	}
	p, err := export.MakePlan(ctx, exchange.NewSource(client, snap), selected, cfg.archiveDir, cfg.jobs)
	if err != nil {
		return err
	}
	p.Print(stdout)
	fmt.Fprintf(stdout, "%d mailboxes, %d groups, %d folders, %d items would be exported\n",
		len(selected), len(snap.Groups), p.Folders, p.Items)
	fmt.Fprintln(stdout, p.Estimate())
	return nil
}

// plan, planRow and makePlan keep init.go's calls as they were
// (export.MakePlan over the client).
type plan struct {
	*export.Plan
	rows           []planRow
	folders, items int
}

type planRow struct {
	mailbox        string
	folders, items int
}

func makePlan(ctx context.Context, client *exchange.Client, selected []*directory.Mailbox, archiveDir string, jobs int) (*plan, error) {
	ep, err := export.MakePlan(ctx, exchange.NewSource(client, nil), selected, archiveDir, jobs)
	if err != nil {
		return nil, err
	}
	p := &plan{Plan: ep, folders: ep.Folders, items: ep.Items}
	for _, r := range ep.Rows {
		p.rows = append(p.rows, planRow{r.Mailbox, r.Folders, r.Items})
	}
	return p, nil
}

func (p *plan) print(w io.Writer) { p.Print(w) }
func (p *plan) estimate() string  { return p.Estimate() }
