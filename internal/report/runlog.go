package report

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// A RunLog is the log file of one run, DIR/logs/<command>-<time>.log with
// mode 0600, kept in the archive folder beside the reports. Give it to the
// run's logger from the start: lines written before [RunLog.Open] (while
// the input is checked and the archive folder may not exist yet) are held
// in memory and written first. It is safe for concurrent use; the zero
// value is ready.
type RunLog struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	f       *os.File
	discard bool
}

// Write appends to the file, or to the memory buffer before Open.
func (l *RunLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.discard:
		return len(p), nil
	case l.f == nil:
		return l.buf.Write(p)
	}
	return l.f.Write(p)
}

// Discard drops the lines held and every later one: for a run whose log
// file could not be opened (a RunLog not opened holds every line in
// memory).
func (l *RunLog) Discard() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.discard = true
	l.buf = bytes.Buffer{}
}

// Open creates DIR/logs/<command>-<time>.log and writes what was held.
func (l *RunLog) Open(dir, command string, t time.Time) error {
	ld := filepath.Join(dir, "logs")
	if err := os.MkdirAll(ld, 0o700); err != nil {
		return err
	}
	name := filepath.Join(ld, command+"-"+t.UTC().Format("20060102T150405Z")+".log")
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.f = f
	_, err = l.buf.WriteTo(f)
	return err
}

// Name returns the file's path, or "" before Open.
func (l *RunLog) Name() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return ""
	}
	return l.f.Name()
}

// Close closes the file; lines held before an Open that never came are
// dropped.
func (l *RunLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	return l.f.Close()
}
