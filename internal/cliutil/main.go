package cliutil

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/iemproject/iem/internal/version"
)

// appDescription opens the --help text of both commands.
const appDescription = `Exit codes: 0 ok, 1 fatal, 2 usage, 3 finished with skipped or failed items, 130 interrupted.
Secrets are read from files or the environment, never from flag values.

`

// An App is what differs between the commands' top levels.
type App struct {
	Name, Usage string
	// Description is shown by --help after the exit codes and the rule
	// on secrets: examples, where the reports go.
	Description string
	// Commands are the subcommands; "completion" is added last.
	Commands []*cli.Command
	// OnUsageError handles a bad flag of the app itself, CommandUsageError
	// one of a subcommand; nil is [OnUsageError].
	OnUsageError, CommandUsageError cli.OnUsageErrorFunc
}

// NewApp builds the urfave/cli application of a command: --version prints
// the build, errors are left to the caller ([Main] prints them and exits
// with [ExitCode]), bad flags are usage errors, shell completion is on.
func NewApp(a App, stdout, stderr io.Writer) *cli.App {
	cli.VersionPrinter = func(c *cli.Context) { fmt.Fprintln(c.App.Writer, a.Name, version.Info()) }
	onApp, onCmd := a.OnUsageError, a.CommandUsageError
	if onApp == nil {
		onApp = OnUsageError
	}
	if onCmd == nil {
		onCmd = OnUsageError
	}
	app := &cli.App{
		Name:           a.Name,
		Usage:          a.Usage,
		Version:        version.Info(),
		Writer:         stdout,
		ErrWriter:      stderr,
		Description:    appDescription + a.Description,
		ExitErrHandler: func(*cli.Context, error) {},
		// A comma is part of a path or an address, never a separator:
		// repeat the flag for several values.
		DisableSliceFlagSeparator: true,
		OnUsageError:              onApp,
		EnableBashCompletion:      true,
		Commands:                  append(a.Commands, CompletionCommand(a.Name)),
	}
	// urfave/cli calls a subcommand's own handler for its flags.
	for _, cmd := range app.Commands {
		cmd.OnUsageError = onCmd
	}
	return app
}

// Main runs a command's app on os.Args and exits with its [ExitCode]. The
// first SIGINT or SIGTERM cancels the context (the command finishes what
// it has in hand and stops); a second one ends the process at once.
func Main(name string, newApp func(stdout, stderr io.Writer) *cli.App) {
	LimitMemory()
	stopProfile := Profile(name)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	err := newApp(os.Stdout, os.Stderr).RunContext(ctx, os.Args)
	if err != nil && ctx.Err() != nil && ExitCode(err) != ExitInterrupted {
		// Stopped by a signal, whatever was in hand when it came (a
		// server check, a directory read): exit 130, not 1.
		err = Interrupted(err)
	}
	stop()
	stopProfile()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: error: %v\n", name, err)
	}
	os.Exit(ExitCode(err))
}

// PlainUsageError makes any bad flag a usage error (exit 2), without the
// hint of [OnUsageError].
func PlainUsageError(_ *cli.Context, err error, _ bool) error {
	return Usagef("usage", "%v", err)
}

// PasswordFlagHint is [OnUsageError] with the given advice on where the
// password goes instead of a flag.
func PasswordFlagHint(advice string) cli.OnUsageErrorFunc {
	return func(_ *cli.Context, err error, _ bool) error {
		if strings.Contains(err.Error(), "-password") && !strings.Contains(err.Error(), "-password-file") {
			return Usagef("password", "%v (passwords are never taken as flags: %s)", err, advice)
		}
		return Usagef("usage", "%v", err)
	}
}
