// Package cmdtest holds test helpers the tests of both commands
// (cmd/iem-export, cmd/iem-import) share.
package cmdtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Completion is a completion case: the words typed (shell syntax, the last
// one being completed) and what the completions must contain.
type Completion struct{ Words, Want string }

// TestCompletion sources the bash completion script of the command name
// and completes each case as bash would, with wrapper (a shell script) as
// the command on PATH. script makes the completion script; the test skips
// without bash.
func TestCompletion(t *testing.T, name, wrapper string, script func() ([]byte, error), cases []Completion) {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, name), []byte(wrapper), 0o755)
	b, err := script()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "c.bash"), b, 0o644)
	for _, tc := range cases {
		cmd := exec.Command(bash, "--norc", "-c", `source c.bash; COMP_WORDS=(`+tc.Words+`); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _`+name+`_complete; echo "${COMPREPLY[*]}"`)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), tc.Want) {
			t.Errorf("complete %s = %q, %v; want %q", tc.Words, out, err, tc.Want)
		}
	}
}

// Without returns args without the flag and its value.
func Without(args []string, flag string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		if args[i] == flag {
			i++
			continue
		}
		out = append(out, args[i])
	}
	return out
}
