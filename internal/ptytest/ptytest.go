//go:build !windows

// Package ptytest drives a program on a pseudo-terminal (pty(7)) in tests:
// it records what the program writes and waits for text to appear, woken
// by each write rather than by polling, so a test is as fast as the
// program and does not fail on a slow or busy machine.
package ptytest

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// Timeout bounds each wait. It is a safety net for a program that hangs,
// never a means of synchronisation.
var Timeout = 2 * time.Minute

// A Term is the controlling side of a pseudo-terminal: what the program
// prints accumulates; Expect waits for text after the last match.
type Term struct {
	t    testing.TB
	pty  *os.File
	mu   sync.Mutex
	out  bytes.Buffer
	seen int
	wake chan struct{} // closed and replaced on every write and at the end
	done bool          // the program side is closed: no more output
}

// Start runs cmd on a new pseudo-terminal of 50 rows by 160 columns. The
// process is killed when the test ends.
func Start(t testing.TB, cmd *exec.Cmd) *Term {
	t.Helper()
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 160})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return New(t, f)
}

// Open returns a new pseudo-terminal: the Term for the test and the
// terminal side for code under test in the same process.
func Open(t testing.TB) (*Term, *os.File) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	return New(t, ptmx), tty
}

// New records the output arriving on the controlling side ptmx. It is
// closed when the test ends.
func New(t testing.TB, ptmx *os.File) *Term {
	tm := &Term{t: t, pty: ptmx, wake: make(chan struct{})}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			tm.mu.Lock()
			tm.out.Write(buf[:n])
			if err != nil {
				tm.done = true
			}
			close(tm.wake)
			tm.wake = make(chan struct{})
			tm.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { ptmx.Close() })
	return tm
}

// wait calls found with the output after the last match, on every write,
// until it returns the end of a match (>= 0) or the program side closes.
func (tm *Term) wait(what string, found func(string) int) {
	tm.t.Helper()
	timer := time.NewTimer(Timeout)
	defer timer.Stop()
	for {
		tm.mu.Lock()
		end := found(tm.out.String()[tm.seen:])
		if end >= 0 {
			tm.seen += end
		}
		done, wake := tm.done, tm.wake
		tm.mu.Unlock()
		switch {
		case end >= 0:
			return
		case done:
			tm.t.Fatalf("the terminal closed and never showed %s; screen:\n%s", what, tm.Transcript())
		}
		select {
		case <-wake:
		case <-timer.C:
			tm.t.Fatalf("terminal never showed %s in %v; screen so far:\n%s", what, Timeout, tm.Transcript())
		}
	}
}

// Expect waits until s appears after the last match.
func (tm *Term) Expect(s string) {
	tm.t.Helper()
	tm.wait(fmt.Sprintf("%q", s), func(out string) int {
		if i := strings.Index(out, s); i >= 0 {
			return i + len(s)
		}
		return -1
	})
}

// ExpectMatch waits until re matches after the last match.
func (tm *Term) ExpectMatch(re *regexp.Regexp) {
	tm.t.Helper()
	tm.wait(re.String(), func(out string) int {
		if loc := re.FindStringIndex(out); loc != nil {
			return loc[1]
		}
		return -1
	})
}

// WaitClosed waits until the program side of the terminal is closed and
// all of its output has been read.
func (tm *Term) WaitClosed() {
	tm.t.Helper()
	tm.wait("its end", func(string) int {
		if tm.done {
			return 0
		}
		return -1
	})
}

// Send types line and Enter.
func (tm *Term) Send(line string) {
	tm.t.Helper()
	if _, err := io.WriteString(tm.pty, line+"\r"); err != nil {
		tm.t.Fatal(err)
	}
}

// Type types s as it is.
func (tm *Term) Type(s string) {
	tm.t.Helper()
	if _, err := io.WriteString(tm.pty, s); err != nil {
		tm.t.Fatal(err)
	}
}

// Transcript returns all output so far, with "\r\n" as "\n".
func (tm *Term) Transcript() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return strings.ReplaceAll(tm.out.String(), "\r\n", "\n")
}

// Finish waits for cmd, which runs on tm, to end, logs the session, and
// fails if it failed or if any of secrets appeared on the terminal.
func (tm *Term) Finish(cmd *exec.Cmd, secrets ...string) {
	tm.t.Helper()
	if err := cmd.Wait(); err != nil {
		tm.t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, tm.Transcript())
	}
	tm.t.Logf("terminal session:\n%s", tm.Transcript())
	for _, s := range secrets {
		if strings.Contains(tm.Transcript(), s) {
			tm.t.Errorf("the password %q was echoed on the terminal", s)
		}
	}
}

// CheckSetupFiles fails t unless the config file conf, written by an
// interactive set-up, and the secret files next to it have mode 0600, and
// conf holds none of secrets.
func CheckSetupFiles(t testing.TB, conf string, secretFiles []string, secrets ...string) {
	t.Helper()
	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s:\n%s", conf, b)
	for _, s := range secrets {
		if strings.Contains(string(b), s) {
			t.Errorf("the config holds the password %q", s)
		}
	}
	for _, p := range append([]string{conf}, secretFiles...) {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v; want mode 0600", p, err)
		}
	}
}

// LoginTypedAhead answers the login question of a set-up (label, then
// "Password of USER") with the password wrong and then with password, each
// typed ahead of its prompt, and waits for refused after the first try and
// accepted after the second; the user name is taken from the default the
// second time.
func (tm *Term) LoginTypedAhead(label, user, wrong, password, refused, accepted string) {
	tm.t.Helper()
	tm.Expect(label + ": ")
	tm.Send(user)
	tm.Send(wrong)
	tm.Expect("Password of ")
	tm.Expect(refused)
	tm.Expect(label + " [" + user + "]: ")
	tm.Send("")
	tm.Send(password)
	tm.Expect("Password of ")
	tm.Expect(accepted)
}
