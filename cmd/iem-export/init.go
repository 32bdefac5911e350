package main

import (
	"context"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/iemproject/iem/exchange/directory"
	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/graph"
	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/internal/retry"
	"github.com/iemproject/iem/internal/settings"
	"github.com/iemproject/iem/internal/setup"
	"github.com/iemproject/iem/internal/wizard"
)

func initCommand() *cli.Command {
	return setup.Command("iem-export", "set up an export step by step and write the config file `run` reads",
		`Asks for each setting in the order of the original wizard (initial info, source,
directory, selection, review), checks it on the spot (URL, host reachable, certificate,
credentials accepted by the server, directory bind; for Exchange Online the token and
the app's permissions) and asks again when it is wrong.
Writes FILE (name = value lines) and the passwords into separate files with mode 0600
next to it; no password is ever written into the config.`, runInit)
}

// runInit runs the set-up (internal/setup) with the checks runs share.
func runInit(ctx context.Context, in io.Reader, out io.Writer, confPath string) error {
	return setup.Export(ctx, in, out, confPath, setup.ExportChecks{
		ProbeEWS:         func(ctx context.Context, url string) (*wizard.Cert, error) { return cliutil.ProbeEWS(ctx, url, false) },
		EWSUsage:         cliutil.EWSUsage,
		CheckEWS:         cliutil.CheckEWS,
		CheckDirectory:   checkDirectory,
		ParseSelection:   settings.ParseSelection,
		SelectorFromFile: settings.SelectorFromFile,
		SelectMailboxes:  settings.SelectMailboxes,
		CheckGraph: func(ctx context.Context, g settings.Graph) (*graph.Client, error) {
			return cliutil.CheckGraph(ctx, g.Credentials, g.Endpoint, nil, retry.Policy{})
		},
		Plan: func(ctx context.Context, src export.PlanSource, selected []*directory.Mailbox, archive string, jobs int) (*setup.ExportPlan, error) {
			p, err := export.MakePlan(ctx, src, selected, archive, jobs)
			if err != nil {
				return nil, err
			}
			var tb strings.Builder
			p.Print(&tb)
			sp := &setup.ExportPlan{Folders: p.Folders, Items: p.Items, Table: tb.String(), Estimate: p.Estimate()}
			for _, r := range p.Rows {
				sp.Rows = append(sp.Rows, setup.ExportPlanRow{Mailbox: r.Mailbox, Folders: r.Folders, Items: r.Items})
			}
			return sp, nil
		},
	})
}

// checkDirectory is the directory check runs and init share.
var checkDirectory = cliutil.CheckDirectory
