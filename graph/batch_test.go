package graph_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/graph"
	"github.com/iemproject/iem/graph/graphtest"
	"github.com/iemproject/iem/internal/retry"
)

// countingTransport counts the requests a client sends, by kind.
type countingTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	n    map[string]int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	kind := "other"
	switch p := r.URL.Path; {
	case strings.HasSuffix(p, "/$batch"):
		kind = "batch"
	case strings.HasSuffix(p, "/$value"):
		kind = "value"
	case strings.Contains(p, "/messages/") && !strings.HasSuffix(p, "/delta"):
		kind = "message"
	}
	c.mu.Lock()
	c.n[kind]++
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

// TestBatchedFetch: a round reads the messages' properties in $batch
// requests of at most 4 (graph.md §7), never one GET per message, and one
// $value per message; an inner 429 is retried after its Retry-After.
func TestBatchedFetch(t *testing.T) {
	org := ewstest.Generate(7, ewstest.OrgOptions{Users: 1})
	srv, err := graphtest.Start(org, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	ct := &countingTransport{next: srv.Client().Transport, n: map[string]int{}}
	hc := &http.Client{Transport: ct}
	ts, err := graph.NewTokenSource(graph.Credentials{Login: srv.Authority()[:len(srv.Authority())-len(srv.Tenant())-1],
		Tenant: srv.Tenant(), ClientID: srv.ClientID(), Secret: srv.ClientSecret()}, hc)
	if err != nil {
		t.Fatal(err)
	}
	c, err := graph.NewClient(srv.GraphURL(), ts, hc, retry.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	messages := 0
	var someID string
	for _, u := range org.Users {
		for _, f := range org.Folders(u.SMTP) {
			for _, it := range f.Items {
				if f.Class == "IPF.Note" && it.Type == "Message" {
					messages++
					someID = strings.NewReplacer("+", "-", "/", "_").Replace(it.ID)
				}
			}
		}
	}
	srv.Inject(graphtest.Fault{Kind: graphtest.Fault429, Path: "/messages/" + someID, RetryAfter: 200 * time.Millisecond})
	s := runExport(t, org, graph.NewSource(c), t.TempDir(), "")
	if s.Exported == 0 || messages == 0 {
		t.Fatalf("exported %d of %d messages", s.Exported, messages)
	}
	ct.mu.Lock()
	n := ct.n
	ct.mu.Unlock()
	if n["value"] != messages || n["batch"] == 0 || n["batch"]*4 < messages || n["batch"] >= messages {
		t.Errorf("%d messages: %d $value, %d batches; want one $value each and batches of up to 4", messages, n["value"], n["batch"])
	}
	if n["message"] != 1 {
		t.Errorf("%d single message GETs, want only the one retried after the inner 429", n["message"])
	}
	if cn := srv.Counters(); cn.Throttled != 1 || cn.HonouredWaits != 1 || cn.EarlyRetries != 0 {
		t.Errorf("inner 429: counters %+v, want it retried after its Retry-After", cn)
	}
}
