package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/iemproject/iem/internal/retry"
)

// DefaultEndpoint is the Graph base URL of the global cloud.
const DefaultEndpoint = "https://graph.microsoft.com/v1.0"

// Error is an error response of Graph, with its HTTP status and code.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("graph: HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// ErrBlocked matches a 403 ErrorAccessDenied: an application access
// policy keeps the app out of the mailbox; the engine skips and reports it.
var ErrBlocked = errors.New("graph: mailbox blocked by policy")

// Is makes a 403 ErrorAccessDenied match [ErrBlocked].
func (e *Error) Is(target error) bool {
	return target == ErrBlocked && e.Status == http.StatusForbidden && e.Code == "ErrorAccessDenied"
}

// Client is a small Graph client: bearer token, retries of 429/503 through
// internal/retry honouring Retry-After, one token refresh on 401.
type Client struct {
	base   string
	http   *http.Client
	tokens interface {
		Token(ctx context.Context) (string, error)
		Invalidate(token string)
	}
	policy retry.Policy
	waited atomic.Int64 // nanoseconds of back-off sleeps
}

// NewClient returns a client for endpoint ("" = DefaultEndpoint); only
// https endpoints are accepted. policy.Gate, if nil, is set so that a
// Retry-After slows every request of the client.
func NewClient(endpoint string, ts *TokenSource, hc *http.Client, policy retry.Policy) (*Client, error) {
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	if err := httpsOnly("--graph-endpoint", endpoint); err != nil {
		return nil, err
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	if policy.Gate == nil {
		policy.Gate = new(retry.Gate)
	}
	c := &Client{base: strings.TrimRight(endpoint, "/"), http: hc, tokens: ts}
	sleep := policy.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	policy.Sleep = func(ctx context.Context, d time.Duration) error {
		c.waited.Add(int64(d))
		return sleep(ctx, d)
	}
	c.policy = policy
	return c, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Waited is the time requests spent waiting for back-offs (Retry-After
// and the policy's own), summed over requests.
func (c *Client) Waited() time.Duration { return time.Duration(c.waited.Load()) }

// url makes a path relative to the base URL absolute; a full URL (a
// nextLink or deltaLink) is kept as it is.
func (c *Client) url(path string) string {
	if strings.HasPrefix(path, "https://") {
		return path
	}
	return c.base + "/" + strings.TrimLeft(path, "/")
}

// Open GETs path and returns the response body of a 2xx answer; the
// caller closes it. Throttled and unavailable answers are retried.
func (c *Client) Open(ctx context.Context, path string) (io.ReadCloser, error) {
	var body io.ReadCloser
	err := retry.Do(ctx, c.policy, "graph GET", func(ctx context.Context) error {
		var err error
		body, err = c.once(ctx, http.MethodGet, c.url(path), nil, true)
		return err
	})
	return body, err
}

// once sends one request (a JSON body for POST); 401 refreshes the token once.
func (c *Client) once(ctx context.Context, method, u string, payload []byte, refresh bool) (io.ReadCloser, error) {
	tok, err := c.tokens.Token(ctx)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, retry.Temporary(fmt.Errorf("graph: %s %s: %w", method, u, err))
	}
	if resp.StatusCode/100 == 2 {
		return resp.Body, nil
	}
	defer resp.Body.Close()
	gerr := readError(resp)
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		if refresh {
			c.tokens.Invalidate(tok)
			return c.once(ctx, method, u, payload, false)
		}
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return nil, retry.After(gerr, retryAfter(resp.Header.Get("Retry-After")))
	}
	return nil, gerr
}

func readError(resp *http.Response) *Error {
	var body struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = json.Unmarshal(data, &body)
	return &Error{Status: resp.StatusCode, Code: body.Error.Code, Message: body.Error.Message}
}

// retryAfter parses Retry-After in seconds (fractions allowed: Graph sends
// "2.128"); 0 means no hint.
func retryAfter(v string) time.Duration {
	s, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || s <= 0 {
		return 0
	}
	return time.Duration(s * float64(time.Second))
}

// Get GETs path and decodes its JSON into v.
func (c *Client) Get(ctx context.Context, path string, v any) error {
	body, err := c.Open(ctx, path)
	if err != nil {
		return err
	}
	defer body.Close()
	if err := json.NewDecoder(body).Decode(v); err != nil {
		return fmt.Errorf("graph: GET %s: %w", path, err)
	}
	return nil
}

// page is one page of a collection.
type page[T any] struct {
	Value     []T    `json:"value"`
	NextLink  string `json:"@odata.nextLink"`
	DeltaLink string `json:"@odata.deltaLink"`
}

// Pages calls fn per element of the collection at path, following
// @odata.nextLink until it is absent, and returns the deltaLink of the
// last page ("" for collections without delta).
func Pages[T any](ctx context.Context, c *Client, path string, fn func(T) error) (string, error) {
	for {
		var p page[T]
		if err := c.Get(ctx, path, &p); err != nil {
			return "", err
		}
		for _, v := range p.Value {
			if err := fn(v); err != nil {
				return "", err
			}
		}
		if p.NextLink == "" {
			return p.DeltaLink, nil
		}
		path = p.NextLink
	}
}
