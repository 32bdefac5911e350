package graphtest

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"
)

// DeltaFilterCap is how many messages a messages/delta with a
// receivedDateTime $filter returns at most [V graph.md §4.2: "$filter only
// receivedDateTime ge|gt {value} and then max 5,000 messages"].
const DeltaFilterCap = 5000

// receivedFilter is the one $filter messages/delta supports:
// receivedDateTime ge|gt {value} [V graph.md §4.2]. nil: no filter.
type receivedFilter struct {
	gt bool // gt, else ge
	t  time.Time
}

// parseReceivedFilter parses "receivedDateTime ge 2024-01-01T00:00:00Z"
// (or gt); "" is no filter, anything else an error.
func parseReceivedFilter(s string) (*receivedFilter, error) {
	if s == "" {
		return nil, nil
	}
	f := strings.Fields(s)
	if len(f) != 3 || !strings.EqualFold(f[0], "receivedDateTime") || (f[1] != "ge" && f[1] != "gt") {
		return nil, errors.New("only receivedDateTime ge|gt {value} is supported on messages/delta")
	}
	t, err := time.Parse(time.RFC3339, f[2])
	if err != nil {
		return nil, err
	}
	return &receivedFilter{gt: f[1] == "gt", t: t}, nil
}

// apply keeps the messages (messageJSON maps) the filter matches and of
// them at most limit (DeltaFilterCap), the most recently received [I: which 5,000
// Graph keeps is not documented; its only $orderby on delta is
// receivedDateTime desc, graph.md §4.2]. The rest are never reported, in
// this round or later ones from its deltaLink [I].
func (f *receivedFilter) apply(items []any, limit int) []any {
	if f == nil {
		return items
	}
	type dated struct {
		it any
		t  time.Time
	}
	var keep []dated
	for _, it := range items {
		t, err := time.Parse(time.RFC3339, it.(map[string]any)["receivedDateTime"].(string))
		if err == nil && (t.After(f.t) || (!f.gt && t.Equal(f.t))) {
			keep = append(keep, dated{it, t})
		}
	}
	slices.SortStableFunc(keep, func(a, b dated) int { return b.t.Compare(a.t) })
	out := make([]any, 0, min(len(keep), limit))
	for _, d := range keep[:min(len(keep), limit)] {
		out = append(out, d.it)
	}
	return out
}

// noMessageDelta answers messages/delta in a cloud without it (China
// 21Vianet [V graph.md §8: message delta not available there]). The
// response there is not recorded: 400 BadRequest with the message Graph
// gives for an unknown path segment is assumed [I].
func noMessageDelta(w http.ResponseWriter) {
	graphError(w, http.StatusBadRequest, "BadRequest", "Resource not found for the segment 'delta'.")
}

// SetNoMessageDelta switches messages/delta off (as Options.NoMessageDelta)
// or on again.
func (e *Emulator) SetNoMessageDelta(off bool) {
	e.mu.Lock()
	e.noDelta = off
	e.mu.Unlock()
}

func (e *Emulator) messageDeltaOff() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.noDelta
}

// listMessages serves GET /users/{id}/mailFolders/{id}/messages: the
// folder's messages, 10 a page unless $top or Prefer: odata.maxpagesize
// says otherwise, with @odata.nextLink [V GDOC concepts/paging.md; default
// page size 10 I]. $select keeps the named properties; id, @odata.type
// and @odata.etag are always returned [I: as in the GDOC
// user-list-messages sample, not re-read].
func (e *Emulator) listMessages(w http.ResponseWriter, r *http.Request, f *folderView) {
	var sel []string
	if s := r.URL.Query().Get("$select"); s != "" {
		sel = strings.Split(s, ",")
	}
	items := make([]any, 0, len(f.snap.Items))
	for _, it := range f.snap.Items {
		m := messageJSON(it, restID(f.snap.ID))
		m["changeKey"] = it.ChangeKey
		if sel != nil {
			for k := range m {
				if k != "id" && !strings.HasPrefix(k, "@odata.") && !slices.Contains(sel, k) {
					delete(m, k)
				}
			}
		}
		items = append(items, m)
	}
	e.collection(w, r, "users/messages", items, 10)
}

// filterCap is the cap on a filtered messages/delta (Options.DeltaFilterCap).
func (e *Emulator) filterCap() int {
	if e.opt.DeltaFilterCap > 0 {
		return e.opt.DeltaFilterCap
	}
	return DeltaFilterCap
}
