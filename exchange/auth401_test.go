package exchange_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/iemproject/iem/exchange"
	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/internal/retry"
)

// exportCall is what an export does first for a mailbox: detect the
// server version (GetFolder), then SyncFolderItems of the inbox.
func exportCall(c *exchange.Client) error {
	_, err := c.SyncFolderItems(context.Background(), alice, "inbox", "", func(exchange.ItemChange) error { return nil })
	return err
}

func authError(t *testing.T, err error) *exchange.AuthError {
	t.Helper()
	var ae *exchange.AuthError
	if !errors.Is(err, exchange.ErrUnauthorized) || !errors.As(err, &ae) {
		t.Fatalf("err = %v, want an *AuthError matching ErrUnauthorized", err)
	}
	if errors.Is(err, retry.ErrExhausted) {
		t.Errorf("err = %v: the 401 went through retries", err)
	}
	return ae
}

// TestRefusedLoginOnce: a wrong password costs exactly one refused login
// per client, whatever the user name form, however many calls follow, and
// the error says what was sent without the password.
func TestRefusedLoginOnce(t *testing.T) {
	const wrong = "Wr0ng-Pa55word-xyz"
	for _, c := range []struct {
		user, form string
	}{
		{`EXAMPLE\admin`, `user name "EXAMPLE\admin" (down-level DOMAIN\user form)`},
		{"admin@example.com", `user principal name "admin@example.com"`},
		{"admin", `plain user name "admin"`},
	} {
		t.Run(c.user, func(t *testing.T) {
			so := &ewstest.Options{}
			if c.user == "admin" {
				so.Username = "admin"
			}
			e := start(t, ewstest.Exchange2016, nil, so, func(o *exchange.Options) {
				o.Username = c.user
				o.Password = wrong
				o.Version = exchange.VersionAuto
			})
			count := e.srv.CountAuth()
			ae := authError(t, exportCall(e.c))
			if !ae.Refused || ae.Repeated || ae.Auth != exchange.AuthBasic || ae.User != c.user || !slices.Equal(ae.Offered, []string{"Basic"}) {
				t.Errorf("AuthError = %+v", ae)
			}
			msg := ae.Error()
			for _, want := range []string{"the server refused the credentials (HTTP 401)", c.form, "sent with Basic authentication", "the server offers Basic"} {
				if !strings.Contains(msg, want) {
					t.Errorf("%q lacks %q", msg, want)
				}
			}
			if strings.Contains(msg, wrong) || strings.Contains(msg, "Pa55") {
				t.Errorf("%q shows the password", msg)
			}
			if n := count.Refused(""); n != 1 || count.Refused("basic") != 1 {
				t.Errorf("server sent %d 401 responses (%d to Basic) for one export call, want exactly 1", n, count.Refused("basic"))
			}
			if len(e.sleeps.all()) != 0 || strings.Contains(e.log.String(), "retrying") {
				t.Errorf("the refused login was retried: sleeps %v, log:\n%s", e.sleeps.all(), e.log)
			}

			// Later calls, even many at once, send nothing.
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					err := exportCall(e.c)
					var ae *exchange.AuthError
					if !errors.As(err, &ae) || !ae.Repeated || !strings.Contains(err.Error(), "not sent again") {
						t.Errorf("later call = %v, want the earlier refusal, repeated", err)
					}
				})
			}
			wg.Wait()
			if _, err := e.c.GetFolder(context.Background(), "", "inbox"); !errors.Is(err, exchange.ErrUnauthorized) {
				t.Errorf("GetFolder = %v", err)
			}
			if n := count.Refused(""); n != 1 {
				t.Errorf("%d 401 responses after 10 calls, want still 1", n)
			}
		})
	}
}

// TestRefusedNTLMOnce: with NTLM a wrong password is one refused handshake
// (anonymous try, NEGOTIATE/CHALLENGE, refused AUTHENTICATE), never a
// second one, and no Basic fallback.
func TestRefusedNTLMOnce(t *testing.T) {
	e := start(t, ewstest.Exchange2013, nil, &ewstest.Options{NTLM: true}, func(o *exchange.Options) {
		o.Auth = exchange.AuthNTLM
		o.Password += "-wrong"
	})
	count := e.srv.CountAuth()
	ae := authError(t, exportCall(e.c))
	want := `the server refused the credentials (HTTP 401): user name "EXAMPLE\admin" (down-level DOMAIN\user form), NTLM handshake refused; the server offers NTLM, Basic`
	if !ae.Refused || ae.Error() != "exchange: "+want || ae.Detail() != want {
		t.Errorf("AuthError = %q (%+v), want %q", ae, ae, want)
	}
	refusals := func() [4]int {
		return [4]int{count.Refused("none"), count.Refused("ntlm-negotiate"), count.Refused("ntlm-authenticate"), count.Refused("basic")}
	}
	if got := refusals(); got != [4]int{1, 1, 1, 0} || count.Refused("") != 3 {
		t.Errorf("401 responses (anonymous, negotiate, authenticate, basic) = %v, want one handshake [1 1 1 0]", got)
	}
	for range 3 {
		exportCall(e.c)
	}
	if got := refusals(); got != [4]int{1, 1, 1, 0} {
		t.Errorf("after more calls: %v, want still [1 1 1 0]", got)
	}
	if e.srv.Requests("") != 0 || len(e.sleeps.all()) != 0 {
		t.Errorf("%d requests served, %d retry sleeps", e.srv.Requests(""), len(e.sleeps.all()))
	}
}

// TestNTLMNotOffered: an NTLM client facing a Basic-only server sends no
// credentials, and says so; it is not latched, since nothing was refused.
func TestNTLMNotOffered(t *testing.T) {
	e := start(t, ewstest.Exchange2016, nil, nil, func(o *exchange.Options) { o.Auth = exchange.AuthNTLM })
	count := e.srv.CountAuth()
	for range 2 {
		ae := authError(t, exportCall(e.c))
		if ae.Refused || ae.Repeated || !strings.Contains(ae.Error(), "the server does not offer NTLM (HTTP 401), so no credentials were sent") ||
			!strings.Contains(ae.Error(), "the server offers Basic") {
			t.Errorf("AuthError = %q (%+v)", ae, ae)
		}
	}
	if n, none := count.Refused(""), count.Refused("none"); n != 2 || none != 2 {
		t.Errorf("401 responses: %d, %d anonymous; want 2 anonymous (one per call, no credentials)", n, none)
	}
}

// TestBasicAgainstNTLMServer: the message lists what the server offers.
func TestBasicAgainstNTLMServer(t *testing.T) {
	e := start(t, ewstest.Exchange2016, nil, &ewstest.Options{NTLM: true}, func(o *exchange.Options) { o.Password = "wrong" })
	count := e.srv.CountAuth()
	ae := authError(t, exportCall(e.c))
	if !strings.Contains(ae.Error(), "sent with Basic authentication; the server offers NTLM, Basic") || count.Refused("basic") != 1 {
		t.Errorf("AuthError = %q, %d Basic refusals", ae, count.Refused("basic"))
	}
}

// TestWWWAuthenticateParsed: several challenges in one header, quoted
// commas and parameters, and a server that does not offer Basic.
func TestWWWAuthenticateParsed(t *testing.T) {
	var hits atomic.Int32
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Add("WWW-Authenticate", `Negotiate, NTLM`)
		w.Header().Add("WWW-Authenticate", `Bearer realm="a, b", error="invalid_token", ntlm`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer ts.Close()
	c, err := exchange.New(exchange.Options{URL: ts.URL, Username: `EXAMPLE\admin`, Password: "p", TrustCert: exchange.FingerprintOf(ts.Certificate().Raw),
		Version: exchange.Exchange2016, Retry: retry.Policy{Sleep: new(sleeps).sleep}})
	if err != nil {
		t.Fatal(err)
	}
	ae := authError(t, exportCall(c))
	if !slices.Equal(ae.Offered, []string{"Negotiate", "NTLM", "Bearer"}) || !strings.HasSuffix(ae.Error(), "the server offers Negotiate, NTLM, Bearer (not Basic)") {
		t.Errorf("AuthError = %q, offered %q", ae, ae.Offered)
	}
	exportCall(c)
	if hits.Load() != 1 {
		t.Errorf("%d requests, want 1", hits.Load())
	}
}

func TestUserForm(t *testing.T) {
	for in, want := range map[string]string{
		`EXAMPLE\admin`:     `user name "EXAMPLE\admin" (down-level DOMAIN\user form)`,
		"admin@example.com": `user principal name "admin@example.com"`,
		"admin":             `plain user name "admin"`,
		"ad\"min\x01":       `plain user name "ad\"min\x01"`,
	} {
		if got := exchange.UserForm(in); got != want {
			t.Errorf("UserForm(%q) = %q, want %q", in, got, want)
		}
	}
}
