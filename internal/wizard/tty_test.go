//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package wizard

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/iemproject/iem/internal/ptytest"
)

// TestSecretTypedAheadNeverEchoed types a password on a pseudo-terminal
// before its question is printed, twice: once together with the answers
// before it, once while the previous answer is being checked (the refused
// password of the issue). Neither may appear on the terminal; the other
// answers must.
func TestSecretTypedAheadNeverEchoed(t *testing.T) {
	tm, tty := ptytest.Open(t)
	w := New(tty, tty)
	defer w.Close()
	const first, second = "first-Secret-typed-ahead", "second-Secret-typed-while-checking"

	// Everything typed before the first question.
	tm.Send("bad user")
	tm.Send("alice")
	tm.Send(first)
	user, err := w.Ask(Question{Label: "Admin user", Check: func(s string) (string, error) {
		if s == "bad user" {
			return "", errors.New("no such user")
		}
		return s, nil
	}})
	if err != nil || user != "alice" {
		t.Fatalf("Ask(user) = %q, %v", user, err)
	}
	pw, err := w.Ask(Question{Label: "Password of " + user, Secret: true, Check: func(s string) (string, error) {
		if s == first {
			// Refused; the operator types the next one at once, while
			// the program is still busy.
			tm.Send(second)
			return "", errors.New("the server refused the credentials")
		}
		return s, nil
	}})
	if err != nil || pw != second {
		t.Fatalf("Ask(password) = %q, %v", pw, err)
	}
	w.Printf("done")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	tm.Expect("done")
	screen := tm.Transcript()
	t.Logf("terminal:\n%s", screen)
	for _, s := range []string{first, second, "Secret"} {
		if strings.Contains(screen, s) {
			t.Errorf("the terminal shows %q", s)
		}
	}
	for _, want := range []string{"Admin user: bad user\n  ✗ no such user\nAdmin user: alice\n",
		"Password of alice: \n  ✗ the server refused the credentials\nPassword of alice: \ndone"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the terminal lacks %q", want)
		}
	}
}

// TestTerminalLineEditing: erase, Ctrl-U, Ctrl-W and arrow keys behave as on
// a cooked terminal, and Ctrl-D on an empty line aborts.
func TestTerminalLineEditing(t *testing.T) {
	tm, tty := ptytest.Open(t)
	w := New(tty, tty)
	defer w.Close()
	tm.Send("alx\x7fice")
	tm.Send("wrong\x15right")
	tm.Send("one two\x17three")
	tm.Send("é\x7fe\x1b[Dx")
	tm.Type("\x04")
	for i, want := range []string{"alice", "right", "one three", "ex"} {
		got, err := w.Ask(Question{Label: fmt.Sprint("Q", i)})
		if err != nil || got != want {
			t.Errorf("answer %d = %q, %v, want %q", i, got, err, want)
		}
	}
	if _, err := w.Ask(Question{Label: "Q4"}); !errors.Is(err, ErrAborted) {
		t.Errorf("Ctrl-D: %v, want ErrAborted", err)
	}
	w.Printf("done")
	tm.Expect("done")
	screen := tm.Transcript()
	for _, want := range []string{"Q0: alx\b \bice\n", "Q1: wrong\b \b\b \b\b \b\b \b\b \bright\n",
		"Q2: one two\b \b\b \b\b \bthree\n", "Q3: é\b \bex\n", "Q4: done"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the terminal lacks %q:\n%q", want, screen)
		}
	}
}

// TestCloseRestoresTerminal: after Close the terminal echoes again, but
// for a secret (a wizard restored after a signal goes on asking).
func TestCloseRestoresTerminal(t *testing.T) {
	tm, tty := ptytest.Open(t)
	w := New(tty, tty)
	w.Close()
	w.Close()
	tm.Send("echoed-by-the-kernel")
	tm.Expect("echoed-by-the-kernel")
	if got, err := w.Ask(Question{Label: "Name"}); err != nil || got != "echoed-by-the-kernel" {
		t.Fatalf("Ask = %q, %v", got, err)
	}
	pw := make(chan string)
	go func() {
		got, _ := w.Ask(Question{Label: "Password", Secret: true})
		pw <- got
	}()
	tm.Expect("Password: ")
	// Echo is off before the prompt is printed, so typing now is safe.
	tm.Send("not-echoed")
	if got := <-pw; got != "not-echoed" {
		t.Errorf("secret = %q", got)
	}
	w.Printf("done")
	tm.Expect("done")
	if screen := tm.Transcript(); strings.Contains(screen, "not-echoed") {
		t.Errorf("after Close the terminal must not echo secrets:\n%s", screen)
	}
}
