package directory

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalidOption is wrapped by every [*FieldError].
	ErrInvalidOption = errors.New("directory: invalid option")
	// ErrFormat is wrapped by every [*SyntaxError] from [ReadLDIF].
	ErrFormat = errors.New("directory: malformed ldif")
	// ErrProtocol is wrapped by errors about replies that break the LDAP or
	// range retrieval rules (a range that does not start where asked).
	ErrProtocol = errors.New("directory: unexpected server reply")
	// ErrNotFound is wrapped by every [*NotFoundError] from [Snapshot.Lookup].
	ErrNotFound = errors.New("directory: not found")
)

// A FieldError reports one invalid [Options] field. Field is named as the
// command-line flag that sets it ("directory-url"). It never holds a secret.
type FieldError struct {
	Field  string // "directory-url", "directory-bind-dn", "directory-password", ...
	Value  string // the offending value, empty for secrets
	Reason string // lowercase phrase: "scheme must be ldap or ldaps"
}

func (e *FieldError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("directory: %s: %s", e.Field, e.Reason)
	}
	return fmt.Sprintf("directory: %s %q: %s", e.Field, e.Value, e.Reason)
}

// Unwrap returns [ErrInvalidOption].
func (e *FieldError) Unwrap() error { return ErrInvalidOption }

// A SyntaxError reports malformed or refused LDIF input at a line.
type SyntaxError struct {
	Line int    // 1-based physical line where the problem was found
	Msg  string // lowercase phrase
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("directory: ldif line %d: %s", e.Line, e.Msg)
}

// Unwrap returns [ErrFormat].
func (e *SyntaxError) Unwrap() error { return ErrFormat }

// A NotFoundError reports a mailbox or group selector that matched nothing.
type NotFoundError struct {
	Kind string // "mailbox" or "group"
	Name string // the selector as given
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("directory: no %s matches %q", e.Kind, e.Name)
}

// Unwrap returns [ErrNotFound].
func (e *NotFoundError) Unwrap() error { return ErrNotFound }
