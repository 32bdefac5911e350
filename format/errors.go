package format

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrMalformed reports item XML that cannot be decoded.
	ErrMalformed = errors.New("format: malformed item xml")
	// ErrNoMIMEContent reports an item without a usable MimeContent element;
	// callers fall back to [RebuildMessage].
	ErrNoMIMEContent = errors.New("format: item has no mime content")
	// ErrTruncated reports MimeContent ending in Exchange's "=== Truncated
	// Data ===" marker, sent during failovers and maintenance [V MSDOCS
	// how-to-export-items-by-using-ews-in-exchange.md]: transient, retry.
	ErrTruncated = errors.New("format: mime content truncated by exchange")
	// ErrInvalidName reports a folder name that cannot be decoded.
	ErrInvalidName = errors.New("format: invalid folder name encoding")
)

// An ItemKindError reports item XML whose root element is not one the
// conversion accepts (a Contact given to CalendarToICal, say).
type ItemKindError struct {
	Want []string // accepted local names
	Got  string   // the root element's local name
}

func (e *ItemKindError) Error() string {
	return fmt.Sprintf("format: item is <%s>, want <%s>", e.Got, strings.Join(e.Want, "> or <"))
}
