package console

import (
	"context"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/iemproject/iem/internal/cliutil"
)

// testFlags stand in for a command's flags.
func testFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "config"},
		&cli.StringFlag{Name: "archive"},
		&cli.Int64Flag{Name: "volume-size", Value: 1 << 30},
		&cli.StringSliceFlag{Name: "encrypt-to"},
		&cli.StringFlag{Name: "passphrase-file"},
		&cli.StringSliceFlag{Name: "identity"},
		&cli.IntFlag{Name: "jobs", Value: 2},
	}
}

// startConsole serves an export console over testFlags; the client has
// no cookie yet.
func startConsole(t *testing.T) (*Server, *http.Client, string) {
	t.Helper()
	s, err := NewServer(Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := NewExport(context.Background(), s, ExportSide{Flags: testFlags(), ConfigPath: filepath.Join(dir, "export.conf")}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	jar, _ := cookiejar.New(nil)
	return s, &http.Client{Jar: jar}, strings.TrimSuffix(strings.SplitN(s.URL(), "?", 2)[0], "/")
}

func status(t *testing.T, c *http.Client, req *http.Request) int {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func get(t *testing.T, c *http.Client, u string) int {
	req, _ := http.NewRequest("GET", u, nil)
	return status(t, c, req)
}

func TestAccessToken(t *testing.T) {
	s, c, base := startConsole(t)
	if got := get(t, c, base+"/export/start"); got != http.StatusForbidden {
		t.Errorf("no token: status %d, want 403", got)
	}
	if got := get(t, c, base+"/?token=0123"+s.token[4:]); got != http.StatusForbidden {
		t.Errorf("wrong token: status %d, want 403", got)
	}
	if got := get(t, c, base+"/export/start"); got != http.StatusForbidden {
		t.Errorf("after a wrong token: status %d, want 403", got)
	}
	if got := get(t, c, s.URL()); got != http.StatusOK { // redirected to the first step, the cookie set
		t.Errorf("the printed URL: status %d, want 200", got)
	}
	if got := get(t, c, base+"/export/review"); got != http.StatusOK {
		t.Errorf("with the cookie: status %d, want 200", got)
	}
	u, _ := url.Parse(base)
	if len(c.Jar.Cookies(u)) == 0 {
		t.Errorf("no cookie set")
	}
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == s.cookie && ck.Value != s.token {
			t.Errorf("cookie %q, want the token", ck.Value)
		}
	}
}

func TestCrossSitePost(t *testing.T) {
	s, c, base := startConsole(t)
	get(t, c, s.URL())
	post := func(csrf, origin string) int {
		req, _ := http.NewRequest("POST", base+"/export/validate?step=start", strings.NewReader("archive=x"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		return status(t, c, req)
	}
	if got := post("", ""); got != http.StatusForbidden {
		t.Errorf("POST without the CSRF token: status %d, want 403", got)
	}
	if got := post("nope", ""); got != http.StatusForbidden {
		t.Errorf("POST with a wrong CSRF token: status %d, want 403", got)
	}
	if got := post(s.csrf, "https://evil.example"); got != http.StatusForbidden {
		t.Errorf("cross-site POST: status %d, want 403", got)
	}
	if got := post(s.csrf, base); got != http.StatusOK {
		t.Errorf("same-site POST with the token: status %d, want 200", got)
	}
}

func TestListenNeedsTLS(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "192.0.2.10:8443", ":8080", "[::]:0"} {
		_, err := NewServer(Options{Listen: addr})
		var ue *cliutil.UsageError
		if !errors.As(err, &ue) || ue.Field != "listen" || !strings.Contains(ue.Msg, "--tls-cert") {
			t.Errorf("listen %s without TLS: %v, want a usage error of listen asking for --tls-cert", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:0", "[::1]:0"} {
		if err := CheckListen(addr, false); err != nil {
			t.Errorf("listen %s: %v", addr, err)
		}
	}
	if err := CheckListen("0.0.0.0:8443", true); err != nil {
		t.Errorf("listen 0.0.0.0 with TLS: %v", err)
	}
	if _, err := NewServer(Options{Listen: "0.0.0.0:0", TLSCert: "c.pem"}); err == nil || !strings.Contains(err.Error(), "both") {
		t.Errorf("a certificate without its key: %v", err)
	}
}
