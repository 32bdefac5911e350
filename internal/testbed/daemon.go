package testbed

import (
	"os"
	"os/exec"
	"runtime"
	"sync"
	"testing"
	"time"
)

// A daemon is one server process the testbed runs in a temporary folder.
type daemon struct {
	dir  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has ended
}

// run starts bin with args from a goroutine locked to its OS thread, so
// that Pdeathsig (sent when that thread ends) stops the server if the test
// binary dies without running its cleanups. Its output goes to logPath,
// opened with flag.
func (d *daemon) run(logPath string, flag int, bin string, args ...string) error {
	d.done = make(chan struct{})
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		cmd := exec.Command(bin, args...)
		cmd.SysProcAttr = childAttr()
		out, _ := os.OpenFile(logPath, flag, 0o600)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			out.Close()
			started <- err
			close(d.done)
			return
		}
		d.cmd = cmd
		started <- nil
		cmd.Wait()
		out.Close()
		close(d.done)
	}()
	return <-started
}

// stop ends the process and removes its folder.
func (d *daemon) stop() {
	d.kill()
	os.RemoveAll(d.dir)
}

// kill ends the process: SIGTERM, then SIGKILL after 10 seconds.
func (d *daemon) kill() {
	if d.cmd != nil && d.cmd.Process != nil {
		terminate(d.cmd.Process)
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
			d.cmd.Process.Kill()
			<-d.done
		}
	}
}

// A shared server is started on first use and stopped when the last test
// using it has finished.
type shared[S interface {
	comparable
	stop()
}] struct {
	mu   sync.Mutex
	srv  S
	refs int
	seq  int // numbers the users made unique across tests
}

// use returns the running server, started with start if there is none,
// and releases it when t ends. The caller holds s.mu.
func (s *shared[S]) use(t testing.TB, name string, start func() (S, error)) S {
	t.Helper()
	var none S
	if s.srv == none {
		srv, err := start()
		if err != nil {
			t.Fatalf("testbed: start %s: %v", name, err)
		}
		s.srv = srv
	}
	srv := s.srv
	s.refs++
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.refs--
		if s.refs == 0 && s.srv == srv {
			srv.stop()
			s.srv = none
		}
	})
	return srv
}
