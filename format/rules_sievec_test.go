package format

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/iemproject/iem/internal/testbed"
)

// TestRulesToSieveCompiles compiles the translated scripts with
// Pigeonhole's sievec (Dovecot's Sieve implementation): every extension,
// test and action written must be valid RFC 5228 Sieve, not only look so.
func TestRulesToSieveCompiles(t *testing.T) {
	sievec := testbed.Need(t, "sievec")
	body := testRules()
	body[5].Actions.MoveToFolder = "F-proj" // the body rule, translated
	dir := t.TempDir()
	for name, rules := range map[string][]InboxRule{"demo": testRules(), "body": body, "none": nil} {
		script, _ := RulesToSieve(rules, testTarget())
		src := filepath.Join(dir, name+".sieve")
		if err := os.WriteFile(src, []byte(script), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(sievec, src, filepath.Join(dir, name+".svbin")).CombinedOutput()
		if err != nil {
			t.Errorf("%s: sievec: %v\n%s\n%s", name, err, out, script)
		}
	}
}
