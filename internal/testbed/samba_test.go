package testbed

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestLockFileExcludes checks the lock that keeps two test binaries from
// starting Samba on the same fixed ports at once. flock locks belong to the
// open file, so a second open in this process stands in for another binary.
func TestLockFileExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "samba.lock")
	first, err := lockFile(context.Background(), path)
	if err != nil {
		t.Fatalf("lockFile(%q) = %v", path, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if f, err := lockFile(ctx, path); err == nil {
		f.Close()
		t.Fatalf("second lockFile(%q) = nil error while held, want a wait that ends with ctx", path)
	}
	got := make(chan error, 1)
	go func() {
		f, err := lockFile(context.Background(), path)
		if err == nil {
			f.Close()
		}
		got <- err
	}()
	first.Close() // releasing the lock lets the waiter in
	if err := <-got; err != nil {
		t.Errorf("lockFile(%q) after release = %v, want nil", path, err)
	}
}

// TestWriteTLS checks that the generated server certificate verifies for
// both names clients use, against the generated CA only.
func TestWriteTLS(t *testing.T) {
	dir := t.TempDir()
	if err := writeTLS(dir, "dc1.example.test"); err != nil {
		t.Fatalf("writeTLS = %v", err)
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	if err != nil {
		t.Fatalf("LoadX509KeyPair = %v", err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.pem holds no certificate")
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"127.0.0.1", "dc1.example.test", "other.example.test"} {
		_, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots})
		if wantOK := name != "other.example.test"; (err == nil) != wantOK {
			t.Errorf("Verify(%q) = %v, want ok=%v", name, err, wantOK)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "127.0.0.1"}); err == nil {
		t.Errorf("Verify(127.0.0.1) with system roots = nil, want unknown authority")
	}
	st, err := os.Stat(filepath.Join(dir, "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key.pem mode = %v, want 0600", st.Mode().Perm())
	}
}
