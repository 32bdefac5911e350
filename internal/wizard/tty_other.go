//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package wizard

import (
	"errors"
	"io"
	"os"
)

// On other systems (Windows) the console echoes input only when a read
// consumes it, so a secret is read with term.ReadPassword when it is asked.
type tty struct{}

func openTTY(*os.File) (*tty, error) { return nil, errors.ErrUnsupported }

func (*tty) restore() error { return nil }

func (*tty) quiet(bool) func() { return func() {} }

func (*tty) readLine(io.Writer, bool) (string, error) { return "", errors.ErrUnsupported }
