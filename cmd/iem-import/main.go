// Command iem-import replays an iem archive into IceWarp Server: accounts,
// groups and permissions through the admin API, mail over IMAP or into the
// mail path, contacts and calendars over CalDAV/CardDAV.
//
// Exit codes: 0 ok, 1 fatal, 2 usage, 3 finished with skipped or failed
// items, 130 interrupted. More may be added.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/internal/version"
)

func main() {
	cliutil.LimitMemory()
	stopProfile := cliutil.Profile("iem-import")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal asks the run to finish the items in hand and stop
	// (the ledger records them); a second one ends the process at once.
	context.AfterFunc(ctx, stop)
	err := newApp(os.Stdout, os.Stderr).RunContext(ctx, os.Args)
	if err != nil && ctx.Err() != nil && cliutil.ExitCode(err) != cliutil.ExitInterrupted {
		// Stopped by a signal, whatever was in hand when it came (a
		// server check, a directory read): exit 130, not 1.
		err = cliutil.Interrupted(err)
	}
	stop()
	stopProfile()
	if err != nil {
		fmt.Fprintf(os.Stderr, "iem-import: error: %v\n", err)
	}
	os.Exit(cliutil.ExitCode(err))
}

func newApp(stdout, stderr io.Writer) *cli.App {
	cli.VersionPrinter = func(c *cli.Context) { fmt.Fprintln(c.App.Writer, "iem-import", version.Info()) }
	app := &cli.App{
		Name:    "iem-import",
		Usage:   "replay an iem archive into IceWarp Server",
		Version: version.Info(),
		Writer:  stdout, ErrWriter: stderr,
		Description: `Exit codes: 0 ok, 1 fatal, 2 usage, 3 finished with skipped or failed items, 130 interrupted.
Secrets are read from files or the environment, never from flag values.

Examples:
  iem-import init                                  # step-by-step set-up, writes iem-import.conf
  iem-import verify --archive /srv/iem/example     # every checksum, no target needed
  iem-import plan --archive /srv/iem/example       # what a run would write
  iem-import run --config iem-import.conf          # one round; run again after each export round
  iem-import run --archive /srv/iem/example --host mail.example.com --admin-user admin@example.com --password-file pw \
      --mail-mode path --mail-path /opt/icewarp/mail --mail-owner 999:999
  iem-import check --config iem-import.conf        # compare archive and target
  source <(iem-import completion bash)             # complete commands and flags

Each run writes ARCHIVE/reports/import-round-N.html (and .json; a rerun of the round adds -run-2, …)
and ARCHIVE/logs/import-<time>.log.
The migration guide is docs/GUIDE.md.`,
		ExitErrHandler: func(*cli.Context, error) {}, // main prints and exits
		// A comma is part of a path or an address, never a separator:
		// repeat the flag for several values.
		DisableSliceFlagSeparator: true,
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return cliutil.Usagef("usage", "%v", err)
		},
		EnableBashCompletion: true,
		Commands:             []*cli.Command{initCommand(), runCommand(), planCommand(), checkCommand(), verifyCommand(), completionCommand()},
	}
	for _, cmd := range app.Commands {
		// Unknown or malformed flags of a subcommand are usage errors
		// (exit 2) too; a password given as a flag gets a hint, since
		// flags are visible to every user in the process list.
		cmd.OnUsageError = func(c *cli.Context, err error, _ bool) error {
			if strings.Contains(err.Error(), "-password") && !strings.Contains(err.Error(), "-password-file") {
				return cliutil.Usagef("password", "%v (passwords are never taken as flags: use --password-file or IEM_ICEWARP_PASSWORD)", err)
			}
			return cliutil.Usagef("usage", "%v", err)
		}
	}
	return app
}
