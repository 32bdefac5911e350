package cliutil

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckURL(t *testing.T) {
	tests := []struct {
		raw     string
		schemes []string
		ok      bool
		msg     string
	}{
		{"https://mail.example.com/EWS/Exchange.asmx", []string{"https"}, true, ""},
		{"HTTPS://mail.example.com/EWS/Exchange.asmx", []string{"https"}, true, ""},
		{"http://mail.example.com/EWS/Exchange.asmx", []string{"https"}, false, `scheme "http" not allowed`},
		{"ldap://dc1.example.com", []string{"ldap", "ldaps"}, true, ""},
		{"LDAPS://dc1.example.com:636", []string{"ldap", "ldaps"}, true, ""},
		{"https://dc1.example.com", []string{"ldap", "ldaps"}, false, "use ldap:// or ldaps://"},
		{"https:///EWS", []string{"https"}, false, "has no host"},
		{"", []string{"https"}, false, "required"},
		{"://", []string{"https"}, false, "not a URL"},
	}
	for _, tt := range tests {
		_, err := CheckURL("ews-url", tt.raw, tt.schemes...)
		if tt.ok != (err == nil) {
			t.Errorf("CheckURL(%q) = %v, want ok=%v", tt.raw, err, tt.ok)
			continue
		}
		if err != nil {
			if !strings.Contains(err.Error(), "--ews-url") || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("CheckURL(%q) = %q, want the field and %q", tt.raw, err, tt.msg)
			}
			if ExitCode(err) != ExitUsage {
				t.Errorf("ExitCode(%v) = %d, want %d", err, ExitCode(err), ExitUsage)
			}
		}
	}
}

func TestSecret(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "pw")
	os.WriteFile(f, []byte("s3cret\r\n"), 0o600)
	if s, err := Secret("password-file", f, ""); err != nil || s != "s3cret" {
		t.Errorf("Secret(file) = %q, %v", s, err)
	}
	t.Setenv("IEM_TEST_PW", "fromenv")
	if s, err := Secret("password-file", "", "IEM_TEST_PW"); err != nil || s != "fromenv" {
		t.Errorf("Secret(env) = %q, %v", s, err)
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	for _, c := range []struct{ file, env string }{{empty, ""}, {filepath.Join(dir, "missing"), ""}, {"", "IEM_TEST_UNSET"}} {
		_, err := Secret("password-file", c.file, c.env)
		var ue *UsageError
		if !errors.As(err, &ue) || ue.Field != "password-file" {
			t.Errorf("Secret(%q, %q) = %v, want a usage error naming password-file", c.file, c.env, err)
		}
	}
}

func TestExitCode(t *testing.T) {
	if ExitCode(nil) != 0 || ExitCode(errors.New("x")) != 1 || ExitCode(ErrPartial) != 3 || ExitCode(Interrupted(errors.New("c"))) != 130 {
		t.Error("exit codes do not match the documentation")
	}
	// A server check cut off by Ctrl-C reads like bad input; it is an interruption.
	if c := ExitCode(Interrupted(Usagef("ews-url", "not reachable: operation was canceled"))); c != 130 {
		t.Errorf("an interrupted check exits %d, want 130", c)
	}
}
