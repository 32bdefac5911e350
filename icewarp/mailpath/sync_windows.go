//go:build windows

package mailpath

const isWindows = true

// syncDir is a no-op on Windows: directories cannot be opened for FlushFileBuffers
// there, and NTFS journals the rename itself.
func syncDir(dir string) error { return nil }
