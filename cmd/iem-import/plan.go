package main

import (
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/internal/settings"
	"github.com/iemproject/iem/replay"
)

func planCommand() *cli.Command {
	return &cli.Command{
		Name:  "plan",
		Usage: "print per mailbox what a run would create, update, leave, skip and delete (archive and ledger only, no target)",
		Description: `Compares the archive with the ledger of what earlier runs applied; it never
connects to the target.

Examples:
  iem-import plan --archive /srv/iem/example
  iem-import plan --config iem-import.conf      # run's config: the target settings are not used
  iem-import plan --archive /srv/iem/example --domain-map example.com=example.org`,
		Flags: append(append([]cli.Flag(nil), archiveFlags...),
			&cli.StringFlag{Name: "config", Usage: "read settings from `FILE`, as run does (settings only run uses are ignored)"},
			&cli.StringFlag{Name: "ledger", Usage: "ledger `FILE` (default ARCHIVE/iem-import.ledger)"},
			&cli.StringSliceFlag{Name: "domain-map", Usage: "map a source domain to a target domain: `OLD=NEW` (repeatable)"},
			&cli.BoolFlag{Name: "icewarp-folder-names", Usage: "as for run"},
			archiveMailboxFlag,
		),
		Action: func(c *cli.Context) error {
			if p := c.String("config"); p != "" {
				// run's config: the settings only run has (the target's) are passed over
				if err := cliutil.ApplyConfig(c, p, runCommand().Flags...); err != nil {
					return err
				}
			}
			folders, err := openArchives(c)
			if err != nil {
				return err
			}
			defer closeAll(folders)
			domainMap, err := cliutil.DomainMap(c.StringSlice("domain-map"))
			if err != nil {
				return err
			}
			archiveMbx, err := settings.ArchiveMailbox(c)
			if err != nil {
				return err
			}
			im, err := replay.New(folders, replay.Options{DomainMap: domainMap, IceWarpNames: c.Bool("icewarp-folder-names"), ArchiveMailbox: archiveMbx})
			if err != nil {
				return err
			}
			path := c.String("ledger")
			if path == "" {
				path = filepath.Join(c.StringSlice("archive")[0], "iem-import.ledger")
			}
			led, err := replay.OpenLedgerReadOnly(path)
			if err != nil {
				return err
			}
			if led != nil {
				defer led.Close()
			}
			return im.Plan(c.App.Writer, led)
		},
	}
}
