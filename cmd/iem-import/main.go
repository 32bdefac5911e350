// Command iem-import replays an iem archive into IceWarp Server: accounts,
// groups and permissions through the admin API, mail over IMAP or into the
// mail path, contacts and calendars over CalDAV/CardDAV.
//
// Exit codes: 0 ok, 1 fatal, 2 usage, 3 finished with skipped or failed
// items, 130 interrupted. More may be added.
package main

import (
	"io"

	"github.com/urfave/cli/v2"

	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/internal/console"
)

// main runs the command on os.Args. The first signal asks the run to
// finish the items in hand and stop (the ledger records them); a second
// one ends the process at once.
func main() { cliutil.Main("iem-import", newApp) }

func newApp(stdout, stderr io.Writer) *cli.App {
	return cliutil.NewApp(cliutil.App{
		Name:  "iem-import",
		Usage: "replay an iem archive into IceWarp Server",
		Description: `Examples:
  iem-import init                                  # step-by-step set-up, writes iem-import.conf
  iem-import console                               # the same set-up and the run in a web browser
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
		Commands: []*cli.Command{initCommand(), runCommand(), planCommand(), checkCommand(), verifyCommand(),
			console.ImportCommand(runCommand().Flags, runImport)},
		OnUsageError: cliutil.PlainUsageError,
		// Unknown or malformed flags of a subcommand are usage errors
		// (exit 2) too; a password given as a flag gets a hint, since
		// flags are visible to every user in the process list.
		CommandUsageError: cliutil.PasswordFlagHint("use --password-file or IEM_ICEWARP_PASSWORD"),
	}, stdout, stderr)
}
