package main

import (
	"bytes"
	"context"
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
