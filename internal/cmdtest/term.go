//go:build !windows

package cmdtest

import (
	"errors"
	"os"
	"os/exec"
	"testing"

	"github.com/iemproject/iem/internal/ptytest"
)

// Interrupt interrupts (SIGINT) the command running on the terminal tm,
// fails unless it exits 130, waits for last, what it prints last, to come
// through the terminal and logs the transcript.
func Interrupt(t *testing.T, tm *ptytest.Term, cmd *exec.Cmd, last string) {
	t.Helper()
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("interrupted run = %v, want exit 130\n%s", err, tm.Transcript())
	}
	// The process has exited, but what it wrote last may still be on its
	// way through the pseudo-terminal: wait for it (expect fails after
	// 30 s with the screen so far).
	tm.Expect(last)
	t.Logf("terminal (interrupted):\n%q", tm.Transcript())
}

// Answer waits on the terminal for each prompt qa[0] in turn and sends the
// answer qa[1].
func Answer(tm *ptytest.Term, qa ...[2]string) {
	for _, a := range qa {
		tm.Expect(a[0])
		tm.Send(a[1])
	}
}
