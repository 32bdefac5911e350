package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/internal/cmdtest"
)

// testOrg starts the EWS emulator and writes the files a run needs.
func testOrg(t *testing.T, opt ewstest.OrgOptions, sopt *ewstest.Options) (*ewstest.Server, string) {
	t.Helper()
	org := ewstest.Generate(1, opt)
	srv, err := ewstest.Start(org, sopt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	var ldif bytes.Buffer
	if err := org.WriteLDIF(&ldif); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "ad.ldf"), ldif.Bytes(), 0o600)
	os.WriteFile(filepath.Join(dir, "ews.pw"), []byte(srv.Password()+"\n"), 0o600)
	return srv, dir
}

func exportArgs(srv *ewstest.Server, dir string, extra ...string) []string {
	args := []string{"iem-export", "run", "--ews-url", srv.URL(), "--admin-user", srv.Username(),
		"--password-file", filepath.Join(dir, "ews.pw"), "--trust-cert", srv.Fingerprint(),
		"--directory-file", filepath.Join(dir, "ad.ldf"), "--archive", filepath.Join(dir, "archive"), "--log-level", "warn"}
	return append(args, extra...)
}

func runApp(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := newApp(&out, &errb).RunContext(context.Background(), args)
	return out.String(), errb.String(), err
}

func countKinds(t *testing.T, dir string) (map[archive.Kind]int, *archive.Folder) {
	t.Helper()
	f, err := archive.OpenFolder(filepath.Join(dir, "archive"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	n := map[archive.Kind]int{}
	for _, e := range f.View().Entries() {
		n[e.Kind]++
	}
	return n, f
}

func TestExportRounds(t *testing.T) {
	srv, dir := testOrg(t, ewstest.OrgOptions{}, nil)
	out, logs, err := runApp(t, exportArgs(srv, dir, "--public-folders-group", "Public Folders")...)
	if err != nil {
		t.Fatalf("round 1: %v\n%s\n%s", err, out, logs)
	}
	kinds, f := countKinds(t, dir)
	st := srv.Org.Stats()
	t.Logf("round 1: %v\n%s", kinds, out)
	if kinds[archive.KindMessage] == 0 || kinds[archive.KindContact] == 0 || kinds[archive.KindEvent] == 0 || kinds[archive.KindTask] == 0 {
		t.Errorf("round 1 lacks kinds: %v (org %+v)", kinds, st)
	}
	if kinds[archive.KindMailbox] != len(srv.Org.Users) {
		t.Errorf("mailbox entries = %d, want %d", kinds[archive.KindMailbox], len(srv.Org.Users))
	}
	// Every message is the emulator's MIME, byte for byte.
	for _, e := range f.View().Entries() {
		if e.Kind != archive.KindMessage || e.Attrs["rebuilt"] == "1" {
			continue
		}
		want := srv.Org.MIME(e.ID)
		rc, err := f.Open(e)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if want != nil && !bytes.Equal(got, want) {
			t.Errorf("message %s differs from the source MIME", e.ID)
		}
	}
	f.Close()

	// Round 2 on an unchanged organisation writes only markers.
	out, logs, err = runApp(t, exportArgs(srv, dir, "--public-folders-group", "Public Folders")...)
	if err != nil {
		t.Fatalf("round 2: %v\n%s", err, logs)
	}
	if !strings.Contains(out, "round 2:") || !strings.Contains(out, " 0 items exported") {
		t.Errorf("unchanged round 2 exported items:\n%s", out)
	}

	// Round 3 after changes: new, changed, moved, deleted, read-flag changes.
	srv.NextRound(2)
	out, logs, err = runApp(t, exportArgs(srv, dir, "--public-folders-group", "Public Folders")...)
	if err != nil {
		t.Fatalf("round 3: %v\n%s", err, logs)
	}
	_, f3 := countKinds(t, dir)
	hist := map[archive.Kind]int{}
	f3.Walk(func(e *archive.Entry) error {
		if e.Round == 3 {
			hist[e.Kind]++
		}
		return nil
	})
	if hist[archive.KindTombstone] == 0 || hist[archive.KindState] == 0 || hist[archive.KindMessage] == 0 {
		t.Errorf("round 3 entries %v: want tombstones, state changes and new messages\n%s", hist, out)
	}
	// The archive's view matches the organisation now: same inbox ids.
	for _, u := range srv.Org.Users {
		for _, id := range srv.Org.FolderItems(u.SMTP, "inbox") {
			if _, ok := f3.View().Item(u.SMTP, id); !ok {
				t.Errorf("%s inbox item %s missing from the archive view", u.SMTP, id)
			}
		}
	}
	if err := f3.Verify(); err != nil {
		t.Fatal(err)
	}
}

func TestExportBadInput(t *testing.T) {
	srv, dir := testOrg(t, ewstest.OrgOptions{Users: 1}, nil)
	base := exportArgs(srv, dir)
	set := func(flag, value string) []string {
		out := append([]string(nil), base...)
		for i := range out {
			if out[i] == flag {
				out[i+1] = value
				return out
			}
		}
		return append(out, flag, value)
	}
	tests := []struct {
		name  string
		args  []string
		field string
	}{
		{"http ews url", set("--ews-url", "http://mail.example.com/EWS/Exchange.asmx"), "ews-url"},
		{"ftp ews url", set("--ews-url", "ftp://mail.example.com/"), "ews-url"},
		{"no host", set("--ews-url", "https:///EWS/Exchange.asmx"), "ews-url"},
		{"non-ldap directory", append(cmdtest.Without(base, "--directory-file"), "--directory-url", "https://dc1.example.com"), "directory-url"},
		{"both directories", append(base, "--directory-url", "ldap://dc1.example.com"), "directory-file"},
		{"missing password file", set("--password-file", "/nonexistent/pw"), "password-file"},
		{"bad trust pin", set("--trust-cert", "md5:abc"), "trust-cert"},
		{"bad auth", set("--auth", "kerberos"), "auth"},
		{"jobs zero", set("--jobs", "0"), "jobs"},
		{"start year", set("--start-year", "1800"), "start-year"},
		{"unknown mailbox", set("--mailbox", "nobody@example.com"), "mailbox"},
		{"unknown group", set("--group", "no-such-group"), "group"},
		{"log level", set("--log-level", "loud"), "log-level"},
		{"volume size", set("--volume-size", "1000"), "volume-size"},
		{"bad recipient", set("--encrypt-to", "age1notakey"), "encrypt-to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := srv.Requests("")
			_, _, err := runApp(t, tt.args...)
			var ue *cliutil.UsageError
			if !errors.As(err, &ue) || ue.Field != tt.field {
				t.Fatalf("run = %v, want a usage error naming --%s", err, tt.field)
			}
			if cliutil.ExitCode(err) != cliutil.ExitUsage {
				t.Errorf("exit code %d, want 2", cliutil.ExitCode(err))
			}
			if tt.field != "mailbox" && tt.field != "group" && srv.Requests("") != before {
				t.Errorf("a network call was made before the input was checked")
			}
			if tt.field != "mailbox" && tt.field != "group" {
				if _, err := os.Stat(filepath.Join(dir, "archive")); err == nil {
					t.Errorf("archive folder created for bad input")
				}
			}
		})
	}
}
