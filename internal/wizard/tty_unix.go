//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package wizard

import (
	"errors"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// A tty is the wizard's terminal, held in no-echo, character-at-a-time
// mode (termios(4): ECHO and ICANON off, ISIG, ICRNL and OPOST kept) for
// as long as the wizard runs. The kernel therefore never echoes what is
// typed, not even text typed ahead while the program is busy; readLine
// echoes an answer itself, when it reads it and only if it is not a secret.
type tty struct {
	f       *os.File
	fd      int
	mu      sync.Mutex
	old     *unix.Termios // nil once restored
	pending []byte        // read from the terminal, not yet part of a line
	sigs    chan os.Signal
}

// openTTY puts the terminal f into the wizard's mode. It restores the
// terminal on the first SIGINT or SIGTERM, so that the second one (which
// ends the process) leaves a working terminal behind.
func openTTY(f *os.File) (*tty, error) {
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		return nil, err
	}
	mode := *old
	mode.Lflag &^= unix.ECHO | unix.ECHOE | unix.ECHOK | unix.ECHONL | unix.ICANON | unix.IEXTEN
	mode.Lflag |= unix.ISIG
	mode.Iflag |= unix.ICRNL
	mode.Cc[unix.VMIN] = 1
	mode.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(fd, ioctlSetTermios, &mode); err != nil {
		return nil, err
	}
	t := &tty{f: f, fd: fd, old: old, sigs: make(chan os.Signal, 1)}
	signal.Notify(t.sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		if _, ok := <-t.sigs; ok {
			t.restore()
		}
	}()
	return t, nil
}

// restore gives the terminal back its mode from before openTTY.
func (t *tty) restore() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.old == nil {
		return nil
	}
	signal.Stop(t.sigs)
	close(t.sigs)
	err := unix.IoctlSetTermios(t.fd, ioctlSetTermios, t.old)
	t.old = nil
	return err
}

// raw reports whether the terminal is still in the wizard's mode.
func (t *tty) raw() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.old != nil
}

// quiet prepares the terminal for the question about to be printed: once
// restored (after a signal) it echoes again, so for a secret it turns echo
// off until the returned function is called, as term.ReadPassword does
// but before the prompt appears.
func (t *tty) quiet(secret bool) func() {
	if !secret || t.raw() {
		return func() {}
	}
	mode, err := unix.IoctlGetTermios(t.fd, ioctlGetTermios)
	if err != nil {
		return func() {}
	}
	q := *mode
	q.Lflag &^= unix.ECHO
	if unix.IoctlSetTermios(t.fd, ioctlSetTermios, &q) != nil {
		return func() {}
	}
	return func() { unix.IoctlSetTermios(t.fd, ioctlSetTermios, mode) }
}

// readByte returns the next byte typed.
func (t *tty) readByte() (byte, error) {
	for len(t.pending) == 0 {
		var buf [256]byte
		n, err := t.f.Read(buf[:])
		t.pending = append(t.pending, buf[:n]...)
		if n == 0 && err != nil {
			return 0, err
		}
	}
	b := t.pending[0]
	t.pending = t.pending[1:]
	return b, nil
}

// readLine reads one line with the editing keys of a cooked terminal
// (erase, Ctrl-U, Ctrl-W; Ctrl-D on an empty line ends the input), echoing
// it to echo unless secret. Escape sequences (arrow keys) are dropped.
func (t *tty) readLine(echo io.Writer, secret bool) (string, error) {
	if secret && !t.raw() {
		defer io.WriteString(echo, "\n") // the kernel echoes no newline either
	}
	var line []byte
	show := func(s string) {
		if !secret && t.raw() {
			io.WriteString(echo, s)
		}
	}
	erase := func() {
		_, n := utf8.DecodeLastRune(line)
		if n == 0 {
			return
		}
		line = line[:len(line)-n]
		show("\b \b")
	}
	for {
		b, err := t.readByte()
		if err != nil {
			if errors.Is(err, io.EOF) && len(line) > 0 {
				return string(line), nil
			}
			if errors.Is(err, io.EOF) {
				return "", ErrAborted
			}
			return "", err
		}
		switch {
		case b == '\n' || b == '\r':
			if t.raw() {
				io.WriteString(echo, "\n")
			}
			return string(line), nil
		case b == 0x7f || b == '\b':
			erase()
		case b == 0x15: // Ctrl-U
			for len(line) > 0 {
				erase()
			}
		case b == 0x17: // Ctrl-W
			for len(line) > 0 && line[len(line)-1] == ' ' {
				erase()
			}
			for len(line) > 0 && line[len(line)-1] != ' ' {
				erase()
			}
		case b == 0x04: // Ctrl-D
			if len(line) == 0 {
				return "", ErrAborted
			}
		case b == 0x1b: // ESC [ or O, parameters, a final byte
			if c, err := t.readByte(); err == nil && (c == '[' || c == 'O') {
				for {
					c, err := t.readByte()
					if err != nil || (c >= 0x40 && c <= 0x7e) {
						break
					}
				}
			}
		case b < 0x20 && b != '\t':
			// other control characters are not part of an answer
		default:
			line = append(line, b)
			show(string([]byte{b}))
		}
	}
}
