package main

import (
	"github.com/urfave/cli/v2"

	"github.com/iemproject/iem/internal/cliutil"
)

func completionCommand() *cli.Command { return cliutil.CompletionCommand("iem-export") }
