package wizard

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// ProbeTimeout bounds [ProbeTLS].
const ProbeTimeout = 15 * time.Second

// A Cert is what a TLS server presents, for the operator to check and pin.
type Cert struct {
	Fingerprint string    // "sha256:<hex>" of the leaf, the form --trust-cert takes
	Subject     string    // leaf common name, or its DNS names and IP addresses
	NotAfter    time.Time // leaf expiry

	host  string
	chain []*x509.Certificate
	once  sync.Once
	err   error
}

// Verify checks the chain against the system roots for the host name and
// returns why it is not trusted, or nil. It runs on first call only:
// loading the system roots takes tens of milliseconds, wasted when the
// certificate is pinned.
func (c *Cert) Verify() error {
	c.once.Do(func() {
		if len(c.chain) == 0 {
			c.err = errors.New("no certificate")
			return
		}
		inter := x509.NewCertPool()
		for _, ic := range c.chain[1:] {
			inter.AddCert(ic)
		}
		_, c.err = c.chain[0].Verify(x509.VerifyOptions{DNSName: c.host, Intermediates: inter})
	})
	return c.err
}

// ProbeTLS connects to host:port, completes a TLS handshake without
// trusting anything, and returns the certificate the server presents, to
// be checked against the system roots with [Cert.Verify]. It is the "host reachable" check of a
// set-up: one dial, no retries, at most ProbeTimeout. legacy allows TLS 1.0
// and every cipher suite Go implements (old Exchange and IIS servers).
func ProbeTLS(ctx context.Context, host, port string, legacy bool) (*Cert, error) {
	conf := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12} // verified by hand below
	if legacy {
		conf.MinVersion = tls.VersionTLS10
		for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
			conf.CipherSuites = append(conf.CipherSuites, cs.ID)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	addr := net.JoinHostPort(host, port)
	c, err := (&tls.Dialer{Config: conf}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("host %s not reachable over TLS: %w", addr, err)
	}
	defer c.Close()
	certs := c.(*tls.Conn).ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil, errors.New(addr + " presented no certificate")
	}
	sum := sha256.Sum256(certs[0].Raw)
	ci := &Cert{Fingerprint: "sha256:" + hex.EncodeToString(sum[:]), Subject: certs[0].Subject.CommonName, NotAfter: certs[0].NotAfter}
	if ci.Subject == "" {
		names := certs[0].DNSNames
		for _, ip := range certs[0].IPAddresses {
			names = append(names, ip.String())
		}
		ci.Subject = strings.Join(names, ", ")
	}
	ci.host, ci.chain = host, certs
	return ci, nil
}

// SameFingerprint compares two "sha256:…" pins, ignoring case and colons.
func SameFingerprint(a, b string) bool {
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, ":", "")) }
	return norm(a) == norm(b)
}
