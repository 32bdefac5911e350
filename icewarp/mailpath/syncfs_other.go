//go:build !linux

package mailpath

// fsSyncer exists on Linux only (syncfs(2)); elsewhere a batch fsyncs each
// file as it is added, as Put does.
type fsSyncer struct{}

func newFSSyncer(string) (*fsSyncer, error) { return nil, nil }

func (*fsSyncer) sync([]stagedFile) error { return nil }

func (*fsSyncer) close() {}
