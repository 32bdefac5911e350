package setup

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/internal/wizard"
)

func TestAskLoginRetriesWithTheUserAsDefault(t *testing.T) {
	var out bytes.Buffer
	w := wizard.New(strings.NewReader("bob\nwrong\n\nright\n"), &out)
	var tries []string
	user, pw, err := AskLogin(w, Login{Label: "Admin user", Checking: "checking…", Check: func(u, p string) error {
		tries = append(tries, u+":"+p)
		if p != "right" {
			return errors.New("refused")
		}
		return nil
	}})
	if err != nil || user != "bob" || pw != "right" {
		t.Fatalf("AskLogin = %q, %q, %v", user, pw, err)
	}
	if strings.Join(tries, " ") != "bob:wrong bob:right" {
		t.Errorf("tries = %v", tries)
	}
	for _, want := range []string{"Admin user: Password of bob:   checking…\n  ✗ refused\nAdmin user [bob]: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	w = wizard.New(strings.NewReader(strings.Repeat("u\np\n", wizard.MaxTries)), &out)
	if _, _, err := AskLogin(w, Login{Label: "U", Check: func(string, string) error { return errors.New("no") }}); !errors.Is(err, wizard.ErrAborted) {
		t.Errorf("after MaxTries refusals: %v, want ErrAborted", err)
	}
}

func TestRunStepsAndAbort(t *testing.T) {
	var out bytes.Buffer
	var ran []string
	step := func(name string, err error) Step {
		return Step{Title: name, Run: func(context.Context, *wizard.Wizard) error { ran = append(ran, name); return err }}
	}
	err := Run(context.Background(), strings.NewReader(""), &out, "iem-x", []Step{step("A", nil), step("B", wizard.ErrAborted), step("C", nil)})
	var ue *cliutil.UsageError
	if !errors.As(err, &ue) || ue.Field != "config" || !strings.Contains(err.Error(), "nothing written") {
		t.Errorf("Run = %v, want a usage error of config", err)
	}
	if strings.Join(ran, "") != "AB" || !strings.Contains(out.String(), "── Step 2 of 3: B ──") ||
		!strings.HasPrefix(out.String(), "iem-x set-up: answers are checked as you go") {
		t.Errorf("ran %v, output:\n%s", ran, out.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Run(ctx, strings.NewReader(""), &out, "iem-x", []Step{step("A", nil)}); cliutil.ExitCode(err) != cliutil.ExitInterrupted {
		t.Errorf("Run after an interrupt = %v, want exit 130", err)
	}
}

func TestConfigPathAndSecret(t *testing.T) {
	dir := t.TempDir()
	if _, err := ConfigPath(filepath.Join(dir, "missing", "x.conf")); cliutil.ExitCode(err) != cliutil.ExitUsage {
		t.Errorf("ConfigPath in a missing folder = %v, want a usage error", err)
	}
	conf, err := ConfigPath(filepath.Join(dir, "export.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := SecretPath(conf, "ews"), filepath.Join(dir, "export.ews.pw"); got != want {
		t.Errorf("SecretPath = %q, want %q", got, want)
	}
	var c wizard.Config
	if err := SaveSecret(&c, conf, "ews", "password-file", "s3cret"); err != nil {
		t.Fatal(err)
	}
	p := c.Get("password-file")
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "s3cret\n" {
		t.Errorf("secret file %s = %q, %v", p, b, err)
	}
	if st, _ := os.Stat(p); runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v, want 0600", st.Mode().Perm())
	}
}

func TestTrust(t *testing.T) {
	var out bytes.Buffer
	day := time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)
	w := wizard.New(strings.NewReader("\nn\n"), &out)
	if pinned, err := Trust(w, "sha256:ab", "mail", day, nil, "compare"); pinned || err != nil {
		t.Errorf("trusted: %v, %v", pinned, err)
	}
	if pinned, err := Trust(w, "sha256:ab", "mail", day, errors.New("unknown authority"), "compare here"); !pinned || err != nil {
		t.Errorf("pinned: %v, %v", pinned, err)
	}
	if _, err := Trust(w, "sha256:ab", "mail", day, errors.New("unknown authority"), "compare"); cliutil.ExitCode(err) != cliutil.ExitUsage {
		t.Errorf("not pinned: %v, want a usage error", err)
	}
	for _, want := range []string{`certificate of "mail", valid until 2030-01-02:`, "✓ trusted by this system", "! not trusted by this system: unknown authority\n    compare here\n  Pin this certificate"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
