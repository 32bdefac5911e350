package icewarp

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrNotLoggedIn is returned by calls made before [Admin.Login] or after
// [Admin.Logout].
var ErrNotLoggedIn = errors.New("icewarp: not logged in")

// ErrTypeConflict is returned (wrapped) by the Ensure methods when an object
// with the same address exists but is of another type, e.g. a user where a
// group is wanted.
var ErrTypeConflict = errors.New("icewarp: existing account of another type")

// ErrNotFound is returned (wrapped) when an account or domain that a call
// needs does not exist.
var ErrNotFound = errors.New("icewarp: not found")

// A FieldError reports an invalid [Options] field; [New] returns it.
type FieldError struct {
	Field  string // "URL", "Username", "Password", "TLS.PinSHA256", …
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("icewarp: invalid option %s: %s", e.Field, e.Reason)
}

// An APIError is a failed admin API call: either the server answered
// <iq type="error"><query><error uid="…"/></query></iq> [V NET ErrorResponse.xml]
// or a command reported <result>0</result> ("0 when there is some failure",
// [V API-JSON]).
type APIError struct {
	Command string // lower-case command name, e.g. "createaccount"
	UID     string // the error uid, e.g. "auth_login_invalid"; empty for a 0 result
	Result  string // the result text ("0") when UID is empty
	Object  string // account or domain the call was about, if any
}

func (e *APIError) Error() string {
	obj := ""
	if e.Object != "" {
		obj = " " + e.Object
	}
	if e.UID != "" {
		return fmt.Sprintf("icewarp: %s%s: error %q", e.Command, obj, e.UID)
	}
	return fmt.Sprintf("icewarp: %s%s: result %s", e.Command, obj, strconv.Quote(e.Result))
}

// An HTTPError is a non-200 answer of the Control service. Status 5xx is
// retried.
type HTTPError struct {
	Command    string
	StatusCode int
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("icewarp: %s: http status %d", e.Command, e.StatusCode)
}
