package main

import (
	"context"
	"fmt"
	"io"

	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/internal/settings"
)

// runPlan prints the selection with folder and item counts, from the
// directory and the folder hierarchy of each mailbox, and an estimated
// duration (export.MakePlan); it writes nothing.
func runPlan(ctx context.Context, cfg *settings.Export, stdout, stderr io.Writer) error {
	log, err := cliutil.Logger(stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	snap, src, err := readDirectory(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	selected, err := settings.SelectMailboxes(snap, cfg.Selector)
	if err != nil {
		return err
	}
	selected = cfg.Shard.Filter(selected)
	if src, err = connect(ctx, cfg, snap, src, log, nil); err != nil {
		return err
	}
	ps, ok := src.(export.PlanSource)
	if !ok { // PST files: nothing to ask a server; inspect counts them
		return cliutil.Usagef("--source", "plan needs a server source; for PST files run `iem-export pst inspect FILE`")
	}
	p, err := export.MakePlan(ctx, ps, selected, cfg.ArchiveDir, cfg.Jobs)
	if err != nil {
		return err
	}
	p.Print(stdout)
	fmt.Fprintf(stdout, "%d mailboxes, %d groups, %d folders, %d items would be exported\n",
		len(selected), len(snap.Groups), p.Folders, p.Items)
	fmt.Fprintln(stdout, p.Estimate())
	return nil
}
