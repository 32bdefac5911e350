package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"

	"github.com/go-ldap/ldap/v3"

	"github.com/iemproject/iem/exchange"
	"github.com/iemproject/iem/exchange/directory"
	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/internal/wizard"
)

// The on-the-spot checks of `init` and of every run: each returns a
// *cliutil.UsageError naming the field to fix, so the wizard can show it
// and ask again, and a --config run exits 2 with the same message.

// probeEWS checks that the EWS host answers TLS and returns its
// certificate: the "host reachable" check, one dial, no retries.
func probeEWS(ctx context.Context, rawURL string, legacyTLS bool) (*wizard.Cert, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, cliutil.Usagef("ews-url", "not a valid URL")
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	ci, err := wizard.ProbeTLS(ctx, u.Hostname(), port, legacyTLS)
	if err != nil {
		return nil, cliutil.Usagef("ews-url", "%v", err)
	}
	return ci, nil
}

// checkEWS validates the EWS options without I/O, probes the host, then
// connects and asks the server's version: the URL answers EWS, the
// certificate is trusted and the credentials are accepted. It returns the
// connected client.
func checkEWS(ctx context.Context, opt exchange.Options) (*exchange.Client, exchange.ServerInfo, error) {
	client, err := exchange.New(opt)
	if err != nil {
		return nil, exchange.ServerInfo{}, ewsUsage(err)
	}
	if viaProxy(opt.URL) || opt.HTTPClient != nil {
		// The probe would bypass the proxy; the version request below
		// still checks everything but the certificate advice.
	} else {
		ci, err := probeEWS(ctx, opt.URL, opt.LegacyTLS)
		if err != nil {
			return nil, exchange.ServerInfo{}, err
		}
		if opt.TrustCert == "" && !opt.AlwaysTrust && ci.Verify() != nil {
			return nil, exchange.ServerInfo{}, cliutil.Usagef("trust-cert", "the server certificate is not trusted by this system (%v); "+
				"if %q is your Exchange server, pin its certificate with --trust-cert %s", ci.Verify(), ci.Subject, ci.Fingerprint)
		}
		if opt.TrustCert != "" && !wizard.SameFingerprint(opt.TrustCert, ci.Fingerprint) {
			return nil, exchange.ServerInfo{}, cliutil.Usagef("trust-cert", "the server presents %s, not the pinned certificate", ci.Fingerprint)
		}
	}
	info, err := client.ServerVersion(ctx)
	if err != nil {
		return nil, exchange.ServerInfo{}, ewsUsage(err)
	}
	return client, info, nil
}

// viaProxy reports whether requests to rawURL go through an HTTP proxy.
func viaProxy(rawURL string) bool {
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		return false
	}
	u, err := http.ProxyFromEnvironment(req)
	return err == nil && u != nil
}

// ewsUsage turns what the EWS client reports into an error naming the field.
func ewsUsage(err error) error {
	var fe *exchange.FieldError
	var ce *tls.CertificateVerificationError
	var ee *exchange.Error
	var ne *net.OpError
	var ae *exchange.AuthError
	switch {
	case errors.As(err, &ae):
		field := "password-file"
		if !ae.Refused {
			field = "auth"
		}
		return cliutil.Usagef(field, "%s: check --admin-user, the password and --auth (basic or ntlm)", ae.Detail())
	case errors.As(err, &fe):
		field := map[string]string{"ews-user": "admin-user", "ews-password": "password-file", "ews-auth": "auth", "ews-version": "exchange-version"}[fe.Field]
		if field == "" {
			field = fe.Field
		}
		return cliutil.Usagef(field, "%v", fe.Err)
	case errors.Is(err, exchange.ErrUnauthorized):
		return cliutil.Usagef("password-file", "the server refused the credentials (HTTP 401): check the admin user, the password and --auth (basic or ntlm)")
	case errors.Is(err, exchange.ErrCertificate):
		return cliutil.Usagef("trust-cert", "%v", err)
	case errors.As(err, &ce):
		return cliutil.Usagef("trust-cert", "the server certificate is not trusted: %v", ce.Err)
	case errors.As(err, &ee):
		return fmt.Errorf("the server answered with an EWS error: %w", err)
	case errors.As(err, &ne):
		return cliutil.Usagef("ews-url", "not reachable: %v", err)
	}
	var he *exchange.HTTPError
	if errors.As(err, &he) && he.Status == 404 {
		return cliutil.Usagef("ews-url", "no EWS endpoint at this URL (HTTP 404): it usually ends in /EWS/Exchange.asmx")
	}
	return fmt.Errorf("EWS check: %w", err)
}

// checkDirectory reads the directory (an LDAP bind and search, or the
// LDIF file) and maps a refused bind or an unreachable server to its field.
func checkDirectory(ctx context.Context, opt *directory.Options, file string) (*directory.Snapshot, error) {
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, cliutil.Usagef("directory-file", "%v", err)
		}
		defer f.Close()
		s, err := directory.ReadLDIF(f)
		if err != nil {
			return nil, cliutil.Usagef("directory-file", "%s is not an ldifde export: %v", file, err)
		}
		return s, nil
	}
	if err := directory.Validate(*opt); err != nil {
		var fe *directory.FieldError
		if errors.As(err, &fe) {
			return nil, cliutil.Usagef(fe.Field, "%s", fe.Reason)
		}
		return nil, err
	}
	s, err := directory.Read(ctx, *opt)
	switch {
	case err == nil:
		return s, nil
	case ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials):
		return nil, cliutil.Usagef("directory-password-file", "%v", err)
	case ldap.IsErrorWithCode(err, ldap.LDAPResultStrongAuthRequired), ldap.IsErrorWithCode(err, ldap.LDAPResultConfidentialityRequired):
		return nil, cliutil.Usagef("directory-url", "the directory requires TLS for the bind: use ldaps:// or StartTLS (--directory-starttls)")
	case ldap.IsErrorWithCode(err, ldap.ErrorNetwork) || errors.As(err, new(*net.OpError)):
		return nil, cliutil.Usagef("directory-url", "not reachable: %v", err)
	case ldap.IsErrorWithCode(err, ldap.LDAPResultInsufficientAccessRights), ldap.IsErrorWithCode(err, ldap.LDAPResultOperationsError):
		return nil, cliutil.Usagef("directory-bind-dn", "bound, but the account may not search the directory: %v", err)
	}
	var ce *tls.CertificateVerificationError
	if errors.As(err, &ce) {
		return nil, cliutil.Usagef("directory-url", "the directory's certificate is not trusted: %v", ce.Err)
	}
	return nil, fmt.Errorf("directory %s: %w", opt.URL, err)
}
