//go:build !linux

package testbed

import (
	"errors"
	"os"
	"syscall"
)

// On other systems the servers are not packaged for the tests; these keep the
// package compiling (GOOS=windows go vet) and start processes plainly.

func childAttr() *syscall.SysProcAttr { return nil }

func groupAttr() *syscall.SysProcAttr { return nil }

func terminate(p *os.Process) { p.Kill() }

func terminateGroup(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
	}
}

func killGroup(pid int) { terminateGroup(pid) }

func tryLock(f *os.File) (bool, error) {
	return false, errors.New("testbed: file locks need Linux")
}

func unlock(f *os.File) {}
