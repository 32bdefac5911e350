// Package wizard asks the questions of an interactive set-up on a terminal,
// one step at a time, in the order of the original migration wizard
// (initial info, source, target or directory, selection, review). Each
// answer is checked on the spot by the caller's function; an invalid
// answer prints the reason and asks again. The answers become a config file
// of "name = value" lines, which internal/cliutil.ApplyConfig reads, and
// secrets go to their own files with mode 0600, never into the config.
//
// On a terminal, the wizard keeps echo off from New to Close and echoes
// answers itself, so that a secret never appears, even when it was typed
// ahead of its question (for example while a refused answer was being
// checked).
//
// A Wizard is not safe for concurrent use.
package wizard

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"
)

// ErrAborted is returned when the input ends (Ctrl-D) or the operator
// gives up on a question.
var ErrAborted = errors.New("wizard: set-up aborted")

// A Wizard reads answers from In and writes questions to Out.
type Wizard struct {
	in  *bufio.Reader
	fd  int  // terminal file descriptor of the input, or -1
	tty *tty // the terminal in no-echo mode, or nil
	out io.Writer
}

// New returns a Wizard. When in is a terminal, it is put in no-echo mode
// until Close, and secrets are never echoed; otherwise answers are read as
// plain lines (scripts, tests).
func New(in io.Reader, out io.Writer) *Wizard {
	w := &Wizard{in: bufio.NewReader(in), out: out, fd: -1}
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		w.fd = int(f.Fd())
		if t, err := openTTY(f); err == nil {
			w.tty = t
		}
	}
	return w
}

// Close gives the terminal back its mode from before New. It is safe to
// call more than once.
func (w *Wizard) Close() error {
	if w.tty == nil {
		return nil
	}
	return w.tty.restore()
}

// Step prints the heading of step n of total.
func (w *Wizard) Step(n, total int, title string) {
	fmt.Fprintf(w.out, "\n── Step %d of %d: %s ──\n", n, total, title)
}

// Writer returns where questions go, for tables between them.
func (w *Wizard) Writer() io.Writer { return w.out }

// Printf writes a line of information between questions.
func (w *Wizard) Printf(format string, args ...any) {
	fmt.Fprintf(w.out, format+"\n", args...)
}

// A Question is one field.
type Question struct {
	// Label is the field's name as shown ("EWS URL").
	Label string
	// Help is printed once, before the first prompt.
	Help string
	// Default is used when the answer is empty; it is shown in brackets
	// (never for secrets).
	Default string
	// Secret reads without echo on a terminal.
	Secret bool
	// Check validates the answer and may normalise it. Its error is shown
	// as "  ✗ <error>" and the question is asked again. Nil accepts any
	// non-empty answer.
	Check func(string) (string, error)
}

// MaxTries bounds how often one question is asked before Ask gives up.
const MaxTries = 10

// Ask asks q until Check accepts the answer and returns the accepted
// (normalised) value.
func (w *Wizard) Ask(q Question) (string, error) {
	if q.Help != "" {
		fmt.Fprintf(w.out, "  %s\n", strings.ReplaceAll(q.Help, "\n", "\n  "))
	}
	for try := 0; try < MaxTries; try++ {
		prompt := q.Label
		if q.Default != "" && !q.Secret {
			prompt += " [" + q.Default + "]"
		}
		ans, err := w.ask(prompt, q.Secret)
		if err != nil {
			return "", err
		}
		if ans == "" {
			ans = q.Default
		}
		if ans == "" {
			fmt.Fprintf(w.out, "  ✗ %s is required\n", q.Label)
			continue
		}
		if q.Check == nil {
			return ans, nil
		}
		v, err := q.Check(ans)
		if err == nil {
			return v, nil
		}
		fmt.Fprintf(w.out, "  ✗ %v\n", err)
	}
	return "", fmt.Errorf("%w: no valid %s after %d tries", ErrAborted, q.Label, MaxTries)
}

// Confirm asks a yes/no question.
func (w *Wizard) Confirm(label string, def bool) (bool, error) {
	d := "y/N"
	if def {
		d = "Y/n"
	}
	for try := 0; try < MaxTries; try++ {
		fmt.Fprintf(w.out, "%s [%s]: ", label, d)
		ans, err := w.line(false)
		if err != nil {
			return false, err
		}
		switch strings.ToLower(ans) {
		case "":
			return def, nil
		case "y", "yes":
			return true, nil
		case "n", "no":
			return false, nil
		}
		fmt.Fprintf(w.out, "  ✗ answer y or n\n")
	}
	return false, ErrAborted
}

// Choose asks for one of options (by number or by name) and returns its index.
func (w *Wizard) Choose(label string, options []string, def int) (int, error) {
	for i, o := range options {
		fmt.Fprintf(w.out, "  %d) %s\n", i+1, o)
	}
	v, err := w.Ask(Question{Label: label, Default: options[def], Check: func(s string) (string, error) {
		if n, err := strconv.Atoi(s); err == nil && n >= 1 && n <= len(options) {
			return strconv.Itoa(n - 1), nil
		}
		for i, o := range options {
			if strings.EqualFold(s, o) {
				return strconv.Itoa(i), nil
			}
		}
		return "", fmt.Errorf("choose 1 to %d", len(options))
	}})
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(v)
}

// ask prints prompt and reads the answer.
func (w *Wizard) ask(prompt string, secret bool) (string, error) {
	if w.tty != nil {
		defer w.tty.quiet(secret)()
	}
	fmt.Fprintf(w.out, "%s: ", prompt)
	return w.line(secret)
}

func (w *Wizard) line(secret bool) (string, error) {
	if w.tty != nil {
		s, err := w.tty.readLine(w.out, secret)
		return strings.TrimSpace(s), err
	}
	if secret && w.fd >= 0 && w.in.Buffered() == 0 {
		b, err := term.ReadPassword(w.fd)
		fmt.Fprintln(w.out)
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrAborted, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	s, err := w.in.ReadString('\n')
	if err != nil && (s == "" || !errors.Is(err, io.EOF)) {
		if errors.Is(err, io.EOF) {
			return "", ErrAborted
		}
		return "", err
	}
	return strings.TrimSpace(s), nil
}

// A Config collects settings in the order they were set.
type Config struct {
	names  []string
	values map[string][]string
}

// Set sets name to value, replacing earlier values; an empty value
// removes the setting.
func (c *Config) Set(name, value string) {
	if c.values == nil {
		c.values = map[string][]string{}
	}
	if _, ok := c.values[name]; !ok {
		c.names = append(c.names, name)
	}
	if value == "" {
		c.values[name] = nil
		return
	}
	c.values[name] = []string{value}
}

// Add appends a value to a list setting (one line each).
func (c *Config) Add(name, value string) {
	if _, ok := c.values[name]; !ok {
		c.Set(name, "")
	}
	c.values[name] = append(c.values[name], value)
}

// Get returns the first value of name, or "".
func (c *Config) Get(name string) string {
	if v := c.values[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// WriteTo writes the settings as "name = value" lines after a comment header.
func (c *Config) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	for _, n := range c.names {
		for _, v := range c.values[n] {
			fmt.Fprintf(&b, "%s = %s\n", n, v)
		}
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// Save writes the config to path with mode 0600 (it names secret files
// and hosts), after a header comment.
func (c *Config) Save(path, header string) error {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(header), "\n") {
		b.WriteString("# " + l + "\n")
	}
	c.WriteTo(&b)
	return writeFile(path, []byte(b.String()))
}

// WriteSecret writes one secret, followed by a newline, to path with mode
// 0600, replacing the file if it exists.
func WriteSecret(path, secret string) error {
	return writeFile(path, []byte(secret+"\n"))
}

func writeFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".iem-*.tmp") // created 0600
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// ConfirmSave ends a set-up's Review step: it asks before writing (or
// replacing) path, then saves c under a header naming program, the command
// that reads it and where the secrets are. A "no" is ErrAborted.
func (w *Wizard) ConfirmSave(c *Config, path, program, readBy, secrets string) error {
	q := "Write " + path + "?"
	if _, err := os.Stat(path); err == nil {
		q = "Replace the existing " + path + "?"
	}
	ok, err := w.Confirm(q, true)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: not confirmed", ErrAborted)
	}
	header := fmt.Sprintf("%s settings, written by `%s init` on %s.\nRead by: %s\n%s",
		program, program, time.Now().UTC().Format("2006-01-02 15:04 UTC"), readBy, secrets)
	if err := c.Save(path, header); err != nil {
		return err
	}
	w.Printf("  ✓ wrote %s", path)
	return nil
}
