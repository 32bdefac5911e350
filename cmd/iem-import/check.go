package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/urfave/cli/v2"

	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/internal/settings"
	"github.com/iemproject/iem/replay"
	"github.com/iemproject/iem/replay/icewarpsink"
)

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "compare archive and target per folder (rclone style: = same, + missing on target, - only on target, * differs, ! error)",
		Description: `Lists every folder of the target over IMAP (and WebDAV) and compares it with the
archive's view: one line per folder on stdout, then the totals. Each account's
default folders (Sent, Drafts, Trash, Spam) are read through the admin API and a
"~" line names each one that does not point at the folder that was Exchange's.
Exit 0 when nothing is missing, extra, duplicated or pointing elsewhere.

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
			closeAdmin := checkDefaultsSink(c.Context, t, &im.Sinks, log)
			defer closeAdmin()
			if err := im.Check(c.Context, c.App.Writer); errors.Is(err, replay.ErrDifferences) {
				return cliutil.ErrPartial // exit 3
			} else {
				return err
			}
		},
	}
}

// checkDefaultsSink sets the reader of the accounts' default folders
// (icewarpsink.DefaultsForCheck) and returns what logs out.
func checkDefaultsSink(ctx context.Context, t *settings.Target, sinks *replay.Sinks, log *slog.Logger) func() {
	mailPath := ""
	if t.Mode == "path" {
		mailPath = t.MailPath
	}
	aopt := t.API
	aopt.Logger = log
	d, done := icewarpsink.DefaultsForCheck(ctx, aopt, mailPath, log)
	if d != nil {
		sinks.Defaults = d
	}
	return done
}
