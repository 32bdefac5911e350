package console

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/internal/wizard"
)

// A values holds settings by their long flag names, as the config file
// does (a list setting has several values).
type values map[string][]string

// flagContext is a command's context with no command line: its flags at
// their defaults, as the command sees them before its config is applied.
func flagContext(flags []cli.Flag) (*cli.Context, error) {
	set := flag.NewFlagSet("run", flag.ContinueOnError)
	set.SetOutput(io.Discard)
	for _, f := range flags {
		if err := f.Apply(set); err != nil {
			return nil, err
		}
	}
	c := cli.NewContext(&cli.App{}, set, nil)
	c.Command = &cli.Command{Name: "run", Flags: flags}
	return c, nil
}

// context returns the settings v as the command sees them: its flags,
// each setting of v applied as the config file applies it. An empty value
// leaves the flag at its default.
func (v values) context(flags []cli.Flag) (*cli.Context, error) {
	c, err := flagContext(flags)
	if err != nil {
		return nil, err
	}
	for name, vs := range v {
		for _, x := range vs {
			if x == "" {
				continue
			}
			if err := c.Set(name, x); err != nil {
				return nil, cliutil.Usagef(name, "%v", err)
			}
		}
	}
	return c, nil
}

// readConfig reads a config file the way the command does
// ([cliutil.ApplyConfig]) and returns the settings it sets.
func readConfig(flags []cli.Flag, path string) (values, error) {
	c, err := flagContext(flags)
	if err != nil {
		return nil, err
	}
	if err := cliutil.ApplyConfig(c, path); err != nil {
		return nil, err
	}
	v := values{}
	for _, f := range flags {
		name := f.Names()[0]
		if !c.IsSet(name) {
			continue
		}
		if _, ok := f.(*cli.StringSliceFlag); ok {
			v[name] = c.StringSlice(name)
			continue
		}
		v[name] = []string{fmt.Sprint(c.Value(name))}
	}
	return v, nil
}

// writeConfig writes v to path in the flags' order, as `init` writes it
// (mode 0600; the secrets are in the files it names).
func writeConfig(flags []cli.Flag, v values, path, program string) error {
	var conf wizard.Config
	for _, f := range flags {
		name := f.Names()[0]
		for _, x := range v[name] {
			if x != "" {
				conf.Add(name, x)
			}
		}
	}
	header := program + " settings, written by `" + program + " console` on " + time.Now().UTC().Format("2006-01-02 15:04 UTC") +
		".\nRead by: " + program + " run --config " + path + "\nPasswords are in the files named below (mode 0600), never here."
	return conf.Save(path, header)
}

// fileExists reports whether path names an existing file.
func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir()
}

// trim returns v with its values trimmed and empty ones removed.
func trim(vs []string) []string {
	var out []string
	for _, x := range vs {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
