package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/exchange"
	"github.com/iemproject/iem/exchange/directory"
	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/graph"
	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/internal/progress"
	"github.com/iemproject/iem/internal/retry"
	"github.com/iemproject/iem/internal/settings"
	"github.com/iemproject/iem/internal/version"
)

func sourceFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "config", Usage: "read settings from `FILE` (name = value lines)"},
		&cli.StringFlag{Name: "source", Value: "ews", Usage: "ews (Exchange 2007 SP1-2019, with AD), graph (Exchange Online over Microsoft Graph) or pst (PST/OST files, with AD)"},
		&cli.StringFlag{Name: "pst-map", Usage: "pst: CSV `FILE` of lines FILE-or-FOLDER,MAILBOX[,root|archive|FOLDER]"},
		&cli.StringFlag{Name: "ews-url", Usage: "EWS endpoint, `URL` https://host/EWS/Exchange.asmx"},
		&cli.StringFlag{Name: "admin-user", Usage: "admin account with impersonation rights (DOMAIN\\user or UPN)"},
		&cli.StringFlag{Name: "password-file", Usage: "`FILE` holding the admin password (or set IEM_EWS_PASSWORD)"},
		&cli.StringFlag{Name: "auth", Value: "basic", Usage: "authentication: basic or ntlm"},
		&cli.StringFlag{Name: "trust-cert", Usage: "pin the server certificate: sha256:<hex fingerprint>"},
		&cli.BoolFlag{Name: "always-trust", Usage: "do not verify the server certificate (insecure; logged)"},
		&cli.BoolFlag{Name: "legacy-tls", Usage: "allow TLS 1.0/1.1 and old RSA cipher suites (Exchange 2007/2010 on old Windows)"},
		&cli.StringFlag{Name: "exchange-version", Usage: "override the detected version (Exchange2007_SP1, Exchange2010_SP2, Exchange2013, Exchange2016)"},
		&cli.StringFlag{Name: "tenant", Usage: "graph: the tenant's ID or domain (contoso.onmicrosoft.com)"},
		&cli.StringFlag{Name: "client-id", Usage: "graph: the app registration's application (client) ID"},
		&cli.StringFlag{Name: "client-secret-file", Usage: "graph: `FILE` holding the client secret (or set IEM_GRAPH_CLIENT_SECRET)"},
		&cli.StringFlag{Name: "certificate-file", Usage: "graph: PEM `FILE` with the app's certificate and private key"},
		&cli.StringFlag{Name: "graph-endpoint", Usage: "graph: national cloud `URL` (default https://graph.microsoft.com)"},
		&cli.StringFlag{Name: "login-endpoint", Usage: "graph: national cloud login `URL` (default https://login.microsoftonline.com)"},
		&cli.StringFlag{Name: "directory-url", Usage: "Active Directory `URL`, ldap:// or ldaps://"},
		&cli.StringFlag{Name: "directory-bind-dn", Usage: "bind DN or UPN for the directory"},
		&cli.StringFlag{Name: "directory-password-file", Usage: "`FILE` holding the bind password (or set IEM_LDAP_PASSWORD)"},
		&cli.StringFlag{Name: "directory-base", Usage: "search base DN (default: the domain's naming context)"},
		&cli.BoolFlag{Name: "directory-starttls", Usage: "use StartTLS on ldap://"},
		&cli.StringFlag{Name: "directory-file", Usage: "read the directory from an ldifde export `FILE` instead of LDAP"},
		&cli.StringSliceFlag{Name: "mailbox", Usage: "export this mailbox (address or glob pattern; repeatable); default: all"},
		&cli.StringFlag{Name: "mailboxes-from", Usage: "export the mailboxes listed in `FILE` (one address per line)"},
		&cli.StringSliceFlag{Name: "group", Usage: "export the members of this group (repeatable)"},
		&cli.StringFlag{Name: "public-folders-group", Usage: "export public folders, to be imported under this IceWarp group `NAME`"},
		&cli.IntFlag{Name: "start-year", Value: 1900, Usage: "skip items received before this year"},
		&cli.IntFlag{Name: "jobs", Value: 2, Usage: "mailboxes exported in parallel"},
		&cli.StringFlag{Name: "shard", Usage: "export only shard `i/n` of the selection (a stable split by address; each of n hosts writes its own archive; public folders go with shard 1)"},
		&cli.StringFlag{Name: "log-level", Value: "info", Usage: "debug, info, warn or error"},
		&cli.StringFlag{Name: "log-format", Value: "text", Usage: "text or json"},
	}
}

func runCommand() *cli.Command {
	flags := append(sourceFlags(),
		&cli.StringFlag{Name: "archive", Usage: "archive `DIR` (created if missing)"},
		&cli.Int64Flag{Name: "volume-size", Value: archive.DefaultVolumeSize, Usage: "split a round into volumes of at most `BYTES`"},
		&cli.StringSliceFlag{Name: "encrypt-to", Usage: "encrypt the archive to this age recipient (age1… or a file of them; repeatable)"},
		&cli.StringFlag{Name: "passphrase-file", Usage: "encrypt the archive with the passphrase in `FILE`"},
		&cli.StringSliceFlag{Name: "identity", Usage: "age identity `FILE` (to read earlier rounds of an encrypted archive)"},
		&cli.StringFlag{Name: "summary-json", Usage: "also write the summary as JSON to `FILE`"},
		&cli.BoolFlag{Name: "progress", Value: true, Usage: "show progress on stderr: live lines on a terminal, a line per mailbox every 10 s otherwise (--progress=false: none)"},
	)
	return &cli.Command{
		Name:  "run",
		Usage: "export one round: everything the first time, then only what changed",
		Description: `Reads the directory, then each selected mailbox through EWS, and appends one round
to the archive. Run it again until the cut-over; the last run, with Exchange stopped
for users, is the final round. An interrupted run (Ctrl-C, exit 130) is continued by
the next one. Progress goes to stderr; the summary table to stdout; the HTML and JSON
reports to ARCHIVE/reports, the log to ARCHIVE/logs.

Examples:
  iem-export run --config iem-export.conf
  iem-export run --config iem-export.conf --mailbox 'alice@example.com' --jobs 4
  IEM_EWS_PASSWORD=… IEM_LDAP_PASSWORD=… iem-export run \
      --ews-url https://mail.example.com/EWS/Exchange.asmx --admin-user 'EXAMPLE\migrator' \
      --directory-url ldaps://dc1.example.com --directory-bind-dn 'EXAMPLE\reader' \
      --group 'Sales' --archive /srv/iem/example --summary-json round.json`,
		Flags: flags,
		Action: func(c *cli.Context) error {
			cfg, err := parseConfig(c, true)
			if err != nil {
				return err
			}
			return runExport(c.Context, cfg, c.App.Writer, c.App.ErrWriter)
		},
	}
}

func planCommand() *cli.Command {
	return &cli.Command{
		Name:  "plan",
		Usage: "print what would be exported (mailboxes, groups, folders, items) without exporting",
		Description: `Counts folders and items per selected mailbox (one request per mailbox) and estimates
the duration from the rate the archive's last round measured (--archive).

Examples:
  iem-export plan --config iem-export.conf
  iem-export plan --config iem-export.conf --mailbox '*@sales.example.com'
  iem-export plan --config iem-export.conf --mailboxes-from wave1.txt`,
		Flags: append(sourceFlags(), &cli.StringFlag{Name: "archive", Usage: "archive `DIR`; its last report gives the measured rate"}),
		Action: func(c *cli.Context) error {
			cfg, err := parseConfig(c, false)
			if err != nil {
				return err
			}
			return runPlan(c.Context, cfg, c.App.Writer, c.App.ErrWriter)
		},
	}
}

// parseConfig applies the config file, then checks every setting
// (internal/settings); each error names its setting and exits 2.
func parseConfig(c *cli.Context, needArchive bool) (*settings.Export, error) {
	if p := c.String("config"); p != "" {
		if err := cliutil.ApplyConfig(c, p); err != nil {
			return nil, err
		}
	}
	return settings.ExportSettings(c, needArchive)
}

// readDirectory reads the directory: for EWS from AD over LDAP or an
// ldifde file; for Graph from Graph, and then it also returns the Source,
// since reading the directory needed the connection.
func readDirectory(ctx context.Context, cfg *settings.Export, log *slog.Logger, gate *retry.Gate) (*directory.Snapshot, export.Source, error) {
	if cfg.Source == "graph" {
		client, err := cliutil.CheckGraph(ctx, cfg.Graph.Credentials, cfg.Graph.Endpoint, nil, retry.Policy{Gate: gate})
		if err != nil {
			return nil, nil, err
		}
		if n := cliutil.OptionalNotice(ctx, client); n != "" {
			log.Warn(n)
		}
		src := graph.NewSource(client)
		snap, err := src.Directory(ctx)
		return snap, src, err
	}
	var opt *directory.Options
	if cfg.Directory != nil {
		o := *cfg.Directory
		o.Logger = log
		opt = &o
	}
	snap, err := checkDirectory(ctx, opt, cfg.DirectoryFile)
	return snap, nil, err
}

// connect returns the Source: for EWS, once its server answered (Graph's
// answered in readDirectory).
func connect(ctx context.Context, cfg *settings.Export, snap *directory.Snapshot, src export.Source, log *slog.Logger, gate *retry.Gate) (export.Source, error) {
	if src != nil {
		return src, nil
	}
	if cfg.Source == "pst" {
		return pstSource(cfg.PST, snap, log)
	}
	eopt := cfg.EWS
	eopt.Logger, eopt.Gate = log, gate
	if eopt.AlwaysTrust {
		log.Warn("certificate verification is off (--always-trust)")
	}
	client, info, err := cliutil.CheckEWS(ctx, eopt)
	if err != nil {
		return nil, err
	}
	log.Info("connected", "server", info)
	return exchange.NewSource(client, snap), nil
}

func runExport(ctx context.Context, cfg *settings.Export, stdout, stderr io.Writer) error {
	started := time.Now()
	gate := &retry.Gate{}
	out, err := cliutil.StartSession(stderr, cfg.Progress, progress.Options{Throttled: gate.Waited, Verb: "exported", Observer: cfg.Watch}, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	defer out.Close()
	log := out.Log
	log.Info("iem-export run", "version", version.Info(), "archive", cfg.ArchiveDir)
	// An existing archive is locked and opened (and checked: chain,
	// encryption) before anything reaches a server; a new one is created
	// after the directory and the selection are known to be good.
	var lock *archive.DirLock
	defer func() { lock.Unlock() }()
	if _, err := os.Stat(cfg.ArchiveDir); err == nil {
		if lock, err = export.LockArchive(cfg.ArchiveDir, "iem-export run", log); err != nil {
			return err
		}
	}
	fopt := &archive.FolderOptions{Identities: cfg.Identities, Recipients: cfg.Recipients,
		VolumeSize: cfg.VolumeSize, Writer: version.Writer("iem-export")}
	folder, err := export.OpenArchive(cfg.ArchiveDir, fopt, false, log)
	if err != nil {
		return fieldError(err)
	}
	if folder != nil {
		defer folder.Close()
	}
	snap, src, err := readDirectory(ctx, cfg, log, gate)
	if err != nil {
		return err
	}
	selected, err := settings.SelectMailboxes(snap, cfg.Selector)
	if err != nil {
		return err
	}
	// Every shard records the whole selection's directory (accounts, groups),
	// so that each shard's archive imports on its own with every group
	// member's account present; only the shard's own mailboxes are exported.
	all := selected
	if cfg.Source == "pst" {
		selected = mapped(selected, cfg.PST)
	}
	selected = cfg.Shard.Filter(selected)
	if len(selected) == 0 && !cfg.Shard.First() {
		return cliutil.Usagef("shard", "shard %d/%d holds none of the selected mailboxes: use fewer shards", cfg.Shard.Index, cfg.Shard.Count)
	}
	if err := os.MkdirAll(cfg.ArchiveDir, 0o700); err != nil {
		return cliutil.Usagef("archive", "%v", err)
	}
	if lock == nil {
		if lock, err = export.LockArchive(cfg.ArchiveDir, "iem-export run", log); err != nil {
			return err
		}
	}
	if err := out.File.Open(cfg.ArchiveDir, "export", started); err != nil {
		return cliutil.Usagef("archive", "log file: %v", err)
	}
	if src, err = connect(ctx, cfg, snap, src, log, gate); err != nil {
		return err
	}
	if c, ok := src.(io.Closer); ok {
		defer c.Close()
	}

	if folder == nil {
		if folder, err = export.OpenArchive(cfg.ArchiveDir, fopt, true, log); err != nil {
			return fieldError(err)
		}
		defer folder.Close()
	}
	var addrs []string
	for _, m := range selected {
		addrs = append(addrs, m.PrimarySMTP)
	}
	pfGroup := cfg.PublicFoldersGroup
	if !cfg.Shard.First() {
		pfGroup = ""
	}
	cliutil.LimitMemoryFor(cfg.Jobs)
	var notices []string
	if n, ok := src.(interface{ Notices() []string }); ok {
		notices = n.Notices()
	}
	res, runErr := export.Run(ctx, src, export.Options{Folder: folder,
		Accounts: all, Mailboxes: addrs, Jobs: cfg.Jobs, StartYear: cfg.StartYear, PublicFoldersGroup: pfGroup,
		SpoolDir: cfg.ArchiveDir, Log: log, Progress: out.Progress})
	return out.Finish(runErr, res.Interrupted, "what was written is kept; run again to continue the round", []any{"round", res.Round},
		func() (bool, error) {
			return export.WriteSummary(stdout, res, export.SummaryOptions{Folder: folder, ArchiveDir: cfg.ArchiveDir,
				JSONPath: cfg.Summary, Started: started, Throttled: gate.Waited(), Log: log, Notices: notices})
		})
}

// fieldError maps the engine's *export.FieldError to a usage error (exit 2).
func fieldError(err error) error {
	var fe *export.FieldError
	if errors.As(err, &fe) {
		return cliutil.Usagef(fe.Field, "%s", fe.Reason)
	}
	return err
}
