package exchange

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

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
	// It is matched by every [*AuthError], which says what was sent. A 401
	// is never retried.
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

// AuthError reports HTTP 401: the server refused the login. It matches
// [ErrUnauthorized] with errors.Is and says what was sent (the user name,
// its form, the scheme) and what the server offers, never the password.
//
// A Client that had its credentials refused sends no further request: each
// refused login brings an Active Directory account closer to lockout, and
// a Client's credentials do not change. Later calls return a copy with
// Repeated set.
type AuthError struct {
	User string     // Options.Username, as sent
	Auth AuthMethod // Options.Auth
	// Offered lists the schemes of the server's WWW-Authenticate headers
	// ("Negotiate", "NTLM", "Basic"), in the server's order.
	Offered []string
	// Refused reports that the server refused credentials it was sent:
	// Basic credentials or a complete NTLM handshake. When false none were
	// sent: the server does not offer NTLM to an NTLM client, or the
	// handshake broke off.
	Refused bool
	// Repeated: the server refused these credentials on an earlier call
	// of the Client and nothing was sent this time.
	Repeated bool
}

func (e *AuthError) Error() string { return "exchange: " + e.Detail() }

// Unwrap returns [ErrUnauthorized].
func (e *AuthError) Unwrap() error { return ErrUnauthorized }

// Detail is the message without the "exchange: " prefix, for a command
// that names its own flag, e.g. `the server refused the credentials (HTTP
// 401): user name "EXAMPLE\admin" (down-level DOMAIN\user form), NTLM
// handshake refused; the server offers NTLM, Basic`.
func (e *AuthError) Detail() string {
	var b strings.Builder
	offered := "the server offers no scheme (no WWW-Authenticate header)"
	if len(e.Offered) > 0 {
		offered = "the server offers " + strings.Join(e.Offered, ", ")
	}
	switch {
	case !e.Refused && e.Auth == AuthNTLM && len(e.Offered) > 0 && !e.offers("NTLM") && !e.offers("Negotiate"):
		fmt.Fprintf(&b, "the server does not offer NTLM (HTTP 401), so no credentials were sent for %s; %s", UserForm(e.User), offered)
	case !e.Refused:
		fmt.Fprintf(&b, "the server refused the login (HTTP 401) before any credentials were sent for %s (the %s handshake did not complete); %s", UserForm(e.User), e.scheme(), offered)
	case e.Auth == AuthNTLM:
		fmt.Fprintf(&b, "the server refused the credentials (HTTP 401): %s, NTLM handshake refused; %s", UserForm(e.User), offered)
	default:
		fmt.Fprintf(&b, "the server refused the credentials (HTTP 401): %s, sent with Basic authentication; %s", UserForm(e.User), offered)
		if len(e.Offered) > 0 && !e.offers("Basic") {
			b.WriteString(" (not Basic)")
		}
	}
	if e.Repeated {
		b.WriteString("; refused on an earlier request, so not sent again (each refusal brings the account closer to lockout)")
	}
	return b.String()
}

func (e *AuthError) scheme() string {
	if e.Auth == AuthNTLM {
		return "NTLM"
	}
	return "Basic"
}

func (e *AuthError) offers(scheme string) bool {
	for _, s := range e.Offered {
		if strings.EqualFold(s, scheme) {
			return true
		}
	}
	return false
}

// UserForm describes a user name and the form Windows reads it in:
// `user name "EXAMPLE\admin" (down-level DOMAIN\user form)`, `user
// principal name "admin@example.com"` or `plain user name "admin"`.
func UserForm(user string) string {
	q := `"` + user + `"`
	if strings.ContainsRune(user, '"') || strings.IndexFunc(user, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		q = strconv.Quote(user)
	}
	switch {
	case strings.Contains(user, `\`):
		return "user name " + q + ` (down-level DOMAIN\user form)`
	case strings.Contains(user, "@"):
		return "user principal name " + q
	}
	return "plain user name " + q
}
