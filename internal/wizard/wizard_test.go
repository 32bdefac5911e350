package wizard

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAskReasksUntilValid(t *testing.T) {
	var out bytes.Buffer
	w := New(strings.NewReader("\nftp://x\nhttps://mail.example.com\n"), &out)
	got, err := w.Ask(Question{Label: "EWS URL", Check: func(s string) (string, error) {
		if !strings.HasPrefix(s, "https://") {
			return "", fmt.Errorf("%q must start with https://", s)
		}
		return s + "/EWS/Exchange.asmx", nil
	}})
	if err != nil || got != "https://mail.example.com/EWS/Exchange.asmx" {
		t.Fatalf("Ask = %q, %v", got, err)
	}
	for _, want := range []string{"✗ EWS URL is required", `✗ "ftp://x" must start with https://`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestAskDefaultsConfirmChoose(t *testing.T) {
	var out bytes.Buffer
	w := New(strings.NewReader("\nmaybe\ny\n2\n"), &out)
	if v, err := w.Ask(Question{Label: "jobs", Default: "2"}); v != "2" || err != nil {
		t.Errorf("Ask default = %q, %v", v, err)
	}
	if ok, err := w.Confirm("pin", false); !ok || err != nil {
		t.Errorf("Confirm = %v, %v", ok, err)
	}
	if i, err := w.Choose("auth", []string{"basic", "ntlm"}, 0); i != 1 || err != nil {
		t.Errorf("Choose = %d, %v", i, err)
	}
	if _, err := w.Ask(Question{Label: "more"}); !errors.Is(err, ErrAborted) {
		t.Errorf("Ask at EOF = %v, want ErrAborted", err)
	}
}

func TestConfigAndSecret(t *testing.T) {
	dir := t.TempDir()
	var c Config
	c.Set("ews-url", "https://x/EWS/Exchange.asmx")
	c.Add("mailbox", "a@x")
	c.Add("mailbox", "b@x")
	c.Set("jobs", "4")
	c.Set("jobs", "")
	p := filepath.Join(dir, "export.conf")
	if err := c.Save(p, "written by a test\nsecond line"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	want := "# written by a test\n# second line\news-url = https://x/EWS/Exchange.asmx\nmailbox = a@x\nmailbox = b@x\n"
	if string(b) != want {
		t.Errorf("config =\n%s\nwant\n%s", b, want)
	}
	s := filepath.Join(dir, "ews.pw")
	if err := WriteSecret(s, "hunter2"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{p, s} {
		if st, err := os.Stat(f); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", f, st.Mode().Perm(), err)
		}
	}
}

func TestChecks(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	os.WriteFile(file, nil, 0o600)
	if _, err := WritableDir(file); err == nil || !strings.Contains(err.Error(), "is not a folder") {
		t.Errorf("WritableDir(file) = %v", err)
	}
	if got, err := WritableDir(filepath.Join(dir, "new", "archive")); err != nil || !filepath.IsAbs(got) {
		t.Errorf("WritableDir(new) = %q, %v", got, err)
	}
	if os.Getuid() != 0 {
		ro := filepath.Join(dir, "ro")
		os.Mkdir(ro, 0o500)
		if _, err := WritableDir(ro); err == nil {
			t.Error("WritableDir accepted a read-only folder")
		}
	}
	check := IntRange(1, 64)
	for v, ok := range map[string]bool{"1": true, "64": true, "0": false, "65": false, "x": false} {
		if _, err := check(v); (err == nil) != ok {
			t.Errorf("IntRange(1, 64)(%q) = %v", v, err)
		}
	}
}

func TestProbeTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	c, err := ProbeTLS(context.Background(), u.Hostname(), u.Port(), false)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(srv.Certificate().Raw)
	if want := "sha256:" + hex.EncodeToString(sum[:]); c.Fingerprint != want || c.Verify() == nil {
		t.Errorf("ProbeTLS = %+v, want %s, not verified", c, want)
	}
	if !SameFingerprint(strings.ToUpper(c.Fingerprint), c.Fingerprint) {
		t.Error("SameFingerprint is case-sensitive")
	}
	srv.Close()
	if _, err := ProbeTLS(context.Background(), u.Hostname(), u.Port(), false); err == nil || !strings.Contains(err.Error(), "not reachable") {
		t.Errorf("ProbeTLS(closed) = %v", err)
	}
}
