// Package graph is the Microsoft Graph Source: it reads Exchange Online
// mailboxes and the directory through Graph (issue 17). This file gets the
// app-only access token (OAuth 2.0 client credentials, graph.md §2) through
// the Microsoft Authentication Library for Go (MSAL,
// github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential):
// a confidential client with the secret or the certificate
// (confidential.NewCredFromCert: MSAL signs the client assertion), the
// login endpoint plus tenant as the authority, and MSAL's token cache,
// which hands out the cached token and fetches a new one when it expires
// within 5 minutes (MSAL's storage.AccessToken.Validate).
//
// Instance discovery: MSAL skips it for the hosts it knows (the global and
// national clouds' login hosts, MSAL's aadTrustedHostList) and, for any
// other host, asks login.microsoftonline.com/common/discovery/instance, not
// the authority itself. A --login-endpoint outside that list (the emulator,
// a cloud MSAL does not list yet) is the user's explicit choice, so it is
// taken as given with confidential.WithInstanceDiscovery(false), as MSAL for
// Python does with validate_authority=False; MSAL then reads
// AUTHORITY/v2.0/.well-known/openid-configuration for the token endpoint.
package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
)

// DefaultLogin is the login endpoint of the global cloud.
const DefaultLogin = "https://login.microsoftonline.com"

// Credentials are an app registration's client credentials: a secret or a
// certificate (a PEM file holding the private key and the certificate).
type Credentials struct {
	Login    string // login endpoint (default DefaultLogin)
	Tenant   string // tenant GUID or domain name
	ClientID string
	Secret   string
	CertFile string
	Scope    string // default https://graph.microsoft.com/.default
}

// A TokenSource hands out a cached access token, renewed by MSAL shortly
// before it expires. It is safe for concurrent use. Its errors never hold
// the secret or the assertion.
type TokenSource struct {
	cred      Credentials
	authority string
	mcred     confidential.Credential
	opts      []confidential.Option

	mu   sync.Mutex
	app  confidential.Client
	last string // the token app handed out last
}

// NewTokenSource checks the credentials and loads the certificate, if any.
// It sends nothing.
func NewTokenSource(cred Credentials, client *http.Client) (*TokenSource, error) {
	if cred.Login == "" {
		cred.Login = DefaultLogin
	}
	if cred.Scope == "" {
		cred.Scope = "https://graph.microsoft.com/.default"
	}
	if err := httpsOnly("--graph-login", cred.Login); err != nil {
		return nil, err
	}
	if cred.Tenant == "" || cred.ClientID == "" {
		return nil, errors.New("graph: tenant and client ID are required")
	}
	if (cred.Secret == "") == (cred.CertFile == "") {
		return nil, errors.New("graph: give either a client secret or a certificate file")
	}
	if client == nil {
		client = http.DefaultClient
	}
	ts := &TokenSource{cred: cred, authority: strings.TrimRight(cred.Login, "/") + "/" + url.PathEscape(cred.Tenant)}
	var err error
	if cred.CertFile != "" {
		ts.mcred, err = certCredential(cred.CertFile)
	} else {
		ts.mcred, err = confidential.NewCredFromSecret(cred.Secret)
	}
	if err != nil {
		return nil, err
	}
	ts.opts = []confidential.Option{confidential.WithHTTPClient(client)}
	if !strings.EqualFold(strings.TrimRight(cred.Login, "/"), DefaultLogin) {
		ts.opts = append(ts.opts, confidential.WithInstanceDiscovery(false))
	}
	if ts.app, err = ts.newApp(); err != nil {
		return nil, err
	}
	return ts, nil
}

// certCredential loads a PEM file holding the RSA private key and its
// certificate (MSAL picks the certificate matching the key).
func certCredential(file string) (confidential.Credential, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return confidential.Credential{}, fmt.Errorf("graph: certificate: %w", err)
	}
	certs, key, err := confidential.CertFromPEM(data, "")
	if err == nil && (len(certs) == 0 || key == nil) {
		err = errors.New("need an RSA private key and a certificate in PEM")
	}
	var c confidential.Credential
	if err == nil {
		c, err = confidential.NewCredFromCert(certs, key)
	}
	if err != nil {
		return c, fmt.Errorf("graph: certificate %s: %w", file, err)
	}
	return c, nil
}

// newApp is a confidential client with an empty token cache.
func (ts *TokenSource) newApp() (confidential.Client, error) {
	app, err := confidential.New(ts.authority, ts.cred.ClientID, ts.mcred, ts.opts...)
	if err != nil {
		return app, fmt.Errorf("graph: --login-endpoint/--tenant: %w", err)
	}
	return app, nil
}

// httpsOnly refuses an endpoint that is not https, naming the flag.
func httpsOnly(field, endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("graph: %s %q: must be an https:// URL", field, endpoint)
	}
	return nil
}

// Token returns a valid access token: MSAL's cached one, or a new one when
// it is missing or expires soon.
func (ts *TokenSource) Token(ctx context.Context) (string, error) {
	ts.mu.Lock()
	app := ts.app
	ts.mu.Unlock()
	res, err := app.AcquireTokenByCredential(ctx, []string{ts.cred.Scope})
	if err != nil {
		return "", tokenError(err)
	}
	ts.mu.Lock()
	ts.last = res.AccessToken
	ts.mu.Unlock()
	return res.AccessToken, nil
}

// Invalidate drops the cached token (after a 401: Graph refused a token
// MSAL still holds valid) so the next Token call fetches a new one. MSAL
// has no call to evict an app token, so the client is replaced by one with
// an empty cache.
func (ts *TokenSource) Invalidate(token string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if token == "" || ts.last != token {
		return
	}
	if app, err := ts.newApp(); err == nil { // it worked with the same arguments in NewTokenSource
		ts.app, ts.last = app, ""
	}
}

// A TokenError is the login endpoint refusing the credentials: the OAuth
// error code (invalid_client, unauthorized_client, invalid_tenant, ...)
// and the first of its AADSTS error_codes, which tells which credential
// is wrong (90002 tenant, 700016 client id, 7000215 secret, 700027
// certificate; Microsoft's "Microsoft Entra authentication and
// authorization error codes" [I]).
type TokenError struct {
	Status            int
	Code, Description string
	AADSTS            int
}

func (e *TokenError) Error() string {
	return fmt.Sprintf("graph: token: HTTP %d: %s: %s", e.Status, e.Code, e.Description)
}

// tokenError turns MSAL's error into a TokenError when the login endpoint
// answered with an OAuth error body: MSAL returns errors.CallErr holding
// the response, whose body it has already read and put back. That covers
// the token request and the openid-configuration request before it (an
// unknown tenant fails there with AADSTS90002).
func tokenError(err error) error {
	var ce msalerrors.CallErr
	if errors.As(err, &ce) && ce.Resp != nil && ce.Resp.Body != nil {
		var body struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
			Codes       []int  `json:"error_codes"`
		}
		data, _ := io.ReadAll(io.LimitReader(ce.Resp.Body, 1<<20))
		if json.Unmarshal(data, &body) == nil && body.Error != "" {
			te := &TokenError{Status: ce.Resp.StatusCode, Code: body.Error, Description: body.Description}
			if len(body.Codes) > 0 {
				te.AADSTS = body.Codes[0]
			}
			return te
		}
		return fmt.Errorf("graph: token: HTTP %d from %s", ce.Resp.StatusCode, ce.Req.URL.Redacted())
	}
	return fmt.Errorf("graph: token: %w", err)
}
