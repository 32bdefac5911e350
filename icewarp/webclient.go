package icewarp

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
)

// The WebClient's settings of an account (its default folders among them,
// icewarp.md §1.7) are reached without the mail path through a WebClient
// session the administrator opens on the account's behalf; the chain is
// the one IceWarp staff scripts use:
//  1. admin API "impersonatewebclient" <email> → a result appended to
//     https://host/webmail/ [V MS getwctoken.sh, iwwctest.sh];
//  2. GET that URL → cookie PHPSESSID_LOGIN=wm… [V MS iwwctest.sh];
//  3. POST /webmail/server/webmail.php <iq type="set"><query
//     xmlns="webmail:iq:auth"><session>wm…</session></query></iq> → <iq
//     sid="wm-…"> [V MS iwwctest.sh, icewarp_wclogin.sh];
//  4. <iq sid="wm-…" type="get"><query xmlns="webmail:iq:private"><resources>
//     <default_folders/></resources></query></iq> reads the settings
//     [V MS iwwctest.sh asks for <default_folders/> this way];
//  5. logout: <iq sid="wm-…" type="set"><query xmlns="webmail:iq:auth"/></iq>
//     [V MS iwwctest.sh].
//
// INFERRED: that the response to 4 holds <default_folders><item>… as
// settings.xml does; that the same request with type="set" and the
// entries inside <default_folders><item> stores them; that /webmail/ is
// served on the admin API's host and port. A real server may differ: an
// error there is reported per account and the other accounts go on.

// WebClientDefaultFolders returns the account's <default_folders> entries
// (drafts, sent, trash, …: "<email>/<folder>") read through a WebClient
// session.
func (a *Admin) WebClientDefaultFolders(ctx context.Context, email string) (map[string]string, error) {
	var out map[string]string
	err := a.webClient(ctx, email, func(wc *webClient) error {
		root, err := wc.post(ctx, "get", `<default_folders/>`)
		if err != nil {
			return err
		}
		out = map[string]string{}
		item := findPath(root, "default_folders", "item")
		if item != nil {
			for _, c := range item.Elems() {
				out[strings.ToLower(c.Local)] = strings.TrimSpace(c.Text())
			}
		}
		return nil
	})
	return out, err
}

// SetWebClientDefaultFolders stores the given <default_folders> entries
// through a WebClient session (INFERRED request, see above).
func (a *Admin) SetWebClientDefaultFolders(ctx context.Context, email string, set map[string]string) error {
	var b bytes.Buffer
	b.WriteString("<default_folders><item>")
	for _, k := range slices.Sorted(maps.Keys(set)) {
		fmt.Fprintf(&b, "<%s>", k)
		xml.EscapeText(&b, []byte(set[k]))
		fmt.Fprintf(&b, "</%s>", k)
	}
	b.WriteString("</item></default_folders>")
	return a.webClient(ctx, email, func(wc *webClient) error {
		_, err := wc.post(ctx, "set", b.String())
		return err
	})
}

type webClient struct {
	a      *Admin
	client *http.Client
	php    string // webmail.php URL
	sid    string
}

// webClient opens a WebClient session for email, runs fn, and logs out.
func (a *Admin) webClient(ctx context.Context, email string, fn func(*webClient) error) error {
	res, err := a.call(ctx, "impersonatewebclient", email, el("commandparams", leaf("email", email)))
	if err != nil {
		return err
	}
	token := strings.TrimSpace(res.Text())
	if token == "" {
		return fmt.Errorf("icewarp: impersonatewebclient %s: empty result", email)
	}
	api, err := url.Parse(a.url)
	if err != nil {
		return err
	}
	base := &url.URL{Scheme: api.Scheme, Host: api.Host, Path: "/webmail/"}
	login, err := base.Parse(token)
	if err != nil {
		return fmt.Errorf("icewarp: impersonatewebclient %s: result %q: %w", email, token, err)
	}
	jar, _ := cookiejar.New(nil)
	c := *a.client
	c.Jar = jar
	wc := &webClient{a: a, client: &c, php: base.JoinPath("server", "webmail.php").String()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, login.String(), nil)
	if err != nil {
		return err
	}
	resp, err := wc.client.Do(req)
	if err != nil {
		return fmt.Errorf("icewarp: webclient login %s: %w", email, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	resp.Body.Close()
	var session string
	for _, ck := range jar.Cookies(base) {
		if ck.Name == "PHPSESSID_LOGIN" {
			session = ck.Value
		}
	}
	if session == "" {
		return fmt.Errorf("icewarp: webclient login %s: no PHPSESSID_LOGIN cookie (HTTP %d)", email, resp.StatusCode)
	}
	var sb bytes.Buffer
	sb.WriteString(`<iq type="set"><query xmlns="webmail:iq:auth"><session>`)
	xml.EscapeText(&sb, []byte(session))
	sb.WriteString(`</session></query></iq>`)
	root, err := wc.send(ctx, sb.Bytes())
	if err != nil {
		return err
	}
	if wc.sid = root.Attr("sid"); wc.sid == "" {
		return fmt.Errorf("icewarp: webclient session %s: no sid", email)
	}
	defer wc.send(context.WithoutCancel(ctx), []byte(`<iq sid="`+xmlAttr(wc.sid)+`" type="set"><query xmlns="webmail:iq:auth"/></iq>`))
	return fn(wc)
}

// post sends a webmail:iq:private request of type typ with resources.
func (wc *webClient) post(ctx context.Context, typ, resources string) (*node, error) {
	body := `<iq sid="` + xmlAttr(wc.sid) + `" type="` + typ + `"><query xmlns="webmail:iq:private"><resources>` +
		resources + `</resources></query></iq>`
	return wc.send(ctx, []byte(body))
}

func (wc *webClient) send(ctx context.Context, body []byte) (*node, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, wc.php, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	resp, err := wc.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("icewarp: webclient: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("icewarp: webclient: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &HTTPError{Command: "webmail.php", StatusCode: resp.StatusCode}
	}
	root, err := parse(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w (webmail.php)", err)
	}
	if strings.EqualFold(root.Attr("type"), "error") {
		return nil, fmt.Errorf("icewarp: webclient: error response %.200s", data)
	}
	return root, nil
}

// findPath finds the first element at path below n, at any depth.
func findPath(n *node, path ...string) *node {
	if p := n.Path(path...); p != nil {
		return p
	}
	for _, c := range n.Elems() {
		if p := findPath(c, path...); p != nil {
			return p
		}
	}
	return nil
}

func xmlAttr(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
