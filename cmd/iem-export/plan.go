package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/iemproject/iem/exchange"
	"github.com/iemproject/iem/internal/cliutil"
)

// runPlan prints the selection with folder and item counts, from the
// directory and the folder hierarchy of each mailbox; it writes nothing.
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
	client, err := exchange.New(eopt)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "mailbox\ttype\tfolders\titems\n")
	totalFolders, totalItems := 0, 0
	for _, m := range selected {
		changes, _, err := client.SyncFolderHierarchy(ctx, m.PrimarySMTP, "")
		if err != nil {
			return fmt.Errorf("mailbox %s: %w", m.PrimarySMTP, err)
		}
		items := 0
		for _, c := range changes {
			items += c.Folder.TotalCount
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", m.PrimarySMTP, m.Type, len(changes), items)
		totalFolders += len(changes)
		totalItems += items
	}
	tw.Flush()
	fmt.Fprintf(stdout, "%d mailboxes, %d groups, %d folders, %d items would be exported\n",
		len(selected), len(snap.Groups), totalFolders, totalItems)
	return nil
}
