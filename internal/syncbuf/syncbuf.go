// Package syncbuf is a bytes.Buffer safe for concurrent use, for tests
// that collect what loggers, progress lines or protocol traces write from
// several goroutines.
package syncbuf

import (
	"bytes"
	"sync"
)

// A Buffer collects writes; its zero value is ready to use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
