package cliutil

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/iemproject/iem/icewarp"
	"github.com/iemproject/iem/internal/wizard"
)

// The on-the-spot checks of iem-import's `init` and of every run (the
// probes and ViaProxy serve iem-export's checks too): each returns a
// *UsageError naming the field to fix, so the wizard can show it
// and ask again, and a --config run exits 2 with the same message.

// ProbeCert checks that host:port answers TLS and returns its certificate:
// the "host reachable" check, one dial, no retries. field names the
// setting the address came from.
func ProbeCert(ctx context.Context, field, host, port string) (*wizard.Cert, error) {
	return probeCert(ctx, field, host, port, false)
}

func probeCert(ctx context.Context, field, host, port string, legacyTLS bool) (*wizard.Cert, error) {
	ci, err := wizard.ProbeTLS(ctx, host, port, legacyTLS)
	if err != nil {
		return nil, Usagef(field, "%v", err)
	}
	return ci, nil
}

// ProbeURL is ProbeCert for an https URL (port 443 by default).
func ProbeURL(ctx context.Context, field, rawURL string) (*wizard.Cert, error) {
	return probeURL(ctx, field, rawURL, false)
}

func probeURL(ctx context.Context, field, rawURL string, legacyTLS bool) (*wizard.Cert, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, Usagef(field, "not a valid URL")
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	return probeCert(ctx, field, u.Hostname(), port, legacyTLS)
}

// Trusted checks a probed certificate against the trust options: the
// system roots, or the pin (--trust-cert), or --always-trust. IceWarp
// serves one certificate on all its services, so one pin covers the admin
// API, IMAP and WebDAV.
func Trusted(field string, ci *wizard.Cert, topt icewarp.TLSOptions) error {
	switch {
	case topt.InsecureSkipVerify:
		return nil
	case topt.PinSHA256 != "":
		if !wizard.SameFingerprint("sha256:"+topt.PinSHA256, ci.Fingerprint) {
			return Usagef("trust-cert", "%s presents the certificate %s, not the pinned one", field, ci.Fingerprint)
		}
		return nil
	case ci.Verify() != nil:
		return Usagef("trust-cert", "the server certificate is not trusted by this system (%v); "+
			"if %q is your IceWarp server, pin its certificate with --trust-cert %s", ci.Verify(), ci.Subject, ci.Fingerprint)
	}
	return nil
}

// CheckAdmin validates the admin API options without I/O, probes an https
// host and its certificate, then logs in: the URL answers the admin API,
// the certificate is trusted and the administrator's credentials are
// accepted. It returns the logged-in session.
func CheckAdmin(ctx context.Context, opt icewarp.Options) (*icewarp.Admin, error) {
	admin, err := icewarp.New(opt)
	if err != nil {
		return nil, AdminUsage(opt.URL, err)
	}
	if u, err := url.Parse(opt.URL); err == nil && u.Scheme == "https" && !ViaProxy(opt.URL) {
		ci, err := ProbeURL(ctx, "api-url", opt.URL)
		if err != nil {
			return nil, err
		}
		if err := Trusted("api-url", ci, opt.TLS); err != nil {
			return nil, err
		}
	}
	if err := admin.Login(ctx); err != nil {
		return nil, AdminUsage(opt.URL, err)
	}
	return admin, nil
}

// ViaProxy reports whether requests to rawURL go through an HTTP proxy
// (a direct probe would then test the wrong path).
func ViaProxy(rawURL string) bool {
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		return false
	}
	u, err := http.ProxyFromEnvironment(req)
	return err == nil && u != nil
}

// AdminUsage turns what the admin API client reports into an error naming
// the field; the password never appears in it.
func AdminUsage(apiURL string, err error) error {
	var fe *icewarp.FieldError
	var ae *icewarp.APIError
	var he *icewarp.HTTPError
	switch {
	case errors.As(err, &fe):
		field := map[string]string{"URL": "api-url", "Username": "admin-user", "Password": "password-file",
			"TLS.PinSHA256": "trust-cert", "TLS": "trust-cert"}[fe.Field]
		if field == "" {
			field = "api-url"
		}
		return Usagef(field, "%s", fe.Reason)
	case errors.As(err, &ae) && ae.Command == "authenticate":
		return Usagef("password-file", "admin api %s refused the login (%s): check --admin-user and the password", apiURL, ae.UID)
	case errors.As(err, &he) && he.StatusCode == http.StatusNotFound:
		return Usagef("api-url", "admin api %s: no admin API at this URL (HTTP 404): it usually is https://HOST:32001/icewarpapi/", apiURL)
	}
	if ue := transportUsage(err, "api-url", "admin api "+apiURL); ue != nil {
		return ue
	}
	return fmt.Errorf("admin api %s: %w", apiURL, err)
}
