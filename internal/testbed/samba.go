package testbed

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// SambaLockFile serialises Samba AD test servers between test binaries: the
// server needs the fixed ports 389, 636 and 88 on 127.0.0.1 (testbed.md §1b).
var SambaLockFile = filepath.Join(os.TempDir(), "iem-testbed-samba.lock")

// SambaOptions configures [StartSamba]. Zero fields take defaults.
type SambaOptions struct {
	// Dir is the server's folder; empty means a new temporary folder that
	// Stop removes.
	Dir string
	// Realm and Domain default to EXAMPLE.TEST and EXAMPLE.
	Realm, Domain string
	// Setup holds LDIF texts applied to sam.ldb after provisioning and before
	// the server starts, in order, each in its own transaction: with ldbmodify
	// when the text contains "changetype:", else with ldbadd. Schema
	// additions are allowed (dsdb:schema update allowed). Use it for schema
	// extensions and bulk data: offline adds are much faster than LDAP.
	Setup []string
	// Logf, if set, receives progress lines (provisioning time, readiness).
	Logf func(format string, args ...any)
}

// Samba is a running Samba AD domain controller on 127.0.0.1.
type Samba struct {
	Dir      string
	Realm    string // "EXAMPLE.TEST"
	Domain   string // "EXAMPLE"
	BaseDN   string // "DC=example,DC=test"
	BindDN   string // "Administrator@example.test", for a simple bind
	Password string // generated per run
	URL      string // "ldap://127.0.0.1:389"
	LDAPSURL string // "ldaps://127.0.0.1:636"
	CAFile   string // PEM of the self-signed CA that signed the LDAPS certificate
	Conf     string // smb.conf

	cmd     *exec.Cmd
	stdin   io.WriteCloser
	lock    *os.File
	removes bool
	done    chan error
}

// SambaMissing reports why Samba cannot run here (not root, or a binary
// missing), or nil. Tests call Need for each binary instead; TestMain,
// which has no *testing.T, uses this.
func SambaMissing() error {
	if os.Geteuid() != 0 {
		return errors.New("testbed: samba needs root for ports 389/636/88")
	}
	for _, b := range []string{"samba", "samba-tool", "ldbadd", "ldbmodify"} {
		if _, err := lookBin(b); err != nil {
			return fmt.Errorf("testbed: %s not installed; run scripts/testbed-install", b)
		}
	}
	return nil
}

func lookBin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin"} {
		if st, err := os.Stat(dir + "/" + name); err == nil && !st.IsDir() {
			return dir + "/" + name, nil
		}
	}
	return "", exec.ErrNotFound
}

// StartSamba provisions a new AD domain (about 8–10 s), applies opt.Setup and
// starts the server, waiting until LDAP and LDAPS answer. It first takes an
// exclusive lock on SambaLockFile, waiting for other test binaries until ctx
// ends, and fails if port 389 is taken by anything else. The caller must call
// Stop. If the test process dies, the server exits too: it runs in
// interactive mode, which ends when its stdin (a pipe from this process)
// closes.
func StartSamba(ctx context.Context, opt SambaOptions) (_ *Samba, err error) {
	if err := SambaMissing(); err != nil {
		return nil, err
	}
	logf := opt.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	s := &Samba{Dir: opt.Dir, Realm: opt.Realm, Domain: opt.Domain}
	if s.Realm == "" {
		s.Realm = "EXAMPLE.TEST"
	}
	if s.Domain == "" {
		s.Domain = "EXAMPLE"
	}
	lock, err := lockFile(ctx, SambaLockFile)
	if err != nil {
		return nil, err
	}
	s.lock = lock
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	if c, derr := net.DialTimeout("tcp", "127.0.0.1:389", time.Second); derr == nil {
		c.Close()
		return nil, errors.New("testbed: 127.0.0.1:389 is already in use by a server outside the samba lock")
	}
	if s.Dir == "" {
		if s.Dir, err = os.MkdirTemp("", "iem-samba-"); err != nil {
			return nil, err
		}
		s.removes = true
	}
	var pw [8]byte
	rand.Read(pw[:])
	s.Password = "Tb1!" + hex.EncodeToString(pw[:]) // meets AD complexity: upper, lower, digit, symbol
	dns := strings.ToLower(s.Realm)
	s.BaseDN = "DC=" + strings.ReplaceAll(dns, ".", ",DC=")
	s.BindDN = "Administrator@" + dns
	s.URL, s.LDAPSURL = "ldap://127.0.0.1:389", "ldaps://127.0.0.1:636"
	dc := filepath.Join(s.Dir, "dc")
	s.Conf = filepath.Join(dc, "etc", "smb.conf")

	// Provision as in testbed.md §1b.
	t0 := time.Now()
	tool, _ := lookBin("samba-tool")
	if out, err := exec.CommandContext(ctx, tool, "domain", "provision",
		"--targetdir="+dc, "--realm="+s.Realm, "--domain="+s.Domain,
		"--server-role=dc", "--dns-backend=NONE", "--adminpass="+s.Password, "--use-rfc2307",
		"--host-name=dc1", "--host-ip=127.0.0.1",
		"--option=interfaces=lo", "--option=bind interfaces only=yes",
		"--option=server services=ldap cldap kdc",
		"--option=pid directory="+filepath.Join(dc, "run"),
		"--option=log file="+filepath.Join(dc, "log.%m"),
	).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("testbed: samba provision: %w\n%s", err, tail(out))
	}
	logf("samba: provisioned %s in %v", s.Realm, time.Since(t0).Round(time.Millisecond))
	// Not kept by provision although passed as --option (testbed.md §1b).
	conf, err := os.ReadFile(s.Conf)
	if err != nil {
		return nil, err
	}
	// Samba's own certificate has only a Common Name, which Go refuses;
	// give it one with subject alternative names 127.0.0.1 and dc1.<realm>.
	tlsDir := filepath.Join(s.Dir, "tls")
	if err := writeTLS(tlsDir, "dc1."+dns); err != nil {
		return nil, err
	}
	s.CAFile = filepath.Join(tlsDir, "ca.pem")
	conf = bytes.Replace(conf, []byte("[global]\n"), []byte("[global]\n"+
		"\tldap server require strong auth = no\n\tdsdb:schema update allowed = true\n"+
		"\ttls enabled = yes\n"+
		"\ttls keyfile = "+filepath.Join(tlsDir, "key.pem")+"\n"+
		"\ttls certfile = "+filepath.Join(tlsDir, "cert.pem")+"\n"+
		"\ttls cafile = "+filepath.Join(tlsDir, "ca.pem")+"\n"), 1)
	if err := os.WriteFile(s.Conf, conf, 0o644); err != nil {
		return nil, err
	}
	sam := filepath.Join(dc, "private", "sam.ldb")
	for i, ldif := range opt.Setup {
		tool := "ldbadd"
		if strings.Contains(ldif, "changetype:") {
			tool = "ldbmodify"
		}
		bin, _ := lookBin(tool)
		f := filepath.Join(s.Dir, fmt.Sprintf("setup-%02d.ldif", i))
		if err := os.WriteFile(f, []byte(ldif), 0o600); err != nil {
			return nil, err
		}
		t1 := time.Now()
		out, err := exec.CommandContext(ctx, bin, "-H", sam, "--option=dsdb:schema update allowed=true", f).CombinedOutput()
		// ldbadd can exit 0 after a failed record once others succeeded.
		if err == nil && bytes.Contains(out, []byte(" failed ")) {
			err = errors.New("reported a failure")
		}
		if err != nil {
			return nil, fmt.Errorf("testbed: %s setup %d: %w\n%s", tool, i, err, tail(out))
		}
		logf("samba: setup %d (%s) in %v", i, tool, time.Since(t1).Round(time.Millisecond))
	}

	// Start in the foreground, one process (testbed.md §1b).
	bin, _ := lookBin("samba")
	logPath := filepath.Join(s.Dir, "samba.out")
	out, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	s.cmd = exec.Command(bin, "-i", "-M", "single", "-s", s.Conf)
	s.cmd.Stdout, s.cmd.Stderr = out, out
	s.cmd.SysProcAttr = groupAttr()
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	t2 := time.Now()
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("testbed: start samba: %w", err)
	}
	s.done = make(chan error, 1)
	go func() { s.done <- s.cmd.Wait() }()
	for _, port := range []int{389, 636} {
		if err := s.waitPort(ctx, port, 60*time.Second); err != nil {
			log, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("%w\n%s", err, tail(log))
		}
	}
	logf("samba: ready in %v", time.Since(t2).Round(time.Millisecond))
	return s, nil
}

func (s *Samba) waitPort(ctx context.Context, port int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case err := <-s.done:
			s.done <- err
			return fmt.Errorf("testbed: samba exited before %s answered: %v", addr, err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("testbed: samba %s not ready after %v", addr, timeout)
		}
	}
}

// Stop ends the server (SIGTERM, then SIGKILL after 10 s), removes a
// temporary folder and releases the lock. It is safe to call more than once.
func (s *Samba) Stop() error {
	var err error
	if s.cmd != nil && s.cmd.Process != nil {
		s.stdin.Close()
		terminateGroup(s.cmd.Process.Pid)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			killGroup(s.cmd.Process.Pid)
			<-s.done
			err = errors.New("testbed: samba did not stop on SIGTERM; killed")
		}
		s.cmd = nil
	}
	if s.removes && s.Dir != "" {
		os.RemoveAll(s.Dir)
		s.Dir = ""
	}
	if s.lock != nil {
		unlock(s.lock)
		s.lock.Close()
		s.lock = nil
	}
	return err
}

// lockFile takes an exclusive flock on path, polling until ctx ends. The
// kernel releases it if the process dies.
func lockFile(ctx context.Context, path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, fmt.Errorf("testbed: lock %s: %w", path, err)
	}
	for {
		busy, err := tryLock(f)
		if err == nil && !busy {
			return f, nil
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("testbed: lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("testbed: waiting for %s: %w", path, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// writeTLS writes ca.pem, cert.pem and key.pem (0600) for a server known as
// 127.0.0.1 and host, signed by a throwaway CA valid for a day.
func writeTLS(dir, host string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "iem testbed CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	files := []struct {
		name, typ string
		der       []byte
		mode      os.FileMode
	}{
		{"ca.pem", "CERTIFICATE", caDER, 0o644},
		{"cert.pem", "CERTIFICATE", leafDER, 0o644},
		{"key.pem", "PRIVATE KEY", keyDER, 0o600},
	}
	for _, f := range files {
		b := pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der})
		if err := os.WriteFile(filepath.Join(dir, f.name), b, f.mode); err != nil {
			return err
		}
	}
	return nil
}

func tail(b []byte) []byte {
	if len(b) > 2000 {
		return b[len(b)-2000:]
	}
	return b
}
