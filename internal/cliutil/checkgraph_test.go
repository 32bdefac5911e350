package cliutil

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/graph"
	"github.com/iemproject/iem/graph/graphtest"
	"github.com/iemproject/iem/internal/retry"
)

// TestCheckGraph: each wrong credential is named by its setting, as the
// emulator's login endpoint refuses it (AADSTS codes).
func TestCheckGraph(t *testing.T) {
	srv, err := graphtest.Start(ewstest.Generate(1, ewstest.OrgOptions{}), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	login := strings.TrimSuffix(srv.Authority(), "/"+srv.Tenant())
	good := graph.Credentials{Login: login, Tenant: srv.Tenant(), ClientID: srv.ClientID(), Secret: srv.ClientSecret()}
	if _, err := CheckGraph(context.Background(), good, srv.GraphURL(), srv.Client(), retry.Policy{}); err != nil {
		t.Fatalf("CheckGraph(good credentials) = %v", err)
	}
	for _, tc := range []struct {
		name  string
		edit  func(*graph.Credentials)
		field string
	}{
		{"wrong tenant", func(c *graph.Credentials) { c.Tenant = "fabrikam.onmicrosoft.com" }, "tenant"},
		{"unknown client id", func(c *graph.Credentials) { c.ClientID = "00000000-0000-0000-0000-000000000001" }, "client-id"},
		{"wrong secret", func(c *graph.Credentials) { c.Secret = "not-the-secret" }, "client-secret-file"},
		{"login endpoint down", func(c *graph.Credentials) { c.Login = "https://127.0.0.1:1" }, "login-endpoint"},
	} {
		cred := good
		tc.edit(&cred)
		_, err := CheckGraph(context.Background(), cred, srv.GraphURL(), srv.Client(), retry.Policy{})
		var ue *UsageError
		if !errors.As(err, &ue) || ue.Field != tc.field {
			t.Errorf("%s: %v, want a usage error naming --%s", tc.name, err, tc.field)
		}
		if err != nil && strings.Contains(err.Error(), srv.ClientSecret()) {
			t.Errorf("%s: the error shows the secret: %v", tc.name, err)
		}
	}
}

// TestCheckGraphMissingPermission: an app without one of the application
// permissions is refused before anything is read, naming --client-id and
// the permission. MailboxSettings.Read is optional: without it the export
// goes on and counts the settings it could not read.
func TestCheckGraphMissingPermission(t *testing.T) {
	for _, perm := range graphtest.Permissions {
		if perm == "MailboxSettings.Read" {
			continue
		}
		srv, err := graphtest.Start(ewstest.Generate(1, ewstest.OrgOptions{}), nil)
		if err != nil {
			t.Fatal(err)
		}
		srv.Revoke(perm)
		login := strings.TrimSuffix(srv.Authority(), "/"+srv.Tenant())
		cred := graph.Credentials{Login: login, Tenant: srv.Tenant(), ClientID: srv.ClientID(), Secret: srv.ClientSecret()}
		_, err = CheckGraph(context.Background(), cred, srv.GraphURL(), srv.Client(), retry.Policy{})
		var ue *UsageError
		if !errors.As(err, &ue) || ue.Field != "client-id" || !strings.Contains(err.Error(), perm) {
			t.Errorf("without %s: %v, want a usage error naming --client-id and the permission", perm, err)
		}
		if n := srv.Counters().GraphRequests; n != 0 {
			t.Errorf("without %s: %d Graph requests before the refusal", perm, n)
		}
		srv.Close()
	}
}
