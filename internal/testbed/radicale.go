package testbed

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
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
	dir   string
	url   string
	cmd   *exec.Cmd
	done  chan struct{}
	users []string // htpasswd lines
}

var radicale struct {
	mu   sync.Mutex
	srv  *radicaleServer
	refs int
	seq  int
}

// StartRadicale returns a running Radicale with the given users. It uses
// /usr/bin/radicale, which runs Debian's own python3 (the python3 first on
// PATH may lack the module, testbed.md §1d). The server is started on first
// use and stopped when the last test using it has finished.
func StartRadicale(t testing.TB, users ...string) *Radicale {
	t.Helper()
	bin := Need(t, "radicale")
	radicale.mu.Lock()
	defer radicale.mu.Unlock()
	if radicale.srv == nil {
		srv, err := startRadicale(bin)
		if err != nil {
			t.Fatalf("testbed: start radicale: %v", err)
		}
		radicale.srv = srv
	}
	srv := radicale.srv
	radicale.refs++
	t.Cleanup(func() {
		radicale.mu.Lock()
		defer radicale.mu.Unlock()
		radicale.refs--
		if radicale.refs == 0 && radicale.srv == srv {
			srv.stop()
			radicale.srv = nil
		}
	})
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
	srv = &radicaleServer{dir: dir}
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
		srv.done = make(chan struct{})
		if err := srv.run(bin, cfile); err != nil {
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

// run starts the server from a goroutine locked to its OS thread, so that
// Pdeathsig stops it if the test binary dies without cleaning up.
func (s *radicaleServer) run(bin, conf string) error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		cmd := exec.Command(bin, "--config", conf)
		cmd.SysProcAttr = childAttr()
		out, _ := os.OpenFile(filepath.Join(s.dir, "radicale.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			out.Close()
			started <- err
			close(s.done)
			return
		}
		s.cmd = cmd
		started <- nil
		cmd.Wait()
		out.Close()
		close(s.done)
	}()
	return <-started
}

func (s *radicaleServer) stop() {
	s.kill()
	os.RemoveAll(s.dir)
}

func (s *radicaleServer) kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		terminate(s.cmd.Process)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
		}
	}
}
