//go:build linux

package mailpath

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// fsSyncer makes a batch's files durable with one syncfs(2) of the file
// system holding the folder, instead of an fsync per file: the kernel
// writes all of them back and issues one journal commit and cache flush.
// Its descriptor is opened before the batch writes anything: syncfs
// reports the write-back errors of the file system since the descriptor
// was opened (or last synced), so none that hit a staged file is missed.
// A failure elsewhere on the file system fails the commit too, which errs
// on the safe side.
type fsSyncer struct{ fd int }

// newFSSyncer returns nil (fsync each file instead) before Linux 5.8,
// whose syncfs does not report write-back errors.
func newFSSyncer(dir string) (*fsSyncer, error) {
	if !syncfsReportsErrors() {
		return nil, nil
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	return &fsSyncer{fd: fd}, nil
}

func (f *fsSyncer) sync(staged []stagedFile) error {
	err := unix.Syncfs(f.fd)
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
		// Filtered out (a seccomp profile): fsync each file instead.
		return fsyncEach(staged)
	}
	return err
}

func (f *fsSyncer) close() { unix.Close(f.fd) }

// fsyncEach fsyncs each staged file through a new descriptor; Linux
// reports write-back errors no descriptor has seen yet to a new one too.
func fsyncEach(staged []stagedFile) error {
	for _, s := range staged {
		fh, err := os.Open(s.tmp)
		if err != nil {
			return err
		}
		err = fh.Sync()
		fh.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

var syncfsReportsErrors = sync.OnceValue(func() bool {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return false
	}
	major, minor, ok := kernelVersion(u.Release[:])
	return ok && (major > 5 || major == 5 && minor >= 8)
})

// kernelVersion parses the start of a kernel release ("6.8.0-45-generic").
func kernelVersion(release []byte) (major, minor int, ok bool) {
	if i := bytes.IndexByte(release, 0); i >= 0 {
		release = release[:i]
	}
	parts := bytes.SplitN(release, []byte("."), 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	num := func(b []byte) (int, bool) {
		i := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		n, err := strconv.Atoi(string(b[:i]))
		return n, err == nil
	}
	major, ok1 := num(parts[0])
	minor, ok2 := num(parts[1])
	return major, minor, ok1 && ok2
}
