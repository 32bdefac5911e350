//go:build !unix

package cliutil

import "io/fs"

// checkSecretMode does nothing: Windows has no POSIX modes (the file's
// ACL decides; see docs/INSTALL.md).
func checkSecretMode(string, fs.FileInfo) {}
