//go:build !windows

package mailpath

import "os"

const isWindows = false

// syncDir fsyncs a directory so that a new name in it survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
