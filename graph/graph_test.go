package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/internal/retry"
)

// tokenJSON is wire sample W6 (graph.md §2).
const tokenJSON = `{ "token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": "tok%d" }`

// server serves a token endpoint and the Graph handler h over TLS.
func server(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	var tokens atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("POST /tenant/oauth2/v2.0/token", func(w http.ResponseWriter, r *http.Request) {
		n := tokens.Add(1)
		fmt.Fprintf(w, tokenJSON, n)
	})
	mux.HandleFunc("GET /tenant/v2.0/.well-known/openid-configuration", openIDConfig)
	mux.HandleFunc("/v1.0/", h)
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	return srv, &tokens
}

func newClient(t *testing.T, srv *httptest.Server) *Client {
	ts, err := NewTokenSource(Credentials{Login: srv.URL, Tenant: "tenant", ClientID: "app", Secret: "s3cret"}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(srv.URL+"/v1.0", ts, srv.Client(), retry.Policy{Sleep: func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestHTTPRefused(t *testing.T) {
	_, err := NewClient("http://graph.example/v1.0", nil, nil, retry.Policy{})
	if err == nil || !strings.Contains(err.Error(), "--graph-endpoint") {
		t.Fatalf("err = %v, want one naming --graph-endpoint", err)
	}
}

// TestPagesDelta: W1 (a page with nextLink) then W2 (the last page with
// deltaLink), graph.md §11, including the @removed entry of W3.
func TestPagesDelta(t *testing.T) {
	var srv *httptest.Server
	srv, _ = server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("$skiptoken") == "" {
			fmt.Fprintf(w, `{"value":[{"id":"a","isRead":true}],"@odata.nextLink":"%s/v1.0/me/mailfolders('F')/messages/delta?$skiptoken=GwcB"}`, srv.URL)
			return
		}
		fmt.Fprintf(w, `{"value":[{"id":"b","@removed":{"reason":"deleted"}}],"@odata.deltaLink":"%s/v1.0/me/mailfolders('F')/messages/delta?$deltatoken=GwcD"}`, srv.URL)
	})
	c := newClient(t, srv)
	var ids []string
	delta, err := Pages(context.Background(), c, "me/mailfolders/F/messages/delta", func(m struct {
		ID      string          `json:"id"`
		Removed json.RawMessage `json:"@removed"`
	}) error {
		ids = append(ids, m.ID+fmt.Sprint(m.Removed != nil))
		return nil
	})
	if err != nil || strings.Join(ids, ",") != "afalse,btrue" || !strings.HasSuffix(delta, "$deltatoken=GwcD") {
		t.Fatalf("ids %v delta %q err %v", ids, delta, err)
	}
}

// TestErrors: W5 (429 with a fractional Retry-After), a 401 answered by
// one token refresh, and 403 ErrorAccessDenied as ErrBlocked.
func TestErrors(t *testing.T) {
	var calls atomic.Int32
	srv, tokens := server(t, func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch {
		case strings.HasSuffix(r.URL.Path, "/blocked"):
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"error":{"code":"ErrorAccessDenied","message":"Access to OData is disabled."}}`)
		case n == 1:
			w.Header().Set("Retry-After", "2.128")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"error":{"code":"TooManyRequests","message":"Please retry again later."}}`)
		case n == 2:
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":{"code":"InvalidAuthenticationToken","message":"expired"}}`)
		default:
			if r.Header.Get("Authorization") != "Bearer tok2" {
				t.Errorf("authorization %q after refresh", r.Header.Get("Authorization"))
			}
			fmt.Fprint(w, `{"value":[]}`)
		}
	})
	c := newClient(t, srv)
	var v page[struct{}]
	if err := c.Get(context.Background(), "users", &v); err != nil {
		t.Fatal(err)
	}
	if tokens.Load() != 2 || c.Waited() < 2*time.Second {
		t.Fatalf("tokens %d waited %v", tokens.Load(), c.Waited())
	}
	err := c.Get(context.Background(), "users/x/blocked", &v)
	var gerr *Error
	if !errors.Is(err, ErrBlocked) || !errors.As(err, &gerr) || gerr.Code != "ErrorAccessDenied" {
		t.Fatalf("err = %v, want ErrBlocked", err)
	}
}

// TestMessageChanges: a first round (W1, W2 shapes), a round from the
// deltaLink with @removed (W3), and a refused deltaLink.
func TestMessageChanges(t *testing.T) {
	var srv *httptest.Server
	srv, _ = server(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("$deltatoken") {
		case "":
			fmt.Fprintf(w, `{"value":[{"id":"a","@odata.etag":"W/\"1\""}],"@odata.deltaLink":"%s/v1.0/delta?$deltatoken=D1"}`, srv.URL)
		case "D1":
			fmt.Fprintf(w, `{"value":[{"id":"a","@removed":{"reason":"deleted"}}],"@odata.deltaLink":"%s/v1.0/delta?$deltatoken=D2"}`, srv.URL)
		default:
			w.WriteHeader(http.StatusGone)
			fmt.Fprint(w, `{"error":{"code":"SyncStateNotFound","message":"gone"}}`)
		}
	})
	c := newClient(t, srv)
	var got []string
	rec := func(ch export.ItemChange) error { got = append(got, fmt.Sprint(ch.Kind, ch.Ref.ID)); return nil }
	m1, err := c.MessageChanges(context.Background(), "u@x", "inbox", nil, rec)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := c.MessageChanges(context.Background(), "u@x", "inbox", m1, rec)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprint(export.Create, "a") + "," + fmt.Sprint(export.Delete, "a")
	if strings.Join(got, ",") != want || !strings.HasSuffix(string(m2), "D2") {
		t.Fatalf("changes %v marker %q", got, m2)
	}
	_, err = c.MessageChanges(context.Background(), "u@x", "inbox", []byte(srv.URL+"/v1.0/delta?$deltatoken=old"), rec)
	if !errors.Is(err, export.ErrMarkerRejected) {
		t.Fatalf("err = %v, want ErrMarkerRejected", err)
	}
}

// TestMessage: the properties map as the EWS Source reads them (with W3's
// string "isRead"), and $value streams the MIME of W4.
func TestMessage(t *testing.T) {
	const mime = "From: Administrator <admin@contoso.com>\r\nSubject: This email has attachment.\r\n\r\nbody\r\n"
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/$value") {
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprint(w, mime)
			return
		}
		fmt.Fprint(w, `{"id":"m1","isRead":"true","importance":"high","categories":["Red"],"flag":{"flagStatus":"flagged"},"receivedDateTime":"2017-09-04T10:00:00Z"}`)
	})
	c := newClient(t, srv)
	m, err := c.Message(context.Background(), "u@x", "m1")
	if err != nil {
		t.Fatal(err)
	}
	meta := m.meta()
	if !meta.Read || !meta.Flagged || meta.FlagStatus != "Flagged" || meta.Importance != "High" || meta.Categories[0] != "Red" || meta.Received.Year() != 2017 {
		t.Fatalf("meta %+v", meta)
	}
	body, err := c.MIME(context.Background(), "u@x", "m1")
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	if b, _ := io.ReadAll(body); string(b) != mime {
		t.Fatalf("mime %q", b)
	}
}
