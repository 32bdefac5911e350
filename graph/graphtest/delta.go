package graphtest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// deltaState is what a delta or skip token stands for: the item versions
// the client has seen (etag by id) and, for a round being paged, the
// remaining changes.
type deltaState struct {
	seen    map[string]string
	pending []any
	next    map[string]string // seen after the round
	filter  *receivedFilter   // the first round's $filter, kept in its tokens (listing.go)
}

// delta serves a delta round over items (the current objects, each with
// "id" and "@odata.etag" or comparable fields): the first call (no token)
// returns everything; a $deltatoken call the created/updated ones and
// {"id","@removed":{"reason":"deleted"}} for gone ones; pages carry
// @odata.nextLink ($skiptoken) and the last one @odata.deltaLink
// ($deltatoken) [V graph.md §4.2, §11 W1-W3 GDOC concepts/delta-query-messages.md].
func (e *Emulator) delta(w http.ResponseWriter, r *http.Request, ctx string, items []any) {
	q := r.URL.Query()
	flt, err := parseReceivedFilter(q.Get("$filter"))
	if err != nil {
		// [I: the error shape of an unsupported $filter is not recorded]
		graphError(w, http.StatusBadRequest, "BadRequest", "Invalid filter clause: "+err.Error())
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var st *deltaState
	if sk := q.Get("$skiptoken"); sk != "" {
		st = e.deltas[sk]
		if st == nil {
			e.mu.Unlock()
			e.deltaGone(w, r)
			e.mu.Lock()
			return
		}
	} else {
		var seen map[string]string
		if dt := q.Get("$deltatoken"); dt != "" {
			old := e.deltas[dt]
			if old == nil {
				e.mu.Unlock()
				e.deltaGone(w, r)
				e.mu.Lock()
				return
			}
			seen, flt = old.seen, old.filter
		}
		st = &deltaState{next: map[string]string{}, filter: flt}
		cur := map[string]bool{}
		for _, it := range flt.apply(items, e.filterCap()) {
			m := it.(map[string]any)
			id := m["id"].(string)
			v := fmt.Sprint(m)
			cur[id] = true
			st.next[id] = v
			if seen == nil || seen[id] != v {
				st.pending = append(st.pending, it)
			}
		}
		for id := range seen {
			if !cur[id] {
				st.pending = append(st.pending, map[string]any{"id": id, "@removed": map[string]any{"reason": "deleted"}})
			}
		}
	}
	size := 10
	if p := r.Header.Get("Prefer"); strings.Contains(p, "odata.maxpagesize=") {
		size = atoiDef(strings.Split(strings.SplitAfter(p, "odata.maxpagesize=")[1], ",")[0], size)
	}
	n := min(size, len(st.pending))
	out := st.pending[:n]
	rest := &deltaState{pending: st.pending[n:], next: st.next, filter: st.filter}
	e.seq++
	tok := fmt.Sprintf("GwcBoTmPuo%06d", e.seq)
	key := "$skiptoken"
	if len(rest.pending) == 0 {
		key = "$deltatoken"
		rest = &deltaState{seen: st.next, filter: st.filter}
	}
	e.deltas[tok] = rest
	link := e.base + r.URL.Path + "?" + key + "=" + url.QueryEscape(tok)
	m := map[string]any{"@odata.context": e.base + "/v1.0/$metadata#" + ctx, "value": nonNil(out)}
	if key == "$skiptoken" {
		m["@odata.nextLink"] = link
	} else {
		m["@odata.deltaLink"] = link
	}
	writeJSON(w, m)
}

// InvalidateDeltaTokens forgets every delta and skip token, as if they
// expired.
func (e *Emulator) InvalidateDeltaTokens() {
	e.mu.Lock()
	e.deltas = map[string]*deltaState{}
	e.mu.Unlock()
}

// deltaGone answers an expired or unknown token with 410 Gone
// syncStateNotFound and a Location to restart from [I: Microsoft Learn
// "Use delta query to track changes" (delta-query-overview): "410 Gone"
// with a Location header for a full resync; code name not re-read].
func (e *Emulator) deltaGone(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Location", e.baseURL()+r.URL.Path)
	graphError(w, http.StatusGone, "syncStateNotFound", "The sync state generation is not found or is expired. Please perform a full sync.")
}
