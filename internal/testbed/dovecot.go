package testbed

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Dovecot is a running Dovecot 2.3 IMAP server configured as in testbed.md
// §1c: loopback only, plain-text auth allowed, a master user (login form
// "user*master" and AUTHENTICATE PLAIN with an authorization identity), the
// ACL plugin with acl_user = %u, SPECIAL-USE folders and "/" as the
// hierarchy separator.
//
// Deviation from §1c: mail_location uses LAYOUT=fs so that, as on IceWarp
// (icewarp.md §1.3), each IMAP folder is one directory and "." is an
// ordinary character in folder names. TLS is on (a fresh self-signed
// certificate, STARTTLS on Addr and IMAPS on TLSAddr). mail_fsync = never: tests do not
// survive power loss, and fsync would make benchmarks measure the disk.
//
// One server is shared by all tests of a test binary that run at the same
// time; each call of [StartDovecot] adds its own, uniquely named users, so
// tests are isolated by user.
//
// Deviation from §1c: users are not listed in a passwd-file (Dovecot re-reads
// one at most once a second, too slow for tests adding users); a static
// passdb/userdb accepts any user name with the server's user password, so
// every name given to StartDovecot exists, and so does any other name.
type Dovecot struct {
	// Addr is host:port of the IMAP listener (plain text, STARTTLS offered).
	Addr string
	// TLSAddr is host:port of the implicit-TLS (IMAPS) listener.
	TLSAddr string
	// RootCAs trusts the server's self-signed certificate (for 127.0.0.1).
	RootCAs *x509.CertPool
	// MasterUser and MasterPassword log in on behalf of any user.
	MasterUser, MasterPassword string
	// Users are the users asked for, in order, with their login names made
	// unique for this server (the requested name plus a suffix).
	Users []DovecotUser

	requested []string
	srv       *dovecotServer
}

// DovecotUser is one mail user of a [Dovecot].
type DovecotUser struct {
	Name     string // login name
	Password string
}

// MailDir returns the directory holding the named user's whole mail store
// (Maildir). Removing it wipes the user's mail; Dovecot recreates an empty
// store at the next login.
func (d *Dovecot) MailDir(login string) string {
	return filepath.Join(d.srv.dir, "home", login, "Maildir")
}

// User returns the login name made for the requested name, or fails the
// test.
func (d *Dovecot) User(t testing.TB, requested string) DovecotUser {
	t.Helper()
	for i, u := range d.Users {
		if d.requested[i] == requested {
			return u
		}
	}
	t.Fatalf("testbed: dovecot user %q not started", requested)
	return DovecotUser{}
}

// Log returns the server's log so far (for failure messages).
func (d *Dovecot) Log() string {
	b, _ := os.ReadFile(filepath.Join(d.srv.dir, "log", "dovecot.log"))
	return string(b)
}

type dovecotServer struct {
	daemon
	addr       string
	master, pw string
	userPW     string // shared by all users (static passdb)
	tlsAddr    string
	roots      *x509.CertPool
}

var dovecot shared[*dovecotServer]

// StartDovecot returns a running Dovecot with the given users (login names
// made unique, see [Dovecot.Users]). The server is started on first use and
// stopped when the last test using it has finished.
func StartDovecot(t testing.TB, users ...string) *Dovecot {
	t.Helper()
	bin := Need(t, "dovecot")
	dovecot.mu.Lock()
	defer dovecot.mu.Unlock()
	srv := dovecot.use(t, "dovecot", func() (*dovecotServer, error) { return startDovecot(bin) })
	d := &Dovecot{Addr: srv.addr, TLSAddr: srv.tlsAddr, RootCAs: srv.roots, MasterUser: srv.master, MasterPassword: srv.pw, srv: srv}
	for _, name := range users {
		dovecot.seq++
		u := DovecotUser{Name: fmt.Sprintf("%s-%d", name, dovecot.seq), Password: srv.userPW}
		d.Users = append(d.Users, u)
		d.requested = append(d.requested, name)
	}
	return d
}

func secret() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

const dovecotConf = `base_dir = {{dir}}/run
state_dir = {{dir}}/state
log_path = {{dir}}/log/dovecot.log
info_log_path = {{dir}}/log/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{{dir}}/cert.pem
ssl_key = <{{dir}}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_master_user_separator = *
auth_failure_delay = 0
{{nonroot}}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {{dir}}/masters
  master = yes
  result_success = continue
}
passdb {
  driver = static
  args = password={{userpw}}
}
userdb {
  driver = static
  args = uid={{uid}} gid={{gid}} home={{dir}}/home/%u
}
mail_location = maildir:~/Maildir:LAYOUT=fs
mail_plugins = acl
mail_fsync = never
protocol imap {
  mail_plugins = $mail_plugins imap_acl
  mail_max_userip_connections = 100
}
plugin {
  acl = vfile
  acl_user = %u
  acl_shared_dict = file:{{dir}}/vstate/shared-mailboxes.db
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    special_use = \Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \Trash
    auto = subscribe
  }
  mailbox Junk {
    special_use = \Junk
    auto = create
  }
}
namespace {
  type = shared
  separator = /
  prefix = shared/%%u/
  location = maildir:{{dir}}/home/%%u/Maildir:LAYOUT=fs:INDEXPVT=~/Maildir/shared/%%u
  subscriptions = no
  list = children
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = {{port}}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = {{tlsport}}
    ssl = yes
  }
}
# Dovecot's documented switch for the per-IP auth penalty: tests that check
# wrong passwords would otherwise slow every later login from 127.0.0.1.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service auth {
  unix_listener auth-userdb {
    user = {{user}}
  }
}
service stats {
  unix_listener stats-reader {
    user = {{user}}
  }
  unix_listener stats-writer {
    user = {{user}}
  }
}
`

func startDovecot(bin string) (srv *dovecotServer, err error) {
	dir, err := os.MkdirTemp("", "iem-dovecot-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	// Mail processes run as vmail (root) or as the current user.
	uname := "vmail"
	nonroot := ""
	if os.Getuid() != 0 {
		cu, err := user.Current()
		if err != nil {
			return nil, err
		}
		uname = cu.Username
		nonroot = "default_login_user = " + uname + "\ndefault_internal_user = " + uname
	}
	u, err := user.Lookup(uname)
	if err != nil {
		return nil, fmt.Errorf("mail user %s: %w (scripts/testbed-install creates it)", uname, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	for _, sub := range []string{"run", "state", "log", "home", "vstate"} {
		p := filepath.Join(dir, sub)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return nil, err
		}
		if sub == "home" || sub == "vstate" {
			if err := os.Chown(p, uid, gid); err != nil && os.Getuid() == 0 {
				return nil, err
			}
		}
	}
	srv = &dovecotServer{daemon: daemon{dir: dir}, master: "iemadmin", pw: secret(), userPW: secret()}
	if err := os.WriteFile(filepath.Join(dir, "masters"), []byte(srv.master+":{PLAIN}"+srv.pw+"::::::\n"), 0o644); err != nil {
		return nil, err
	}
	if srv.roots, err = writeCert(dir); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		port, perr := freePort()
		if perr != nil {
			return nil, perr
		}
		tlsPort, perr := freePort()
		if perr != nil {
			return nil, perr
		}
		srv.tlsAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(tlsPort))
		conf := strings.NewReplacer("{{dir}}", dir, "{{port}}", strconv.Itoa(port), "{{tlsport}}", strconv.Itoa(tlsPort), "{{uid}}", u.Uid,
			"{{gid}}", u.Gid, "{{userpw}}", srv.userPW, "{{user}}", uname, "{{nonroot}}", nonroot).Replace(dovecotConf)
		cfile := filepath.Join(dir, "dovecot.conf")
		if err := os.WriteFile(cfile, []byte(conf), 0o644); err != nil {
			return nil, err
		}
		srv.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err := srv.run(filepath.Join(dir, "log", "stdout.log"), os.O_RDWR|os.O_CREATE|os.O_TRUNC, bin, "-F", "-c", cfile); err != nil {
			return nil, err
		}
		if err := WaitPort(port, 10*time.Second); err == nil {
			if err := WaitPort(tlsPort, 10*time.Second); err == nil {
				return srv, nil
			}
		}
		srv.kill()
		if attempt == 2 {
			log, _ := os.ReadFile(filepath.Join(dir, "log", "dovecot.log"))
			return nil, fmt.Errorf("dovecot did not listen on %s: %s", srv.addr, log)
		}
	}
}

// writeCert writes a fresh self-signed certificate for 127.0.0.1 and
// localhost to dir/cert.pem and dir/key.pem.
func writeCert(dir string) (*x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "iem testbed"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
