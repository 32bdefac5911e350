package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/replay"
)

func planCommand() *cli.Command {
	return &cli.Command{
		Name:  "plan",
		Usage: "print per mailbox what a run would create, update, leave, skip and delete (archive and ledger only, no target)",
		Description: `Compares the archive with the ledger of what earlier runs applied; it never
connects to the target.

Examples:
  iem-import plan --archive /srv/iem/example
  iem-import plan --config iem-import.conf      # run's config: the target settings are not used
  iem-import plan --archive /srv/iem/example --domain-map example.com=example.org`,
		Flags: append(append([]cli.Flag(nil), archiveFlags...),
			&cli.StringFlag{Name: "config", Usage: "read settings from `FILE`, as run does (settings only run uses are ignored)"},
			&cli.StringFlag{Name: "ledger", Usage: "ledger `FILE` (default ARCHIVE/iem-import.ledger)"},
			&cli.StringSliceFlag{Name: "domain-map", Usage: "map a source domain to a target domain: `OLD=NEW` (repeatable)"},
			&cli.BoolFlag{Name: "icewarp-folder-names", Usage: "as for run"},
		),
		Action: func(c *cli.Context) error {
			if p := c.String("config"); p != "" {
				if err := applyPlanConfig(c, p); err != nil {
					return err
				}
			}
			folders, err := openArchives(c)
			if err != nil {
				return err
			}
			defer func() {
				for _, f := range folders {
					f.Close()
				}
			}()
			domainMap := map[string]string{}
			for _, m := range c.StringSlice("domain-map") {
				from, to, ok := strings.Cut(m, "=")
				if !ok || from == "" || to == "" {
					return fmt.Errorf("domain-map: %q is not OLD=NEW", m)
				}
				domainMap[strings.ToLower(from)] = strings.ToLower(to)
			}
			im, err := replay.New(folders, replay.Options{DomainMap: domainMap, IceWarpNames: c.Bool("icewarp-folder-names")})
			if err != nil {
				return err
			}
			path := c.String("ledger")
			if path == "" {
				path = filepath.Join(c.StringSlice("archive")[0], "iem-import.ledger")
			}
			led, err := replay.OpenLedgerReadOnly(path)
			if err != nil {
				return err
			}
			if led != nil {
				defer led.Close()
			}
			return im.Plan(c.App.Writer, led)
		},
	}
}

// applyPlanConfig reads run's config file for plan: the settings plan
// has are applied as cliutil.ApplyConfig does (the command line wins), and
// those only run has (the target's) are skipped. A setting neither knows
// is an error, as for run.
func applyPlanConfig(c *cli.Context, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return cliutil.Usagef("config", "%v", err)
	}
	known, runOnly := map[string]bool{}, map[string]bool{}
	for _, fl := range c.Command.Flags {
		for _, n := range fl.Names() {
			known[n] = true
		}
	}
	for _, fl := range runCommand().Flags {
		for _, n := range fl.Names() {
			runOnly[n] = !known[n]
		}
	}
	var kept strings.Builder
	for _, l := range strings.Split(string(b), "\n") {
		name, _, ok := strings.Cut(strings.TrimSpace(l), "=")
		if ok && runOnly[strings.TrimSpace(name)] {
			kept.WriteString("# (run only)\n") // keeps the line numbers of errors
			continue
		}
		kept.WriteString(l + "\n")
	}
	f, err := os.CreateTemp("", "iem-import-plan-*.conf")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(kept.String()); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	err = cliutil.ApplyConfig(c, f.Name())
	var ue *cliutil.UsageError
	if errors.As(err, &ue) {
		ue.Msg = strings.ReplaceAll(ue.Msg, f.Name(), path)
	}
	return err
}
