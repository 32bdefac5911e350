package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/iemproject/iem/icewarp"
	"github.com/iemproject/iem/icewarp/imapsink"
	"github.com/iemproject/iem/icewarp/mailpath"
	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/internal/progress"
	"github.com/iemproject/iem/internal/retry"
	"github.com/iemproject/iem/internal/settings"
	"github.com/iemproject/iem/internal/version"
	"github.com/iemproject/iem/replay"
	"github.com/iemproject/iem/replay/icewarpsink"
)

func targetFlags() []cli.Flag {
	return append(append([]cli.Flag(nil), archiveFlags...),
		&cli.StringFlag{Name: "config", Usage: "read settings from `FILE` (name = value lines)"},
		&cli.StringFlag{Name: "host", Usage: "IceWarp server host name; the other endpoints derive from it"},
		&cli.StringFlag{Name: "api-url", Usage: "admin API `URL` (default https://HOST:32001/icewarpapi/)"},
		&cli.StringFlag{Name: "admin-user", Usage: "IceWarp administrator (email)"},
		&cli.StringFlag{Name: "password-file", Usage: "`FILE` holding the administrator password (or set IEM_ICEWARP_PASSWORD)"},
		&cli.StringFlag{Name: "trust-cert", Usage: "pin the server certificate: sha256:<hex fingerprint>"},
		&cli.BoolFlag{Name: "always-trust", Usage: "do not verify the server certificate (insecure; logged)"},
		&cli.StringSliceFlag{Name: "domain-map", Usage: "map a source domain to a target domain: `OLD=NEW` (repeatable)"},
		&cli.StringFlag{Name: "mail-mode", Value: "imap", Usage: "imap (APPEND) or path (files in the mail path)"},
		&cli.StringFlag{Name: "mail-path", Usage: "IceWarp's mail path `DIR` (path mode)"},
		&cli.StringFlag{Name: "imap-addr", Usage: "IMAP `HOST:PORT` (default HOST:993)"},
		&cli.StringFlag{Name: "imap-tls", Value: "tls", Usage: "none, starttls or tls"},
		&cli.StringFlag{Name: "imap-auth", Value: "authzid", Usage: "authzid (AUTHENTICATE PLAIN on behalf of the user, IceWarp) or master (user*admin, Dovecot)"},
		&cli.IntFlag{Name: "imap-connections", Value: 2, Usage: "IMAP connections per mailbox"},
		&cli.StringFlag{Name: "webdav-url", Usage: "WebDAV root `URL` (default https://HOST/webdav/)"},
		&cli.StringFlag{Name: "webdav-layout", Usage: "collection `PATH` below --webdav-url with {email}, {user} (local part) and {folder} (default {email}/{folder}/, IceWarp's)"},
		&cli.StringFlag{Name: "mail-owner", Usage: "path mode: numeric `UID:GID` that must own the files (IceWarp's service user)"},
		&cli.StringFlag{Name: "server-id", Usage: "path mode: LocalServerID prefix of message file names (path.dat line 4; empty on a single server)"},
		&cli.StringFlag{Name: "public-folders-group", Value: "Public Folders", Usage: "IceWarp group that receives the public folders"},
		&cli.BoolFlag{Name: "icewarp-folder-names", Usage: "map Sent Items, Deleted Items, Junk E-mail to IceWarp's Sent, Trash, Spam"},
		archiveMailboxFlag,
		&cli.IntFlag{Name: "jobs", Value: 2, Usage: "mailboxes imported in parallel"},
		&cli.StringFlag{Name: "ledger", Usage: "ledger `FILE` of what was applied (default ARCHIVE/iem-import.ledger)"},
		&cli.StringFlag{Name: "log-level", Value: "info", Usage: "debug, info, warn or error"},
		&cli.StringFlag{Name: "log-format", Value: "text", Usage: "text or json"},
	)
}

var archiveMailboxFlag = &cli.StringFlag{Name: "archive-mailbox", Value: "Archive",
	Usage: "folder `PATH` the archive mailboxes go below, or skip to leave them out"}

func runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "import the archive: accounts and groups first, then every mailbox",
		Description: `Creates the domains, accounts and groups, then replays each mailbox: mail over IMAP
(or as files into the mail path), contacts and calendars over WebDAV, folder
permissions, and what the source deleted. A ledger in the archive folder records
what was applied, so a rerun (after the next export round, or after Ctrl-C, exit
130) writes only what is new. Progress goes to stderr; the summary table to stdout;
the HTML and JSON reports to ARCHIVE/reports, the log to ARCHIVE/logs.

Examples:
  iem-import run --config iem-import.conf
  iem-import run --config iem-import.conf --archive /srv/iem/shard1 --archive /srv/iem/shard2
  IEM_ICEWARP_PASSWORD=… iem-import run --archive /srv/iem/example --host mail.example.com \
      --admin-user admin@example.com --trust-cert sha256:… --summary-json round.json
  iem-import run --config iem-import.conf --mail-mode path --mail-path /opt/icewarp/mail --mail-owner 999:999
  iem-import run --config iem-import.conf --rebuild     # the target lost its data
  iem-import run --config iem-import.conf --wait        # after the run that holds the ledger

The ledger records the target it belongs to and is refused for another one
(exit 2). One run at a time holds it: a second one fails at once naming the
holder (FILE.holder.json), or waits with --wait. A folder the ledger knows
nothing of that already holds messages (a lost or new ledger) is matched
against the target, as --rebuild does, so nothing is duplicated.`,
		Flags: append(targetFlags(),
			&cli.BoolFlag{Name: "rebuild", Usage: "the target lost its data (or the ledger belongs to another target address): replay everything, checking the target so nothing is duplicated"},
			&cli.BoolFlag{Name: "wait", Usage: "if another iem-import run holds the ledger, wait for it to finish instead of failing at once"},
			&cli.StringFlag{Name: "passwords-from", Usage: "CSV `FILE` of email,password for new accounts"},
			&cli.StringFlag{Name: "passwords-report", Usage: "CSV `FILE` (0600) receiving generated passwords (default ARCHIVE/iem-passwords.csv)"},
			&cli.StringFlag{Name: "summary-json", Usage: "also write the summary as JSON to `FILE`"},
			&cli.BoolFlag{Name: "progress", Value: true, Usage: "show progress on stderr: live lines on a terminal, a line per mailbox every 10 s otherwise (--progress=false: none)"},
		),
		Action: func(c *cli.Context) error {
			cfg, err := parseTarget(c)
			if err != nil {
				return err
			}
			return runImport(c.Context, c, cfg, nil)
		},
	}
}

// parseTarget applies the config file, then checks every setting.
func parseTarget(c *cli.Context) (*settings.Target, error) {
	if p := c.String("config"); p != "" {
		if err := cliutil.ApplyConfig(c, p); err != nil {
			return nil, err
		}
	}
	return settings.ImportTarget(c)
}

// runImport runs the import; watch, when set (the web console), receives
// the progress events too.
func runImport(ctx context.Context, c *cli.Context, t *settings.Target, watch progress.Observer) error {
	started := time.Now()
	passwords, err := replay.ReadPasswords(c.String("passwords-from"))
	if err != nil {
		return cliutil.Usagef("passwords-from", "%v", err)
	}
	// One gate per server endpoint (admin API, IMAP, WebDAV): a back-off
	// the server asks for on one connection holds every caller of that
	// endpoint, and the gates sum up the time spent waiting for the
	// summary.
	var gates [3]retry.Gate
	throttled := func() time.Duration {
		var d time.Duration
		for i := range gates {
			d += gates[i].Waited()
		}
		return d
	}
	stderr := c.App.ErrWriter
	out, err := cliutil.StartSession(stderr, c.Bool("progress"), progress.Options{Verb: "imported", Throttled: throttled, Observer: watch}, t.LogLevel, t.LogFormat)
	if err != nil {
		return err
	}
	defer out.Close()
	log := out.Log
	// The first Ctrl-C is answered at once; main ends the process on the
	// second.
	defer context.AfterFunc(ctx, func() {
		log.Warn("interrupted: stopping after the items in hand; interrupt again to stop at once")
	})()
	log.Info("iem-import run", "version", version.Info(), "archive", t.ArchiveDir)
	folders, err := openArchives(c)
	if err != nil {
		return err
	}
	defer closeAll(folders)
	replay.WarnIncomplete(folders, c.StringSlice("archive"), log)
	pwReport := c.String("passwords-report")
	if pwReport == "" {
		pwReport = filepath.Join(t.ArchiveDir, "iem-passwords.csv")
	}
	im, err := replay.New(folders, replay.Options{DomainMap: t.DomainMap, Passwords: passwords, PasswordReport: pwReport,
		Rebuild: c.Bool("rebuild"), IceWarpNames: t.IceWarpNames, ArchiveMailbox: t.ArchiveMailbox, Log: log, Notice: out.Notice, FileLog: out.FileLog, Progress: out.Progress})
	if err != nil {
		return err
	}
	// An existing ledger is taken (or waited for, --wait) and checked
	// against the target before the target is contacted; a new one is
	// created once the target answered.
	var led *replay.Ledger
	defer func() {
		if led != nil {
			led.Close()
		}
	}()
	if _, err := os.Stat(t.Ledger); err == nil {
		if led, err = openRunLedger(ctx, c, t, im); err != nil {
			return err
		}
	}
	aopt := t.API
	aopt.Logger = log
	imapOpt := t.IMAP
	imapOpt.Logger = log
	aopt.Retry.Gate, imapOpt.Retry.Gate = &gates[0], &gates[1]
	if aopt.TLS.InsecureSkipVerify {
		log.Warn("certificate verification is off (--always-trust)")
	}
	admin, err := cliutil.CheckAdmin(ctx, aopt)
	if err != nil {
		return err
	}
	defer admin.Logout(context.Background())
	log.Info("connected", "api", t.API.URL)
	// The ledger is created only once the target answered: a run that
	// cannot log in leaves the archive folder as it was.
	if led == nil {
		if led, err = openRunLedger(ctx, c, t, im); err != nil {
			return err
		}
	}
	im.Ledger = led
	if err := out.File.Open(t.ArchiveDir, "import", started); err != nil {
		out.File.Discard() // a RunLog not opened holds every line in memory
		log.Warn("no log file in the archive folder (read-only?); logging to stderr only", "err", err)
	}
	if im.Sinks, err = icewarpsink.NewSinks(sinkOptions(t, admin, imapOpt, log, &gates[2])); err != nil {
		return err
	}
	if t.Mode == "path" {
		store, err := mailpath.OpenOptions(t.MailPath, &mailpath.Options{ServerID: t.ServerID, Owner: t.MailOwner, Location: time.Local})
		if err != nil {
			return cliutil.Usagef("mail-path", "%v", err)
		}
		files := icewarpsink.NewFiles(admin, store)
		im.Sinks.Files, im.Sinks.Defaults = files, files.Defaults()
	}
	if err := im.CreateAccounts(ctx); err != nil {
		return err
	}
	cliutil.LimitMemoryFor(t.Jobs)
	runErr := im.Run(ctx, t.Jobs)
	return out.Finish(runErr, ctx.Err() != nil, "what was imported is recorded in the ledger; run again to continue", nil,
		func() (bool, error) {
			return im.WriteSummary(c.App.Writer, replay.SummaryOptions{ArchiveDir: t.ArchiveDir,
				JSONPath: c.String("summary-json"), Started: started, Throttled: throttled(), Log: log})
		})
}

// sinkOptions are the IceWarp Sinks of target t.
func sinkOptions(t *settings.Target, admin *icewarp.Admin, imapOpt imapsink.Options, log *slog.Logger, davGate *retry.Gate) icewarpsink.SinkOptions {
	return icewarpsink.SinkOptions{Admin: admin, PublicFoldersGroup: t.PublicFoldersGroup, IMAP: imapOpt, WebDAV: t.WebDAV, Layout: t.DAVLayout,
		User: t.API.Username, Password: t.API.Password, TLS: t.API.TLS, Log: log, Gate: davGate}
}

// targetOf is the identity of a run's target, as its ledger records it.
func targetOf(t *settings.Target) replay.Target {
	lt := replay.Target{API: t.API.URL, IMAP: t.IMAP.Addr, WebDAV: t.WebDAV}
	if t.Mode == "path" {
		lt.MailPath = t.MailPath
	}
	return lt.Normal()
}

// openRunLedger opens the ledger for this run (Engine.OpenRunLedger),
// --wait and --rebuild as given.
func openRunLedger(ctx context.Context, c *cli.Context, t *settings.Target, im *replay.Engine) (*replay.Ledger, error) {
	led, err := im.OpenRunLedger(ctx, t.Ledger, targetOf(t),
		replay.LedgerOptions{Holder: replay.ThisProcess("iem-import run", os.Args[1:]), Wait: c.Bool("wait")})
	return led, ledgerError(ctx, err)
}

// ledgerError maps the ledger's errors to exit codes: a ledger of another
// target is a usage error (exit 2), a wait (--wait) cut by Ctrl-C an
// interruption (130); the rest are fatal (1).
func ledgerError(ctx context.Context, err error) error {
	var me *replay.TargetMismatchError
	switch {
	case errors.As(err, &me):
		return cliutil.Usagef("ledger", "%s", me.Error())
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return cliutil.Interrupted(err)
	}
	return err
}
