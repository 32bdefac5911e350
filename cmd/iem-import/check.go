package main

import (
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/replay"
	"github.com/iemproject/iem/replay/icewarpsink"
)

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "compare archive and target per folder (rclone style: = same, + missing on target, - only on target, * differs, ! error)",
		Description: `Lists every folder of the target over IMAP (and WebDAV) and compares it with the
archive's view: one line per folder on stdout, then the totals. Exit 0 when nothing
is missing, extra or duplicated.

Examples:
  iem-import check --config iem-import.conf
  iem-import check --config iem-import.conf | grep -v '^='   # only the differences`,
		Flags: targetFlags(),
		Action: func(c *cli.Context) error {
			t, err := parseTarget(c)
			if err != nil {
				return err
			}
			folders, err := openArchives(c)
			if err != nil {
				return err
			}
			defer closeAll(folders)
			log, _ := cliutil.Logger(c.App.ErrWriter, t.LogLevel, t.LogFormat)
			sinks, err := icewarpsink.NewSinks(sinkOptions(t, nil, t.IMAP, log, nil))
			if err != nil {
				return err
			}
			im, err := replay.New(folders, replay.Options{Log: log, DomainMap: t.DomainMap, IceWarpNames: t.IceWarpNames, ArchiveMailbox: t.ArchiveMailbox})
			if err != nil {
				return err
			}
			im.Sinks = sinks
			if err := im.Check(c.Context, c.App.Writer); errors.Is(err, replay.ErrDifferences) {
				return cliutil.ErrPartial // exit 3
			} else {
				return err
			}
		},
	}
}
