// Package graph is the Microsoft Graph Source: it reads Exchange Online
// mailboxes and the directory through Graph (issue 17). This file gets the
// app-only access token (OAuth 2.0 client credentials).
package graph

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
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

// A TokenSource hands out a cached access token and renews it shortly
// before it expires. It is safe for concurrent use. Its errors never hold
// the secret or the assertion.
type TokenSource struct {
	cred   Credentials
	client *http.Client
	key    *rsa.PrivateKey
	x5t    string
	now    func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
}

// renewBefore is how long before expiry a token is renewed.
const renewBefore = 5 * time.Minute

// NewTokenSource checks the credentials and loads the certificate, if any.
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
	ts := &TokenSource{cred: cred, client: client, now: time.Now}
	if cred.CertFile != "" {
		data, err := os.ReadFile(cred.CertFile)
		if err != nil {
			return nil, fmt.Errorf("graph: certificate: %w", err)
		}
		if ts.key, ts.x5t, err = parseCertPEM(data); err != nil {
			return nil, fmt.Errorf("graph: certificate %s: %w", cred.CertFile, err)
		}
	}
	return ts, nil
}

// httpsOnly refuses an endpoint that is not https, naming the flag.
func httpsOnly(field, endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("graph: %s %q: must be an https:// URL", field, endpoint)
	}
	return nil
}

// parseCertPEM returns the RSA key and the certificate's SHA-1 thumbprint
// (base64url, the JWT x5t header) from a PEM file holding both.
func parseCertPEM(data []byte) (*rsa.PrivateKey, string, error) {
	var key *rsa.PrivateKey
	var cert *x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		switch {
		case b.Type == "CERTIFICATE" && cert == nil:
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, "", err
			}
			cert = c
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			k, err := parseKey(b)
			if err != nil {
				return nil, "", err
			}
			key = k
		}
	}
	if key == nil || cert == nil {
		return nil, "", errors.New("need an RSA private key and a certificate in PEM")
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return nil, "", errors.New("the private key does not belong to the certificate")
	}
	sum := sha1.Sum(cert.Raw)
	return key, base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

func parseKey(b *pem.Block) (*rsa.PrivateKey, error) {
	if b.Type == "RSA PRIVATE KEY" {
		return x509.ParsePKCS1PrivateKey(b.Bytes)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("the private key is not RSA")
	}
	return rk, nil
}

func (ts *TokenSource) tokenURL() string {
	return strings.TrimRight(ts.cred.Login, "/") + "/" + url.PathEscape(ts.cred.Tenant) + "/oauth2/v2.0/token"
}

// Token returns a valid access token, fetching a new one when the cached
// one is missing or expires soon.
func (ts *TokenSource) Token(ctx context.Context) (string, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.token != "" && ts.now().Before(ts.expires.Add(-renewBefore)) {
		return ts.token, nil
	}
	return ts.fetch(ctx)
}

// Invalidate drops the cached token (after a 401) so the next Token call
// fetches a new one.
func (ts *TokenSource) Invalidate(token string) {
	ts.mu.Lock()
	if ts.token == token {
		ts.token = ""
	}
	ts.mu.Unlock()
}

func (ts *TokenSource) fetch(ctx context.Context) (string, error) {
	form := url.Values{
		"client_id":  {ts.cred.ClientID},
		"scope":      {ts.cred.Scope},
		"grant_type": {"client_credentials"},
	}
	if ts.key != nil {
		a, err := ts.assertion()
		if err != nil {
			return "", err
		}
		form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		form.Set("client_assertion", a)
	} else {
		form.Set("client_secret", ts.cred.Secret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.tokenURL(), strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := ts.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("graph: token: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Codes       []int  `json:"error_codes"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return "", fmt.Errorf("graph: token: HTTP %d: %w", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK || body.AccessToken == "" {
		te := &TokenError{Status: resp.StatusCode, Code: body.Error, Description: body.Description}
		if len(body.Codes) > 0 {
			te.AADSTS = body.Codes[0]
		}
		return "", te
	}
	ts.token = body.AccessToken
	ts.expires = ts.now().Add(time.Duration(body.ExpiresIn) * time.Second)
	return ts.token, nil
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

// assertion is the RS256-signed JWT client assertion (RFC 7523).
func (ts *TokenSource) assertion() (string, error) {
	now := ts.now()
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "x5t": ts.x5t})
	claims, _ := json.Marshal(map[string]any{
		"aud": ts.tokenURL(),
		"iss": ts.cred.ClientID,
		"sub": ts.cred.ClientID,
		"jti": hex.EncodeToString(jti),
		"nbf": now.Unix(),
		"exp": now.Add(10 * time.Minute).Unix(),
	})
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, ts.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("graph: sign assertion: %w", err)
	}
	return signed + "." + enc.EncodeToString(sig), nil
}
