package icewarp_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/icewarp"
	"github.com/iemproject/iem/icewarp/icewarptest"
	"github.com/iemproject/iem/icewarp/mailpath"
	"github.com/iemproject/iem/internal/retry"
)

func noSleep(context.Context, time.Duration) error { return nil }

// start returns an emulator and a logged-in client.
func start(t *testing.T) (*icewarptest.Server, *icewarp.Admin) {
	t.Helper()
	srv, err := icewarptest.Start(&icewarptest.Options{MailRoot: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	a, err := icewarp.New(icewarp.Options{
		URL: srv.URL(), Username: srv.AdminEmail(), Password: srv.AdminPassword(),
		Retry: retry.Policy{Attempts: 3, Sleep: noSleep},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Login(context.Background()); err != nil {
		t.Fatalf("Login = %v", err)
	}
	return srv, a
}

func TestNewValidates(t *testing.T) {
	good := icewarp.Options{URL: "https://mail.example.com:32001/icewarpapi/", Username: "admin@example.com", Password: "x"}
	tests := []struct {
		name  string
		edit  func(*icewarp.Options)
		field string
	}{
		{"ok", func(*icewarp.Options) {}, ""},
		{"no url", func(o *icewarp.Options) { o.URL = "" }, "URL"},
		{"bad scheme", func(o *icewarp.Options) { o.URL = "ftp://x/" }, "URL"},
		{"no host", func(o *icewarp.Options) { o.URL = "https:///icewarpapi/" }, "URL"},
		{"user in url", func(o *icewarp.Options) { o.URL = "https://a:b@x/icewarpapi/" }, "URL"},
		{"no user", func(o *icewarp.Options) { o.Username = "" }, "Username"},
		{"no password", func(o *icewarp.Options) { o.Password = "" }, "Password"},
		{"bad pin", func(o *icewarp.Options) { o.TLS.PinSHA256 = "abc" }, "TLS.PinSHA256"},
		{"pin+insecure", func(o *icewarp.Options) {
			o.TLS.PinSHA256 = strings.Repeat("ab", 32)
			o.TLS.InsecureSkipVerify = true
		}, "TLS"},
		{"client+tls", func(o *icewarp.Options) {
			o.HTTPClient = http.DefaultClient
			o.TLS.InsecureSkipVerify = true
		}, "TLS"},
	}
	for _, tt := range tests {
		o := good
		tt.edit(&o)
		_, err := icewarp.New(o)
		var fe *icewarp.FieldError
		switch {
		case tt.field == "" && err != nil:
			t.Errorf("New(%s) = %v, want nil", tt.name, err)
		case tt.field != "" && (!errors.As(err, &fe) || fe.Field != tt.field):
			t.Errorf("New(%s) = %v, want FieldError{Field: %q}", tt.name, err, tt.field)
		}
	}
}

func TestLoginBadPassword(t *testing.T) {
	srv, _ := start(t)
	a, _ := icewarp.New(icewarp.Options{URL: srv.URL(), Username: srv.AdminEmail(), Password: "wrong"})
	err := a.Login(context.Background())
	var ae *icewarp.APIError
	if !errors.As(err, &ae) || ae.UID != "auth_login_invalid" || ae.Command != "authenticate" {
		t.Fatalf("Login(wrong password) = %v, want APIError auth_login_invalid", err)
	}
	if _, err := a.Domains(context.Background()); !errors.Is(err, icewarp.ErrNotLoggedIn) {
		t.Errorf("Domains before login = %v, want ErrNotLoggedIn", err)
	}
}

func TestLogout(t *testing.T) {
	srv, a := start(t)
	ctx := context.Background()
	if err := a.Logout(ctx); err != nil {
		t.Fatalf("Logout = %v", err)
	}
	if _, err := a.Domains(ctx); !errors.Is(err, icewarp.ErrNotLoggedIn) {
		t.Errorf("Domains after Logout = %v, want ErrNotLoggedIn", err)
	}
	if got := srv.Calls(); !slices.Equal(got, []string{"authenticate", "logout"}) {
		t.Errorf("Calls() = %v, want [authenticate logout]", got)
	}
}

func TestEnsureDomain(t *testing.T) {
	srv, a := start(t)
	ctx := context.Background()
	for i, want := range []bool{true, false} { // the rerun finds it
		created, err := a.EnsureDomain(ctx, "example.com")
		if err != nil || created != want {
			t.Fatalf("EnsureDomain #%d = %v, %v, want %v, nil", i, created, err, want)
		}
	}
	if _, err := a.EnsureDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	ds, err := a.Domains(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range ds {
		names = append(names, d.Name)
	}
	if !slices.Equal(names, []string{"example.com", "example.org"}) {
		t.Errorf("Domains() = %v, want [example.com example.org]", names)
	}
	if got := srv.Domains(); !slices.Equal(got, names) {
		t.Errorf("emulator domains = %v", got)
	}
	if _, err := a.EnsureDomain(ctx, "bad domain"); err == nil {
		t.Error("EnsureDomain(bad domain) = nil, want error")
	}
}

func TestEnsureAccount(t *testing.T) {
	srv, a := start(t)
	ctx := context.Background()
	a.EnsureDomain(ctx, "example.com")
	acct := icewarp.Account{
		Email: "john.doe@example.com", Name: "John Doe", Password: "pw1", Type: icewarp.TypeUser,
		Aliases:    []string{"jd@example.com", "john@example.com"},
		Properties: map[string]string{"U_Comment": "migrated"},
	}
	created, err := a.EnsureAccount(ctx, acct)
	if err != nil || !created {
		t.Fatalf("EnsureAccount = %v, %v, want true, nil", created, err)
	}
	got, ok := srv.Account("john.doe@example.com")
	if !ok {
		t.Fatal("account not created")
	}
	want := map[string]string{
		"u_alias": "john.doe", "u_name": "John Doe", "u_password": "pw1", "u_type": "0",
		"u_accounttype": "2", "u_emailalias": "jd@example.com;john@example.com", "u_comment": "migrated",
	}
	for k, v := range want {
		if got.Props[k] != v {
			t.Errorf("property %s = %q, want %q", k, got.Props[k], v)
		}
	}

	// Rerun: no new account, no password reset, properties applied again.
	acct.Password = "pw2"
	acct.Name = "John Q. Doe"
	created, err = a.EnsureAccount(ctx, acct)
	if err != nil || created {
		t.Fatalf("EnsureAccount(rerun) = %v, %v, want false, nil", created, err)
	}
	got, _ = srv.Account("john.doe@example.com")
	if got.Props["u_password"] != "pw1" || got.Props["u_name"] != "John Q. Doe" {
		t.Errorf("after rerun password = %q, name = %q, want pw1, John Q. Doe", got.Props["u_password"], got.Props["u_name"])
	}
	if n := len(srv.Accounts()); n != 1 {
		t.Errorf("Accounts() has %d, want 1", n)
	}
}

func TestEnsureAccountErrors(t *testing.T) {
	_, a := start(t)
	ctx := context.Background()
	a.EnsureDomain(ctx, "example.com")
	if _, err := a.EnsureGroup(ctx, icewarp.Group{Email: "sales@example.com", Name: "Sales"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		acct icewarp.Account
		is   error
		api  bool
	}{
		{icewarp.Account{Email: "sales@example.com", Password: "x"}, icewarp.ErrTypeConflict, false},
		{icewarp.Account{Email: "x@nodomain.com", Password: "x"}, nil, true},
		{icewarp.Account{Email: "bad alias@example.com", Password: "x"}, nil, false},
		{icewarp.Account{Email: "bad/alias@example.com", Password: "x"}, nil, true},
		{icewarp.Account{Email: "nopass@example.com"}, nil, false},
		{icewarp.Account{Email: "noat"}, nil, false},
	}
	for _, tt := range tests {
		_, err := a.EnsureAccount(ctx, tt.acct)
		var ae *icewarp.APIError
		switch {
		case err == nil:
			t.Errorf("EnsureAccount(%q) = nil, want error", tt.acct.Email)
		case tt.is != nil && !errors.Is(err, tt.is):
			t.Errorf("EnsureAccount(%q) = %v, want %v", tt.acct.Email, err, tt.is)
		case tt.api && !errors.As(err, &ae):
			t.Errorf("EnsureAccount(%q) = %v, want *APIError", tt.acct.Email, err)
		}
	}
}

func TestEnsureGroupAndList(t *testing.T) {
	srv, a := start(t)
	ctx := context.Background()
	a.EnsureDomain(ctx, "example.com")
	g := icewarp.Group{Email: "team@example.com", Name: "Team", Members: []string{"a@example.com", "b@example.com"}}
	for i := 0; i < 2; i++ {
		created, err := a.EnsureGroup(ctx, g)
		if err != nil || created != (i == 0) {
			t.Fatalf("EnsureGroup #%d = %v, %v", i, created, err)
		}
	}
	got, _ := srv.Account("team@example.com")
	if got.Type != 7 || got.Props["g_name"] != "Team" || !slices.Equal(got.Members, g.Members) {
		t.Errorf("group = type %d, g_name %q, members %v; want 7, Team, %v", got.Type, got.Props["g_name"], got.Members, g.Members)
	}
	// A member equal to the group is the server's "cannot_add_member_to_itself".
	_, err := a.EnsureGroup(ctx, icewarp.Group{Email: "team@example.com", Name: "Team", Members: []string{"team@example.com"}})
	var ae *icewarp.APIError
	if !errors.As(err, &ae) || ae.UID != "cannot_add_member_to_itself" || ae.Command != "addaccountmembers" {
		t.Errorf("EnsureGroup(self member) = %v, want APIError cannot_add_member_to_itself", err)
	}

	list := icewarp.Account{Email: "news@example.com", Name: "News", Type: icewarp.TypeList, Members: []string{"a@example.com", "x@other.org"}}
	if _, err := a.EnsureAccount(ctx, list); err != nil {
		t.Fatal(err)
	}
	got, _ = srv.Account("news@example.com")
	if got.Type != 1 || got.Props["m_listfile_contents"] != "a@example.com\nx@other.org" || got.Props["m_name"] != "News" {
		t.Errorf("list = type %d, %q, %q", got.Type, got.Props["m_listfile_contents"], got.Props["m_name"])
	}
	if _, err := a.EnsureGroup(ctx, icewarp.Group{Email: "news@example.com"}); !errors.Is(err, icewarp.ErrTypeConflict) {
		t.Errorf("EnsureGroup over a list = %v, want ErrTypeConflict", err)
	}

	pf := icewarp.PublicFoldersGroup("example.com", "")
	if pf.Email != "public-folders@example.com" || pf.Name != "Public Folders" {
		t.Errorf("PublicFoldersGroup = %+v", pf)
	}
	if _, err := a.EnsureGroup(ctx, pf); err != nil {
		t.Fatal(err)
	}
	infos, err := a.Accounts(ctx, "example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]icewarp.AccountType{}
	for _, in := range infos {
		types[in.Email] = in.Type
	}
	wantTypes := map[string]icewarp.AccountType{"team@example.com": icewarp.TypeGroup, "news@example.com": icewarp.TypeList, "public-folders@example.com": icewarp.TypeGroup}
	for e, ty := range wantTypes {
		if types[e] != ty {
			t.Errorf("Accounts()[%s].Type = %v, want %v", e, types[e], ty)
		}
	}
}

func TestAccountPropertiesAndRefresh(t *testing.T) {
	srv, a := start(t)
	ctx := context.Background()
	a.EnsureDomain(ctx, "example.com")
	a.EnsureAccount(ctx, icewarp.Account{Email: "u@example.com", Name: "U", Password: "p"})
	props, err := a.AccountProperties(ctx, "u@example.com", "u_name", "U_FullMailboxPath", "u_mailboxpath")
	if err != nil {
		t.Fatal(err)
	}
	wantPath := filepath.Join(srv.MailRoot(), "example.com", "u") + string(filepath.Separator)
	if props["u_name"] != "U" || props["u_fullmailboxpath"] != wantPath {
		t.Errorf("AccountProperties = %v, want u_name U, u_fullmailboxpath %s", props, wantPath)
	}
	if p, err := a.MailboxPath(ctx, "u@example.com"); err != nil || p != wantPath {
		t.Errorf("MailboxPath = %q, %v, want %q", p, err, wantPath)
	}
	if _, err := os.Stat(wantPath); err != nil {
		t.Errorf("mailbox dir: %v", err)
	}
	if err := a.RefreshAccount(ctx, "u@example.com"); err != nil {
		t.Fatal(err)
	}
	if got, _ := srv.Account("u@example.com"); got.Refreshes != 1 {
		t.Errorf("Refreshes = %d, want 1", got.Refreshes)
	}
	var ae *icewarp.APIError
	if _, err := a.AccountProperties(ctx, "nobody@example.com", "u_name"); !errors.As(err, &ae) {
		t.Errorf("AccountProperties(missing) = %v, want APIError", err)
	}
	if err := a.SetAccountProperties(ctx, "u@example.com", map[string]string{"u_fullmailboxpath": "/tmp"}); !errors.As(err, &ae) || ae.Result != "0" {
		t.Errorf("SetAccountProperties(read-only) = %v, want APIError result 0", err)
	}
}

func TestFolderPermissions(t *testing.T) {
	srv, a := start(t)
	ctx := context.Background()
	a.EnsureDomain(ctx, "example.com")
	a.EnsureAccount(ctx, icewarp.Account{Email: "u@example.com", Password: "p"})
	id := icewarp.MailFolderID("INBOX")
	if id != "0SU5CT1g=" { // [V NET GetAccountFolderList.xml]
		t.Errorf("MailFolderID(INBOX) = %q, want 0SU5CT1g=", id)
	}
	if g := icewarp.GroupwareFolderID("Calendar"); g != "1Q2FsZW5kYXI=" {
		t.Errorf("GroupwareFolderID(Calendar) = %q, want 1Q2FsZW5kYXI=", g)
	}
	inh, perms, err := a.FolderPermissions(ctx, "u@example.com", id)
	if err != nil || !inh || len(perms) != 0 {
		t.Fatalf("FolderPermissions(fresh) = %v, %v, %v, want inherited", inh, perms, err)
	}
	set := []icewarp.Permission{{Account: "boss@example.com", Rights: "lrswipkxtea"}, {Account: "anyone", Rights: "lr"}}
	if err := a.SetFolderPermissions(ctx, "u@example.com", id, set); err != nil {
		t.Fatal(err)
	}
	inh, perms, err = a.FolderPermissions(ctx, "u@example.com", id)
	if err != nil || inh || !slices.Equal(perms, set) {
		t.Errorf("FolderPermissions = %v, %v, %v, want %v", inh, perms, err, set)
	}
	if _, stored := srv.FolderPermissions("u@example.com", id); len(stored) != 2 || stored[0].Rights != "lrswipkxtea" {
		t.Errorf("emulator stored %v", stored)
	}
	root, err := a.Folders(ctx, "u@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if root.ID != icewarp.RootFolderID || root.Type != "X" || len(root.Subfolders) == 0 || root.Subfolders[len(root.Subfolders)-1].ID != id {
		t.Errorf("Folders = %+v", root)
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name  string
		fault icewarptest.Fault
		ok    bool
		calls int // createdomain calls seen
	}{
		{"503 then ok", icewarptest.Fault{Command: "createdomain", HTTPStatus: 503}, true, 2},
		{"502 twice then ok", icewarptest.Fault{Command: "createdomain", HTTPStatus: 502, Times: 2}, true, 3},
		{"retry-after", icewarptest.Fault{Command: "createdomain", HTTPStatus: 503, RetryAfter: 1}, true, 2},
		{"reset then ok", icewarptest.Fault{Command: "createdomain", Reset: true}, true, 2},
		{"always 500", icewarptest.Fault{Command: "createdomain", HTTPStatus: 500, Times: 10}, false, 3},
		{"400 not retried", icewarptest.Fault{Command: "createdomain", HTTPStatus: 400}, false, 1},
		{"api error not retried", icewarptest.Fault{Command: "createdomain", ErrorUID: "insufficient_rights"}, false, 1},
		{"result 0 not retried", icewarptest.Fault{Command: "createdomain", ResultZero: true}, false, 1},
		// The create succeeded but its answer was lost: the retry gets "0"
		// (exists) and the re-check finds the domain.
		{"lost answer", icewarptest.Fault{Command: "createdomain", AfterApply: true, Reset: true}, true, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, a := start(t)
			srv.Inject(tt.fault)
			_, err := a.EnsureDomain(context.Background(), "example.com")
			if (err == nil) != tt.ok {
				t.Fatalf("EnsureDomain = %v, want ok=%v", err, tt.ok)
			}
			n := 0
			for _, c := range srv.Calls() {
				if c == "createdomain" {
					n++
				}
			}
			if n != tt.calls {
				t.Errorf("createdomain calls = %d, want %d", n, tt.calls)
			}
			var he *icewarp.HTTPError
			if tt.fault.HTTPStatus != 0 && !tt.ok && (!errors.As(err, &he) || he.StatusCode != tt.fault.HTTPStatus) {
				t.Errorf("error = %v, want HTTPError %d", err, tt.fault.HTTPStatus)
			}
		})
	}
}

func TestLostCreateAccountAnswer(t *testing.T) {
	srv, a := start(t)
	ctx := context.Background()
	a.EnsureDomain(ctx, "example.com")
	srv.Inject(icewarptest.Fault{Command: "createaccount", AfterApply: true, HTTPStatus: 503, Times: 5})
	created, err := a.EnsureAccount(ctx, icewarp.Account{Email: "u@example.com", Password: "p"})
	if err != nil || created {
		t.Fatalf("EnsureAccount(lost answers) = %v, %v, want false, nil", created, err)
	}
	if _, ok := srv.Account("u@example.com"); !ok {
		t.Error("account missing")
	}
}

func TestDebugWriterRedacts(t *testing.T) {
	srv, _ := start(t)
	var buf bytes.Buffer
	a, _ := icewarp.New(icewarp.Options{URL: srv.URL(), Username: srv.AdminEmail(), Password: srv.AdminPassword(), DebugWriter: &buf})
	ctx := context.Background()
	if err := a.Login(ctx); err != nil {
		t.Fatal(err)
	}
	a.EnsureDomain(ctx, "example.com")
	if _, err := a.EnsureAccount(ctx, icewarp.Account{Email: "u@example.com", Password: "user-secret-123"}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, secret := range []string{srv.AdminPassword(), "user-secret-123"} {
		if strings.Contains(out, secret) {
			t.Errorf("debug output contains secret %q", secret)
		}
	}
	if !strings.Contains(out, "<commandname>createaccount</commandname>") || !strings.Contains(out, "[redacted]") {
		t.Errorf("debug output lacks the request or redaction marker:\n%s", out)
	}
}

func TestTLSPin(t *testing.T) {
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`<iq type="result" sid="201602051125504026"><query xmlns="admin:iq:rpc"><result>1</result></query></iq>`))
	}))
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.StartTLS()
	defer ts.Close()
	sum := sha256.Sum256(ts.Certificate().Raw)
	pin := hex.EncodeToString(sum[:])
	tests := []struct {
		name string
		tls  icewarp.TLSOptions
		ok   bool
	}{
		{"verify by default", icewarp.TLSOptions{}, false},
		{"pin", icewarp.TLSOptions{PinSHA256: pin}, true},
		{"pin with colons", icewarp.TLSOptions{PinSHA256: strings.ToUpper(colons(pin))}, true},
		{"wrong pin", icewarp.TLSOptions{PinSHA256: strings.Repeat("00", 32)}, false},
		{"insecure", icewarp.TLSOptions{InsecureSkipVerify: true}, true},
	}
	for _, tt := range tests {
		a, err := icewarp.New(icewarp.Options{URL: ts.URL + "/icewarpapi/", Username: "a@b.c", Password: "p", TLS: tt.tls,
			Retry: retry.Policy{Attempts: 1}})
		if err != nil {
			t.Fatal(err)
		}
		err = a.Login(context.Background())
		if (err == nil) != tt.ok {
			t.Errorf("Login(%s) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func colons(h string) string {
	var parts []string
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

func TestGeneratePassword(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 20; i++ {
		p, err := icewarp.GeneratePassword(16)
		if err != nil || len(p) != 16 || seen[p] {
			t.Fatalf("GeneratePassword(16) = %q, %v", p, err)
		}
		seen[p] = true
		if !strings.ContainsAny(p, "0123456789") || strings.ToLower(p) == p || strings.ToUpper(p) == p {
			t.Errorf("GeneratePassword(16) = %q lacks a character class", p)
		}
	}
}

// TestConcurrentUse runs Ensure calls from several goroutines on one Admin,
// as import jobs do (run with -race).
func TestConcurrentUse(t *testing.T) {
	srv, a := start(t)
	ctx := context.Background()
	if _, err := a.EnsureDomain(ctx, "example.com"); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		go func() {
			email := "user" + string(rune('a'+i)) + "@example.com"
			_, err := a.EnsureAccount(ctx, icewarp.Account{Email: email, Password: "p"})
			if err == nil {
				err = a.RefreshAccount(ctx, email)
			}
			errs <- err
		}()
	}
	for i := 0; i < 16; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := len(srv.Accounts()); n != 16 {
		t.Errorf("Accounts() has %d, want 16", n)
	}
}

func TestReloginAfterSessionEnd(t *testing.T) {
	srv, a := start(t)
	ctx := context.Background()
	srv.ExpireSessions()
	if _, err := a.EnsureDomain(ctx, "example.com"); err != nil {
		t.Fatalf("EnsureDomain after expiry = %v, want a transparent re-login", err)
	}
	n := 0
	for _, c := range srv.Calls() {
		if c == "authenticate" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("authenticate calls = %d, want 2", n)
	}
	a.Logout(ctx)
	if _, err := a.Domains(ctx); !errors.Is(err, icewarp.ErrNotLoggedIn) {
		t.Errorf("Domains after Logout = %v, want ErrNotLoggedIn", err)
	}
}

// TestPathMode is the path-mode sequence of icewarp.md §6 step 4: ask for
// u_fullmailboxpath, write with mailpath, refresh, and the emulator's
// checker is satisfied and IMAP shows the messages.
func TestPathMode(t *testing.T) {
	srv, a := start(t)
	ctx := context.Background()
	a.EnsureDomain(ctx, "example.com")
	if _, err := a.EnsureAccount(ctx, icewarp.Account{Email: "u@example.com", Password: "p", Aliases: []string{"x@example.com"}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := srv.Account("u@example.com"); !slices.Equal(got.Aliases, []string{"x@example.com"}) {
		t.Errorf("Aliases = %v", got.Aliases)
	}
	dir, err := a.MailboxPath(ctx, "u@example.com")
	if err != nil {
		t.Fatal(err)
	}
	st, err := mailpath.Open(srv.MailRoot())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range [][]string{{"INBOX"}, {"Sent Items"}, {"Deleted Items", "Old."}} {
		if _, err := st.Put(ctx, dir, f, time.Now(), strings.NewReader("Subject: s\n\nbody\n")); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.CheckMailPath(); err == nil {
		t.Error("CheckMailPath() before refresh = nil, want ProblemNotRefreshed")
	}
	if err := a.RefreshAccount(ctx, "u@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := srv.CheckMailPath(); err != nil {
		t.Errorf("CheckMailPath() = %v", err)
	}
	for _, f := range []string{"INBOX", "Sent Items", "Deleted Items/Old."} {
		if n, err := srv.MailboxStatus("u@example.com", f); err != nil || n != 1 {
			t.Errorf("MailboxStatus(%q) = %d, %v, want 1", f, n, err)
		}
	}
}

func TestTLSAgainstEmulator(t *testing.T) {
	srv, err := icewarptest.Start(&icewarptest.Options{MailRoot: t.TempDir(), TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if !strings.HasPrefix(srv.URL(), "https://") {
		t.Fatalf("URL() = %q, want https", srv.URL())
	}
	tests := []struct {
		name string
		tls  icewarp.TLSOptions
		ok   bool
	}{
		{"system roots", icewarp.TLSOptions{}, false},
		{"pin", icewarp.TLSOptions{PinSHA256: srv.CertSHA256()}, true},
		{"roots", icewarp.TLSOptions{RootCAs: srv.CertPool()}, true},
	}
	for _, tt := range tests {
		a, err := icewarp.New(icewarp.Options{URL: srv.URL(), Username: srv.AdminEmail(), Password: srv.AdminPassword(), TLS: tt.tls, Retry: retry.Policy{Attempts: 1}})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Login(context.Background()); (err == nil) != tt.ok {
			t.Errorf("Login(%s) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestSetPassword(t *testing.T) {
	srv, a := start(t)
	ctx := context.Background()
	a.EnsureDomain(ctx, "example.com")
	a.EnsureAccount(ctx, icewarp.Account{Email: "u@example.com", Password: "old-password"})
	tests := []struct {
		email, pw string
		ok        bool
	}{
		{"u@example.com", "abc", true}, // ignorepolicy 1: short passwords pass
		{"u@example.com", "new-password", true},
		{"nobody@example.com", "x-password", false},
		{"u@example.com", "", false},
	}
	for _, tt := range tests {
		err := a.SetPassword(ctx, tt.email, tt.pw)
		if (err == nil) != tt.ok {
			t.Errorf("SetPassword(%q, %q) = %v, want ok=%v", tt.email, tt.pw, err, tt.ok)
		}
	}
	if got, _ := srv.Account("u@example.com"); got.Props["u_password"] != "new-password" {
		t.Errorf("u_password = %q, want new-password", got.Props["u_password"])
	}
}

func TestMailboxPathSorted(t *testing.T) {
	srv, err := icewarptest.Start(&icewarptest.Options{MailRoot: t.TempDir(), SortingPrefix: 6})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	a, _ := icewarp.New(icewarp.Options{URL: srv.URL(), Username: srv.AdminEmail(), Password: srv.AdminPassword()})
	ctx := context.Background()
	if err := a.Login(ctx); err != nil {
		t.Fatal(err)
	}
	a.EnsureDomain(ctx, "example.com")
	a.EnsureAccount(ctx, icewarp.Account{Email: "mike1@example.com", Password: "p"})
	dir, err := a.MailboxPath(ctx, "mike1@example.com")
	want := filepath.Join(srv.MailRoot(), "example.com", "mi", "ke", "1", "mike1") + string(filepath.Separator) // [V D-DIR]
	if err != nil || dir != want {
		t.Fatalf("MailboxPath = %q, %v, want %q", dir, err, want)
	}
	st, _ := mailpath.Open(srv.MailRoot())
	if _, err := st.Put(ctx, dir, []string{"INBOX"}, time.Now(), strings.NewReader("Subject: s\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	// Computing the path instead of asking is caught by the checker.
	if _, err := st.Put(ctx, "example.com/mike1", []string{"INBOX"}, time.Now(), strings.NewReader("Subject: s\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	a.RefreshAccount(ctx, "mike1@example.com")
	probs, err := srv.MailPathProblems()
	if err != nil || len(probs) != 1 || probs[0].Kind != icewarptest.ProblemOutsideAccount || !strings.HasPrefix(probs[0].Path, "example.com/mike1/") {
		t.Errorf("MailPathProblems() = %v, %v, want one ProblemOutsideAccount under example.com/mike1/", probs, err)
	}
	if n, _ := srv.MailboxStatus("mike1@example.com", "INBOX"); n != 1 {
		t.Errorf("INBOX has %d messages, want 1", n)
	}
}
