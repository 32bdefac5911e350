// Command iem-export reads a Microsoft Exchange organisation (2007 SP1 and
// later) through Exchange Web Services and Active Directory, and writes an
// iem archive (spec/SPEC.md): round 1 takes everything, each later round
// only what changed.
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
// finish the item in hand and stop; a second one ends the process at once
// (the archive survives a kill).
func main() { cliutil.Main("iem-export", newApp) }

func newApp(stdout, stderr io.Writer) *cli.App {
	return cliutil.NewApp(cliutil.App{
		Name:  "iem-export",
		Usage: "export an Exchange organisation into an iem archive",
		Description: `Examples:
  iem-export init                              # step-by-step set-up, writes iem-export.conf
  IEM_EWS_PASSWORD=… iem-export run --ews-url https://mail.example.com/EWS/Exchange.asmx \
      --admin-user 'EXAMPLE\migrator' --directory-file ad.ldf --archive /srv/iem/example
  iem-export run --config export.conf          # the same fields in a file: "ews-url = https://…"
  iem-export plan --config export.conf         # what would be exported, nothing written
  source <(iem-export completion bash)         # complete commands and flags

Each run writes ARCHIVE/reports/export-round-N.html (and .json) and ARCHIVE/logs/export-<time>.log.
The migration guide is docs/GUIDE.md.`,
		Commands: []*cli.Command{initCommand(), runCommand(), planCommand(), repairCommand(), pstCommand(),
			console.ExportCommand(runCommand().Flags, runExport)},
	}, stdout, stderr)
}
