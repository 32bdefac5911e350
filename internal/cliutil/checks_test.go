package cliutil

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/iemproject/iem/exchange"
	"github.com/iemproject/iem/icewarp"
)

// usageField returns the field a usage error names, or "" for another error.
func usageField(err error) string {
	var ue *UsageError
	if errors.As(err, &ue) {
		return ue.Field
	}
	return ""
}

func TestEWSUsageFields(t *testing.T) {
	netErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&exchange.FieldError{Field: "ews-user", Err: errors.New("empty")}, "admin-user"},
		{&exchange.FieldError{Field: "ews-password", Err: errors.New("empty")}, "password-file"},
		{&exchange.FieldError{Field: "ews-version", Err: errors.New("bad")}, "exchange-version"},
		{&exchange.FieldError{Field: "ews-url", Err: errors.New("bad")}, "ews-url"},
		{fmt.Errorf("x: %w", exchange.ErrUnauthorized), "password-file"},
		{fmt.Errorf("x: %w", netErr), "ews-url"},
		{&exchange.HTTPError{Status: 404}, "ews-url"},
		{&exchange.HTTPError{Status: 500}, ""},
	} {
		if got := usageField(EWSUsage(tc.err)); got != tc.want {
			t.Errorf("EWSUsage(%v) names %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestAdminUsageFields(t *testing.T) {
	const api = "https://mail.example:32001/icewarpapi/"
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&icewarp.FieldError{Field: "Username", Reason: "empty"}, "admin-user"},
		{&icewarp.FieldError{Field: "TLS.PinSHA256", Reason: "bad"}, "trust-cert"},
		{&icewarp.FieldError{Field: "Other", Reason: "bad"}, "api-url"},
		{&icewarp.APIError{Command: "authenticate", UID: "auth_login_invalid"}, "password-file"},
		{&icewarp.APIError{Command: "createaccount", UID: "x"}, ""},
		{&icewarp.HTTPError{StatusCode: 404}, "api-url"},
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("refused")}, "api-url"},
	} {
		if got := usageField(AdminUsage(api, tc.err)); got != tc.want {
			t.Errorf("AdminUsage(%v) names %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestProbeURLBadURL(t *testing.T) {
	if _, err := ProbeURL(context.Background(), "dav-url", "http://[::1"); usageField(err) != "dav-url" {
		t.Errorf("ProbeURL(bad URL) = %v, want a usage error naming dav-url", err)
	}
	if _, err := ProbeEWS(context.Background(), "http://[::1", false); usageField(err) != "ews-url" {
		t.Errorf("ProbeEWS(bad URL) = %v, want a usage error naming ews-url", err)
	}
}

func TestViaProxy(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "http://proxy.example:3128")
	t.Setenv("NO_PROXY", "direct.example")
	if !ViaProxy("https://mail.example/EWS/Exchange.asmx") {
		t.Error("ViaProxy(proxied host) = false")
	}
	if ViaProxy("https://direct.example/EWS/Exchange.asmx") {
		t.Error("ViaProxy(NO_PROXY host) = true")
	}
}
