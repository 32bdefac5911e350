package cliutil

import (
	"bufio"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

// ApplyConfig reads a config file of "name = value" lines (the long flag
// names; '#' starts a comment; a name may repeat for list flags) and sets
// each flag the command line did not set. Secrets stay in their own files:
// the config names the files (password-file = /etc/iem/ews.pw).
//
// A setting of one of the flags in skip that the command does not have is
// passed over: a command reads another command's config file (import plan
// reads run's, whose target settings it has no use for).
func ApplyConfig(c *cli.Context, path string, skip ...cli.Flag) error {
	f, err := os.Open(path)
	if err != nil {
		return Usagef("config", "%v", err)
	}
	defer f.Close()
	known := map[string]bool{}
	for _, fl := range c.Command.Flags {
		for _, n := range fl.Names() {
			known[n] = true
		}
	}
	skipped := map[string]bool{}
	for _, fl := range skip {
		for _, n := range fl.Names() {
			skipped[n] = !known[n]
		}
	}
	fromCLI := map[string]bool{}
	for n := range known {
		if c.IsSet(n) {
			fromCLI[n] = true
		}
	}
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		name, value, ok := strings.Cut(s, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" {
			return Usagef("config", "%s line %d: want name = value", path, line)
		}
		if skipped[name] {
			continue
		}
		if !known[name] || name == "config" {
			return Usagef("config", "%s line %d: unknown setting %q", path, line, name)
		}
		if strings.Contains(name, "password") && !strings.HasSuffix(name, "-file") {
			return Usagef("config", "%s line %d: secrets go in their own file, not in the config", path, line)
		}
		if fromCLI[name] {
			continue
		}
		if err := c.Set(name, strings.Trim(value, `"`)); err != nil {
			return Usagef(name, "config %s line %d: %v", path, line, err)
		}
	}
	return sc.Err()
}

// DomainMap parses the values of --domain-map (OLD=NEW, repeatable) into
// a map of lower-case domains.
func DomainMap(values []string) (map[string]string, error) {
	m := map[string]string{}
	for _, v := range values {
		from, to, ok := strings.Cut(v, "=")
		if !ok || !strings.Contains(to, ".") || from == "" {
			return nil, Usagef("domain-map", "%q is not OLD=NEW", v)
		}
		m[strings.ToLower(from)] = strings.ToLower(to)
	}
	return m, nil
}
