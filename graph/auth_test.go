package graph

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// openIDConfig serves TENANT/v2.0/.well-known/openid-configuration, which
// MSAL reads for the token endpoint before its first token request (the
// fields its TenantDiscoveryResponse.Validate requires).
func openIDConfig(w http.ResponseWriter, r *http.Request) {
	a := "https://" + r.Host + "/" + strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")[0]
	json.NewEncoder(w).Encode(map[string]string{"token_endpoint": a + "/oauth2/v2.0/token",
		"authorization_endpoint": a + "/oauth2/v2.0/authorize", "issuer": a + "/v2.0"})
}

// tokenServer is a login endpoint answering every token request with
// answer(n), n counting the requests from 1.
func tokenServer(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, n int32)) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("GET /tenant/v2.0/.well-known/openid-configuration", openIDConfig)
	mux.HandleFunc("POST /tenant/oauth2/v2.0/token", func(w http.ResponseWriter, r *http.Request) { answer(w, r, n.Add(1)) })
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestAssertion: MSAL's client assertion verifies with the certificate's
// public key (PS256, header x5t#S256 = the certificate's SHA-256
// thumbprint, in standard base64 with padding as MSAL writes it, as MSAL
// signs for Entra ID), no secret is sent, and the
// token is cached.
func TestAssertion(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "iem"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	file := filepath.Join(t.TempDir(), "app.pem")
	pemData := append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	if err := os.WriteFile(file, pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	var assertion string
	srv, n := tokenServer(t, func(w http.ResponseWriter, r *http.Request, n int32) {
		_ = r.ParseForm()
		assertion = r.PostForm.Get("client_assertion")
		if r.PostForm.Get("client_secret") != "" {
			t.Error("secret sent with a certificate")
		}
		fmt.Fprintf(w, tokenJSON, n)
	})
	ts, err := NewTokenSource(Credentials{Login: srv.URL, Tenant: "tenant", ClientID: "app", CertFile: file}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if tok, err := ts.Token(context.Background()); err != nil || tok != "tok1" {
			t.Fatalf("token %q err %v", tok, err)
		}
	}
	if n.Load() != 1 {
		t.Fatalf("%d token requests, want 1 (cached)", n.Load())
	}
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		t.Fatalf("assertion %q", assertion)
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPSS(&key.PublicKey, crypto.SHA256, sum[:], sig, nil); err != nil {
		t.Fatalf("signature: %v", err)
	}
	hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var h map[string]string
	_ = json.Unmarshal(hdr, &h)
	thumb := sha256.Sum256(der)
	if h["alg"] != "PS256" || h["x5t#S256"] != base64.StdEncoding.EncodeToString(thumb[:]) {
		t.Fatalf("header %v", h)
	}
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c map[string]any
	_ = json.Unmarshal(claims, &c)
	if c["aud"] != srv.URL+"/tenant/oauth2/v2.0/token" || c["iss"] != "app" || c["sub"] != "app" {
		t.Fatalf("claims %v", c)
	}
}

// TestTokenRenewal: a token that expires within MSAL's 5 minutes is not
// reused; one valid for an hour is.
func TestTokenRenewal(t *testing.T) {
	for _, tc := range []struct {
		expiresIn int
		want      int32
	}{{240, 3}, {3599, 1}} {
		srv, n := tokenServer(t, func(w http.ResponseWriter, r *http.Request, n int32) {
			fmt.Fprintf(w, `{"token_type":"Bearer","expires_in":%d,"access_token":"tok%d"}`, tc.expiresIn, n)
		})
		ts, err := NewTokenSource(Credentials{Login: srv.URL, Tenant: "tenant", ClientID: "app", Secret: "s3cret"}, srv.Client())
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := ts.Token(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if n.Load() != tc.want {
			t.Errorf("expires_in %d: %d token requests, want %d", tc.expiresIn, n.Load(), tc.want)
		}
	}
}

// TestInvalidate: after Graph refused a token, the next Token call gets a
// new one; invalidating a token already replaced changes nothing.
func TestInvalidate(t *testing.T) {
	srv, n := tokenServer(t, func(w http.ResponseWriter, r *http.Request, n int32) { fmt.Fprintf(w, tokenJSON, n) })
	ts, err := NewTokenSource(Credentials{Login: srv.URL, Tenant: "tenant", ClientID: "app", Secret: "s3cret"}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tok1, _ := ts.Token(ctx)
	ts.Invalidate(tok1)
	tok2, err := ts.Token(ctx)
	if err != nil || tok2 == tok1 {
		t.Fatalf("after Invalidate: %q (was %q), %v", tok2, tok1, err)
	}
	ts.Invalidate(tok1)
	if tok3, _ := ts.Token(ctx); tok3 != tok2 || n.Load() != 2 {
		t.Fatalf("stale Invalidate: %q, %d requests", tok3, n.Load())
	}
}

// TestTokenErrorFromMSAL: the login endpoint's OAuth error reaches the
// caller as a TokenError with the AADSTS code, without the secret.
func TestTokenErrorFromMSAL(t *testing.T) {
	srv, _ := tokenServer(t, func(w http.ResponseWriter, r *http.Request, n int32) {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]}`)
	})
	ts, err := NewTokenSource(Credentials{Login: srv.URL, Tenant: "tenant", ClientID: "app", Secret: "s3cret"}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	_, err = ts.Token(context.Background())
	var te *TokenError
	if !errors.As(err, &te) || te.AADSTS != 7000215 || te.Code != "invalid_client" || te.Status != 401 {
		t.Fatalf("err = %#v", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("the error shows the secret: %v", err)
	}
}

// TestCertificateMismatch: a key that does not belong to the certificate
// is refused before anything is sent.
func TestCertificateMismatch(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	kder, _ := x509.MarshalPKCS8PrivateKey(other)
	file := filepath.Join(t.TempDir(), "app.pem")
	os.WriteFile(file, append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...), 0o600)
	if _, err := NewTokenSource(Credentials{Tenant: "t", ClientID: "app", CertFile: file}, nil); err == nil || !strings.Contains(err.Error(), file) {
		t.Fatalf("err = %v, want one naming the file", err)
	}
}
