// Package graphtest is an in-process Microsoft Graph emulator for tests:
// an HTTPS server on loopback that serves the same generated organisation
// as the EWS emulator (exchange/ewstest.Org: same users, folders and MIME
// bytes), with the Entra ID token endpoint (client secret or certificate
// assertion), the v1.0 directory and mail endpoints an export needs, delta
// rounds driven by Org.Mutate, and switchable faults.
//
// Every shape follows a sample in shared/research/graph.md and cites the
// Microsoft Learn page it comes from ([V ...]); inferred shapes are marked [I].
package graphtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/iemproject/iem/exchange/ewstest"
)

// Options configure an emulator. Zero fields mean defaults.
type Options struct {
	Tenant       string        // tenant id (default a fixed GUID); the org's domain is accepted too
	ClientID     string        // registered application id (default a fixed GUID)
	ClientSecret string        // default TestSecret
	TokenTTL     time.Duration // access token lifetime (default 3599s, as the sample [V graph.md §2])
	// NoMessageDelta makes messages/delta answer as in a cloud without it
	// (China 21Vianet [V graph.md §8]); see listing.go.
	NoMessageDelta bool
	// DeltaFilterCap replaces Graph's cap of DeltaFilterCap messages on a
	// filtered messages/delta (0: Graph's), so a test shows the cap
	// biting without generating thousands of messages.
	DeltaFilterCap int
}

// TestSecret is the application's client secret unless Options say otherwise.
const TestSecret = "graphtest-Secret~0123456789"

// Emulator is the Graph emulator's http.Handler and its state.
type Emulator struct {
	Org *ewstest.Org
	opt Options

	key     *rsa.PrivateKey // the application's certificate key
	certDER []byte

	mu       sync.Mutex
	tokens   map[string]time.Time // access token -> expiry
	deltas   map[string]*deltaState
	seq      int
	faults   []Fault
	injected map[FaultKind]int
	blocked  map[string]bool // mailboxes the access policy blocks
	revoked  map[string]bool // application permissions taken away (permissions.go)
	throttle map[string]time.Time
	inFlight map[string]int // requests in flight per mailbox (concurrency.go)
	counters Counters
	base     string // https://host:port
	noDelta  bool   // messages/delta answers as without it (listing.go)
}

// New returns an emulator for org. Use it as an http.Handler (it needs
// SetBaseURL for the links it returns) or call Start.
func New(org *ewstest.Org, opt *Options) (*Emulator, error) {
	if org == nil {
		return nil, errors.New("graphtest: nil org")
	}
	var o Options
	if opt != nil {
		o = *opt
	}
	if o.Tenant == "" {
		o.Tenant = "7d1c5a2e-3f4b-4c6d-9e8f-0a1b2c3d4e5f"
	}
	if o.ClientID == "" {
		o.ClientID = "535fb089-9ff3-47b6-9bfb-4f1264799865" // the sample's [V graph.md §2]
	}
	if o.ClientSecret == "" {
		o.ClientSecret = TestSecret
	}
	if o.TokenTTL <= 0 {
		o.TokenTTL = 3599 * time.Second
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "graphtest app"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return &Emulator{Org: org, opt: o, key: key, certDER: der, tokens: map[string]time.Time{}, deltas: map[string]*deltaState{},
		injected: map[FaultKind]int{}, blocked: map[string]bool{}, throttle: map[string]time.Time{}, noDelta: o.NoMessageDelta}, nil
}

// Server is a running emulator.
type Server struct {
	*Emulator
	ts *httptest.Server
}

// Start starts an HTTPS emulator for org on 127.0.0.1.
func Start(org *ewstest.Org, opt *Options) (*Server, error) {
	e, err := New(org, opt)
	if err != nil {
		return nil, err
	}
	ts := httptest.NewUnstartedServer(e)
	ts.StartTLS()
	e.SetBaseURL(ts.URL)
	return &Server{Emulator: e, ts: ts}, nil
}

// Close stops the server.
func (s *Server) Close() { s.ts.Close() }

// Client returns an HTTP client trusting the server's certificate.
func (s *Server) Client() *http.Client { return s.ts.Client() }

// CertPEM returns the server's TLS certificate in PEM form.
func (s *Server) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.ts.Certificate().Raw})
}

// SetBaseURL sets the scheme and host the emulator puts in its links.
func (e *Emulator) SetBaseURL(u string) {
	e.mu.Lock()
	e.base = strings.TrimRight(u, "/")
	e.mu.Unlock()
}

// GraphURL is the Graph root, BASE/v1.0.
func (e *Emulator) GraphURL() string { return e.baseURL() + "/v1.0" }

// Authority is the authority URL, BASE/TENANT.
func (e *Emulator) Authority() string { return e.baseURL() + "/" + e.opt.Tenant }

// TokenURL is the token endpoint, BASE/TENANT/oauth2/v2.0/token.
func (e *Emulator) TokenURL() string { return e.Authority() + "/oauth2/v2.0/token" }

// Tenant and ClientID return the tenant and application ids; ClientSecret the secret.
func (e *Emulator) Tenant() string       { return e.opt.Tenant }
func (e *Emulator) ClientID() string     { return e.opt.ClientID }
func (e *Emulator) ClientSecret() string { return e.opt.ClientSecret }

// CertificatePEM and KeyPEM return the registered application certificate
// and its private key (PKCS#8), for clients that sign assertions.
func (e *Emulator) CertificatePEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: e.certDER})
}

func (e *Emulator) KeyPEM() []byte {
	der, _ := x509.MarshalPKCS8PrivateKey(e.key)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// Key returns the application certificate's private key.
func (e *Emulator) Key() *rsa.PrivateKey { return e.key }

// Thumbprint returns the certificate's SHA-1 thumbprint in hex (x5t is its base64url).
func (e *Emulator) Thumbprint() string { return hex.EncodeToString(sha1Sum(e.certDER)) }

// ThumbprintS256 returns the certificate's SHA-256 thumbprint in hex.
func (e *Emulator) ThumbprintS256() string {
	s := sha256.Sum256(e.certDER)
	return hex.EncodeToString(s[:])
}

func (e *Emulator) baseURL() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.base
}

// ServeHTTP routes token and Graph requests.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	if e.base == "" {
		e.base = "https://" + r.Host
	}
	e.mu.Unlock()
	p := r.URL.Path
	switch {
	case strings.HasSuffix(p, "/oauth2/v2.0/token"):
		e.token(w, r)
	case strings.HasSuffix(p, "/v2.0/.well-known/openid-configuration"):
		e.openIDConfig(w, r)
	case p == "/common/discovery/instance":
		e.instanceDiscovery(w, r)
	case strings.HasPrefix(p, "/v1.0/"):
		e.graph(w, r)
	default:
		graphError(w, http.StatusNotFound, "BadRequest", "Resource not found for the segment '"+p+"'.")
	}
}

// graphError writes Graph's error envelope {"error":{"code","message","innerError"}}
// [V graph.md §7 429 sample; GDOC concepts/errors.md shape].
func graphError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg,
		"innerError": map[string]any{"date": time.Now().UTC().Format("2006-01-02T15:04:05"), "request-id": "00000000-0000-0000-0000-000000000000"}}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	json.NewEncoder(w).Encode(v)
}
