// Command iem-export reads a Microsoft Exchange organisation (2007 SP1 and
// later) through Exchange Web Services and Active Directory, and writes an
// iem archive (spec/SPEC.md): round 1 takes everything, each later round
// only what changed.
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
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/internal/version"
)

func main() {
	cliutil.LimitMemory()
	stopProfile := cliutil.Profile("iem-export")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal asks the run to finish the item in hand and stop;
	// a second one ends the process at once (the archive survives a kill).
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
		fmt.Fprintf(os.Stderr, "iem-export: error: %v\n", err)
	}
	os.Exit(cliutil.ExitCode(err))
}

func newApp(stdout, stderr io.Writer) *cli.App {
	cli.VersionPrinter = func(c *cli.Context) { fmt.Fprintln(c.App.Writer, "iem-export", version.Info()) }
	app := &cli.App{
		Name:    "iem-export",
		Usage:   "export an Exchange organisation into an iem archive",
		Version: version.Info(),
		Writer:  stdout, ErrWriter: stderr,
		Description: `Exit codes: 0 ok, 1 fatal, 2 usage, 3 finished with skipped or failed items, 130 interrupted.
Secrets are read from files or the environment, never from flag values.

Examples:
  iem-export init                              # step-by-step set-up, writes iem-export.conf
  IEM_EWS_PASSWORD=… iem-export run --ews-url https://mail.example.com/EWS/Exchange.asmx \
      --admin-user 'EXAMPLE\migrator' --directory-file ad.ldf --archive /srv/iem/example
  iem-export run --config export.conf          # the same fields in a file: "ews-url = https://…"
  iem-export plan --config export.conf         # what would be exported, nothing written
  source <(iem-export completion bash)         # complete commands and flags

Each run writes ARCHIVE/reports/export-round-N.html (and .json) and ARCHIVE/logs/export-<time>.log.
The migration guide is docs/GUIDE.md.`,
		ExitErrHandler: func(*cli.Context, error) {},
		// A comma is part of a path or an address, never a separator:
		// repeat the flag for several values.
		DisableSliceFlagSeparator: true,
		OnUsageError:              cliutil.OnUsageError,
		EnableBashCompletion:      true,
		Commands:                  []*cli.Command{initCommand(), runCommand(), planCommand(), repairCommand(), completionCommand()},
	}
	// urfave/cli calls a subcommand's own handler for its flags.
	for _, cmd := range app.Commands {
		cmd.OnUsageError = cliutil.OnUsageError
	}
	return app
}
