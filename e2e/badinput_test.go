package e2e

import (
	"bytes"
	"crypto/sha256"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/internal/cmdtest"
)

// runBin runs one of the built commands and returns its exit code, stdout
// and stderr separately.
func runBin(name string, env []string, args ...string) (code int, stdout, stderr string) {
	cmd := exec.Command(filepath.Join(bin, name), args...)
	cmd.Env = append(append(os.Environ(), "IEM_EWS_PASSWORD=", "IEM_ICEWARP_PASSWORD=", "IEM_LDAP_PASSWORD="), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	return exitCode(err), o.String(), e.String()
}

// tree returns the sha256 of every file below dir by relative path (nil
// when dir does not exist).
func tree(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if ignored(rel) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[rel] = sha256.Sum256(b)
		return nil
	})
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ignored names what a failed run may leave in an archive folder: its
// log file and an empty import ledger.
func ignored(rel string) bool {
	return strings.HasPrefix(rel, "logs"+string(filepath.Separator)) || rel == "iem-import.ledger"
}

func sameTree(a, b map[string][32]byte) (diff []string) {
	for k, v := range a {
		if w, ok := b[k]; !ok {
			diff = append(diff, "removed "+k)
		} else if w != v {
			diff = append(diff, "changed "+k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			diff = append(diff, "added "+k)
		}
	}
	return diff
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
}

// set replaces (or adds) a flag's value in args; cmdtest.Without
// removes one.
func set(args []string, flag, value string) []string {
	out := cmdtest.Without(args, flag)
	return append(out, flag, value)
}

// badBed is one organisation exported once in two rounds (plain) and once
// encrypted; the cases run on copies and against a target that must stay
// empty.
type badBed struct {
	*bed
	exportArgs []string // a complete, working export command line (run …)
	importArgs []string // a complete, working import command line without --archive
	plain      string   // a two-round plain archive
	encrypted  string   // a one-round archive encrypted with pass.txt
}

func newBadBed(t *testing.T) *badBed {
	b := newBed(t, ewstest.OrgOptions{Users: 2, MessagesPerFolder: 3, Contacts: 1, Tasks: 1}, nil)
	bb := &badBed{bed: b}
	bb.exportArgs = []string{"run", "--ews-url", b.ews.URL(), "--admin-user", b.ews.Username(),
		"--password-file", filepath.Join(b.dir, "ews.pw"), "--trust-cert", b.ews.Fingerprint(),
		"--directory-file", filepath.Join(b.dir, "ad.ldf"), "--log-level", "warn"}
	bb.importArgs = []string{"run", "--api-url", b.iw.URL(), "--admin-user", b.iw.AdminEmail(),
		"--password-file", filepath.Join(b.dir, "iw.pw"), "--imap-addr", b.iw.IMAPAddr(), "--imap-tls", "none",
		"--log-level", "warn"}
	bb.plain = filepath.Join(b.dir, "plain")
	for round := 1; round <= 2; round++ {
		if round > 1 {
			b.ews.NextRound(2)
		}
		if c, o, e := runBin("iem-export", nil, append(bb.exportArgs, "--archive", bb.plain)...); c != 0 {
			t.Fatalf("good export: exit %d\n%s%s", c, o, e)
		}
	}
	bb.write("pass.txt", "correct horse battery staple")
	bb.write("wrong-pass.txt", "incorrect horse")
	bb.encrypted = filepath.Join(b.dir, "encrypted")
	if c, o, e := runBin("iem-export", nil, append(bb.exportArgs, "--archive", bb.encrypted,
		"--passphrase-file", filepath.Join(b.dir, "pass.txt"))...); c != 0 {
		t.Fatalf("good encrypted export: exit %d\n%s%s", c, o, e)
	}
	if n := len(b.iw.Accounts()); n != 0 {
		t.Fatalf("target starts with %d accounts", n)
	}
	return bb
}

func (bb *badBed) write(name, body string) string {
	p := filepath.Join(bb.dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		bb.t.Fatal(err)
	}
	return p
}

// volumes returns the volume files of an archive folder, oldest first.
func volumes(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		if _, _, ok := archive.ParseVolumeName(de.Name()); ok {
			out = append(out, filepath.Join(dir, de.Name()))
		}
	}
	if len(out) == 0 {
		t.Fatalf("no volumes in %s", dir)
	}
	return out
}

func TestBadInput(t *testing.T) {
	bb := newBadBed(t)
	dir := bb.dir
	type badCase struct {
		name string
		cmd  string // iem-export or iem-import
		// args builds the command line; arch is the case's archive
		// folder (a fresh path for exports, a copy of plain or encrypted
		// for imports, prepared by prep).
		args func(arch string) []string
		prep func(t *testing.T, arch string) // damages the copy
		src  string                          // archive copied for the case ("" = none)
		code int
		want []string // stderr must name these
		// writes: the target may change (the run imports what is intact)
		writes bool
	}
	exp := func(f func([]string) []string) func(string) []string {
		return func(arch string) []string {
			return f(append(append([]string(nil), bb.exportArgs...), "--archive", arch))
		}
	}
	imp := func(f func([]string) []string) func(string) []string {
		return func(arch string) []string {
			return f(append(append([]string(nil), bb.importArgs...), "--archive", arch))
		}
	}
	verify := func(extra ...string) func(string) []string {
		return func(arch string) []string { return append([]string{"verify", "--archive", arch}, extra...) }
	}
	same := func(a []string) []string { return a }
	wrongEWS := bb.write("wrong-ews.pw", "not-the-password")
	wrongIW := bb.write("wrong-iw.pw", "not-the-password")
	empty := bb.write("empty.txt", "# nobody\n\n")
	garbage := bb.write("garbage.txt", "this is not what it should be\x00\xff\n")
	badConf := bb.write("secret.conf", "password = hunter2\n")
	unknownConf := bb.write("unknown.conf", "colour = blue\n")
	badCSV := bb.write("passwords.csv", "alice@example.com\nnot-an-email,pw\n")
	notDir := bb.write("a-file", "x")
	bb.write("dir.pw", "ldap-secret")

	cases := []badCase{
		// Usage errors: exit 2 before any network call.
		{name: "http ews url", cmd: "iem-export", args: exp(func(a []string) []string {
			return set(a, "--ews-url", "http://"+strings.TrimPrefix(bb.ews.URL(), "https://"))
		}), code: 2, want: []string{"--ews-url"}},
		{name: "non-ldap directory url", cmd: "iem-export", args: exp(func(a []string) []string {
			return set(cmdtest.Without(a, "--directory-file"), "--directory-url", "https://dc1.example.com")
		}), code: 2, want: []string{"--directory-url"}},
		{name: "unknown mailbox", cmd: "iem-export", args: exp(func(a []string) []string { return set(a, "--mailbox", "nobody@example.com") }),
			code: 2, want: []string{"--mailbox", "nobody@example.com"}},
		{name: "empty selection by pattern", cmd: "iem-export", args: exp(func(a []string) []string { return set(a, "--mailbox", "zz*@example.com") }),
			code: 2, want: []string{"--mailbox"}},
		{name: "empty selection file", cmd: "iem-export", args: exp(func(a []string) []string { return set(a, "--mailboxes-from", empty) }),
			code: 2, want: []string{"--mailboxes-from"}},
		{name: "ldap metacharacters a*)(", cmd: "iem-export", args: exp(func(a []string) []string { return set(a, "--mailbox", "a*)(") }),
			code: 2, want: []string{"--mailbox"}},
		{name: "ldap filter injection", cmd: "iem-export", args: exp(func(a []string) []string { return set(a, "--mailbox", "*)(|(mail=*") }),
			code: 2, want: []string{"--mailbox"}},
		{name: "ldap backslash escape", cmd: "iem-export", args: exp(func(a []string) []string { return set(a, "--mailbox", `alice\2a@example.com`) }),
			code: 2, want: []string{"--mailbox"}},
		{name: "ldap metacharacters in group", cmd: "iem-export", args: exp(func(a []string) []string { return set(a, "--group", "*)(objectClass=*") }),
			code: 2, want: []string{"--group"}},
		{name: "password in the config file", cmd: "iem-export", args: exp(func(a []string) []string { return append(a, "--config", badConf) }),
			code: 2, want: []string{"--config", "secret"}},
		{name: "unknown config setting", cmd: "iem-export", args: exp(func(a []string) []string { return append(a, "--config", unknownConf) }),
			code: 2, want: []string{"--config", "colour"}},
		{name: "missing config file", cmd: "iem-export", args: exp(func(a []string) []string { return append(a, "--config", filepath.Join(dir, "nope.conf")) }),
			code: 2, want: []string{"--config"}},
		{name: "password as a flag", cmd: "iem-export", args: exp(func(a []string) []string { return append(a, "--password", "hunter2") }),
			code: 2, want: []string{"password"}},
		{name: "archive is a file", cmd: "iem-export", args: exp(func(a []string) []string { return set(a, "--archive", notDir) }),
			code: 2, want: []string{"--archive"}},
		{name: "garbage identity file", cmd: "iem-export", args: exp(func(a []string) []string { return append(a, "--identity", garbage) }),
			code: 2, want: []string{"--identity"}},
		{name: "unknown exchange version", cmd: "iem-export", args: exp(func(a []string) []string { return append(a, "--exchange-version", "Exchange2003") }),
			code: 2, want: []string{"--exchange-version"}},
		{name: "encrypting a plain archive", cmd: "iem-export", src: "plain",
			args: exp(func(a []string) []string { return append(a, "--passphrase-file", filepath.Join(dir, "pass.txt")) }),
			code: 2, want: []string{"--encrypt-to"}},
		{name: "import without archive folder", cmd: "iem-import", args: imp(func(a []string) []string { return set(a, "--archive", filepath.Join(dir, "missing")) }),
			code: 2, want: []string{"--archive"}},
		{name: "ftp api url", cmd: "iem-import", src: "plain", args: imp(func(a []string) []string { return set(a, "--api-url", "ftp://127.0.0.1/") }),
			code: 2, want: []string{"--api-url"}},
		{name: "unknown mail mode", cmd: "iem-import", src: "plain", args: imp(func(a []string) []string { return set(a, "--mail-mode", "smtp") }),
			code: 2, want: []string{"--mail-mode"}},
		{name: "path mode without mail path", cmd: "iem-import", src: "plain", args: imp(func(a []string) []string { return set(a, "--mail-mode", "path") }),
			code: 2, want: []string{"--mail-path"}},
		{name: "imap address without port", cmd: "iem-import", src: "plain", args: imp(func(a []string) []string { return set(a, "--imap-addr", "localhost") }),
			code: 2, want: []string{"--imap-addr"}},
		{name: "bad domain map", cmd: "iem-import", src: "plain", args: imp(func(a []string) []string { return set(a, "--domain-map", "example.com") }),
			code: 2, want: []string{"--domain-map"}},
		{name: "malformed passwords csv", cmd: "iem-import", src: "plain", args: imp(func(a []string) []string { return set(a, "--passwords-from", badCSV) }),
			code: 2, want: []string{"--passwords-from"}},

		// Failures found when connecting. The commands exit 2 when the
		// cause is a setting (the message names its flag), 1 otherwise;
		// either way nothing is written.
		{name: "unreachable ews host", cmd: "iem-export", args: exp(func(a []string) []string {
			return set(a, "--ews-url", "https://127.0.0.1:1/EWS/Exchange.asmx")
		}), code: 2, want: []string{"--ews-url", "127.0.0.1:1"}},
		{name: "unresolvable ews host", cmd: "iem-export", args: exp(func(a []string) []string {
			return set(a, "--ews-url", "https://mail.nonexistent.invalid/EWS/Exchange.asmx")
		}), code: 2, want: []string{"--ews-url", "mail.nonexistent.invalid"}},
		{name: "unreachable directory", cmd: "iem-export", args: exp(func(a []string) []string {
			return set(set(set(cmdtest.Without(a, "--directory-file"), "--directory-url", "ldap://127.0.0.1:1"), "--directory-password-file", filepath.Join(dir, "dir.pw")), "--directory-bind-dn", "EXAMPLE\\reader")
		}), code: 2, want: []string{"--directory-url", "127.0.0.1:1"}},
		{name: "wrong ews password", cmd: "iem-export", args: exp(func(a []string) []string { return set(a, "--password-file", wrongEWS) }),
			code: 2, want: []string{"--password-file", "401"}},
		{name: "self-signed certificate without a pin", cmd: "iem-export", args: exp(func(a []string) []string { return cmdtest.Without(a, "--trust-cert") }),
			code: 2, want: []string{"--trust-cert", "certificate"}},
		{name: "certificate pin mismatch", cmd: "iem-export", args: exp(func(a []string) []string {
			return set(a, "--trust-cert", "sha256:"+strings.Repeat("ab", 32))
		}), code: 2, want: []string{"--trust-cert", "certificate"}},
		{name: "garbage directory file", cmd: "iem-export", args: exp(func(a []string) []string { return set(a, "--directory-file", garbage) }),
			code: 2, want: []string{"--directory-file", "garbage.txt"}},
		{name: "wrong icewarp password", cmd: "iem-import", src: "plain", args: imp(func(a []string) []string { return set(a, "--password-file", wrongIW) }),
			code: 2, want: []string{"--password-file", "admin api"}},
		{name: "missing volume", cmd: "iem-import", src: "plain", args: imp(same), prep: func(t *testing.T, arch string) {
			os.Remove(volumes(t, arch)[0])
		}, code: 1, want: []string{"r000001.p001.iemv"}},
		{name: "volumes out of order", cmd: "iem-import", src: "plain", args: imp(same), prep: func(t *testing.T, arch string) {
			v := volumes(t, arch)
			tmp := v[0] + ".tmp"
			os.Rename(v[0], tmp)
			os.Rename(v[1], v[0])
			os.Rename(tmp, v[1])
		}, code: 1, want: []string{"r00000"}},
		{name: "truncated older volume", cmd: "iem-import", src: "plain", args: imp(same), prep: func(t *testing.T, arch string) {
			truncateHalf(t, volumes(t, arch)[0])
		}, code: 1, want: []string{"r000001.p001.iemv"}},
		// A truncated newest volume is no bad input: the import reads the
		// complete rounds and says the last one is not (TestHostileOperator).
		{name: "verify: bit flip", cmd: "iem-import", src: "plain", args: verify(), prep: func(t *testing.T, arch string) {
			flipMiddle(t, volumes(t, arch)[1])
		}, code: 1, want: []string{"r000002.p001.iemv"}},
		{name: "verify: missing volume", cmd: "iem-import", src: "plain", args: verify(), prep: func(t *testing.T, arch string) {
			os.Remove(volumes(t, arch)[0])
		}, code: 1, want: []string{"r000001.p001.iemv"}},
		{name: "wrong decryption passphrase", cmd: "iem-import", src: "encrypted",
			args: imp(func(a []string) []string { return append(a, "--passphrase-file", filepath.Join(dir, "wrong-pass.txt")) }),
			code: 1, want: []string{"r000001.p001.iemv"}},
		{name: "encrypted archive without a key", cmd: "iem-import", src: "encrypted", args: imp(same),
			code: 1, want: []string{"r000001.p001.iemv"}},
		{name: "verify: wrong decryption passphrase", cmd: "iem-import", src: "encrypted",
			args: verify("--passphrase-file", filepath.Join(dir, "wrong-pass.txt")), code: 1, want: []string{"r000001.p001.iemv"}},
		{name: "password as a flag (import)", cmd: "iem-import", src: "plain", args: imp(func(a []string) []string { return append(a, "--password", "hunter2") }),
			code: 2, want: []string{"password"}},
		// Last: a damaged entry body is detected when it is read; the
		// intact items are imported, the damaged one is reported by
		// volume, offset and item, and the run ends partial.
		{name: "bit flip in an entry", cmd: "iem-import", src: "plain", args: imp(same), prep: func(t *testing.T, arch string) {
			flipMessage(t, arch)
		}, code: 3, want: []string{"r000001.p001.iemv", "checksum mismatch"}, writes: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			arch := filepath.Join(t.TempDir(), "archive")
			switch tc.src {
			case "plain":
				copyDir(t, bb.plain, arch)
			case "encrypted":
				copyDir(t, bb.encrypted, arch)
			}
			if tc.prep != nil {
				tc.prep(t, arch)
			}
			before := tree(t, arch)
			ewsBefore := bb.ews.Requests("")
			code, stdout, stderr := runBin(tc.cmd, nil, tc.args(arch)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not name %q:\n%s", w, stderr)
				}
			}
			if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
				t.Errorf("crashed:\n%s", stderr)
			}
			if d := sameTree(before, tree(t, arch)); len(d) > 0 && !tc.writes {
				t.Errorf("the archive folder changed: %s", strings.Join(d, ", "))
			}
			if n := len(bb.iw.Accounts()); n != 0 && !tc.writes {
				t.Fatalf("the target changed: %d accounts", n)
			}
			if tc.code == 2 && bb.ews.Requests("") != ewsBefore {
				t.Errorf("a usage error reached the EWS server (%d requests)", bb.ews.Requests("")-ewsBefore)
			}
		})
	}
	t.Logf("bad input: %d cases through the binaries", len(cases))
}

func truncateHalf(t *testing.T, path string) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, st.Size()/2); err != nil {
		t.Fatal(err)
	}
}

func flipMiddle(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x10
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// flipMessage flips a bit in the middle of the first message body stored
// in the archive's first volume.
func flipMessage(t *testing.T, arch string) {
	t.Helper()
	f, err := archive.OpenFolder(arch, nil)
	if err != nil {
		t.Fatal(err)
	}
	v := f.Volumes()[0]
	es := v.Entries()
	at := int64(-1)
	for i, e := range es[:len(es)-1] {
		if e.Kind == archive.KindMessage && e.Ref == nil {
			at = (e.Offset + es[i+1].Offset) / 2
			break
		}
	}
	path := filepath.Join(arch, v.Name)
	f.Close()
	if at < 0 {
		t.Fatal("no stored message in the first volume")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[at] ^= 0x10
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
