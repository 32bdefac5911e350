package setup

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/iemproject/iem/exchange"
	"github.com/iemproject/iem/exchange/directory"
	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/internal/wizard"
)

// TestExportWithFakeChecks runs the export set-up end to end on checks
// that answer without a server: the questions come in order and the
// config and password file are what a run reads.
func TestExportWithFakeChecks(t *testing.T) {
	dir := t.TempDir()
	archive := filepath.Join(dir, "archive")
	ldif := filepath.Join(dir, "ad.ldf")
	snap := &directory.Snapshot{Mailboxes: []directory.Mailbox{{PrimarySMTP: "alice@example.com", DisplayName: "Alice"}}}
	var probed string
	checks := ExportChecks{
		ProbeEWS: func(_ context.Context, url string) (*wizard.Cert, error) {
			probed = url
			return &wizard.Cert{Fingerprint: "sha256:ab", Subject: "mail.example.com"}, nil
		},
		EWSUsage: func(err error) error { return err },
		CheckEWS: func(context.Context, exchange.Options) (*exchange.Client, exchange.ServerInfo, error) {
			return nil, exchange.ServerInfo{}, nil
		},
		CheckDirectory: func(_ context.Context, opt *directory.Options, file string) (*directory.Snapshot, error) {
			if opt != nil || file != ldif {
				t.Errorf("CheckDirectory(%v, %q)", opt, file)
			}
			return snap, nil
		},
		ParseSelection: func(string) (directory.Selector, string, error) {
			return directory.Selector{Mailboxes: []string{"alice@example.com"}}, "", nil
		},
		SelectorFromFile: func(sel directory.Selector, _ string) (directory.Selector, error) { return sel, nil },
		SelectMailboxes: func(s *directory.Snapshot, _ directory.Selector) ([]*directory.Mailbox, error) {
			return []*directory.Mailbox{&s.Mailboxes[0]}, nil
		},
		Plan: func(context.Context, export.PlanSource, []*directory.Mailbox, string, int) (*ExportPlan, error) {
			return &ExportPlan{Rows: []ExportPlanRow{{Mailbox: "alice@example.com", Folders: 3, Items: 7}},
				Folders: 3, Items: 7, Table: "mailbox  items\nalice    7\n", Estimate: "estimate: 1s"}, nil
		},
	}
	in := strings.Join([]string{archive, "", "", "https://mail.example.com", "", "", `EX\admin`, "s3cret-pw", ldif, "alice@example.com", ""}, "\n") + "\n"
	var out bytes.Buffer
	conf := filepath.Join(dir, "export.conf")
	if err := Export(context.Background(), strings.NewReader(in), &out, conf, checks); err != nil {
		t.Fatalf("Export: %v\n%s", err, out.String())
	}
	if probed != "https://mail.example.com/EWS/Exchange.asmx" {
		t.Errorf("probed %q", probed)
	}
	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"archive = " + archive, "jobs = 2", "ews-url = https://mail.example.com/EWS/Exchange.asmx",
		"trust-cert = sha256:ab", "auth = basic", `admin-user = EX\admin`, "password-file = " + SecretPath(conf, "ews"),
		"directory-file = " + ldif, "mailbox = alice@example.com"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("config lacks %q:\n%s", want, b)
		}
	}
	if strings.Contains(string(b), "s3cret-pw") {
		t.Errorf("config holds the password:\n%s", b)
	}
	if st, err := os.Stat(SecretPath(conf, "ews")); err != nil || runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Errorf("password file: %v, %v", st, err)
	}
	for _, want := range []string{"── Step 5 of 5: Review ──", "alice@example.com", "selected:  1 mailboxes, 3 folders, 7 items", "estimate: 1s"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
