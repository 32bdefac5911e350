// Package testbed starts real servers (Samba AD, OpenLDAP, Dovecot, Radicale)
// on loopback for integration tests, as described in shared/research/testbed.md.
//
// Servers are installed from Debian's packages by scripts/testbed-install,
// which `make test` runs first. A test that needs a server calls [Need]: when
// the server's binary is missing it skips, except under CI=true, where it
// fails, so a broken install can never pass as a green run.
package testbed

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// InCI reports whether the tests run under continuous integration (CI=true).
func InCI() bool { return os.Getenv("CI") == "true" }

// Need returns the absolute path of the named executable. When it is
// missing, the test is skipped, or failed under CI=true.
func Need(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/lib/dovecot", "/usr/bin"} {
		cand := dir + "/" + name
		if st, err := os.Stat(cand); err == nil && !st.IsDir() {
			return cand
		}
	}
	if InCI() {
		t.Fatalf("testbed: %s not installed (CI=true); run scripts/testbed-install", name)
	}
	t.Skipf("testbed: %s not installed; run scripts/testbed-install", name)
	return ""
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testbed: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WaitPort waits until something accepts TCP connections on 127.0.0.1:port.
func WaitPort(port int, timeout time.Duration) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("testbed: %s not ready after %v: %w", addr, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
