package archive

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// deadPID returns the pid of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	c := exec.Command("true")
	if err := c.Run(); err != nil {
		t.Skip("no true(1):", err)
	}
	return c.Process.Pid
}

func lockMechanisms(t *testing.T, fn func(t *testing.T, stale string)) {
	for _, m := range []struct {
		name      string
		lockFile  bool
		staleFile string
	}{{"flock", false, LockName}, {"lock file", true, LockName + ".excl"}} {
		t.Run(m.name, func(t *testing.T) {
			old := forceLockFile
			forceLockFile = m.lockFile
			t.Cleanup(func() { forceLockFile = old })
			fn(t, m.staleFile)
		})
	}
}

func TestLockRefusesSecondWriter(t *testing.T) {
	lockMechanisms(t, func(t *testing.T, _ string) {
		dir := t.TempDir()
		l, err := LockDir(dir, "iem-export run")
		if err != nil {
			t.Fatal(err)
		}
		if l.TookOver != nil {
			t.Errorf("fresh lock reports a takeover of %v", l.TookOver)
		}
		_, err = LockDir(dir, "iem-export repair")
		var le *LockedError
		if !errors.As(err, &le) || !errors.Is(err, ErrLocked) {
			t.Fatalf("second writer: %v, want a *LockedError", err)
		}
		host, _ := os.Hostname()
		if le.Holder.PID != os.Getpid() || le.Holder.Command != "iem-export run" || le.Holder.Host != host || time.Since(le.Holder.Since) > time.Minute {
			t.Errorf("holder %+v", le.Holder)
		}
		for _, want := range []string{"in use", "iem-export run", "pid", host} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("message %q lacks %q", err, want)
			}
		}
		if err := l.Unlock(); err != nil {
			t.Fatal(err)
		}
		l2, err := LockDir(dir, "iem-export run")
		if err != nil {
			t.Fatalf("after unlock: %v", err)
		}
		if l2.TookOver != nil {
			t.Errorf("lock after a clean unlock reports a takeover of %v", l2.TookOver)
		}
		l2.Unlock()
	})
}

func TestLockTakesOverDeadHolder(t *testing.T) {
	lockMechanisms(t, func(t *testing.T, file string) {
		dir := t.TempDir()
		host, _ := os.Hostname()
		dead := Holder{Host: host, PID: deadPID(t), Command: "iem-export run", Since: time.Now().Add(-time.Hour).UTC()}
		b, _ := json.Marshal(dead)
		if err := os.WriteFile(filepath.Join(dir, file), b, 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := LockDir(dir, "iem-export run")
		if err != nil {
			t.Fatalf("dead holder not taken over: %v", err)
		}
		defer l.Unlock()
		if l.TookOver == nil || l.TookOver.PID != dead.PID {
			t.Errorf("TookOver = %v, want pid %d", l.TookOver, dead.PID)
		}
	})
}

func TestLockFileRefusesOtherHost(t *testing.T) {
	old := forceLockFile
	forceLockFile = true
	defer func() { forceLockFile = old }()
	dir := t.TempDir()
	other := Holder{Host: "exchange-migration-2", PID: deadPID(t), Command: "iem-export run", Since: time.Now().UTC()}
	b, _ := json.Marshal(other)
	os.WriteFile(filepath.Join(dir, LockName+".excl"), b, 0o600)
	_, err := LockDir(dir, "iem-export run")
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "exchange-migration-2") {
		t.Fatalf("lock held by another host: %v", err)
	}
}

// TestLockAcrossProcesses holds the lock in a child process (the test
// binary) and requires this process to be refused, naming the child.
func TestLockAcrossProcesses(t *testing.T) {
	if dir := os.Getenv("IEM_LOCK_CHILD"); dir != "" {
		l, err := LockDir(dir, "lock child")
		if err != nil {
			os.Stdout.WriteString("error " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString("locked\n")
		var b [1]byte
		os.Stdin.Read(b[:]) // hold until the parent closes stdin
		l.Unlock()
		os.Exit(0)
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockAcrossProcesses$")
	cmd.Env = append(os.Environ(), "IEM_LOCK_CHILD="+dir)
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var line [7]byte
	if _, err := out.Read(line[:]); err != nil || string(line[:6]) != "locked" {
		t.Fatalf("child: %q %v", line, err)
	}
	_, err := LockDir(dir, "iem-export run")
	var le *LockedError
	if !errors.As(err, &le) || le.Holder.PID != cmd.Process.Pid || le.Holder.Command != "lock child" {
		t.Errorf("while the child holds the lock: %v", err)
	}
	in.Close()
	cmd.Wait()
	l, err := LockDir(dir, "iem-export run")
	if err != nil {
		t.Fatalf("after the child ended: %v", err)
	}
	l.Unlock()
}
