package graphtest_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/graph"
	"github.com/iemproject/iem/graph/graphtest"
)

// TestMSALGoTokenLifetime: graph.TokenSource (MSAL for Go) against the
// emulator's token endpoint with the secret. A token the emulator issues
// for 240 s lies inside MSAL's 5-minute refresh window, so every Token
// call of a run fetches a new one and each is accepted by Graph; a token
// issued for an hour is reused. No clock is waited on: the lifetime alone
// decides.
func TestMSALGoTokenLifetime(t *testing.T) {
	for _, tc := range []struct {
		ttl   time.Duration
		fresh bool
	}{{240 * time.Second, true}, {time.Hour, false}} {
		srv, _ := start(t, &graphtest.Options{TokenTTL: tc.ttl})
		login := strings.TrimSuffix(srv.Authority(), "/"+srv.Tenant())
		ts, err := graph.NewTokenSource(graph.Credentials{Login: login, Tenant: srv.Tenant(),
			ClientID: srv.ClientID(), Secret: srv.ClientSecret()}, srv.Client())
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		seen := map[string]bool{}
		for range 3 {
			tok, err := ts.Token(ctx)
			if err != nil {
				t.Fatalf("ttl %v: %v", tc.ttl, err)
			}
			seen[tok] = true
			c := &client{t, srv, tok}
			if resp, _ := c.get("/users"); resp.StatusCode != http.StatusOK {
				t.Fatalf("ttl %v: Graph call with MSAL's token: %d", tc.ttl, resp.StatusCode)
			}
		}
		if want := map[bool]int{true: 3, false: 1}[tc.fresh]; len(seen) != want {
			t.Errorf("ttl %v: %d distinct tokens over 3 calls, want %d", tc.ttl, len(seen), want)
		}
	}
}
