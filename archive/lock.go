package archive

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// LockName is the file in an archive folder that every writer (an export
// run, a repair) holds exclusively while it writes (SPEC.md §2.1).
const LockName = ".iem.lock"

// ErrLocked is wrapped by a [*LockedError]: another writer holds the folder.
var ErrLocked = errors.New("archive: the folder is in use by another writer")

// A Holder says who holds an archive lock. It is stored as JSON in the lock
// file itself, so a refused writer can name it.
type Holder struct {
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Command string    `json:"command"`
	Since   time.Time `json:"since"`
}

func (h Holder) String() string {
	if h.PID == 0 {
		return "an unknown writer"
	}
	return fmt.Sprintf("%s (pid %d on host %s, since %s)", h.Command, h.PID, h.Host, h.Since.Local().Format("2006-01-02 15:04:05 MST"))
}

// A LockedError is returned when another writer holds the folder.
type LockedError struct {
	Dir    string
	Holder Holder
	// Mechanism is how the lock is held: "flock" (an advisory lock the
	// kernel drops when the holder dies; on NFS it is an NLM/NFSv4 lock,
	// on SMB a share lock) or "lock file" (O_EXCL creation, for file
	// systems without locks).
	Mechanism string
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("archive folder %s is in use by %s; wait for it to finish (only one writer at a time: %s %s)",
		e.Dir, e.Holder, e.Mechanism, filepath.Join(e.Dir, LockName))
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// A DirLock is an exclusive writer lock on an archive folder.
type DirLock struct {
	path     string
	file     *os.File // flock: held open for the lock's lifetime
	excl     bool     // lock file: remove on Unlock
	released bool
	// TookOver names the earlier holder whose process had died, if the
	// lock was taken over from it (the caller warns).
	TookOver *Holder
}

// forceLockFile makes LockDir use the lock-file mechanism (tests, and file
// systems where flock succeeds without excluding other hosts).
var forceLockFile = os.Getenv("IEM_LOCK_FILE") == "1"

// LockDir takes the writer lock of the archive folder dir for command (for
// example "iem-export run"). It never waits: a held lock gives a
// *LockedError naming the holder. The lock is an flock on dir/.iem.lock;
// where the file system has no locks (ENOLCK, EOPNOTSUPP) it falls back to
// creating dir/.iem.lock.excl with O_EXCL, which works on NFSv3+ and SMB;
// such a file left by a dead process on this host is taken over, one left
// by another host is refused (its process cannot be checked from here).
func LockDir(dir, command string) (*DirLock, error) {
	host, _ := os.Hostname()
	me := Holder{Host: host, PID: os.Getpid(), Command: command, Since: time.Now().UTC().Truncate(time.Second)}
	path := filepath.Join(dir, LockName)
	if !forceLockFile {
		l, err := lockFlock(path, me)
		if !errors.Is(err, errNoLocks) {
			if err != nil {
				return nil, err
			}
			return l, nil
		}
	}
	return lockExcl(dir, path+".excl", me)
}

// errNoLocks is returned by lockFile when the file system has no locks.
var errNoLocks = errors.New("file system without locks")

func lockFlock(path string, me Holder) (*DirLock, error) {
	for {
		l, err := tryFlock(path, me)
		if !errors.Is(err, errLockFileGone) {
			return l, err
		}
	}
}

// errLockFileGone: the lock file was removed by its holder's Unlock between
// our open and our lock; the lock we got is on a file nobody else sees.
var errLockFileGone = errors.New("lock file replaced")

func tryFlock(path string, me Holder) (*DirLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("archive: lock: %w", err)
	}
	if err := lockFile(f); err != nil {
		prev := readHolder(path)
		f.Close()
		if errors.Is(err, errNoLocks) {
			return nil, err
		}
		if errors.Is(err, ErrLocked) {
			return nil, &LockedError{Dir: filepath.Dir(path), Holder: prev, Mechanism: "flock"}
		}
		return nil, fmt.Errorf("archive: lock %s: %w", path, err)
	}
	if st, err := os.Stat(path); err != nil || !sameFile(f, st) {
		unlockFile(f)
		f.Close()
		return nil, errLockFileGone
	}
	l := &DirLock{path: path, file: f}
	// The lock is ours, so a holder still recorded in the file died
	// without unlocking (the kernel released its lock).
	if prev := readHolder(path); prev.PID != 0 {
		l.TookOver = &prev
	}
	// The holder record only informs a refused writer: a full disk must
	// not stop a repair, which frees space.
	writeHolder(f, me)
	return l, nil
}

func lockExcl(dir, path string, me Holder) (*DirLock, error) {
	for attempt := 0; ; attempt++ {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			writeHolder(f, me) // best effort, as for flock
			f.Close()
			return &DirLock{path: path, excl: true}, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("archive: lock: %w", err)
		}
		prev := readHolder(path)
		if attempt > 0 || prev.PID == 0 || prev.Host != me.Host || processAlive(prev.PID) {
			return nil, &LockedError{Dir: dir, Holder: prev, Mechanism: "lock file"}
		}
		// Its process is gone on this host: take it over. Renaming first
		// means two writers racing for the stale file cannot both win.
		stale := fmt.Sprintf("%s.stale-%d", path, me.PID)
		if err := os.Rename(path, stale); err != nil {
			return nil, &LockedError{Dir: dir, Holder: prev, Mechanism: "lock file"}
		}
		os.Remove(stale)
		l, err := lockExcl(dir, path, me)
		if l != nil {
			l.TookOver = &prev
		}
		return l, err
	}
}

func writeHolder(f *os.File, h Holder) error {
	b, _ := json.Marshal(h)
	if err := f.Truncate(0); err != nil {
		return fmt.Errorf("archive: lock: %w", err)
	}
	if _, err := f.WriteAt(append(b, '\n'), 0); err != nil {
		return fmt.Errorf("archive: lock: %w", err)
	}
	return f.Sync()
}

func readHolder(path string) Holder {
	var h Holder
	b, err := os.ReadFile(path)
	if err == nil {
		json.Unmarshal([]byte(strings.TrimSpace(string(b))), &h)
	}
	return h
}

func sameFile(f *os.File, st os.FileInfo) bool {
	fst, err := f.Stat()
	return err == nil && os.SameFile(fst, st)
}

// Unlock releases the lock and removes the lock file, so that the folder
// holds only what the run wrote; a writer that dies leaves the file with
// its holder record, which the next writer reports as taken over. (A
// writer waiting to lock the removed file notices and opens a new one.)
func (l *DirLock) Unlock() error {
	if l == nil || l.released {
		return nil
	}
	l.released = true
	if l.excl {
		return os.Remove(l.path)
	}
	l.file.Truncate(0)
	rmErr := removeLocked(l.path, l.file)
	unlockFile(l.file)
	err := l.file.Close()
	if rmErr != nil {
		os.Remove(l.path) // Windows: an open file cannot be removed
	}
	return err
}
