package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/iemproject/iem/internal/cliutil"
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
