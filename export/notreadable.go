package export

import (
	"errors"
	"fmt"
)

// Parts of a tenant a Source cannot read at all are listed in the summary
// under the kind NotReadKind, never silently dropped, and do not make the
// round partial (they are a limit of the Source, the same every round):
//
//   - a whole mailbox: Hierarchy returns [MailboxNotReadable] (a mailbox
//     the tenant's access policy keeps from the application, say); the
//     mailbox is listed with the reason and the others go on;
//   - parts of a mailbox: Hierarchy.NotReadable counts them by reason
//     (the folders whose permissions the API cannot read, say);
//   - parts of the organisation: a Source implementing [OrgNotReadable]
//     lists them in [Result.NotReadable], printed after the table.

// NotReadKind is the summary's problem kind of what a Source cannot read.
const NotReadKind = "not read"

// A NotReadableError is a mailbox the Source may not read (see
// [MailboxNotReadable]).
type NotReadableError struct {
	Reason string
	Err    error
}

func (e *NotReadableError) Error() string { return fmt.Sprintf("%s: %v", e.Reason, e.Err) }
func (e *NotReadableError) Unwrap() error { return e.Err }

// MailboxNotReadable returns the error Hierarchy reports for a mailbox the
// Source may not read: the engine lists the mailbox under reason, writes
// nothing for it and goes on with the others.
func MailboxNotReadable(reason string, err error) error {
	return &NotReadableError{Reason: reason, Err: err}
}

// OrgNotReadable is implemented by Sources that cannot read parts of the
// organisation (public folders, say); each reason is listed once per round.
type OrgNotReadable interface {
	NotReadable() []string
}

// notReadableMailbox records a mailbox Hierarchy refused with a
// NotReadableError; false for any other error.
func notReadableMailbox(st *MailboxStats, err error) (*NotReadableError, bool) {
	var nr *NotReadableError
	if !errors.As(err, &nr) {
		return nil, false
	}
	st.NotReadable[nr.Reason]++
	return nr, true
}
