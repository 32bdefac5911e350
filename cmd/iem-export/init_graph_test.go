//go:build !windows

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/graph/graphtest"
	"github.com/iemproject/iem/internal/ptytest"
)

// TestInitGraphOnTerminal types into `iem-export init` on a
// pseudo-terminal, choosing Exchange Online, against the Graph emulator
// (trusted through SSL_CERT_FILE) with the app's certificate: each wrong
// answer is refused with the run's message naming the setting and asked
// again, a permission the app lacks is named until it is granted, and the
// written config then runs an export over Graph.
func TestInitGraphOnTerminal(t *testing.T) {
	g, dir, env := startGraph(t, ewstest.OrgOptions{})
	os.WriteFile(filepath.Join(dir, "app.pem"), append(g.CertificatePEM(), g.KeyPEM()...), 0o600)
	os.WriteFile(filepath.Join(dir, "not.pem"), []byte("not a certificate\n"), 0o600)
	conf := filepath.Join(dir, "export.conf")
	g.Revoke("Mail.Read")

	cmd := graphCommand(dir, env, "init --config "+conf)
	tm := ptytest.Start(t, cmd)

	tm.Expect("Step 1 of 5: Initial info")
	tm.Expect("Archive folder")
	tm.Send("archive")
	tm.Expect("Mailboxes exported in parallel [2]")
	tm.Send("")

	tm.Expect("Step 2 of 5: Source")
	tm.Expect("2) Exchange Online (Microsoft Graph)")
	tm.Expect("Source [Exchange on premises (EWS)]: ")
	tm.Send("2")
	tm.Expect("Tenant: ")
	tm.Send("contoso.onmicrosoft.com") // well-formed, not the emulator's: refused by the token endpoint
	tm.Expect("Application (client) ID: ")
	tm.Send("not-a-guid")
	tm.Expect(`--client-id: "not-a-guid" is not an application (client) ID, a GUID`)
	tm.Send(g.ClientID())
	tm.Expect("App credential [certificate]: ")
	tm.Send("")
	tm.Expect("Certificate file: ")
	tm.Send("missing.pem")
	tm.Expect("--certificate-file: graph: certificate: open ")
	tm.Send("not.pem")
	tm.Expect("--certificate-file: graph: certificate " + filepath.Join(dir, "not.pem"))
	tm.Send("app.pem")
	tm.Expect("National cloud (not the global Microsoft 365)? [y/N]: ")
	tm.Send("y")
	tm.Expect("Graph endpoint: ")
	tm.Send(strings.Replace(g.GraphURL(), "https://", "http://", 1))
	tm.Expect(`--graph-endpoint: scheme "http" not allowed: use https://`)
	tm.Send(g.GraphURL())
	tm.Expect("Login endpoint: ")
	tm.Send(strings.TrimSuffix(g.Authority(), "/"+g.Tenant()))
	tm.Expect("getting a token and checking the app's permissions…")
	tm.Expect("--tenant: the login endpoint refused the app")
	tm.Expect("Tenant [contoso.onmicrosoft.com]: ")
	tm.Send(g.Tenant())
	tm.Expect("--client-id: the app lacks the application permission Mail.Read")
	tm.Expect("Application (client) ID [" + g.ClientID() + "]: ")
	g.Grant("Mail.Read") // the administrator grants it; the same app is tried again
	tm.Send("")
	tm.Expect("✓ the tenant gave app " + g.ClientID())

	tm.Expect("Step 3 of 5: Directory")
	tm.Expect("reading the directory from Microsoft Graph")
	tm.Expect("mailboxes,")
	tm.Expect("Step 4 of 5: Selection")
	tm.Expect("alice@example.com")
	tm.Expect("Mailboxes to export [all]: ")
	tm.Send("alice@example.com")
	tm.Expect("1 of ")
	tm.Expect("Step 5 of 5: Review")
	tm.Expect("source:    Exchange Online, tenant " + g.Tenant() + ", app " + g.ClientID())
	tm.Expect("selected:  1 mailboxes")
	tm.Expect("Write " + conf)
	tm.Send("")
	tm.Expect("wrote " + conf)
	tm.Finish(cmd, "PRIVATE KEY")

	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"source = graph", "tenant = " + g.Tenant(), "client-id = " + g.ClientID(),
		"certificate-file = " + filepath.Join(dir, "app.pem"), "graph-endpoint = " + g.GraphURL(), "mailbox = alice@example.com"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("config lacks %q:\n%s", want, b)
		}
	}
	if strings.Contains(string(b), "PRIVATE KEY") || strings.Contains(string(b), "client-secret") {
		t.Errorf("config holds more than the certificate's path:\n%s", b)
	}
	// The config as written runs an export over Graph (a process of its
	// own, trusting the emulator as the set-up did).
	out, err := graphCommand(dir, env, "run --config "+conf+" --log-level warn").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "round 1: 1 mailboxes") {
		t.Errorf("run --config: %v\n%s", err, out)
	}
}

// startGraph starts the Graph emulator for a generated org and returns
// it, a folder for the test's files and the environment trusting it.
func startGraph(t *testing.T, opt ewstest.OrgOptions) (*graphtest.Server, string, []string) {
	t.Helper()
	g, err := graphtest.Start(ewstest.Generate(1, opt), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	dir := t.TempDir()
	ca := filepath.Join(dir, "graph-ca.pem")
	if err := os.WriteFile(ca, g.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return g, dir, []string{"SSL_CERT_FILE=" + ca}
}

// graphCommand is this test binary as iem-export with args, in dir, with
// env (trusting the Graph emulator) added.
func graphCommand(dir string, env []string, args string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append(env, "IEM_EXPORT_AS_MAIN=1", "IEM_EXPORT_ARGS="+args)...)
	return cmd
}

// TestInitGraphSecretOnTerminal: with a client secret, the set-up takes
// the path of the secret file only; a wrong secret is refused by the
// token endpoint naming client-secret-file, and the credential is asked
// again; the secret never reaches the terminal or the config.
func TestInitGraphSecretOnTerminal(t *testing.T) {
	g, dir, env := startGraph(t, ewstest.OrgOptions{Users: 1})
	os.WriteFile(filepath.Join(dir, "wrong.secret"), []byte("not-the-secret\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "graph.secret"), []byte(g.ClientSecret()+"\n"), 0o600)
	conf := filepath.Join(dir, "export.conf")
	cmd := graphCommand(dir, env, "init --config "+conf)
	tm := ptytest.Start(t, cmd)
	const noAnswer = "\x00" // a line to wait for, not a question
	for _, step := range [][2]string{{"Archive folder", "archive"}, {"Mailboxes exported in parallel [2]: ", ""},
		{"Source [Exchange on premises (EWS)]: ", "2"}, {"Tenant: ", g.Tenant()}, {"Application (client) ID: ", g.ClientID()},
		{"App credential [certificate]: ", "2"}, {"Client secret file: ", "wrong.secret"},
		{"National cloud (not the global Microsoft 365)? [y/N]: ", "y"}, {"Graph endpoint: ", g.GraphURL()},
		{"Login endpoint: ", strings.TrimSuffix(g.Authority(), "/"+g.Tenant())},
		{"--client-secret-file: the login endpoint refused the app", noAnswer},
		{"App credential [certificate]: ", "client secret"}, {"Client secret file [" + filepath.Join(dir, "wrong.secret") + "]: ", "graph.secret"},
		{"✓ the tenant gave app", noAnswer}, {"Mailboxes to export [all]: ", ""}, {"Write " + conf, ""}} {
		tm.Expect(step[0])
		if step[1] != noAnswer {
			tm.Send(step[1])
		}
	}
	tm.Expect("wrote " + conf)
	tm.Finish(cmd, g.ClientSecret(), "not-the-secret")
	ptytest.CheckSetupFiles(t, conf, nil, g.ClientSecret(), "not-the-secret")
	b, _ := os.ReadFile(conf)
	if !strings.Contains(string(b), "client-secret-file = "+filepath.Join(dir, "graph.secret")) || strings.Contains(string(b), "certificate-file") {
		t.Errorf("config:\n%s", b)
	}
}
