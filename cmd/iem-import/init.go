package main

import (
	"context"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/internal/setup"
)

func initCommand() *cli.Command {
	return setup.Command("iem-import", "set up an import step by step and write the config file `run` reads",
		`Asks for each setting in the order of the original wizard (initial info: the
archive; target; mail and groupware; selection; review), checks it on the spot (archive readable,
URL, host reachable, certificate, administrator login accepted by IceWarp, mail path
writable) and asks again when it is wrong. Writes FILE (name = value lines) and the
administrator's password into a separate file with mode 0600 next to it; no password
is ever written into the config.`, runInit)
}

// runInit runs the set-up (internal/setup) with the checks runs share.
func runInit(ctx context.Context, in io.Reader, out io.Writer, confPath string) error {
	return setup.Import(ctx, in, out, confPath, setup.ImportChecks{
		AdminUsage: cliutil.AdminUsage,
		ProbeURL:   cliutil.ProbeURL,
		ProbeCert:  cliutil.ProbeCert,
		Trusted:    cliutil.Trusted,
		CheckAdmin: cliutil.CheckAdmin,
	})
}
