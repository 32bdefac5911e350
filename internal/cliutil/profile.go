package cliutil

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"
)

// Profile writes a CPU profile and a heap profile (PROG-PID.cpu.pprof,
// PROG-PID.heap.pprof) to the directory named by the IEM_PROFILE_DIR
// environment variable, for `go tool pprof` (issue
// 7: performance work goes by profiles). The heap profile is taken when
// the heap in use reaches a new peak (at most once a second), so that it
// shows what a run held at its largest. Without the variable it does
// nothing. The returned function ends profiling; call it before exiting.
func Profile(prog string) (stop func()) {
	dir := os.Getenv("IEM_PROFILE_DIR")
	if dir == "" {
		return func() {}
	}
	os.MkdirAll(dir, 0o700)
	prog = fmt.Sprintf("%s-%d", prog, os.Getpid())
	cpu, err := os.Create(filepath.Join(dir, prog+".cpu.pprof"))
	if err == nil {
		pprof.StartCPUProfile(cpu)
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var peak uint64
		var last time.Time
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse <= peak || time.Since(last) < time.Second {
				continue
			}
			peak, last = ms.HeapInuse, time.Now()
			if f, err := os.Create(filepath.Join(dir, prog+".heap.pprof")); err == nil {
				pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		if cpu != nil {
			pprof.StopCPUProfile()
			cpu.Close()
		}
	}
}
