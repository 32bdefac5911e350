package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/internal/retry"
)

// JSON batching of small GETs: $batch holds at most 20 requests and
// answers each with its own status, headers and body, in any order; each
// inner request is throttled on its own (inner 429 with Retry-After) [V
// graph.md §7 GDOC concepts/json-batching.md]. Outlook runs at most 4
// items of a batch in parallel for a mailbox, so a batch here holds at
// most 4 independent requests (no dependsOn, whose failed dependency
// would fail the rest with 424) [V graph.md §7 GDOC throttling-limits.md
// "Outlook service limits for JSON batching"]. $value is never batched:
// a batched body comes back base64 in JSON, whole in memory [I graph.md §7].

// batchLimit is the number of requests per batch.
const batchLimit = 4

type batchRequest struct {
	ID     string `json:"id"`
	Method string `json:"method"`
	URL    string `json:"url"`
}

type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// post POSTs v as JSON to path and decodes the answer into out, through
// the retry loop.
func (c *Client) post(ctx context.Context, path string, v, out any) error {
	payload, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return retry.Do(ctx, c.policy, "graph POST", func(ctx context.Context) error {
		body, err := c.once(ctx, http.MethodPost, c.url(path), payload, true)
		if err != nil {
			return err
		}
		defer body.Close()
		if err := json.NewDecoder(body).Decode(out); err != nil {
			return retry.Temporary(fmt.Errorf("graph: POST %s: %w", path, err))
		}
		return nil
	})
}

// header returns the value of header k of a batch response (any case).
func header(h map[string]string, k string) string {
	for name, v := range h {
		if strings.EqualFold(name, k) {
			return v
		}
	}
	return ""
}

// BatchGet GETs paths (relative to the Graph root) in batches of
// batchLimit and calls fn with each path's index and JSON body, or its
// *Error. Requests the batch answers with 429 or 503 are retried one by
// one after the longest Retry-After they were given.
func (c *Client) BatchGet(ctx context.Context, paths []string, fn func(i int, body json.RawMessage, err error) error) error {
	for lo := 0; lo < len(paths); lo += batchLimit {
		chunk := paths[lo:min(lo+batchLimit, len(paths))]
		in := struct {
			Requests []batchRequest `json:"requests"`
		}{}
		for j, p := range chunk {
			in.Requests = append(in.Requests, batchRequest{ID: strconv.Itoa(j), Method: http.MethodGet, URL: "/" + strings.TrimLeft(p, "/")})
		}
		var out struct {
			Responses []batchResponse `json:"responses"`
		}
		if err := c.post(ctx, "$batch", in, &out); err != nil {
			return err
		}
		byID := map[string]batchResponse{}
		for _, r := range out.Responses {
			byID[r.ID] = r
		}
		var again []int
		var wait time.Duration
		for j := range chunk {
			r, ok := byID[strconv.Itoa(j)]
			var err error
			switch {
			case !ok:
				again = append(again, j)
				continue
			case r.Status == http.StatusTooManyRequests || r.Status == http.StatusServiceUnavailable:
				again = append(again, j)
				wait = max(wait, retryAfter(header(r.Headers, "Retry-After")))
				continue
			case r.Status/100 != 2:
				var e struct {
					Error struct{ Code, Message string } `json:"error"`
				}
				_ = json.Unmarshal(r.Body, &e)
				err = &Error{Status: r.Status, Code: e.Error.Code, Message: e.Error.Message}
			}
			if err := fn(lo+j, r.Body, err); err != nil {
				return err
			}
		}
		if len(again) > 0 && wait > 0 {
			if err := c.policy.Sleep(ctx, wait); err != nil {
				return err
			}
		}
		for _, j := range again {
			var body json.RawMessage
			err := c.Get(ctx, chunk[j], &body)
			if err := fn(lo+j, body, err); err != nil {
				return err
			}
		}
	}
	return nil
}

// messages reads the properties of the messages refs names, batched; the
// error of a message (a 404 for one deleted since the delta) is in errs.
func (s *Source) messages(ctx context.Context, mailbox string, refs []export.ItemRef) (map[string]*message, map[string]error, error) {
	paths := make([]string, len(refs))
	for i, r := range refs {
		paths[i] = messagePath(mailbox, r.ID) + "?$select=" + messageSelect
	}
	metas, errs := map[string]*message{}, map[string]error{}
	err := s.c.BatchGet(ctx, paths, func(i int, body json.RawMessage, err error) error {
		id := refs[i].ID
		if err != nil {
			errs[id] = err
			return nil
		}
		var m message
		if err := json.Unmarshal(body, &m); err != nil {
			return fmt.Errorf("get message %s: %w", id, err)
		}
		metas[id] = &m
		return nil
	})
	return metas, errs, err
}
