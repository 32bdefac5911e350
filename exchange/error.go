package exchange

import (
	"errors"
	"fmt"
	"time"

	"github.com/iemproject/iem/exchange/internal/soap"
)

// Sentinel errors. Branch on them with errors.Is.
var (
	// ErrInvalidSyncState is matched by an *Error with code
	// ErrorInvalidSyncStateData: resynchronize the folder without state
	// [V ews.md §2.5 responsecode.md].
	ErrInvalidSyncState = errors.New("exchange: invalid sync state")
	// ErrTruncated reports a response cut off by the server
	// ("=== Truncated Data ===") or by the connection. It is retried; it
	// reaches callers only through a broken Item.MIME stream or after the
	// retries are exhausted.
	ErrTruncated = soap.ErrTruncated
	// ErrTooLarge reports a response over Options.MaxResponseSize or with
	// more elements than a real response has (soap.MaxNodes, about a
	// million): a hostile or broken server. It is not retried.
	ErrTooLarge = soap.ErrTooLarge
	// ErrUnauthorized reports HTTP 401: wrong credentials or auth method.
	ErrUnauthorized = errors.New("exchange: unauthorized")
	// ErrCertificate reports a server certificate that does not match
	// Options.TrustCert.
	ErrCertificate = errors.New("exchange: server certificate does not match the pinned fingerprint")
	// ErrMIMEStream is wrapped by read errors of Item.MIME when the
	// response broke off while streaming. If the callback of GetItems
	// returns an error that wraps it, GetItems fetches that item again and
	// calls the callback once more for it.
	ErrMIMEStream = errors.New("exchange: mime stream interrupted")
)

// Response codes the client treats specially [V ews.md §3].
const (
	CodeServerBusy              = "ErrorServerBusy"
	CodeInvalidSyncStateData    = "ErrorInvalidSyncStateData"
	CodeItemNotFound            = "ErrorItemNotFound"
	CodeMimeConversionFailed    = "ErrorMimeContentConversionFailed"
	CodeItemCorrupt             = "ErrorItemCorrupt"
	CodeUnsupportedMime         = "ErrorUnsupportedMimeConversion"
	CodeInternalServerError     = "ErrorInternalServerError"
	CodeBatchProcessingStopped  = "ErrorBatchProcessingStopped"
	CodeInternalTransientError  = "ErrorInternalServerTransientError"
	CodeExceededConnectionCount = "ErrorExceededConnectionCount"
)

// Error is an EWS error: a SOAP fault or a response message whose
// ResponseClass is Error. It mirrors the ResponseCode, MessageText and the
// BackOffMilliseconds hint [V ews.md §3.1].
type Error struct {
	Code    string        // ResponseCode, e.g. "ErrorItemNotFound"
	Message string        // MessageText or faultstring
	BackOff time.Duration // server-requested wait, 0 if none
	Fault   bool          // delivered as a SOAP fault (HTTP 500)
	// Inner is the InnerErrorResponseCode of ErrorInternalServerError.
	Inner string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "exchange: " + e.Code
	}
	return fmt.Sprintf("exchange: %s: %s", e.Code, e.Message)
}

// Is makes errors.Is(err, ErrInvalidSyncState) match the EWS code.
func (e *Error) Is(target error) bool {
	return target == ErrInvalidSyncState && e.Code == CodeInvalidSyncStateData
}

// transient reports codes worth retrying [V ews.md §3.2 responsecode.md,
// EXLIB retry set].
func (e *Error) transient() bool {
	switch e.Code {
	case CodeServerBusy, CodeExceededConnectionCount, CodeInternalTransientError,
		"ErrorTooManyObjectsOpened", "ErrorTimeoutExpired", "ErrorMailboxMoveInProgress",
		"ErrorMailboxStoreUnavailable", "ErrorConnectionFailed", "ErrorExceededFindCountLimit":
		return true
	case CodeInternalServerError:
		return e.Inner == CodeServerBusy
	}
	return false
}

// FieldError reports an invalid option; Field is the user-facing name
// (the command-line flag), e.g. "ews-url".
type FieldError struct {
	Field string
	Value string
	Err   error
}

func (e *FieldError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("exchange: %s: %v", e.Field, e.Err)
	}
	return fmt.Sprintf("exchange: %s %q: %v", e.Field, e.Value, e.Err)
}

func (e *FieldError) Unwrap() error { return e.Err }

// HTTPError reports an unexpected HTTP status without a SOAP payload.
type HTTPError struct {
	Status     int
	RetryAfter time.Duration
}

func (e *HTTPError) Error() string { return fmt.Sprintf("exchange: http status %d", e.Status) }
