package e2e

import (
	"bytes"
	"encoding/csv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/icewarp/icewarptest"
)

// TestSecretsNeverLeak runs a whole migration at --log-level debug, with
// the passwords once from files and once from the environment, and looks
// for every secret (the EWS and IceWarp admin passwords, and the
// passwords generated for new accounts) in stdout, stderr, every file the
// commands wrote (logs, reports, summaries, ledger) and every decompressed
// archive entry. Only the password files and the 0600 password report may
// hold them.
func TestSecretsNeverLeak(t *testing.T) {
	const ewsSecret = "Ews-S3cret-7f3a9c2e"
	b := newBed(t, ewstest.OrgOptions{Users: 2, MessagesPerFolder: 3, Contacts: 1, Tasks: 1}, &ewstest.Options{Password: ewsSecret})
	iwSecret := b.iw.AdminPassword()
	secrets := []string{ewsSecret, iwSecret}
	var outputs []string
	for round, viaEnv := range []bool{false, true} {
		if round > 0 {
			b.ews.NextRound(int64(round + 1))
		}
		exp := []string{"run", "--config", filepath.Join(b.dir, "export.conf"), "--archive", b.arch, "--log-level", "debug",
			"--summary-json", filepath.Join(b.dir, "export-summary.json")}
		imp := []string{"run", "--config", filepath.Join(b.dir, "import.conf"), "--archive", b.arch, "--log-level", "debug",
			"--summary-json", filepath.Join(b.dir, "import-summary.json")}
		var expEnv, impEnv []string
		if viaEnv {
			exp = append(exp, "--password-file", "")
			imp = append(imp, "--password-file", "")
			expEnv = []string{"IEM_EWS_PASSWORD=" + ewsSecret}
			impEnv = []string{"IEM_ICEWARP_PASSWORD=" + iwSecret}
		}
		code, o, e := runBin("iem-export", expEnv, exp...)
		if code != 0 {
			t.Fatalf("export (env %v): exit %d\n%s%s", viaEnv, code, o, e)
		}
		outputs = append(outputs, o, e)
		code, o, e = runBin("iem-import", impEnv, imp...)
		if code != 0 && code != 3 {
			t.Fatalf("import (env %v): exit %d\n%s%s", viaEnv, code, o, e)
		}
		outputs = append(outputs, o, e)
		if !strings.Contains(e, "level=DEBUG") {
			t.Fatalf("import at --log-level debug logged nothing at debug level:\n%s", e)
		}
	}
	report := filepath.Join(b.arch, "iem-passwords.csv")
	generated := readReport(t, report)
	if len(generated) == 0 {
		t.Fatal("no generated account passwords in the report")
	}
	secrets = append(secrets, generated...)

	leaks := 0
	look := func(where string, data []byte) {
		for _, s := range secrets {
			if bytes.Contains(data, []byte(s)) {
				t.Errorf("secret %.4s… found in %s", s, where)
				leaks++
			}
		}
	}
	for i, o := range outputs {
		look([]string{"export stdout", "export stderr", "import stdout", "import stderr"}[i%4], []byte(o))
	}
	allowed := map[string]bool{filepath.Join(b.dir, "ews.pw"): true, filepath.Join(b.dir, "iw.pw"): true, report: true}
	files := 0
	filepath.WalkDir(b.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || allowed[p] || strings.HasPrefix(p, filepath.Join(b.dir, "mail")) {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		look(p, data)
		return nil
	})
	f, err := archive.OpenFolder(b.arch, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries := 0
	f.Walk(func(e *archive.Entry) error {
		entries++
		var attrs bytes.Buffer
		for k, v := range e.Attrs {
			attrs.WriteString(k + "=" + v + "\n")
		}
		look("archive attributes of "+e.Mailbox+" "+e.ID, attrs.Bytes())
		if e.Ref != nil {
			return nil
		}
		r, err := f.Open(e)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		body, _ := io.ReadAll(r)
		look("archive entry "+e.Mailbox+" "+e.ID, body)
		return nil
	})
	t.Logf("%d secrets (2 admin passwords, %d generated) searched in %d outputs, %d files and %d archive entries: %d leaks",
		len(secrets), len(generated), len(outputs), files, entries, leaks)
}

func readReport(t *testing.T, path string) []string {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	recs, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		if len(r) >= 2 && strings.Contains(r[0], "@") && len(r[1]) >= 8 {
			out = append(out, r[1])
		}
	}
	return out
}

// TestFilesPrivate requires everything the commands write that can hold
// mail or secrets to be readable by the owner only: volumes, keys,
// ledger, password report, logs, reports and summaries.
func TestFilesPrivate(t *testing.T) {
	if filepath.Separator != '/' {
		t.Skip("POSIX modes")
	}
	b := newBed(t, ewstest.OrgOptions{Users: 2, MessagesPerFolder: 2, Contacts: 1, Tasks: 1}, nil)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	b.write("key.txt", id.String()+"\n")
	key := filepath.Join(b.dir, "key.txt")
	sum := filepath.Join(b.dir, "export-summary.json")
	out, err := b.export("--summary-json", sum, "--encrypt-to", id.Recipient().String(), "--identity", key)
	mustOK(t, "export", out, err)
	out, err = b.importRun("--summary-json", filepath.Join(b.dir, "import-summary.json"), "--identity", key)
	mustOK(t, "import", out, err)
	checked := 0
	for _, root := range []string{b.arch, sum, filepath.Join(b.dir, "import-summary.json")} {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				t.Error(err)
				return nil
			}
			st, err := d.Info()
			if err != nil {
				return err
			}
			checked++
			if d.IsDir() {
				if st.Mode().Perm()&0o077 != 0 {
					t.Errorf("folder %s is %v, want no group or other access", p, st.Mode().Perm())
				}
				return nil
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("%s is %v, want -rw-------", p, st.Mode().Perm())
			}
			return nil
		})
	}
	for _, want := range []string{"iem-import.ledger", "iem-passwords.csv", "r000001.p001.iemv"} {
		if _, err := os.Stat(filepath.Join(b.arch, want)); err != nil {
			t.Errorf("%s not written: %v", want, err)
		}
	}
	t.Logf("%d files and folders checked", checked)
}

func (b *bed) write(name, body string) {
	if err := os.WriteFile(filepath.Join(b.dir, name), []byte(body), 0o600); err != nil {
		b.t.Fatal(err)
	}
}

// TestNoSecretFlags reads every subcommand's help: a flag whose name
// speaks of a secret must take a file, never the secret itself.
func TestNoSecretFlags(t *testing.T) {
	secretish := regexp.MustCompile(`password|passphrase|secret|token|key|credential`)
	flag := regexp.MustCompile(`^\s+--([a-z0-9-]+)`)
	checked := 0
	for cmd, subs := range map[string][]string{"iem-export": {"run", "plan"}, "iem-import": {"run", "check", "verify"}} {
		for _, sub := range subs {
			code, o, e := runBin(cmd, nil, sub, "--help")
			if code != 0 {
				t.Fatalf("%s %s --help: exit %d\n%s", cmd, sub, code, e)
			}
			for _, l := range strings.Split(o, "\n") {
				m := flag.FindStringSubmatch(l)
				if m == nil {
					continue
				}
				checked++
				name := m[1]
				if secretish.MatchString(name) && !strings.HasSuffix(name, "-file") && !strings.Contains(l, "FILE") {
					t.Errorf("%s %s --%s takes a secret on the command line: %s", cmd, sub, name, strings.TrimSpace(l))
				}
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d flags found in the help texts", checked)
	}
}

// TestImportVerifiesCertificates: against an IceWarp that serves HTTPS
// with a self-signed certificate, the import fails with a message naming
// the certificate unless it is pinned, and writes nothing.
func TestImportVerifiesCertificates(t *testing.T) {
	b := newBed(t, ewstest.OrgOptions{Users: 1, MessagesPerFolder: 1, Contacts: 1, Tasks: 1}, nil)
	b.mustExport(t)
	iw, err := icewarptest.Start(&icewarptest.Options{TLS: true, MailRoot: filepath.Join(b.dir, "tls-mail")})
	if err != nil {
		t.Fatal(err)
	}
	defer iw.Close()
	args := []string{"run", "--api-url", iw.URL(), "--admin-user", iw.AdminEmail(), "--password-file", filepath.Join(b.dir, "iw.pw"),
		"--imap-addr", iw.IMAPAddr(), "--imap-tls", "none", "--archive", b.arch}
	code, o, e := runBin("iem-import", nil, args...)
	if code == 0 || code == 3 {
		t.Fatalf("import trusted a self-signed certificate: exit %d\n%s%s", code, o, e)
	}
	if !strings.Contains(e, "certificate") {
		t.Errorf("the error does not name the certificate:\n%s", e)
	}
	if n := len(iw.Accounts()); n != 0 {
		t.Errorf("the target changed: %d accounts", n)
	}
	if !strings.HasPrefix(iw.URL(), "https://") {
		t.Fatalf("emulator URL %s is not HTTPS", iw.URL())
	}
}
