package icewarp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/iemproject/iem/internal/retry"
)

// TLSOptions say how the Control service's certificate is trusted. The
// zero value verifies it against the system roots.
type TLSOptions struct {
	// RootCAs replaces the system roots when set.
	RootCAs *x509.CertPool
	// PinSHA256 is the hex SHA-256 of the server's leaf certificate (DER),
	// as printed by `openssl x509 -noout -fingerprint -sha256` (colons
	// allowed). When set, a certificate matching the pin is accepted without
	// chain verification (IceWarp's self-signed default certificate) and
	// any other is rejected.
	PinSHA256 string
	// InsecureSkipVerify accepts any certificate. Opt-in, for test servers.
	InsecureSkipVerify bool
}

// Options configure an [Admin]. Only URL, Username and Password are required.
type Options struct {
	// URL of the Control service's API, e.g. https://mail.example.com:32001/icewarpapi/
	// (ports 32000/32001 or 80/443, icewarp.md §2.1).
	URL string
	// Username (an administrator's email) and Password for "authenticate".
	Username, Password string
	// HTTPClient sends the requests (default: a client with the TLS options
	// below and a 2-minute timeout). Setting both HTTPClient and TLS is an error.
	HTTPClient *http.Client
	TLS        TLSOptions
	// Logger receives retries at Warn and calls at Debug (nil: discard).
	Logger *slog.Logger
	// DebugWriter, if set, receives every request and response body.
	// Passwords are replaced by "[redacted]" in requests; responses are
	// written as received.
	DebugWriter io.Writer
	// Retry is the back-off policy for HTTP 5xx and connection failures.
	Retry retry.Policy
}

// Admin is an admin API session. Create it with [New], then call Login.
type Admin struct {
	url    string
	opt    Options
	client *http.Client
	log    *slog.Logger

	mu      sync.Mutex
	sid     string
	loginMu sync.Mutex // one re-login at a time

	debugMu sync.Mutex
}

// New checks opt and returns an Admin. It does no I/O. Invalid options give
// a [*FieldError].
func New(opt Options) (*Admin, error) {
	u, err := url.Parse(opt.URL)
	switch {
	case opt.URL == "":
		return nil, &FieldError{"URL", "empty"}
	case err != nil:
		return nil, &FieldError{"URL", err.Error()}
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, &FieldError{"URL", fmt.Sprintf("scheme %q, want http or https", u.Scheme)}
	case u.Host == "":
		return nil, &FieldError{"URL", "no host"}
	case u.User != nil:
		return nil, &FieldError{"URL", "credentials in the URL; use Username and Password"}
	}
	if opt.Username == "" {
		return nil, &FieldError{"Username", "empty"}
	}
	if opt.Password == "" {
		return nil, &FieldError{"Password", "empty"}
	}
	var pin []byte
	if opt.TLS.PinSHA256 != "" {
		pin, err = hex.DecodeString(strings.ReplaceAll(opt.TLS.PinSHA256, ":", ""))
		if err != nil || len(pin) != sha256.Size {
			return nil, &FieldError{"TLS.PinSHA256", "want 64 hex digits"}
		}
	}
	tlsSet := opt.TLS.RootCAs != nil || pin != nil || opt.TLS.InsecureSkipVerify
	if opt.HTTPClient != nil && tlsSet {
		return nil, &FieldError{"TLS", "cannot be combined with HTTPClient"}
	}
	if pin != nil && opt.TLS.InsecureSkipVerify {
		return nil, &FieldError{"TLS", "PinSHA256 and InsecureSkipVerify are exclusive"}
	}
	a := &Admin{url: u.String(), opt: opt, client: opt.HTTPClient, log: opt.Logger}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.opt.Retry.Logger == nil {
		a.opt.Retry.Logger = a.log
	}
	if a.client == nil {
		a.client = &http.Client{
			Timeout:   2 * time.Minute,
			Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: tlsConfig(opt.TLS, pin), ForceAttemptHTTP2: true},
		}
	}
	return a, nil
}

func tlsConfig(o TLSOptions, pin []byte) *tls.Config {
	c := &tls.Config{RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12}
	switch {
	case pin != nil:
		c.InsecureSkipVerify = true // replaced by the pin check below
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("icewarp: no server certificate")
			}
			sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if subtle.ConstantTimeCompare(sum[:], pin) != 1 {
				return fmt.Errorf("icewarp: server certificate sha256 %x does not match the pin", sum)
			}
			return nil
		}
	case o.InsecureSkipVerify:
		c.InsecureSkipVerify = true
	}
	return c
}

// Login authenticates with the configured credentials and keeps the session
// id [V NET Session Authenticate.xml]:
//
//	<iq type="get"><query xmlns="admin:iq:rpc"><commandname>authenticate</commandname>
//	<commandparams><authtype>0</authtype><email>…</email><password>…</password>
//	<digest/><persistentlogin>0</persistentlogin></commandparams></query></iq>
//	→ <iq type="result" sid="201602051125504026">…<result>1</result>…</iq>
func (a *Admin) Login(ctx context.Context) error {
	params := el("commandparams",
		leaf("authtype", "0"),
		leaf("email", a.opt.Username),
		secretLeaf("password", a.opt.Password),
		leaf("digest", ""),
		leaf("persistentlogin", "0"))
	root, err := a.do(ctx, "authenticate", "", "", params)
	if err != nil {
		return err
	}
	sid := root.Attr("sid")
	if sid == "" {
		return fmt.Errorf("%w: authenticate: no sid", errXML)
	}
	a.mu.Lock()
	a.sid = sid
	a.mu.Unlock()
	return nil
}

// Logout ends the session (command "logout" with empty params [V NET]).
// Calling it when not logged in is a no-op.
func (a *Admin) Logout(ctx context.Context) error {
	a.mu.Lock()
	sid := a.sid
	a.sid = ""
	a.mu.Unlock()
	if sid == "" {
		return nil
	}
	_, err := a.do(ctx, "logout", sid, "", el("commandparams"))
	return err
}

// call runs one command in the current session and returns the <result>
// element. object names the account or domain for error messages.
func (a *Admin) call(ctx context.Context, command, object string, params *node) (*node, error) {
	a.mu.Lock()
	sid := a.sid
	a.mu.Unlock()
	if sid == "" {
		return nil, fmt.Errorf("%w: %s", ErrNotLoggedIn, command)
	}
	root, err := a.do(ctx, command, sid, object, params)
	var ae *APIError
	if errors.As(err, &ae) && sessionUIDs[ae.UID] {
		// The session ended (a long migration outlives it): log in again
		// once and repeat the call.
		a.log.Warn("session ended, logging in again", "command", command, "uid", ae.UID)
		if lerr := a.relogin(ctx, sid); lerr != nil {
			return nil, errors.Join(err, lerr)
		}
		a.mu.Lock()
		sid = a.sid
		a.mu.Unlock()
		root, err = a.do(ctx, command, sid, object, params)
	}
	if err != nil {
		return nil, err
	}
	return root.Child("query").Child("result"), nil
}

// sessionUIDs are error uids taken to mean "session id unknown or expired".
// No source names the uid a real server sends for this (INFERRED names);
// icewarptest sends "session_invalid".
var sessionUIDs = map[string]bool{"session_invalid": true, "session_expired": true, "invalid_session": true, "sid_invalid": true}

// relogin logs in again unless another goroutine already replaced old.
func (a *Admin) relogin(ctx context.Context, old string) error {
	a.loginMu.Lock()
	defer a.loginMu.Unlock()
	a.mu.Lock()
	cur := a.sid
	a.mu.Unlock()
	if cur != old {
		if cur == "" {
			return fmt.Errorf("%w: logged out", ErrNotLoggedIn)
		}
		return nil
	}
	return a.Login(ctx)
}

// callOK runs a command whose result is "1" on success.
// list pages through the items of a list command: params gives the
// command's parameters for an offset, each is called for every item, until
// a page is empty or overallcount items have come.
func (a *Admin) list(ctx context.Context, command, object string, params func(offset int) *node, each func(*node)) error {
	for n := 0; ; {
		res, err := a.call(ctx, command, object, params(n))
		if err != nil {
			return err
		}
		items := res.All("item")
		for _, it := range items {
			each(it)
		}
		n += len(items)
		total, err := strconv.Atoi(res.Text("overallcount"))
		if err != nil || len(items) == 0 || n >= total {
			return nil
		}
	}
}

func (a *Admin) callOK(ctx context.Context, command, object string, params *node) error {
	_, err := a.call(ctx, command, object, params)
	return err
}

// do sends one request with retries and checks the response envelope.
func (a *Admin) do(ctx context.Context, command, sid, object string, params *node) (*node, error) {
	iq := el("iq", el("query", leaf("commandname", command), params))
	iq.Attrs = []xml.Attr{{Name: xml.Name{Local: "type"}, Value: "get"}} // [V NET requests]
	if sid != "" {
		iq.Attrs = append(iq.Attrs, xml.Attr{Name: xml.Name{Local: "sid"}, Value: sid})
	}
	iq.Children[0].Attrs = []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: "admin:iq:rpc"}}
	var body bytes.Buffer
	iq.Encode(&body, false)
	if a.opt.DebugWriter != nil {
		var red bytes.Buffer
		iq.Encode(&red, true)
		a.debug("request", command, red.Bytes())
	}
	var root *node
	err := retry.Do(ctx, a.opt.Retry, "icewarp "+command, func(ctx context.Context) error {
		var err error
		root, err = a.post(ctx, command, body.Bytes())
		return err
	})
	if err != nil {
		return nil, err
	}
	a.log.Debug("api call", "command", command, "object", object)
	if !strings.EqualFold(root.Local, "iq") {
		return nil, fmt.Errorf("%w: %s: root element %q", errXML, command, root.Local)
	}
	if strings.EqualFold(root.Attr("type"), "error") {
		return nil, &APIError{Command: command, UID: root.Child("query").Child("error").Attr("uid"), Object: object}
	}
	res := root.Child("query").Child("result")
	if res == nil {
		return nil, fmt.Errorf("%w: %s: no result", errXML, command)
	}
	if len(res.Children) == 0 && res.Text() == "0" {
		return nil, &APIError{Command: command, Result: "0", Object: object}
	}
	return root, nil
}

func (a *Admin) post(ctx context.Context, command string, body []byte) (*node, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("icewarp: %s: %w", command, err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, shouldRetry(ctx, nil, fmt.Errorf("icewarp: %s: %w", command, err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, shouldRetry(ctx, nil, fmt.Errorf("icewarp: %s: read response: %w", command, err))
	}
	if a.opt.DebugWriter != nil {
		a.debug("response", command, data)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, shouldRetry(ctx, resp, &HTTPError{Command: command, StatusCode: resp.StatusCode})
	}
	root, err := parse(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, command)
	}
	return root, nil
}

// shouldRetry is the one place that decides which failures are retried:
// HTTP 5xx and 429 (after Retry-After when given), and connection resets,
// refusals, timeouts and truncated responses. The context's own end is
// never retried.
func shouldRetry(ctx context.Context, resp *http.Response, err error) error {
	if ctx.Err() != nil {
		return err
	}
	if resp != nil {
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 {
				return retry.After(err, time.Duration(s)*time.Second)
			}
			return retry.Temporary(err)
		}
		return err
	}
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return retry.Temporary(err)
	case errors.As(err, &ne) && ne.Timeout():
		return retry.Temporary(err)
	}
	return err
}

func (a *Admin) debug(kind, command string, data []byte) {
	a.debugMu.Lock()
	defer a.debugMu.Unlock()
	fmt.Fprintf(a.opt.DebugWriter, "-- %s %s\n%s\n", kind, command, data)
}
