package graphtest

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
)

func sha1Sum(b []byte) []byte {
	s := sha1.Sum(b)
	return s[:]
}

// aadError writes an Entra ID (AAD) OAuth error: {"error","error_description"
// starting with the AADSTS code,"error_codes":[n],...} [I: shape of the v2.0
// endpoint's errors as MSAL parses them (error, error_description,
// error_codes); codes from Microsoft Learn "Microsoft Entra authentication
// and authorization error codes" (reference-error-codes): AADSTS90002
// tenant not found, AADSTS700016 application not found, AADSTS7000215
// invalid client secret, AADSTS700027 assertion signature, AADSTS700024
// assertion not within its valid time range].
func aadError(w http.ResponseWriter, status int, oauthErr string, code int, desc string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": oauthErr,
		"error_description": "AADSTS" + itoa(code) + ": " + desc, "error_codes": []int{code},
		"timestamp": time.Now().UTC().Format("2006-01-02 15:04:05Z"), "trace_id": "00000000-0000-0000-0000-000000000000",
		"correlation_id": "00000000-0000-0000-0000-000000000000"})
}

func itoa(n int) string { return strings.TrimSpace(jsonNum(n)) }

func jsonNum(n int) string { b, _ := json.Marshal(n); return string(b) }

func (e *Emulator) tenantOK(t string) bool {
	return strings.EqualFold(t, e.opt.Tenant) || strings.EqualFold(t, e.Org.Domain)
}

// token serves POST /{tenant}/oauth2/v2.0/token for grant_type
// client_credentials with client_secret or a client assertion
// [V graph.md §2, GDOC concepts/auth-v2-service.md; RFC 7523].
func (e *Emulator) token(w http.ResponseWriter, r *http.Request) {
	e.count(func(c *Counters) { c.TokenRequests++ })
	tenant := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")[0]
	if r.Method != http.MethodPost {
		aadError(w, http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts POST requests.")
		return
	}
	if !e.tenantOK(tenant) {
		aadError(w, http.StatusBadRequest, "invalid_tenant", 90002, "Tenant '"+tenant+"' not found.")
		return
	}
	if err := r.ParseForm(); err != nil {
		aadError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	f := r.PostForm
	if f.Get("grant_type") != "client_credentials" {
		aadError(w, http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '"+f.Get("grant_type")+"'.")
		return
	}
	id := f.Get("client_id")
	switch {
	case f.Get("client_assertion") != "":
		if f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			aadError(w, http.StatusBadRequest, "invalid_request", 50027, "Invalid client_assertion_type.")
			return
		}
		sub, code, msg := e.checkAssertion(f.Get("client_assertion"))
		if code != 0 {
			st := http.StatusUnauthorized
			if code == 700016 {
				st = http.StatusBadRequest
			}
			aadError(w, st, "invalid_client", code, msg)
			return
		}
		if id == "" {
			id = sub
		}
	case id != e.opt.ClientID:
		aadError(w, http.StatusBadRequest, "unauthorized_client", 700016, "Application with identifier '"+id+"' was not found in the directory '"+tenant+"'.")
		return
	case f.Get("client_secret") != e.opt.ClientSecret:
		aadError(w, http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.")
		return
	}
	if id != e.opt.ClientID {
		aadError(w, http.StatusBadRequest, "unauthorized_client", 700016, "Application with identifier '"+id+"' was not found in the directory '"+tenant+"'.")
		return
	}
	// MSAL for Go sends "RESOURCE/.default openid offline_access profile"
	// (accesstokens.AppendDefaultScopes, v1.10.1), which Entra ID accepts as
	// long as one scope is a /.default [I: the AADSTS1002012 text MSAL quotes
	// in oauth.go scopeError].
	if sc := f.Get("scope"); !slices.ContainsFunc(strings.Fields(sc), func(s string) bool { return strings.HasSuffix(s, "/.default") }) {
		aadError(w, http.StatusBadRequest, "invalid_scope", 1002012, "The provided value for scope "+sc+" is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.")
		return
	}
	tok := e.issue()
	ttl := int(e.opt.TokenTTL / time.Second)
	// [V graph.md §2 W6: token_type, expires_in, ext_expires_in, access_token]
	writeJSON(w, map[string]any{"token_type": "Bearer", "expires_in": ttl, "ext_expires_in": ttl, "access_token": tok})
}

func (e *Emulator) issue() string {
	b := make([]byte, 24)
	rand.Read(b)
	tok := "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0." + e.tokenPayload(b) + "."
	e.mu.Lock()
	e.tokens[tok] = time.Now().Add(e.opt.TokenTTL)
	e.mu.Unlock()
	return tok
}

// ExpireTokens makes every access token issued so far expired (token
// expiry mid-run: the next Graph call answers 401).
func (e *Emulator) ExpireTokens() {
	e.mu.Lock()
	for t := range e.tokens {
		e.tokens[t] = time.Time{}
	}
	e.mu.Unlock()
}

// checkAssertion validates an RS256 client assertion signed by the
// registered certificate: header x5t (or x5t#S256) naming it, aud = the
// token URL, iss = sub = client id, exp/nbf [I: claims from Microsoft Learn
// "Microsoft identity platform certificate credentials"
// (certificate-credentials), not re-read; graph.md §2]. It returns sub, or
// an AADSTS code and message.
func (e *Emulator) checkAssertion(jwt string) (string, int, string) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return "", 50012, "Client assertion is not a valid JWT."
	}
	var hdr struct{ Alg, X5t, X5tS256 string }
	var hm map[string]any
	var cl struct {
		Aud, Iss, Sub string
		Exp, Nbf      float64
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &hm) != nil || json.Unmarshal(cb, &cl) != nil {
		return "", 50012, "Client assertion is not a valid JWT."
	}
	hdr.Alg, _ = hm["alg"].(string)
	hdr.X5t, _ = hm["x5t"].(string)
	hdr.X5tS256, _ = hm["x5t#S256"].(string)
	if cl.Iss != e.opt.ClientID || cl.Sub != e.opt.ClientID {
		return cl.Sub, 700016, "Application with identifier '" + cl.Sub + "' was not found in the directory."
	}
	s256 := sha256.Sum256(e.certDER)
	if !bytes.Equal(b64(hdr.X5t), sha1Sum(e.certDER)) && !bytes.Equal(b64(hdr.X5tS256), s256[:]) {
		return cl.Sub, 700027, "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '" + thumbHex(hdr.X5t) + "']"
	}
	if hdr.Alg != "RS256" && hdr.Alg != "PS256" {
		return cl.Sub, 5002738, "Invalid JWT token. '" + hdr.Alg + "' is not a supported signature algorithm."
	}
	h := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	var err error
	if hdr.Alg == "PS256" {
		err = rsa.VerifyPSS(&e.key.PublicKey, crypto.SHA256, h[:], sig, nil)
	} else {
		err = rsa.VerifyPKCS1v15(&e.key.PublicKey, crypto.SHA256, h[:], sig)
	}
	if err != nil {
		return cl.Sub, 700027, "Client assertion failed signature validation."
	}
	if cl.Aud != e.TokenURL() && !strings.EqualFold(cl.Aud, e.TokenURL()) {
		return cl.Sub, 700212, "No matching federated identity record found for presented assertion audience '" + cl.Aud + "'."
	}
	now := float64(time.Now().Unix())
	if cl.Exp == 0 || now > cl.Exp+300 || (cl.Nbf != 0 && now+300 < cl.Nbf) {
		return cl.Sub, 700024, "Client assertion is not within its valid time range."
	}
	return cl.Sub, 0, ""
}

// b64 decodes a thumbprint header: base64url by RFC 7515, but MSAL for
// Python sends standard base64 with padding [V: seen in the msal test].
func b64(s string) []byte {
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b
		}
	}
	return nil
}

func thumbHex(x5t string) string { return strings.ToUpper(hex.EncodeToString(b64(x5t))) }

// authorized checks the bearer token of a Graph call; when it returns
// false it has answered 401 InvalidAuthenticationToken [I: code from
// Microsoft Learn "Microsoft Graph error responses" (errors)].
func (e *Emulator) authorized(w http.ResponseWriter, r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	e.mu.Lock()
	exp, known := e.tokens[tok]
	e.mu.Unlock()
	switch {
	case !ok || !known:
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed, there are no dots (.).")
	case time.Now().After(exp):
		e.count(func(c *Counters) { c.ExpiredTokens++ })
		w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="invalid_token", error_description="The access token has expired."`)
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
	default:
		return true
	}
	return false
}

// openIDConfig and instanceDiscovery serve the metadata an MSAL client
// fetches before the token request [I: field names as MSAL reads them].
func (e *Emulator) openIDConfig(w http.ResponseWriter, r *http.Request) {
	tenant := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")[0]
	if !e.tenantOK(tenant) {
		aadError(w, http.StatusBadRequest, "invalid_tenant", 90002, "Tenant '"+tenant+"' not found.")
		return
	}
	a := e.Authority()
	writeJSON(w, map[string]any{"token_endpoint": a + "/oauth2/v2.0/token", "authorization_endpoint": a + "/oauth2/v2.0/authorize",
		"issuer": a + "/v2.0", "device_authorization_endpoint": a + "/oauth2/v2.0/devicecode",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"tenant_region_scope":                   "EU", "cloud_instance_name": "microsoftonline.com"})
}

func (e *Emulator) instanceDiscovery(w http.ResponseWriter, r *http.Request) {
	host := strings.TrimPrefix(e.baseURL(), "https://")
	writeJSON(w, map[string]any{"tenant_discovery_endpoint": e.Authority() + "/v2.0/.well-known/openid-configuration", "api-version": "1.1",
		"metadata": []any{map[string]any{"preferred_network": host, "preferred_cache": host, "aliases": []string{host}}}})
}
