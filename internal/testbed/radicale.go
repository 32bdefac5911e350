package testbed

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Radicale is a running Radicale 3.1 CalDAV/CardDAV server configured as in
// testbed.md §1d: loopback only, htpasswd users with plain passwords,
// owner_only rights, collections under /<user>/<collection>/.
//
// One server is shared by the tests of a test binary that run at the same
// time; each [StartRadicale] call adds its own uniquely named users
// (Radicale reads the htpasswd file at every login).
type Radicale struct {
	// URL is the server root, e.g. "http://127.0.0.1:5232/".
	URL string
	// Users are the users asked for, in order, with unique login names
	// (the requested name plus a suffix).
	Users []RadicaleUser

	srv *radicaleServer
}

// RadicaleUser is one user of a [Radicale].
type RadicaleUser struct {
	Name, Password string
}

// Log returns the server's output so far (for failure messages).
func (r *Radicale) Log() string {
	b, _ := os.ReadFile(filepath.Join(r.srv.dir, "radicale.log"))
	return string(b)
}

type radicaleServer struct {
	daemon
	url   string
	users []string // htpasswd lines
}

var radicale shared[*radicaleServer]

// StartRadicale returns a running Radicale with the given users. It uses
// /usr/bin/radicale, which runs Debian's own python3 (the python3 first on
// PATH may lack the module, testbed.md §1d). The server is started on first
// use and stopped when the last test using it has finished.
func StartRadicale(t testing.TB, users ...string) *Radicale {
	t.Helper()
	bin := Need(t, "radicale")
	radicale.mu.Lock()
	defer radicale.mu.Unlock()
	srv := radicale.use(t, "radicale", func() (*radicaleServer, error) { return startRadicale(bin) })
	r := &Radicale{URL: srv.url, srv: srv}
	for _, name := range users {
		radicale.seq++
		u := RadicaleUser{Name: fmt.Sprintf("%s-%d", name, radicale.seq), Password: secret()}
		srv.users = append(srv.users, u.Name+":"+u.Password)
		r.Users = append(r.Users, u)
	}
	htpasswd := filepath.Join(srv.dir, "users")
	tmp := htpasswd + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(srv.users, "\n")+"\n"), 0o600); err != nil {
		t.Fatalf("testbed: radicale users: %v", err)
	}
	if err := os.Rename(tmp, htpasswd); err != nil {
		t.Fatalf("testbed: radicale users: %v", err)
	}
	return r
}

const radicaleConf = `[server]
hosts = 127.0.0.1:{{port}}
[auth]
type = htpasswd
htpasswd_filename = {{dir}}/users
htpasswd_encryption = plain
delay = 0
[storage]
filesystem_folder = {{dir}}/collections
[rights]
type = owner_only
[logging]
level = warning
[web]
type = none
`

func startRadicale(bin string) (srv *radicaleServer, err error) {
	dir, err := os.MkdirTemp("", "iem-radicale-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	if err := os.WriteFile(filepath.Join(dir, "users"), nil, 0o600); err != nil {
		return nil, err
	}
	srv = &radicaleServer{daemon: daemon{dir: dir}}
	for attempt := 0; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		conf := strings.NewReplacer("{{dir}}", dir, "{{port}}", strconv.Itoa(port)).Replace(radicaleConf)
		cfile := filepath.Join(dir, "config")
		if err := os.WriteFile(cfile, []byte(conf), 0o600); err != nil {
			return nil, err
		}
		srv.url = "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) + "/"
		if err := srv.run(filepath.Join(dir, "radicale.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, bin, "--config", cfile); err != nil {
			return nil, err
		}
		if err := WaitPort(port, 15*time.Second); err == nil {
			return srv, nil
		}
		srv.kill()
		if attempt == 2 {
			log, _ := os.ReadFile(filepath.Join(dir, "radicale.log"))
			return nil, fmt.Errorf("radicale did not listen on %s: %s", srv.url, log)
		}
	}
}
