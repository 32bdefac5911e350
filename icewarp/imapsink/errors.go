package imapsink

import (
	"errors"
	"fmt"
)

var (
	// ErrAuth means the server refused the login; retrying will not help.
	ErrAuth = errors.New("imapsink: authentication failed")
	// ErrSize means a message body was not Message.Size bytes long; the
	// APPEND was aborted before the server stored anything.
	ErrSize = errors.New("imapsink: body size differs from Message.Size")
	// ErrNoBody means a message had neither Body nor Open.
	ErrNoBody = errors.New("imapsink: message has no body")
	// ErrNotRewindable means an APPEND broke after its body was partly
	// sent, and the body can be read neither again (Open) nor rewound
	// (io.Seeker), so it cannot be retried.
	ErrNotRewindable = errors.New("imapsink: body cannot be re-read for a retry")
	// ErrClosed is returned by calls on a closed Mailbox.
	ErrClosed = errors.New("imapsink: mailbox closed")
	// ErrFolder means a folder path is empty or cannot be mapped.
	ErrFolder = errors.New("imapsink: invalid folder path")
)

// OpError is an IMAP command that failed, with the folder it was about. The
// server's answer (an *imap.Error with its response code) or the transport
// error is wrapped: use errors.As to get it.
type OpError struct {
	Op      string // IMAP command, e.g. "APPEND"
	Mailbox string // the mailbox (owner) this connection serves
	Folder  string // mapped folder name, if any
	Err     error
}

func (e *OpError) Error() string {
	if e.Folder != "" {
		return fmt.Sprintf("imapsink: %s %s %q: %v", e.Mailbox, e.Op, e.Folder, e.Err)
	}
	return fmt.Sprintf("imapsink: %s %s: %v", e.Mailbox, e.Op, e.Err)
}

func (e *OpError) Unwrap() error { return e.Err }
