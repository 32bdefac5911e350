package main

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/iemproject/iem/exchange/directory"
	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/internal/settings"
	"github.com/iemproject/iem/pst"
)

func pstCommand() *cli.Command {
	return &cli.Command{
		Name:  "pst",
		Usage: "Outlook PST and OST files",
		Subcommands: []*cli.Command{{
			Name:      "inspect",
			Usage:     "show a PST/OST file's format, encoding, folder tree with item counts and sizes, and what cannot be read",
			ArgsUsage: "FILE...",
			Description: `The first thing to run on a PST of unknown origin; exit 3 when something could not be read.
Example: iem-export pst inspect /srv/exmerge/*.pst`,
			Action: func(c *cli.Context) error {
				if c.NArg() == 0 {
					return cliutil.Usagef("FILE", "give the PST or OST files to inspect")
				}
				var err error // the first file that cannot be opened stops; damage inside one is listed
				for _, name := range c.Args().Slice() {
					r, ierr := pst.Inspect(name)
					if ierr != nil {
						return fmt.Errorf("%s: %w", name, ierr)
					}
					r.WriteText(c.App.Writer, name)
					if len(r.Problems) > 0 {
						err = fmt.Errorf("parts of the files cannot be read (listed above): %w", cliutil.ErrPartial)
					}
				}
				return err
			},
		}},
	}
}

// pstSource opens the mapped files as one Source: a set of files per
// mailbox and folder they go under. A mailbox not in the directory is a
// usage error naming the map's line. A file with a PST password is exported
// anyway (the password is a check, not encryption) and logged as such.
func pstSource(maps []settings.PSTMapping, snap *directory.Snapshot, log *slog.Logger) (*pst.Sources, error) {
	type set struct{ mailbox, folder string }
	files := map[set][]string{}
	var order []set
	for _, m := range maps {
		mb, ok := snap.Mailbox(m.Mailbox)
		if !ok {
			return nil, cliutil.Usagef("pst-map", "line %d: %s is not a mailbox of the directory", m.Line, m.Mailbox)
		}
		k := set{mb.PrimarySMTP, m.Folder}
		if files[k] == nil {
			order = append(order, k)
		}
		files[k] = append(files[k], m.File)
	}
	var srcs []*pst.Source
	for _, k := range order {
		s, err := pst.NewSource(k.mailbox, k.mailbox, k.folder, files[k], snap)
		if err != nil {
			for _, o := range srcs {
				o.Close()
			}
			return nil, err
		}
		srcs = append(srcs, s)
		for _, p := range s.PasswordFiles() {
			log.Warn("PST file has a password (PidTagPstPassword): a check Outlook makes, not encryption; exported anyway", "file", p)
		}
	}
	return pst.Combine(snap, srcs...)
}

// mapped keeps the selected mailboxes that have files in the map.
func mapped(selected []*directory.Mailbox, maps []settings.PSTMapping) []*directory.Mailbox {
	var out []*directory.Mailbox
	for _, mb := range selected {
		for _, m := range maps {
			if strings.EqualFold(m.Mailbox, mb.PrimarySMTP) || slices.ContainsFunc(mb.Aliases, func(a string) bool { return strings.EqualFold(a, m.Mailbox) }) {
				out = append(out, mb)
				break
			}
		}
	}
	return out
}
