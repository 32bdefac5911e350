package graphtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
)

// graph routes the /v1.0/ calls after the token check and the faults.
func (e *Emulator) graph(w http.ResponseWriter, r *http.Request) {
	if !e.authorized(w, r) {
		return
	}
	e.count(func(c *Counters) { c.GraphRequests++ })
	if e.throttled(w, r) {
		return
	}
	segs := splitPath(strings.TrimPrefix(r.URL.Path, "/v1.0/"))
	if !e.permitted(w, segs) {
		return
	}
	if len(segs) >= 2 && segs[0] == "users" {
		leave, ok := e.enterMailbox(w, segs[1])
		if !ok {
			return
		}
		defer leave()
	}
	if len(segs) == 1 && segs[0] == "$batch" && r.Method == http.MethodPost {
		e.batch(w, r)
		return
	}
	if r.Method != http.MethodGet {
		graphError(w, http.StatusMethodNotAllowed, "Request_BadRequest", "Only GET is emulated.")
		return
	}
	switch {
	case len(segs) == 1 && segs[0] == "users":
		e.listUsers(w, r)
	case len(segs) == 1 && segs[0] == "groups":
		e.listGroups(w, r)
	case len(segs) == 3 && segs[0] == "groups" && (segs[2] == "members" || segs[2] == "transitiveMembers"):
		e.groupMembers(w, r, segs[1])
	case len(segs) >= 2 && segs[0] == "users":
		e.mailbox(w, r, segs[1], segs[2:])
	default:
		graphError(w, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+strings.Join(segs, "/")+"'.")
	}
}

// splitPath splits a path and rewrites OData key syntax seg('id') to
// seg/id, which nextLinks use [V graph.md §11 W1 note].
func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s == "" {
			continue
		}
		if i := strings.Index(s, "('"); i > 0 && strings.HasSuffix(s, "')") {
			out = append(out, s[:i], s[i+2:len(s)-2])
			continue
		}
		out = append(out, s)
	}
	return out
}

// batch serves JSON batching: at most 20 requests, each answered as its own
// request would be, dependsOn honoured by running in order [V graph.md §7,
// GDOC concepts/json-batching.md].
func (e *Emulator) batch(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Requests []struct {
			ID, Method, URL string
			Headers         map[string]string
			DependsOn       []string `json:"dependsOn"`
		}
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
		graphError(w, http.StatusBadRequest, "BadRequest", "Invalid batch payload format.")
		return
	}
	if len(in.Requests) > 20 {
		graphError(w, http.StatusBadRequest, "BadRequest", "Limit of 20 requests in a batch exceeded.")
		return
	}
	status := map[string]int{}
	var out []any
	for _, q := range in.Requests {
		failed := false
		for _, d := range q.DependsOn {
			if st := status[d]; st == 0 || st >= 400 {
				failed = true
			}
		}
		if failed {
			status[q.ID] = http.StatusFailedDependency
			out = append(out, map[string]any{"id": q.ID, "status": 424, "body": map[string]any{"error": map[string]any{"code": "FailedDependency", "message": "Request failed due to failed dependency."}}})
			continue
		}
		u := "/v1.0/" + strings.TrimPrefix(q.URL, "/")
		sub := httptest.NewRequest(q.Method, u, nil)
		sub.Header.Set("Authorization", r.Header.Get("Authorization"))
		for k, v := range q.Headers {
			sub.Header.Set(k, v)
		}
		sub.RemoteAddr, sub.Host = r.RemoteAddr, r.Host
		rec := httptest.NewRecorder()
		e.graph(rec, sub)
		status[q.ID] = rec.Code
		hdr := map[string]string{}
		for k := range rec.Header() {
			hdr[k] = rec.Header().Get(k)
		}
		resp := map[string]any{"id": q.ID, "status": rec.Code, "headers": hdr}
		body := rec.Body.Bytes()
		if json.Valid(body) {
			resp["body"] = json.RawMessage(bytes.TrimSpace(body))
		} else {
			resp["body"] = body // base64, as Graph returns non-JSON bodies [I]
		}
		out = append(out, resp)
	}
	writeJSON(w, map[string]any{"responses": out})
}

// page applies $top / Prefer: odata.maxpagesize and $skiptoken (an offset
// here [I: opaque in Graph]) to n items, and returns the range and the
// nextLink ("" on the last page).
func (e *Emulator) page(r *http.Request, n, def int) (lo, hi int, next string) {
	size := def
	if t := atoiDef(r.URL.Query().Get("$top"), 0); t > 0 {
		size = t
	}
	if p := r.Header.Get("Prefer"); strings.Contains(p, "odata.maxpagesize=") {
		size = atoiDef(strings.Split(strings.SplitAfter(p, "odata.maxpagesize=")[1], ",")[0], size)
	}
	lo = atoiDef(r.URL.Query().Get("$skiptoken"), 0)
	hi = min(n, lo+size)
	lo = min(lo, hi)
	if hi < n {
		q := r.URL.Query()
		q.Set("$skiptoken", itoa(hi))
		next = e.baseURL() + r.URL.Path + "?" + q.Encode()
	}
	return lo, hi, next
}

func atoiDef(s string, def int) int {
	n := 0
	if s == "" {
		return def
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return def
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// collection writes {"@odata.context", "@odata.nextLink"?, "value"}
// [V GDOC concepts/paging.md; graph.md §11 W1].
func (e *Emulator) collection(w http.ResponseWriter, r *http.Request, ctx string, items []any, def int) {
	lo, hi, next := e.page(r, len(items), def)
	m := map[string]any{"@odata.context": e.GraphURL() + "/$metadata#" + ctx, "value": nonNil(items[lo:hi])}
	if next != "" {
		m["@odata.nextLink"] = next
	}
	writeJSON(w, m)
}

func nonNil(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}

var _ = url.Values{}
