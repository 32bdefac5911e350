// Package setup is the shape both commands' `init` share: the init
// command with its --config flag, the steps of the interactive set-up run
// in order on a [wizard.Wizard], the login question asked until the server
// accepts it, the certificate shown and pinned, and the secret files
// (mode 0600) written next to the config; and the two set-ups themselves,
// [Export] and [Import]: their questions in order, their checks and what
// they write. The checks a command's runs share (connecting to the server,
// reading the directory) stay with the command and are passed in as
// [ExportChecks] and [ImportChecks].
package setup

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/internal/wizard"
)

// Command returns the `init` command of program: usage and description
// for --help (followed by examples), --config FILE (default
// "<program>.conf"), and run called with the context, the terminal and
// the --config value.
func Command(program, usage, description string, run func(ctx context.Context, in io.Reader, out io.Writer, confPath string) error) *cli.Command {
	etc := "/etc/iem/" + strings.TrimPrefix(program, "iem-") + ".conf"
	return &cli.Command{
		Name:  "init",
		Usage: usage,
		Description: description + "\n\nExamples:\n" +
			"  " + program + " init                             # writes ./" + program + ".conf\n" +
			"  " + program + " init --config " + etc + "\n" +
			"  " + program + " run --config " + etc,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Value: program + ".conf", Usage: "write the settings to `FILE`"},
		},
		Action: func(c *cli.Context) error {
			return run(c.Context, os.Stdin, c.App.Writer, c.String("config"))
		},
	}
}

// ConfigPath returns the absolute form of the --config path, refused
// (a usage error) when its folder does not exist.
func ConfigPath(confPath string) (string, error) {
	abs, err := filepath.Abs(confPath)
	if err != nil {
		return "", cliutil.Usagef("config", "%v", err)
	}
	if st, err := os.Stat(filepath.Dir(abs)); err != nil || !st.IsDir() {
		return "", cliutil.Usagef("config", "the folder of %s does not exist", abs)
	}
	return abs, nil
}

// A Step is one step of a set-up.
type Step struct {
	Title string
	Run   func(context.Context, *wizard.Wizard) error
}

// Run runs program's set-up: it greets, then runs the steps in order under
// a "Step n of N" heading. An interrupt between steps is
// [cliutil.Interrupted]; an aborted question (Ctrl-D, too many tries) is a
// usage error of the config, with nothing written.
func Run(ctx context.Context, in io.Reader, out io.Writer, program string, steps []Step) error {
	w := wizard.New(in, out)
	defer w.Close()
	w.Printf("%s set-up: answers are checked as you go; press Enter to take the value in [brackets].", program)
	for i, step := range steps {
		if err := ctx.Err(); err != nil {
			return cliutil.Interrupted(err)
		}
		w.Step(i+1, len(steps), step.Title)
		if err := step.Run(ctx, w); err != nil {
			if errors.Is(err, wizard.ErrAborted) {
				return cliutil.Usagef("config", "%v; nothing written", err)
			}
			return err
		}
	}
	return nil
}

// SecretPath names a secret file next to the config: export.conf with
// kind "ews" is export.ews.pw.
func SecretPath(confPath, kind string) string {
	return strings.TrimSuffix(confPath, filepath.Ext(confPath)) + "." + kind + ".pw"
}

// SaveSecret writes secret to the secret file of kind next to confPath
// (mode 0600) and sets field of conf to its path.
func SaveSecret(conf *wizard.Config, confPath, kind, field, secret string) error {
	p := SecretPath(confPath, kind)
	if err := wizard.WriteSecret(p, secret); err != nil {
		return err
	}
	conf.Set(field, p)
	return nil
}

// A Login is the question for a user name and its password.
type Login struct {
	Label string // of the user name, e.g. "Admin user"
	Help  string // shown before the first prompt of each try
	// Checking is printed before Check runs ("checking with the server…").
	Checking string
	// Check tries the credentials; its error is shown as "  ✗ <error>"
	// and both questions are asked again, the user name given as the
	// default.
	Check func(user, password string) error
}

// AskLogin asks l until l.Check accepts the credentials, at most
// [wizard.MaxTries] times.
func AskLogin(w *wizard.Wizard, l Login) (user, password string, err error) {
	for try := 0; try < wizard.MaxTries; try++ {
		if user, err = w.Ask(wizard.Question{Label: l.Label, Default: user, Help: l.Help}); err != nil {
			return "", "", err
		}
		if password, err = w.Ask(wizard.Question{Label: "Password of " + user, Secret: true}); err != nil {
			return "", "", err
		}
		w.Printf("  %s", l.Checking)
		if err := l.Check(user, password); err != nil {
			w.Printf("  ✗ %v", err)
			continue
		}
		return user, password, nil
	}
	return "", "", wizard.ErrAborted
}

// Trust shows the certificate a server presents and, when this system does
// not trust it (verifyErr), offers to pin it; compare tells the operator
// where to find the fingerprint to compare with. It reports whether the
// certificate was pinned; refusing to pin an untrusted certificate is a
// usage error of trust-cert.
func Trust(w *wizard.Wizard, fingerprint, subject string, notAfter time.Time, verifyErr error, compare string) (pinned bool, err error) {
	w.Printf("  The server presents the certificate of %q, valid until %s:", subject, notAfter.Format("2006-01-02"))
	w.Printf("    %s", fingerprint)
	if verifyErr == nil {
		w.Printf("  ✓ trusted by this system's certificate authorities")
		return false, nil
	}
	w.Printf("  ! not trusted by this system: %v", verifyErr)
	w.Printf("    %s", compare)
	pin, err := w.Confirm("  Pin this certificate (trust exactly this one)?", true)
	if err != nil {
		return false, err
	}
	if !pin {
		return false, cliutil.Usagef("trust-cert", "the certificate is not trusted and not pinned: install the issuing CA on this machine, or run init again and pin it")
	}
	return true, nil
}

// PrintIndented prints text (a table, a plan) line by line, indented
// under the current step.
func PrintIndented(w *wizard.Wizard, text string) {
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		w.Printf("  %s", l)
	}
}

// AskJobs asks label, how many mailboxes a run takes in parallel (1 to
// 64, 2 by default), and sets the jobs key of conf to the answer.
func AskJobs(w *wizard.Wizard, conf *wizard.Config, label string) (int, error) {
	jobs, err := w.Ask(wizard.Question{Label: label, Default: "2", Check: wizard.IntRange(1, 64)})
	if err != nil {
		return 0, err
	}
	conf.Set("jobs", jobs)
	n, _ := strconv.Atoi(jobs)
	return n, nil
}
