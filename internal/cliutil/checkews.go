package cliutil

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/iemproject/iem/exchange"
	"github.com/iemproject/iem/exchange/directory"
	"github.com/iemproject/iem/internal/wizard"
)

// The on-the-spot checks of iem-export's `init` and of every run: each returns a
// *UsageError naming the field to fix, so the wizard can show it
// and ask again, and a --config run exits 2 with the same message.

// ProbeEWS checks that the EWS host answers TLS and returns its
// certificate: the "host reachable" check, one dial, no retries.
func ProbeEWS(ctx context.Context, rawURL string, legacyTLS bool) (*wizard.Cert, error) {
	return probeURL(ctx, "ews-url", rawURL, legacyTLS)
}

// CheckEWS validates the EWS options without I/O, probes the host, then
// connects and asks the server's version: the URL answers EWS, the
// certificate is trusted and the credentials are accepted. It returns the
// connected client.
func CheckEWS(ctx context.Context, opt exchange.Options) (*exchange.Client, exchange.ServerInfo, error) {
	client, err := exchange.New(opt)
	if err != nil {
		return nil, exchange.ServerInfo{}, EWSUsage(err)
	}
	if ViaProxy(opt.URL) || opt.HTTPClient != nil {
		// The probe would bypass the proxy; the version request below
		// still checks everything but the certificate advice.
	} else {
		ci, err := ProbeEWS(ctx, opt.URL, opt.LegacyTLS)
		if err != nil {
			return nil, exchange.ServerInfo{}, err
		}
		if opt.TrustCert == "" && !opt.AlwaysTrust && ci.Verify() != nil {
			return nil, exchange.ServerInfo{}, Usagef("trust-cert", "the server certificate is not trusted by this system (%v); "+
				"if %q is your Exchange server, pin its certificate with --trust-cert %s", ci.Verify(), ci.Subject, ci.Fingerprint)
		}
		if opt.TrustCert != "" && !wizard.SameFingerprint(opt.TrustCert, ci.Fingerprint) {
			return nil, exchange.ServerInfo{}, Usagef("trust-cert", "the server presents %s, not the pinned certificate", ci.Fingerprint)
		}
	}
	info, err := client.ServerVersion(ctx)
	if err != nil {
		return nil, exchange.ServerInfo{}, EWSUsage(err)
	}
	return client, info, nil
}

// EWSUsage turns what the EWS client reports into an error naming the field.
func EWSUsage(err error) error {
	var fe *exchange.FieldError
	var ee *exchange.Error
	var ae *exchange.AuthError
	switch {
	case errors.As(err, &ae):
		field := "password-file"
		if !ae.Refused {
			field = "auth"
		}
		return Usagef(field, "%s: check --admin-user, the password and --auth (basic or ntlm)", ae.Detail())
	case errors.As(err, &fe):
		field := map[string]string{"ews-user": "admin-user", "ews-password": "password-file", "ews-auth": "auth", "ews-version": "exchange-version"}[fe.Field]
		if field == "" {
			field = fe.Field
		}
		return Usagef(field, "%v", fe.Err)
	case errors.Is(err, exchange.ErrUnauthorized):
		return Usagef("password-file", "the server refused the credentials (HTTP 401): check the admin user, the password and --auth (basic or ntlm)")
	case errors.Is(err, exchange.ErrCertificate):
		return Usagef("trust-cert", "%v", err)
	case errors.As(err, &ee):
		return fmt.Errorf("the server answered with an EWS error: %w", err)
	}
	if ue := transportUsage(err, "ews-url", ""); ue != nil {
		return ue
	}
	var he *exchange.HTTPError
	if errors.As(err, &he) && he.Status == 404 {
		return Usagef("ews-url", "no EWS endpoint at this URL (HTTP 404): it usually ends in /EWS/Exchange.asmx")
	}
	return fmt.Errorf("EWS check: %w", err)
}

// CheckDirectory reads the directory (an LDAP bind and search, or the
// LDIF file) and maps a refused bind or an unreachable server to its field.
func CheckDirectory(ctx context.Context, opt *directory.Options, file string) (*directory.Snapshot, error) {
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, Usagef("directory-file", "%v", err)
		}
		defer f.Close()
		s, err := directory.ReadLDIF(f)
		if err != nil {
			return nil, Usagef("directory-file", "%s is not an ldifde export: %v", file, err)
		}
		return s, nil
	}
	if err := directory.Validate(*opt); err != nil {
		var fe *directory.FieldError
		if errors.As(err, &fe) {
			return nil, Usagef(fe.Field, "%s", fe.Reason)
		}
		return nil, err
	}
	s, err := directory.Read(ctx, *opt)
	switch {
	case err == nil:
		return s, nil
	case ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials):
		return nil, Usagef("directory-password-file", "%v", err)
	case ldap.IsErrorWithCode(err, ldap.LDAPResultStrongAuthRequired), ldap.IsErrorWithCode(err, ldap.LDAPResultConfidentialityRequired):
		return nil, Usagef("directory-url", "the directory requires TLS for the bind: use ldaps:// or StartTLS (--directory-starttls)")
	case ldap.IsErrorWithCode(err, ldap.ErrorNetwork) || errors.As(err, new(*net.OpError)):
		return nil, Usagef("directory-url", "not reachable: %v", err)
	case ldap.IsErrorWithCode(err, ldap.LDAPResultInsufficientAccessRights), ldap.IsErrorWithCode(err, ldap.LDAPResultOperationsError):
		return nil, Usagef("directory-bind-dn", "bound, but the account may not search the directory: %v", err)
	}
	var ce *tls.CertificateVerificationError
	if errors.As(err, &ce) {
		return nil, Usagef("directory-url", "the directory's certificate is not trusted: %v", ce.Err)
	}
	return nil, fmt.Errorf("directory %s: %w", opt.URL, err)
}

// transportUsage names the setting behind a failure to reach a server at
// all (a certificate not trusted, a network error), or returns nil; where
// ("admin api URL", or "") starts the message.
func transportUsage(err error, urlField, where string) error {
	var ce *tls.CertificateVerificationError
	var ne *net.OpError
	switch {
	case errors.As(err, &ce):
		return Usagef("trust-cert", "%s", strings.TrimPrefix(where+": the server certificate is not trusted: "+ce.Err.Error(), ": "))
	case errors.As(err, &ne):
		return Usagef(urlField, "%s", strings.TrimPrefix(where+" not reachable: "+err.Error(), " "))
	}
	return nil
}
