package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/internal/cliutil"
)

func repairCommand() *cli.Command {
	return &cli.Command{
		Name:  "repair",
		Usage: "check the newest round of an archive in full and cut off a damaged tail",
		Description: `Reads every record of the newest round. At the first damaged one (a crash, a bad
copy, two writers at once) the volume is cut there and later parts of the round are
renamed NAME.damaged-TIME; the next "iem-export run" continues the round and fetches
what was cut. Earlier, complete rounds are never changed. iem-export run does the same
by itself when the newest round does not open or was not closed under the archive lock.

Examples:
  iem-export repair --archive /srv/iem/example
  iem-export repair --config iem-export.conf`,
		// The run flags, so that the run's config file applies; only
		// --archive, --identity and --passphrase-file are used.
		Flags: runCommand().Flags,
		Action: func(c *cli.Context) error {
			if p := c.String("config"); p != "" {
				if err := cliutil.ApplyConfig(c, p); err != nil {
					return err
				}
			}
			dir := c.String("archive")
			if dir == "" {
				return cliutil.Usagef("archive", "give the archive folder to repair")
			}
			ids, err := cliutil.Identities(c.StringSlice("identity"))
			if err != nil {
				return err
			}
			if f := c.String("passphrase-file"); f != "" {
				_, id, err := cliutil.Passphrase(f)
				if err != nil {
					return err
				}
				ids = append(ids, id)
			}
			lock, err := archive.LockDir(dir, "iem-export repair")
			if err != nil {
				return err
			}
			defer lock.Unlock()
			if lock.TookOver != nil {
				fmt.Fprintf(c.App.ErrWriter, "iem-export: took over the archive lock of %s, which is no longer running\n", lock.TookOver)
			}
			res, err := archive.Repair(dir, &archive.FolderOptions{Identities: ids})
			if err != nil {
				return err
			}
			if res.Repaired() {
				fmt.Fprintln(c.App.Writer, "repaired:", res)
			} else {
				fmt.Fprintln(c.App.Writer, "nothing to repair:", res)
			}
			return nil
		},
	}
}
