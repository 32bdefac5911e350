package graphtest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// msalScript acquires an app-only token with a certificate assertion, as
// Microsoft's Python client does it: ConfidentialClientApplication with
// client_credential={"private_key", "thumbprint"}, the emulator's
// authority, and authority validation / instance discovery off
// (validate_authority=False; the msal 1.21 API [I: msal's
// ConfidentialClientApplication docstring]).
const msalScript = `
import json, os, sys, msal
app = msal.ConfidentialClientApplication(
    os.environ["CLIENT_ID"], authority=os.environ["AUTHORITY"], validate_authority=False,
    client_credential={"private_key": open(os.environ["KEY"]).read(), "thumbprint": os.environ["THUMB"]})
r = app.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
print(json.dumps(r))
sys.exit(0 if "access_token" in r else 1)
`

func TestMSALCertificateAssertion(t *testing.T) {
	if exec.Command("/usr/bin/python3", "-c", "import msal").Run() != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3-msal is missing (scripts/testbed-install installs it)")
		}
		t.Skip("python3-msal not installed")
	}
	srv, _ := start(t, nil)
	dir := t.TempDir()
	key := filepath.Join(dir, "app.key")
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(key, srv.KeyPEM(), 0o600)
	os.WriteFile(ca, srv.CertPEM(), 0o600)
	cmd := exec.Command("/usr/bin/python3", "-c", msalScript)
	cmd.Env = append(os.Environ(), "CLIENT_ID="+srv.ClientID(), "AUTHORITY="+srv.Authority(), "KEY="+key,
		"THUMB="+strings.ToUpper(srv.Thumbprint()), "REQUESTS_CA_BUNDLE="+ca, "SSL_CERT_FILE="+ca)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("msal: %v\n%s", err, out)
	}
	c := &client{t, srv, ""}
	tok := strings.SplitN(strings.SplitN(string(out), `"access_token": "`, 2)[1], `"`, 2)[0]
	c.tok = tok
	if resp, _ := c.get("/users"); resp.StatusCode != 200 {
		t.Errorf("Graph call with msal's token: %d", resp.StatusCode)
	}
}
