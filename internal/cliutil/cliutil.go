// Package cliutil holds what both commands share: exit codes, usage
// errors that name the field, secrets read from files or the environment
// (never from flag values), the slog logger, and age keys.
package cliutil

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"

	"filippo.io/age"
)

// Exit codes, documented in --help and the README (restic's model: more may be added).
const (
	ExitOK          = 0
	ExitFatal       = 1
	ExitUsage       = 2
	ExitPartial     = 3 // finished, but some items were skipped or failed
	ExitInterrupted = 130
)

// A UsageError is bad input from the operator: it names the field (the
// flag or config key, or in capitals a positional argument such as FILE)
// and makes the command exit with ExitUsage before any network call.
type UsageError struct {
	Field string
	Msg   string
}

func (e *UsageError) Error() string {
	if e.Field != "" && e.Field == strings.ToUpper(e.Field) {
		return fmt.Sprintf("%s: %s", e.Field, e.Msg)
	}
	return fmt.Sprintf("--%s: %s", e.Field, e.Msg)
}

// Usagef returns a *UsageError for field.
func Usagef(field, format string, args ...any) error {
	return &UsageError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// ErrPartial marks a run that finished with skipped or failed items.
var ErrPartial = errors.New("finished with skipped or failed items")

// ExitCode maps an error to the documented exit code.
func ExitCode(err error) int {
	var ue *UsageError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, errInterrupted):
		// First: a check cut off by Ctrl-C fails with what looks like bad
		// input (a connection "not reachable"), but the input was fine.
		return ExitInterrupted
	case errors.As(err, &ue):
		return ExitUsage
	case errors.Is(err, ErrPartial):
		return ExitPartial
	default:
		return ExitFatal
	}
}

var errInterrupted = errors.New("interrupted")

// Interrupted wraps err so that ExitCode returns ExitInterrupted.
func Interrupted(err error) error { return fmt.Errorf("%w: %w", errInterrupted, err) }

// CheckURL validates a URL flag: one of the allowed schemes (compared
// case-insensitively) and a host.
func CheckURL(field, raw string, schemes ...string) (*url.URL, error) {
	if raw == "" {
		return nil, Usagef(field, "required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, Usagef(field, "not a URL: %v", err)
	}
	ok := false
	for _, s := range schemes {
		if strings.EqualFold(u.Scheme, s) {
			ok = true
		}
	}
	if !ok {
		return nil, Usagef(field, "scheme %q not allowed: use %s://", u.Scheme, strings.Join(schemes, ":// or "))
	}
	if u.Hostname() == "" {
		return nil, Usagef(field, "%q has no host", raw)
	}
	return u, nil
}

// Logger builds the run's logger: text or JSON on w, at the given level.
func Logger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, Usagef("log-level", "%q is not one of debug, info, warn, error", level)
	}
	o := &slog.HandlerOptions{Level: l}
	switch format {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return nil, Usagef("log-format", "%q is not text or json", format)
}

// Recipients parses age recipients given with --encrypt-to (each an
// "age1…" public key, or a file of them).
func Recipients(values []string) ([]age.Recipient, error) {
	var out []age.Recipient
	for _, v := range values {
		if strings.HasPrefix(v, "age1") {
			r, err := age.ParseX25519Recipient(v)
			if err != nil {
				return nil, Usagef("encrypt-to", "%v", err)
			}
			out = append(out, r)
			continue
		}
		f, err := os.Open(v)
		if err != nil {
			return nil, Usagef("encrypt-to", "neither an age1… key nor a readable file: %v", err)
		}
		rs, err := age.ParseRecipients(f)
		f.Close()
		if err != nil {
			return nil, Usagef("encrypt-to", "%s: %v", v, err)
		}
		out = append(out, rs...)
	}
	return out, nil
}

// Identities reads age identities from files given with --identity.
func Identities(files []string) ([]age.Identity, error) {
	var out []age.Identity
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			return nil, Usagef("identity", "%v", err)
		}
		ids, err := age.ParseIdentities(f)
		f.Close()
		if err != nil {
			return nil, Usagef("identity", "%s: %v", p, err)
		}
		out = append(out, ids...)
	}
	return out, nil
}

// Passphrase turns a passphrase file into an age recipient and identity
// (scrypt), so the same secret writes and reads the archive.
func Passphrase(file string) (age.Recipient, age.Identity, error) {
	pw, err := Secret("passphrase-file", file, "")
	if err != nil {
		return nil, nil, err
	}
	r, err := age.NewScryptRecipient(pw)
	if err != nil {
		return nil, nil, Usagef("passphrase-file", "%v", err)
	}
	id, err := age.NewScryptIdentity(pw)
	if err != nil {
		return nil, nil, Usagef("passphrase-file", "%v", err)
	}
	return r, id, nil
}

// OnUsageError makes a flag the command does not know, or a malformed flag
// value, a usage error (exit 2). A password given as a flag gets a hint:
// flags are visible to every user in the process list, so no command takes
// a secret as a flag value.
func OnUsageError(c *cli.Context, err error, isSubcommand bool) error {
	return PasswordFlagHint("use a --…password-file flag or the environment")(c, err, isSubcommand)
}

// DefaultMemoryLimit is the soft limit on the Go heap that both commands
// set at start unless GOMEMLIMIT is given: with the default GC pacing a
// heap may grow to twice what is live. A run raises it with its number of
// jobs ([LimitMemoryFor]). Reaching the limit makes the collector run more
// often, never fail.
const DefaultMemoryLimit = 128 << 20

// LimitMemory sets the soft heap limit (runtime/debug.SetMemoryLimit) to
// DefaultMemoryLimit unless the GOMEMLIMIT environment variable is set, in
// which case the runtime has applied that already.
func LimitMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		limitMemory = true
		debug.SetMemoryLimit(DefaultMemoryLimit)
	}
}

// limitMemory is set by LimitMemory: only the commands' main functions
// limit the heap, not tests that run a command in their own process.
var limitMemory bool

// LimitMemoryFor sets the soft heap limit for a run of jobs parallel
// mailboxes: 80 MiB plus 24 MiB per job (128 MiB for the default 2 jobs),
// unless GOMEMLIMIT is set or LimitMemory was not called. Each job holds an item of up to 4 MiB in
// memory two or three times over (body, compressor input and output); a
// fixed limit made 4 jobs spend a third of their time in the collector.
func LimitMemoryFor(jobs int) {
	if limitMemory {
		debug.SetMemoryLimit(int64(80<<20 + 24<<20*max(jobs, 1)))
	}
}
