package graphtest_test

import (
	"encoding/base64"
	"strings"
	"testing"
)

// TestRevokedPermission: without Mail.Read the token's roles claim lacks
// it and mail calls answer 403, while the directory still answers.
func TestRevokedPermission(t *testing.T) {
	srv, org := start(t, nil)
	srv.Revoke("Mail.Read")
	c := &client{t, srv, token(t, srv)}
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(c.tok, ".")[1])
	if !strings.Contains(string(payload), `"roles"`) || strings.Contains(string(payload), "Mail.Read") {
		t.Errorf("token payload %s", payload)
	}
	if resp, _ := c.get("/users"); resp.StatusCode != 200 {
		t.Errorf("/users without Mail.Read: %d", resp.StatusCode)
	}
	if resp, _ := c.get("/users/" + org.Users[0].SMTP + "/mailFolders"); resp.StatusCode != 403 {
		t.Errorf("mailFolders without Mail.Read: %d, want 403", resp.StatusCode)
	}
}
