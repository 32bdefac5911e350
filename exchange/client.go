package exchange

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
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
	"sync/atomic"
	"syscall"
	"time"

	"github.com/Azure/go-ntlmssp"

	"github.com/iemproject/iem/exchange/internal/soap"
	"github.com/iemproject/iem/internal/retry"
)

// AuthMethod selects how the client authenticates.
type AuthMethod int

// Authentication methods.
const (
	AuthBasic AuthMethod = iota // HTTP Basic over TLS
	AuthNTLM                    // NTLM (github.com/Azure/go-ntlmssp), HTTP/1.1 only
)

func (a AuthMethod) String() string {
	switch a {
	case AuthBasic:
		return "basic"
	case AuthNTLM:
		return "ntlm"
	}
	panic(fmt.Sprintf("exchange: unknown AuthMethod %d", int(a)))
}

// Options configure a Client. Zero fields mean defaults.
type Options struct {
	// URL is the EWS endpoint, https://host/EWS/Exchange.asmx. http:// is
	// refused.
	URL string
	// Username ("DOMAIN\user" or UPN) and Password of the admin account
	// that impersonates the mailboxes.
	Username, Password string
	Auth               AuthMethod
	// TrustCert pins the server's leaf certificate: "sha256:<hex>" (colons
	// allowed). The chain is then not checked.
	TrustCert string
	// AlwaysTrust skips certificate verification (logged at Warn).
	AlwaysTrust bool
	// LegacyTLS allows TLS 1.0/1.1 and RSA-key-exchange/3DES suites that
	// Exchange 2007/2010 on old Windows may need [V ews.md §1.2 GOSRC].
	LegacyTLS bool
	// Version overrides the detected RequestServerVersion.
	Version Version
	// HTTPClient replaces the client built from the TLS options above.
	HTTPClient *http.Client
	// Logger receives retries, throttling and skips (nil: discard).
	Logger *slog.Logger
	// DebugWriter receives raw SOAP requests and responses. The
	// Authorization header is redacted; mail content may still be private.
	DebugWriter io.Writer
	// Gate is shared by all clients of a run (nil: one per Client).
	Gate *retry.Gate
	// Retry is the retry policy; its Gate and Logger are filled in from
	// the fields above when unset.
	Retry retry.Policy
	// BatchSize is the number of items per GetItem request (default 50).
	BatchSize int
	// LargeItemSize: items at least this big (by item:Size) are fetched
	// with MIME one per request (default 8 MiB).
	LargeItemSize int64
	// MaxResponseSize bounds responses that are parsed whole, i.e. all
	// but MimeContent streams (default 256 MiB).
	MaxResponseSize int64
}

// Client talks to one EWS endpoint.
type Client struct {
	url    string
	opt    Options
	hc     *http.Client
	log    *slog.Logger
	policy retry.Policy

	mu      sync.Mutex
	server  *ServerInfo
	version Version
	dbgMu   sync.Mutex

	// refused is the first refusal of the credentials; once set, no
	// request is sent ([AuthError]).
	refused atomic.Pointer[AuthError]
}

// New validates opt and returns a client. It does no network I/O.
func New(opt Options) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(opt.URL))
	if err != nil {
		// url.Parse's own error would echo the URL, credentials included.
		return nil, &FieldError{Field: "ews-url", Err: errors.New("not a valid URL")}
	}
	shown := u.Redacted() // never echo a password given in the URL
	switch {
	case strings.EqualFold(u.Scheme, "http"):
		return nil, &FieldError{Field: "ews-url", Value: shown, Err: errors.New("must use https, not http")}
	case !strings.EqualFold(u.Scheme, "https"):
		return nil, &FieldError{Field: "ews-url", Value: shown, Err: errors.New("must be an https:// URL")}
	case u.Hostname() == "":
		return nil, &FieldError{Field: "ews-url", Value: shown, Err: errors.New("missing host")}
	case u.User != nil:
		return nil, &FieldError{Field: "ews-url", Value: shown, Err: errors.New("must not contain credentials (use the user and password options)")}
	}
	u.Scheme = "https"
	if opt.Username == "" {
		return nil, &FieldError{Field: "ews-user", Err: errors.New("missing")}
	}
	if opt.Password == "" {
		return nil, &FieldError{Field: "ews-password", Err: errors.New("missing (use a password file or environment variable)")}
	}
	if opt.Auth != AuthBasic && opt.Auth != AuthNTLM {
		return nil, &FieldError{Field: "ews-auth", Value: strconv.Itoa(int(opt.Auth)), Err: errors.New("unknown method")}
	}
	var pin []byte
	if opt.TrustCert != "" {
		if opt.AlwaysTrust {
			return nil, &FieldError{Field: "trust-cert", Value: opt.TrustCert, Err: errors.New("cannot be combined with always-trust")}
		}
		pin, err = parseFingerprint(opt.TrustCert)
		if err != nil {
			return nil, &FieldError{Field: "trust-cert", Value: opt.TrustCert, Err: err}
		}
	}
	if opt.Version < VersionAuto || opt.Version > Exchange2016 {
		return nil, &FieldError{Field: "ews-version", Value: strconv.Itoa(int(opt.Version)), Err: errors.New("unknown version")}
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{url: u.String(), opt: opt, log: log, version: opt.Version}
	if c.opt.BatchSize <= 0 {
		c.opt.BatchSize = 50
	}
	if c.opt.LargeItemSize <= 0 {
		c.opt.LargeItemSize = 8 << 20
	}
	if c.opt.MaxResponseSize <= 0 {
		c.opt.MaxResponseSize = 256 << 20
	}
	c.policy = opt.Retry
	if c.policy.Gate == nil {
		c.policy.Gate = opt.Gate
		if c.policy.Gate == nil {
			c.policy.Gate = new(retry.Gate)
		}
	}
	if c.policy.Logger == nil {
		c.policy.Logger = log
	}
	if opt.HTTPClient != nil {
		c.hc = opt.HTTPClient
	} else {
		c.hc = &http.Client{Transport: newTransport(opt, pin)}
	}
	if opt.AlwaysTrust && opt.HTTPClient == nil {
		log.Warn("tls certificate verification disabled (always-trust)", "url", c.url)
	}
	return c, nil
}

func parseFingerprint(s string) ([]byte, error) {
	alg, hexs, ok := strings.Cut(s, ":")
	if !ok || !strings.EqualFold(alg, "sha256") {
		return nil, errors.New(`want "sha256:<hex>"`)
	}
	hexs = strings.ReplaceAll(hexs, ":", "")
	b, err := hex.DecodeString(hexs)
	if err != nil || len(b) != sha256.Size {
		return nil, errors.New("want 64 hexadecimal digits after sha256:")
	}
	return b, nil
}

// legacySuites are the TLS 1.0–1.2 suites old Windows servers offer: RSA
// key exchange and 3DES are only used when listed explicitly
// [V ews.md §1.2 GOSRC crypto/tls cipher_suites.go].
var legacySuites = []uint16{
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA,
	tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA,
}

func tlsConfig(opt Options, pin []byte) *tls.Config {
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if opt.LegacyTLS {
		conf.MinVersion = tls.VersionTLS10
		conf.CipherSuites = legacySuites
	}
	switch {
	case pin != nil:
		conf.InsecureSkipVerify = true // replaced by the pin check below
		conf.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return ErrCertificate
			}
			sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if !bytes.Equal(sum[:], pin) {
				return fmt.Errorf("%w: got sha256:%x", ErrCertificate, sum)
			}
			return nil
		}
	case opt.AlwaysTrust:
		conf.InsecureSkipVerify = true
	}
	return conf
}

func newTransport(opt Options, pin []byte) http.RoundTripper {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConfig(opt, pin),
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: 10 * time.Minute,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		// NTLM authenticates a connection, which HTTP/2 multiplexing
		// breaks: force HTTP/1.1 [V ews.md §1.2 johnchenkzy/ews README].
		ForceAttemptHTTP2: false,
		TLSNextProto:      map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
	if opt.Auth == AuthNTLM {
		// The negotiator sends its handshake legs (anonymous, NEGOTIATE,
		// AUTHENTICATE) as one request whose header it rewrites, and
		// makes no retries of its own: one refused AUTHENTICATE is one
		// failed logon on the domain controller.
		return ntlmssp.Negotiator{RoundTripper: legs{tr}}
	}
	return tr
}

// legs gives every 401 response its own copy of the request as sent, so
// that the 401 the NTLM negotiator hands back shows which leg the server
// refused (see sentCredentials).
type legs struct{ http.RoundTripper }

func (l legs) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.RoundTripper.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		resp.Request = req.Clone(req.Context())
	}
	return resp, err
}

// FingerprintOf returns the "sha256:<hex>" pin of a DER certificate, the
// form Options.TrustCert accepts.
func FingerprintOf(der []byte) string {
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// callbackError carries an error returned by a caller's callback through
// the retry loop untouched.
type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }
func (e callbackError) Unwrap() error { return e.err }

// call sends one operation through the retry loop. build is called before
// every attempt (so a resumed batch can shrink); handle consumes the
// response and returns nil, an EWS error, or a transport error, which
// shouldRetry classifies.
func (c *Client) call(ctx context.Context, op string, h soap.Header, build func(h soap.Header) []byte, handle func(*http.Response) error) error {
	mailbox := h.Impersonate
	err := retry.Do(ctx, c.policy, op, func(ctx context.Context) error {
		return shouldRetry(ctx, c.roundTrip(ctx, op, mailbox, build(h), handle))
	})
	var cb callbackError
	if errors.As(err, &cb) {
		return cb.err
	}
	if err != nil {
		return fmt.Errorf("%s: %w", strings.ToLower(op[:1])+op[1:], err)
	}
	return nil
}

func (c *Client) roundTrip(ctx context.Context, op, mailbox string, body []byte, handle func(*http.Response) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	// [V ews.md §1 how-to-route-public-folder-content-requests.md raw HTTP sample]
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("Accept", "text/xml")
	if mailbox != "" {
		// [V ews.md §2.1 impersonation-and-ews-in-exchange.md]
		req.Header.Set("X-AnchorMailbox", mailbox)
	}
	if prev := c.refused.Load(); prev != nil {
		ae := *prev
		ae.Repeated = true
		return &ae
	}
	req.SetBasicAuth(c.opt.Username, c.opt.Password)
	c.debugRequest(req, body)
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	err = handle(resp)
	var ae *AuthError
	if errors.As(err, &ae) {
		ae.User, ae.Auth = c.opt.Username, c.opt.Auth
		if ae.Refused {
			c.refused.CompareAndSwap(nil, ae)
		}
	}
	// Drain a little so the connection can be reused.
	io.CopyN(io.Discard, resp.Body, 64<<10)
	return err
}

func (c *Client) debugRequest(req *http.Request, body []byte) {
	if c.opt.DebugWriter == nil {
		return
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "> %s %s\n", req.Method, req.URL)
	for k, v := range req.Header {
		if strings.EqualFold(k, "Authorization") {
			v = []string{"[redacted]"}
		}
		fmt.Fprintf(&b, "> %s: %s\n", k, strings.Join(v, ", "))
	}
	c.debugWrite(&b, body, true)
}

func (c *Client) debugResponse(resp *http.Response, body []byte) {
	if c.opt.DebugWriter == nil {
		return
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "< %s\n", resp.Status)
	if body == nil {
		b.WriteString("< [streamed body not shown]\n")
	}
	c.debugWrite(&b, body, body != nil)
}

// debugWrite ends a debug record with its body between blank lines (when
// withBody) and writes it in one piece.
func (c *Client) debugWrite(b *bytes.Buffer, body []byte, withBody bool) {
	if withBody {
		b.WriteString("\n")
		b.Write(body)
		b.WriteString("\n")
	}
	c.dbgMu.Lock()
	c.opt.DebugWriter.Write(b.Bytes())
	c.dbgMu.Unlock()
}

// shouldRetry is the client's one classifier: it marks the outcome of one
// attempt as retryable (retry.After with the server's hint, or
// retry.Temporary) or leaves it permanent [V ews.md §3.2, §3.3].
func shouldRetry(ctx context.Context, err error) error {
	if err == nil || ctx.Err() != nil {
		return err
	}
	if errors.Is(err, ErrUnauthorized) {
		return err // never repeat a refused login: accounts lock out
	}
	var cb callbackError
	if errors.As(err, &cb) {
		if errors.Is(cb.err, ErrMIMEStream) {
			return retry.Temporary(cb.err) // refetch the interrupted item
		}
		return err
	}
	var ee *Error
	if errors.As(err, &ee) {
		if !ee.transient() {
			return err
		}
		if ee.BackOff > 0 {
			return retry.After(err, ee.BackOff)
		}
		return retry.Temporary(err)
	}
	var he *HTTPError
	if errors.As(err, &he) {
		switch he.Status {
		case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
			if he.RetryAfter > 0 {
				return retry.After(err, he.RetryAfter)
			}
			return retry.Temporary(err)
		}
		return err
	}
	if errors.Is(err, ErrCertificate) {
		return err
	}
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return err
	}
	if errors.Is(err, ErrTruncated) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) {
		return retry.Temporary(err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return retry.Temporary(err)
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return retry.Temporary(err)
	}
	return err
}

// retryAfter parses a Retry-After header given in seconds.
func retryAfter(h http.Header) time.Duration {
	s := h.Get("Retry-After")
	if s == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(s); err == nil {
		return time.Until(t)
	}
	return 0
}

// checkStatus turns a non-SOAP HTTP status into an error; it returns nil
// for 200 and 500 (which carries a SOAP fault).
func checkStatus(resp *http.Response) error {
	switch resp.StatusCode {
	case http.StatusOK, http.StatusInternalServerError:
		return nil
	case http.StatusUnauthorized:
		// User and Auth are filled in by Client.roundTrip.
		return &AuthError{Offered: offeredSchemes(resp.Header), Refused: sentCredentials(resp)}
	}
	return &HTTPError{Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header)}
}

// offeredSchemes lists the auth schemes of the WWW-Authenticate headers
// (RFC 9110 §11.6.1: challenges separated by commas, each a scheme and a
// token or name=value parameters, which may be quoted).
func offeredSchemes(h http.Header) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range h.Values("WWW-Authenticate") {
		for _, part := range splitChallenges(v) {
			scheme, _, _ := strings.Cut(strings.TrimSpace(part), " ")
			if scheme == "" || strings.ContainsAny(scheme, "=\"") || seen[strings.ToLower(scheme)] {
				continue // a parameter of the challenge before, or a repeat
			}
			seen[strings.ToLower(scheme)] = true
			out = append(out, scheme)
		}
	}
	return out
}

// splitChallenges splits a header value at the commas outside quotes.
func splitChallenges(v string) []string {
	var parts []string
	quoted, start := false, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			if quoted {
				i++
			}
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				parts = append(parts, v[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, v[start:])
}

// sentCredentials reports whether the request the server answered with
// 401 carried credentials: Basic ones or an NTLM AUTHENTICATE message
// [MS-NLMP 2.2.1.3]. The anonymous first leg and NEGOTIATE carry none.
func sentCredentials(resp *http.Response) bool {
	if resp.Request == nil {
		return true // unknown: assume the worst
	}
	scheme, tok, _ := strings.Cut(resp.Request.Header.Get("Authorization"), " ")
	switch strings.ToLower(scheme) {
	case "basic":
		return true
	case "ntlm", "negotiate":
		m, err := base64.StdEncoding.DecodeString(strings.TrimSpace(tok))
		return err == nil && len(m) >= 12 && string(m[:8]) == "NTLMSSP\x00" && binary.LittleEndian.Uint32(m[8:12]) == 3
	}
	return false
}

// doTree sends an operation whose response is parsed whole, and returns
// the response messages. The first message error is returned as err when
// all is true; otherwise per-message errors are left to the caller except
// throttling, which retries the whole request.
func (c *Client) doTree(ctx context.Context, op string, h soap.Header, build func(h soap.Header) []byte, fn func(data []byte, msgs []*soap.Node) error) error {
	return c.call(ctx, op, h, build, func(resp *http.Response) error {
		if err := checkStatus(resp); err != nil {
			if resp.StatusCode != http.StatusOK {
				body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
				c.debugResponse(resp, body)
			}
			return err
		}
		body, err := io.ReadAll(io.LimitReader(soap.NewFilter(resp.Body), c.opt.MaxResponseSize+1))
		if err != nil {
			return err
		}
		c.debugResponse(resp, body)
		if int64(len(body)) > c.opt.MaxResponseSize {
			return fmt.Errorf("%w: larger than %d bytes", soap.ErrTooLarge, c.opt.MaxResponseSize)
		}
		// Exchange appends the marker to a cut-off response
		// [V ews.md §2.7]; a complete document may still quote it in an
		// item's body, which is no reason to refetch.
		if bytes.HasSuffix(bytes.TrimSpace(body), []byte(soap.TruncatedMarker)) {
			return ErrTruncated
		}
		root, err := soap.Parse(body)
		if errors.Is(err, soap.ErrTooLarge) {
			return err
		}
		if err != nil {
			if resp.StatusCode != http.StatusOK {
				return &HTTPError{Status: resp.StatusCode}
			}
			return fmt.Errorf("%w: %v", ErrTruncated, err)
		}
		env := root.Child("Envelope")
		c.noteServer(env.Path("Header", "ServerVersionInfo"))
		bodyEl := env.Child("Body")
		if bodyEl == nil || len(bodyEl.Children) == 0 {
			return fmt.Errorf("%w: no soap body", ErrTruncated)
		}
		first := bodyEl.Children[0]
		if first.Local == "Fault" {
			return parseFault(first)
		}
		if resp.StatusCode != http.StatusOK {
			return &HTTPError{Status: resp.StatusCode}
		}
		var msgs []*soap.Node
		switch {
		case first.Child("ResponseMessages") != nil:
			msgs = first.Child("ResponseMessages").Children
		case first.Child("ResponseMessage") != nil || first.Attr("ResponseClass") != "":
			// The operations outside the item and folder schema answer
			// with one message beside their payload, or as the response
			// element itself [V MS-OXWOOF 4.2 GetUserOofSettingsResponse].
			msgs = []*soap.Node{first}
		default:
			return fmt.Errorf("exchange: %s response without ResponseMessages", op)
		}
		for _, m := range msgs {
			// Throttling inside a 200 response retries the request
			// [V ews.md §3.1 B EWSRS soap.rs].
			if e := messageError(m); e != nil && e.transient() {
				return e
			}
		}
		if err := fn(body, msgs); err != nil {
			return callbackError{err}
		}
		return nil
	})
}

// parseFault reads a SOAP fault [V ews.md §3.1 A EXLIB test_error_server_busy].
func parseFault(f *soap.Node) *Error {
	e := &Error{Fault: true, Message: f.Child("faultstring").Text()}
	code := f.Child("faultcode").Text()
	if i := strings.LastIndexByte(code, ':'); i >= 0 {
		code = code[i+1:]
	}
	e.Code = code
	if d := f.Child("detail"); d != nil {
		if rc := d.Child("ResponseCode").Text(); rc != "" {
			e.Code = rc
		}
		if m := d.Child("Message").Text(); m != "" {
			e.Message = m
		}
		readMessageXML(e, d.Child("MessageXml"))
	}
	return e
}

// messageError returns the error of a response message, or nil on Success
// and Warning [V ews.md §3.1 B, C, D].
func messageError(m *soap.Node) *Error {
	if rm := m.Child("ResponseMessage"); rm != nil && m.Attr("ResponseClass") == "" {
		m = rm
	}
	if m.Attr("ResponseClass") != "Error" {
		return nil
	}
	e := &Error{Code: m.Child("ResponseCode").Text(), Message: m.Child("MessageText").Text()}
	readMessageXML(e, m.Child("MessageXml"))
	return e
}

func readMessageXML(e *Error, mx *soap.Node) {
	if mx == nil {
		return
	}
	for _, v := range mx.All("Value") {
		switch v.Attr("Name") {
		case "BackOffMilliseconds":
			if ms, err := strconv.ParseInt(v.Text(), 10, 64); err == nil && ms > 0 {
				e.BackOff = time.Duration(ms) * time.Millisecond
			}
		case "InnerErrorResponseCode":
			e.Inner = v.Text()
		}
	}
}
