package settings

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iemproject/iem/internal/cliutil"
)

// form is Values as a web form would give them.
type form map[string]string

func (f form) String(n string) string { return f[n] }
func (f form) Bool(n string) bool     { return f[n] == "true" }
func (f form) Int(string) int         { return 0 }
func (f form) Int64(string) int64     { return 0 }
func (f form) StringSlice(n string) []string {
	if f[n] == "" {
		return nil
	}
	return strings.Split(f[n], ",")
}

// wantField checks that err is a usage error naming field.
func wantField(t *testing.T, what string, err error, field string) {
	t.Helper()
	var ue *cliutil.UsageError
	if !errors.As(err, &ue) || ue.Field != field {
		t.Errorf("%s: error %v, want a usage error naming --%s", what, err, field)
	}
}

func TestEWS(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := form{"ews-url": "https://mail.example.com/EWS/Exchange.asmx", "admin-user": `EXAMPLE\m`, "password-file": pw, "auth": "ntlm"}
	opt, err := EWS(good)
	if err != nil || opt.Password != "secret" || opt.Username != `EXAMPLE\m` {
		t.Fatalf("EWS(good) = %+v, %v", opt, err)
	}
	for field, bad := range map[string]string{"ews-url": "http://mail.example.com/EWS/Exchange.asmx",
		"admin-user": "", "auth": "kerberos", "exchange-version": "Exchange2099", "trust-cert": "md5:00"} {
		f := form{}
		for k, v := range good {
			f[k] = v
		}
		f[field] = bad
		_, err := EWS(f)
		wantField(t, field+"="+bad, err, field)
	}
}

func TestDirectory(t *testing.T) {
	ldif := filepath.Join(t.TempDir(), "ad.ldf")
	if err := os.WriteFile(ldif, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, file, err := Directory(form{"directory-file": ldif}); err != nil || file != ldif {
		t.Errorf("Directory(file) = %q, %v", file, err)
	}
	_, _, err := Directory(form{"directory-file": ldif, "directory-url": "ldap://dc1"})
	wantField(t, "both", err, "directory-file")
	_, _, err = Directory(form{})
	wantField(t, "neither", err, "directory-url")
	_, _, err = Directory(form{"directory-url": "http://dc1"})
	wantField(t, "http", err, "directory-url")
	_, _, err = Directory(form{"directory-file": ldif + ".missing"})
	wantField(t, "missing file", err, "directory-file")
}

func TestArchiveKeys(t *testing.T) {
	dir := t.TempDir()
	pass := filepath.Join(dir, "pass")
	if err := os.WriteFile(pass, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rs, ids, err := ArchiveKeys(form{"passphrase-file": pass})
	if err != nil || len(rs) != 1 || len(ids) != 1 {
		t.Errorf("ArchiveKeys(passphrase) = %d recipients, %d identities, %v; want 1, 1", len(rs), len(ids), err)
	}
	if _, _, err := ArchiveKeys(form{"encrypt-to": "age1notakey"}); err == nil {
		t.Error("ArchiveKeys accepted a malformed recipient")
	}
}

func TestGraphSource(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("s3cr3t~value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := form{"tenant": "contoso.onmicrosoft.com", "client-id": "11111111-2222-3333-4444-555555555555",
		"client-secret-file": secret, "graph-endpoint": "https://graph.microsoft.us"}
	g, err := GraphSource(good)
	if err != nil || g.Credentials.Secret != "s3cr3t~value" || g.Endpoint != "https://graph.microsoft.us/v1.0" {
		t.Fatalf("GraphSource(good) = %+v, %v", g, err)
	}
	for field, bad := range map[string]string{"tenant": "", "client-id": "not-a-guid",
		"graph-endpoint": "http://graph.example.com", "login-endpoint": "http://login.example.com",
		"certificate-file": secret, // both a secret and a certificate; and not a PEM
	} {
		f := form{}
		for k, v := range good {
			f[k] = v
		}
		f[field] = bad
		_, err := GraphSource(f)
		wantField(t, field+"="+bad, err, field)
	}
	f := form{"tenant": "contoso.onmicrosoft.com", "client-id": good["client-id"], "certificate-file": secret}
	_, err = GraphSource(f)
	wantField(t, "a certificate file that is no PEM", err, "certificate-file")
	if _, err := GraphSource(form{"tenant": "t", "client-id": good["client-id"]}); err == nil {
		t.Error("GraphSource without a secret or certificate: no error")
	}
}

// formInts is a form with numbers, as the import settings have.
type formInts struct {
	form
	ints map[string]int
}

func (f formInts) Int(n string) int { return f.ints[n] }

func TestImportTarget(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := form{"archive": dir, "host": "mail.example.org", "admin-user": "admin@example.org", "password-file": pw,
		"imap-tls": "tls", "imap-auth": "authzid", "mail-mode": "imap", "webdav-layout": "{email}/{folder}/", "log-level": "info", "log-format": "text"}
	ints := map[string]int{"jobs": 2, "imap-connections": 4}
	tg, err := ImportTarget(formInts{good, ints})
	if err != nil {
		t.Fatalf("ImportTarget(good) = %v", err)
	}
	if tg.API.URL != "https://mail.example.org:32001/icewarpapi/" || tg.IMAP.Addr != "mail.example.org:993" ||
		tg.WebDAV != "https://mail.example.org/webdav/" || tg.Ledger != filepath.Join(dir, "iem-import.ledger") {
		t.Errorf("endpoints derived from --host: %+v", tg)
	}
	for field, bad := range map[string]string{"archive": filepath.Join(dir, "missing"), "admin-user": "", "imap-tls": "ssl",
		"imap-auth": "kerberos", "mail-mode": "maildir", "domain-map": "example.com", "server-id": "x1", "mail-owner": "icewarp",
		"archive-mailbox": "Archive//2019"} {
		f := form{}
		for k, v := range good {
			f[k] = v
		}
		f[field] = bad
		_, err := ImportTarget(formInts{f, ints})
		wantField(t, field+"="+bad, err, field)
	}
	_, err = ImportTarget(formInts{good, map[string]int{"jobs": 0, "imap-connections": 4}})
	wantField(t, "jobs=0", err, "jobs")
}

func TestPSTMap(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"alice.pst", "exmerge/bob.PST", "exmerge/carol.ost", "exmerge/readme.txt"} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, n)), 0o700)
		if err := os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write := func(body string) string {
		p := filepath.Join(dir, "map.csv")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ms, err := PSTMap(write("# file, mailbox, where\nalice.pst, Alice@Example.com\nexmerge,bob@example.com,root\n"))
	if err != nil || len(ms) != 3 {
		t.Fatalf("PSTMap = %+v, %v", ms, err)
	}
	if ms[0].Mailbox != "alice@example.com" || ms[0].Folder != "Archives/alice" || ms[0].Line != 2 ||
		ms[1].File != filepath.Join(dir, "exmerge", "bob.PST") || ms[1].Folder != "" || ms[2].Line != 3 {
		t.Errorf("PSTMap = %+v", ms)
	}
	for what, body := range map[string]string{
		"a file mapped twice":   "alice.pst,alice@example.com\n" + dir + "/alice.pst,bob@example.com\n",
		"a missing file":        "nobody.pst,alice@example.com\n",
		"no mailbox":            "alice.pst\n",
		"a folder without PSTs": dir + "/none,alice@example.com\n",
		"an empty map":          "# nothing\n",
	} {
		if what == "a folder without PSTs" {
			os.MkdirAll(filepath.Join(dir, "none"), 0o700)
		}
		_, err := PSTMap(write(body))
		wantField(t, what, err, "pst-map")
		if err != nil && what != "an empty map" && !strings.Contains(err.Error(), "line ") {
			t.Errorf("%s: %v does not name the line", what, err)
		}
	}
	_, err = PSTMap("")
	wantField(t, "no map", err, "pst-map")
}
