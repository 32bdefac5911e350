package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iemproject/iem/internal/cliutil"
)

// TestUsageErrors checks that bad command lines end with exit code 2 and
// name the flag, before anything touches the network or the archive.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	pw := writeFile(t, dir, "pw", "secret")
	base := []string{"run", "--archive", dir, "--api-url", "http://127.0.0.1:1/icewarpapi/", "--admin-user", "admin@example.com",
		"--password-file", pw, "--imap-addr", "127.0.0.1:1"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"run", "--no-such-flag"}, "no-such-flag"},
		{"password as a flag", append(base, "--password", "hunter2"), "--password-file"},
		{"path mode without mail path", append(base, "--mail-mode", "path"), "--mail-path"},
		{"mail path not a folder", append(base, "--mail-mode", "path", "--mail-path", pw), "--mail-path"},
		{"unknown mail mode", append(base, "--mail-mode", "pop3"), "--mail-mode"},
		{"mail owner not numeric", append(base, "--mail-mode", "path", "--mail-path", dir, "--mail-owner", "icewarp"), "--mail-owner"},
		{"server id not numeric", append(base, "--server-id", "x1"), "--server-id"},
		{"webdav layout without folder", append(base, "--webdav-url", "http://127.0.0.1:1/", "--webdav-layout", "{email}/"), "--webdav-layout"},
		{"absolute webdav layout", append(base, "--webdav-url", "http://127.0.0.1:1/", "--webdav-layout", "/{user}/{folder}/"), "--webdav-layout"},
		{"jobs out of range", append(base, "--jobs", "0"), "--jobs"},
		{"plan: unknown flag", []string{"plan", "--archive", dir, "--host", "x"}, "host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := newApp(&out, &out).RunContext(context.Background(), append([]string{"iem-import"}, tt.args...))
			if code := cliutil.ExitCode(err); code != 2 || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("exit %d, error %v; want exit 2 naming %q", code, err, tt.want)
			}
			if entries, _ := readDirNames(dir); len(entries) != 1 {
				t.Errorf("the archive folder changed: %v", entries)
			}
		})
	}
}

// TestPlanReadsRunConfig: plan takes run's config file, using the settings
// it has and skipping the target's; an unknown setting is still an error
// naming the file.
func TestPlanReadsRunConfig(t *testing.T) {
	dir := t.TempDir()
	arch := filepath.Join(dir, "archive")
	os.Mkdir(arch, 0o700)
	writeRound(t, arch, func(r *round) {
		r.mailbox("alice@example.com")
		r.folder("alice@example.com", folder{id: "inbox", name: "Inbox", class: "IPF.Note", dist: "inbox"})
		r.message(msg{mbx: "alice@example.com", folder: "inbox", id: "m1"})
	})
	conf := writeFile(t, dir, "import.conf", "# written by init\narchive = "+arch+"\napi-url = https://mail.example.org:32001/icewarpapi/\n"+
		"admin-user = admin@example.org\npassword-file = /nonexistent\nimap-tls = none\ndomain-map = example.com=example.org\njobs = 4\n")
	var out bytes.Buffer
	if err := newApp(&out, &out).RunContext(context.Background(), []string{"iem-import", "plan", "--config", conf}); err != nil {
		t.Fatalf("plan --config: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "alice@example.org") {
		t.Errorf("plan --config did not apply the domain map:\n%s", out.String())
	}
	bad := writeFile(t, dir, "bad.conf", "archive = "+arch+"\ncolour = blue\n")
	err := newApp(&out, &out).RunContext(context.Background(), []string{"iem-import", "plan", "--config", bad})
	if cliutil.ExitCode(err) != 2 || !strings.Contains(err.Error(), bad+" line 2") || !strings.Contains(err.Error(), "colour") {
		t.Errorf("plan --config with an unknown setting = %v, want exit 2 naming %s line 2", err, bad)
	}
}
