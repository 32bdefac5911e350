//go:build linux

package testbed

import (
	"errors"
	"os"
	"syscall"
)

// The servers the tests start (Dovecot, Radicale, Samba) are Debian packages,
// so the process plumbing is Linux's: Pdeathsig stops a server when the test
// binary dies without running its cleanups, process groups let Samba's
// children go with it, and flock serialises the one provisioned domain.

func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}

func groupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func terminate(p *os.Process) { p.Signal(syscall.SIGTERM) }

func terminateGroup(pid int) { syscall.Kill(-pid, syscall.SIGTERM) }

func killGroup(pid int) { syscall.Kill(-pid, syscall.SIGKILL) }

// tryLock takes an exclusive lock without waiting; busy reports another holder.
func tryLock(f *os.File) (busy bool, err error) {
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return true, nil
	}
	return false, err
}

func unlock(f *os.File) { syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
