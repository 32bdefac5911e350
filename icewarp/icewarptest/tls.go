package icewarptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"math/big"
	"net"
	"time"
)

// selfSigned makes a throwaway certificate for 127.0.0.1 and localhost, like
// the self-signed certificate a fresh IceWarp install serves.
func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "icewarptest"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// CertSHA256 returns the hex SHA-256 of the HTTPS certificate's DER (the
// value for icewarp.TLSOptions.PinSHA256), or "" without Options.TLS.
func (s *Server) CertSHA256() string {
	if s.cert.Leaf == nil {
		return ""
	}
	sum := sha256.Sum256(s.cert.Leaf.Raw)
	return hex.EncodeToString(sum[:])
}

// CertPool returns a pool holding the HTTPS certificate, or nil without Options.TLS.
func (s *Server) CertPool() *x509.CertPool {
	if s.cert.Leaf == nil {
		return nil
	}
	p := x509.NewCertPool()
	p.AddCert(s.cert.Leaf)
	return p
}
