//go:build unix

package cliutil

import (
	"fmt"
	"io/fs"
)

// checkSecretMode warns when group or others may access a regular secret
// file (pipes and terminals such as /dev/stdin are not checked).
func checkSecretMode(file string, fi fs.FileInfo) {
	perm := fi.Mode().Perm()
	if !fi.Mode().IsRegular() || perm&0o077 == 0 {
		return
	}
	how := "readable"
	if perm&0o044 == 0 {
		how = "accessible"
	}
	SecretWarn(fmt.Sprintf("the secret file %s is %s by group or others (mode %04o): chmod 600 %s", file, how, perm, file))
}
