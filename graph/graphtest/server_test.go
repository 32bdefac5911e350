package graphtest_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/graph/graphtest"
)

// These tests speak plain HTTP to the emulator, independent of the graph
// package, and check its answers against the shapes of graph.md.

func start(t *testing.T, opt *graphtest.Options) (*graphtest.Server, *ewstest.Org) {
	t.Helper()
	org := ewstest.Generate(1, ewstest.OrgOptions{})
	srv, err := graphtest.Start(org, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv, org
}

func tokenForm(t *testing.T, srv *graphtest.Server, url_ string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := srv.Client().PostForm(url_, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func secretForm(srv *graphtest.Server) url.Values {
	return url.Values{"client_id": {srv.ClientID()}, "scope": {"https://graph.microsoft.com/.default"},
		"client_secret": {srv.ClientSecret()}, "grant_type": {"client_credentials"}}
}

func token(t *testing.T, srv *graphtest.Server) string {
	st, m := tokenForm(t, srv, srv.TokenURL(), secretForm(srv))
	if st != 200 || m["token_type"] != "Bearer" {
		t.Fatalf("token: %d %v", st, m)
	}
	return m["access_token"].(string)
}

func assertion(t *testing.T, srv *graphtest.Server, key *rsa.PrivateKey, aud string, exp time.Time) string {
	x5t, _ := hexDecode(srv.Thumbprint())
	hdr, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "x5t": base64.RawURLEncoding.EncodeToString(x5t)})
	cl, _ := json.Marshal(map[string]any{"aud": aud, "iss": srv.ClientID(), "sub": srv.ClientID(), "jti": "1",
		"nbf": time.Now().Add(-time.Minute).Unix(), "exp": exp.Unix()})
	in := base64.RawURLEncoding.EncodeToString(hdr) + "." + base64.RawURLEncoding.EncodeToString(cl)
	h := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func hexDecode(s string) ([]byte, error) {
	b := make([]byte, len(s)/2)
	_, err := fmt.Sscanf(s, "%x", &b)
	return b, err
}

func TestTokenEndpoint(t *testing.T) {
	srv, _ := start(t, nil)
	token(t, srv)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	af := func(a string) url.Values {
		return url.Values{"client_id": {srv.ClientID()}, "scope": {"https://graph.microsoft.com/.default"}, "grant_type": {"client_credentials"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}}
	}
	bad := secretForm(srv)
	bad.Set("client_secret", "wrong")
	unknown := secretForm(srv)
	unknown.Set("client_id", "00000000-0000-0000-0000-000000000001")
	for _, c := range []struct {
		name, url string
		form      url.Values
		code      string
	}{
		{"cert", srv.TokenURL(), af(assertion(t, srv, srv.Key(), srv.TokenURL(), time.Now().Add(5*time.Minute))), ""},
		{"unknown tenant", strings.Replace(srv.TokenURL(), srv.Tenant(), "nosuch.onmicrosoft.com", 1), secretForm(srv), "AADSTS90002"},
		{"unknown client", srv.TokenURL(), unknown, "AADSTS700016"},
		{"bad secret", srv.TokenURL(), bad, "AADSTS7000215"},
		{"wrong key", srv.TokenURL(), af(assertion(t, srv, other, srv.TokenURL(), time.Now().Add(5*time.Minute))), "AADSTS700027"},
		{"expired", srv.TokenURL(), af(assertion(t, srv, srv.Key(), srv.TokenURL(), time.Now().Add(-time.Hour))), "AADSTS700024"},
		{"wrong aud", srv.TokenURL(), af(assertion(t, srv, srv.Key(), "https://elsewhere/token", time.Now().Add(5*time.Minute))), "AADSTS700212"},
	} {
		st, m := tokenForm(t, srv, c.url, c.form)
		desc, _ := m["error_description"].(string)
		if c.code == "" && (st != 200 || m["access_token"] == nil) || c.code != "" && (st < 400 || !strings.HasPrefix(desc, c.code)) {
			t.Errorf("%s: %d %v", c.name, st, m)
		}
	}
}

type client struct {
	t   *testing.T
	srv *graphtest.Server
	tok string
}

func (c *client) get(u string, hdr ...string) (*http.Response, []byte) {
	c.t.Helper()
	if !strings.HasPrefix(u, "https://") {
		u = c.srv.GraphURL() + u
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+c.tok)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.srv.Client().Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

type page struct {
	Next  string           `json:"@odata.nextLink"`
	Delta string           `json:"@odata.deltaLink"`
	Value []map[string]any `json:"value"`
	Error *struct{ Code string }
}

func (c *client) page(u string, hdr ...string) (int, page) {
	resp, b := c.get(u, hdr...)
	var p page
	if err := json.Unmarshal(b, &p); err != nil {
		c.t.Fatalf("%s: %v: %s", u, err, b)
	}
	return resp.StatusCode, p
}

// all follows nextLinks and returns every value and the deltaLink.
func (c *client) all(u string, hdr ...string) ([]map[string]any, string) {
	var out []map[string]any
	for u != "" {
		st, p := c.page(u, hdr...)
		if st != 200 {
			c.t.Fatalf("%s: %d %v", u, st, p.Error)
		}
		out = append(out, p.Value...)
		u = p.Next
		if p.Delta != "" {
			return out, p.Delta
		}
	}
	return out, ""
}

func TestDirectory(t *testing.T) {
	srv, org := start(t, nil)
	c := &client{t, srv, token(t, srv)}
	users, _ := c.all("/users?$top=2")
	if len(users) != len(org.Users) {
		t.Fatalf("%d users, org has %d", len(users), len(org.Users))
	}
	if users[0]["mail"] != org.Users[0].SMTP || users[0]["proxyAddresses"].([]any)[0] != "SMTP:"+org.Users[0].SMTP {
		t.Errorf("user 0: %v", users[0])
	}
	groups, _ := c.all("/groups")
	members, _ := c.all("/groups/"+groups[0]["id"].(string)+"/members", "Prefer", "odata.maxpagesize=1")
	if len(members) != len(org.Groups[0].Members) {
		t.Errorf("%d members, want %d", len(members), len(org.Groups[0].Members))
	}
}

func TestMailFoldersDeltaAndValue(t *testing.T) {
	srv, org := start(t, nil)
	c := &client{t, srv, token(t, srv)}
	u := org.Users[0].SMTP
	top, _ := c.all("/users/" + u + "/mailFolders")
	names := map[string]bool{}
	for _, f := range top {
		names[f["displayName"].(string)] = true
	}
	if !names["Inbox"] || !names["Sent Items"] {
		t.Errorf("top folders: %v", names)
	}
	kids, _ := c.all("/users/" + u + "/mailFolders/inbox/childFolders")
	if len(kids) != 1 || kids[0]["displayName"] != "Projekte" {
		t.Errorf("inbox children: %v", kids)
	}
	msgs, dl := c.all("/users/"+u+"/mailFolders/inbox/messages/delta", "Prefer", "odata.maxpagesize=2")
	want := org.FolderItems(u, "inbox")
	if len(msgs) != len(want) || dl == "" {
		t.Fatalf("delta: %d messages (want %d), deltaLink %q", len(msgs), len(want), dl)
	}
	resp, b := c.get("/users/" + u + "/messages/" + msgs[0]["id"].(string) + "/$value")
	if resp.StatusCode != 200 || !bytes.Equal(b, org.MIME(want[0])) {
		t.Errorf("$value: %d, %d bytes, want the org's %d", resp.StatusCode, len(b), len(org.MIME(want[0])))
	}
	// Round 2: the changes show as delta, deletions as @removed.
	org.Mutate(2)
	ch, dl2 := c.all(dl)
	var removed, changed int
	for _, m := range ch {
		if m["@removed"] != nil {
			removed++
		} else {
			changed++
		}
	}
	// Mutate edits one, flips one read flag, moves one out, adds two.
	if removed != 1 || changed != 4 || dl2 == "" {
		t.Errorf("round 2: %d removed, %d changed: %v", removed, changed, ch)
	}
	// The moved message's old id is gone: 404 ErrorItemNotFound.
	for _, m := range ch {
		if m["@removed"] != nil {
			resp, b := c.get("/users/" + u + "/messages/" + m["id"].(string) + "/$value")
			if resp.StatusCode != 404 || !strings.Contains(string(b), "ErrorItemNotFound") {
				t.Errorf("deleted $value: %d %s", resp.StatusCode, b)
			}
		}
	}
	// An unchanged round is empty.
	if ch, _ := c.all(dl2); len(ch) != 0 {
		t.Errorf("round 3: %v", ch)
	}
}

func TestFaults(t *testing.T) {
	srv, org := start(t, &graphtest.Options{TokenTTL: time.Hour})
	c := &client{t, srv, token(t, srv)}
	u := org.Users[0].SMTP
	srv.Inject(graphtest.Fault{Kind: graphtest.Fault429, RetryAfter: 100 * time.Millisecond})
	resp, _ := c.get("/users")
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "0.1" {
		t.Errorf("429: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	time.Sleep(150 * time.Millisecond)
	if resp, _ := c.get("/users"); resp.StatusCode != 200 {
		t.Errorf("after 429: %d", resp.StatusCode)
	}
	srv.Inject(graphtest.Fault{Kind: graphtest.Fault503, RetryAfter: time.Second})
	if resp, _ := c.get("/users"); resp.StatusCode != 503 {
		t.Errorf("503: %d", resp.StatusCode)
	}
	c.get("/users") // too early
	if got := srv.Counters(); got.Throttled != 2 || got.HonouredWaits != 1 || got.EarlyRetries != 1 {
		t.Errorf("counters: %+v", got)
	}

	_, dl := c.all("/users/" + u + "/mailFolders/inbox/messages/delta")
	srv.InvalidateDeltaTokens()
	if st, p := c.page(dl); st != 410 || p.Error == nil || p.Error.Code != "syncStateNotFound" {
		t.Errorf("expired delta token: %d %v", st, p.Error)
	}

	srv.Block(u, true)
	if st, p := c.page("/users/" + u + "/mailFolders"); st != 403 || p.Error.Code != "ErrorAccessDenied" {
		t.Errorf("blocked: %d %v", st, p.Error)
	}
	srv.Block(u, false)

	srv.ExpireTokens()
	if st, p := c.page("/users"); st != 401 || p.Error.Code != "InvalidAuthenticationToken" {
		t.Errorf("expired token: %d %v", st, p.Error)
	}
}

func TestBatch(t *testing.T) {
	srv, org := start(t, nil)
	tok := token(t, srv)
	body := fmt.Sprintf(`{"requests":[{"id":"1","method":"GET","url":"/users/%s/mailFolders/inbox"},{"id":"2","method":"GET","url":"/users/nosuch@example.com/mailFolders"},{"id":"3","method":"GET","url":"/users","dependsOn":["2"]}]}`, org.Users[0].SMTP)
	req, _ := http.NewRequest(http.MethodPost, srv.GraphURL()+"/$batch", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Responses []struct {
			ID     string
			Status int
			Body   map[string]any
		}
	}
	json.NewDecoder(resp.Body).Decode(&out)
	got := map[string]int{}
	for _, r := range out.Responses {
		got[r.ID] = r.Status
	}
	if got["1"] != 200 || got["2"] != 404 || got["3"] != 424 {
		t.Errorf("batch: %v", got)
	}
}

func TestContactsAndEvents(t *testing.T) {
	srv, org := start(t, nil)
	c := &client{t, srv, token(t, srv)}
	u := org.Users[0].SMTP
	contacts, _ := c.all("/users/" + u + "/contacts")
	if len(contacts) != 3 || contacts[0]["surname"] != "Nachname-0" {
		t.Errorf("contacts: %v", contacts)
	}
	if _, dl := c.all("/users/" + u + "/contactFolders/contacts/contacts/delta"); dl == "" {
		t.Error("contacts delta: no deltaLink")
	}
	events, _ := c.all("/users/" + u + "/events")
	masters := 0
	for _, ev := range events {
		if ev["type"] == "seriesMaster" {
			masters++
		}
	}
	if len(events) != 3 || masters != 1 {
		t.Errorf("events: %d, %d series masters", len(events), masters)
	}
}
