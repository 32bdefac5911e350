// Package dav writes contacts, calendars, tasks and notes into a GroupWare
// server over CardDAV (RFC 6352) and CalDAV (RFC 4791), as iem-import does
// against IceWarp's /webdav/ (icewarp.md §3, option 1).
//
// Collections are created with MKCALENDAR (RFC 4791 §5.3.1) and extended
// MKCOL (RFC 5689 §3); items are stored with PUT under a resource name that
// [ResourceName] derives from the item's source identity, so that a rerun
// replaces the item instead of adding a second one: IceWarp looks re-PUT
// items up by that name (icewarp.md §3 [SS22 datastore.php put_item]), and a
// plain WebDAV server replaces the resource.
//
// # Layout
//
// IceWarp serves collections at /webdav/<email>/<Folder>/ (icewarp.md §3
// [SS22 caldav_uri.php]); Radicale at /<user>/<collection>/ (testbed.md
// §1d). Both are "<owner>/<folder>/" below a base URL, the default of
// [Options.Layout]. On IceWarp a ":" in the folder segment stands for the
// GroupWare path separator "\" (nested folders).
//
// A [Client] is safe for concurrent use.
package dav

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/iemproject/iem/internal/retry"
)

// Sentinel errors, matched by [*HTTPError] with errors.Is.
var (
	ErrNotFound = errors.New("dav: not found")                            // 404, 410
	ErrAuth     = errors.New("dav: not authorized")                       // 401, 403
	ErrConflict = errors.New("dav: conflict")                             // 409, 412
	ErrNotDAV   = errors.New("dav: existing resource has the wrong type") // MKCOL on a non-collection
)

// HTTPError is a DAV request answered with an unexpected status.
type HTTPError struct {
	Method     string
	URL        string // without credentials
	StatusCode int
	Status     string
	Body       string // start of the response body
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("dav: %s %s: %s", e.Method, e.URL, e.Status)
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// Is matches the package's sentinels by status code.
func (e *HTTPError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound || e.StatusCode == http.StatusGone
	case ErrAuth:
		return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden
	case ErrConflict:
		return e.StatusCode == http.StatusConflict || e.StatusCode == http.StatusPreconditionFailed
	}
	return false
}

// Options configure [New]. Zero fields mean defaults.
type Options struct {
	// BaseURL is the DAV root, e.g. "https://mail.example.com/webdav/".
	BaseURL string
	// Username and Password are sent with HTTP Basic authentication.
	Username, Password string
	// HTTPClient sends the requests (nil: a client with a 2-minute timeout).
	HTTPClient *http.Client
	// Logger receives retries (nil: discard). Credentials are never logged.
	Logger *slog.Logger
	// Retry is the policy for transport errors, 429 and 5xx answers.
	Retry retry.Policy
	// Layout returns the collection path for owner and folder, relative to
	// BaseURL, ending in "/" (nil: "<owner>/<folder>/", each segment
	// path-escaped).
	Layout func(owner, folder string) string
}

// Client talks to one DAV server.
type Client struct {
	opt    Options
	base   *url.URL
	hc     *http.Client
	log    *slog.Logger
	policy retry.Policy
}

// New returns a Client for opt.BaseURL.
func New(opt Options) (*Client, error) {
	base, err := url.Parse(opt.BaseURL)
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("dav: base url %q: not an absolute url", opt.BaseURL)
	}
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	base.User = nil
	c := &Client{opt: opt, base: base, hc: opt.HTTPClient, log: opt.Logger, policy: opt.Retry}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 2 * time.Minute}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.policy.Logger == nil {
		c.policy.Logger = c.log
	}
	if c.opt.Layout == nil {
		c.opt.Layout = func(owner, folder string) string {
			return url.PathEscape(owner) + "/" + url.PathEscape(folder) + "/"
		}
	}
	return c, nil
}

// ResourceName returns a stable, URL-safe resource name for an item: the
// first 32 hex digits of the SHA-256 of sourceID, plus the extension for
// contentType (".vcf" for vCards, ".ics" for iCalendar, ".vnt" for
// text/x-vnote, none otherwise). The same sourceID always gives the same
// name, so a rerun's PUT replaces the item.
func ResourceName(sourceID, contentType string) string {
	sum := sha256.Sum256([]byte(sourceID))
	name := hex.EncodeToString(sum[:16])
	mt, _, _ := mime.ParseMediaType(contentType)
	switch mt {
	case "text/vcard", "text/x-vcard", "text/directory":
		name += ".vcf"
	case "text/calendar":
		name += ".ics"
	case "text/x-vnote":
		name += ".vnt"
	}
	return name
}

// CollectionURL returns the absolute URL of a collection.
func (c *Client) CollectionURL(owner, folder string) string {
	return c.collection(owner, folder).String()
}

func (c *Client) collection(owner, folder string) *url.URL {
	rel, _ := url.Parse(c.opt.Layout(owner, folder))
	return c.base.ResolveReference(rel)
}

func (c *Client) resource(owner, folder, name string) *url.URL {
	u := c.collection(owner, folder)
	r, _ := url.Parse(url.PathEscape(name))
	return u.ResolveReference(r)
}

// do sends one request under the retry policy; ok lists the statuses that
// count as success. body is re-sent on retries.
func (c *Client) do(ctx context.Context, method string, u *url.URL, hdr http.Header, body []byte, ok ...int) (*http.Response, []byte, error) {
	var resp *http.Response
	var data []byte
	err := retry.Do(ctx, c.policy, "dav "+strings.ToLower(method), func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
		if err != nil {
			return err
		}
		for k, v := range hdr {
			req.Header[k] = v
		}
		if c.opt.Username != "" || c.opt.Password != "" {
			req.SetBasicAuth(c.opt.Username, c.opt.Password)
		}
		r, err := c.hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return retry.Temporary(fmt.Errorf("dav: %s %s: %w", method, u.Redacted(), err))
		}
		data, err = io.ReadAll(io.LimitReader(r.Body, 64<<20))
		r.Body.Close()
		if err != nil {
			return retry.Temporary(fmt.Errorf("dav: %s %s: read body: %w", method, u.Redacted(), err))
		}
		resp = r
		for _, s := range ok {
			if r.StatusCode == s {
				return nil
			}
		}
		return shouldRetry(r, &HTTPError{Method: method, URL: u.Redacted(), StatusCode: r.StatusCode, Status: r.Status, Body: snippet(data)})
	})
	return resp, data, err
}

// shouldRetry is the package's one retry decision: 429 and 5xx (except 501
// and 505, which will not change) are retried, honouring Retry-After.
func shouldRetry(r *http.Response, err *HTTPError) error {
	code := r.StatusCode
	if code == http.StatusTooManyRequests || (code >= 500 && code != http.StatusNotImplemented && code != http.StatusHTTPVersionNotSupported && code != http.StatusInsufficientStorage) {
		if ra := r.Header.Get("Retry-After"); ra != "" {
			if secs, perr := strconv.Atoi(ra); perr == nil && secs >= 0 {
				return retry.After(err, time.Duration(secs)*time.Second)
			}
			if t, perr := http.ParseTime(ra); perr == nil {
				return retry.After(err, time.Until(t))
			}
		}
		return retry.Temporary(err)
	}
	return err
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// Put stores body as resourceName in the collection, replacing any item of
// that name, and returns the new ETag ("" if the server sent none).
func (c *Client) Put(ctx context.Context, owner, folder, resourceName, contentType string, body []byte) (etag string, err error) {
	hdr := http.Header{"Content-Type": {contentType}}
	resp, _, err := c.do(ctx, http.MethodPut, c.resource(owner, folder, resourceName), hdr, body,
		http.StatusCreated, http.StatusNoContent, http.StatusOK)
	if err != nil {
		return "", err
	}
	return resp.Header.Get("ETag"), nil
}

// Get returns a resource's body and ETag; a missing one gives an error
// matching ErrNotFound.
func (c *Client) Get(ctx context.Context, owner, folder, resourceName string) (body []byte, etag string, err error) {
	resp, data, err := c.do(ctx, http.MethodGet, c.resource(owner, folder, resourceName), nil, nil, http.StatusOK)
	if err != nil {
		return nil, "", err
	}
	return data, resp.Header.Get("ETag"), nil
}

// Delete removes a resource; a missing one gives an error matching
// ErrNotFound.
func (c *Client) Delete(ctx context.Context, owner, folder, resourceName string) error {
	_, _, err := c.do(ctx, http.MethodDelete, c.resource(owner, folder, resourceName), nil, nil,
		http.StatusNoContent, http.StatusOK, http.StatusAccepted)
	return err
}
