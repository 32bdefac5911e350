package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/icewarp/icewarptest"
	"github.com/iemproject/iem/internal/testbed"
)

// TestImportReportInBrowser renders a real run's HTML report in headless
// chromium and finds the run's numbers in the DOM: the items appended, the
// mailbox's bar, the skipped items with their reason and the rounds.
func TestImportReportInBrowser(t *testing.T) {
	bin := testbed.Need(t, "chromium")
	iw, dir, arch := initBed(t)
	writeRound(t, arch, func(r *round) { // round 2: a message in a folder that is not migrated
		r.message(msg{mbx: "alice@example.com", folder: "unknown", id: "m9", received: time.Date(2024, 6, 1, 0, 0, 0, 0, time.Local)})
	})
	args := initArgs(iw, dir, arch, "warn")
	sum, out, err := runIn(t, args...)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	if got := sum.total(); got.Appended != 3 || got.Skipped != 1 {
		t.Fatalf("run: %+v, want 3 appended and 1 skipped\n%s", got, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	page := filepath.Join(arch, "reports", "import-round-2.html")
	dom, err := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--user-data-dir="+t.TempDir(), "--dump-dom", "file://"+page).Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	for _, want := range []string{`id="kpi-items"><b>3</b>items appended`, "<td>alice@example.com</td>", `aria-label="3 items`,
		"folder not migrated (system or unknown folder)", `<table id="rounds">`, "<td>2</td>"} {
		if !strings.Contains(string(dom), want) {
			t.Errorf("rendered report lacks %q", want)
		}
	}
	if t.Failed() {
		b, _ := os.ReadFile(page)
		fmt.Fprintf(os.Stderr, "%s\n", b)
	}
	// A rerun of the same round keeps the first report.
	if _, out, err := runIn(t, args...); err != nil {
		t.Fatalf("rerun: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(arch, "reports", "import-round-2-run-2.html")); err != nil {
		t.Errorf("rerun report: %v", err)
	}
}

// initBed is an archive of one mailbox (mail and a contact) and an IceWarp
// emulator serving HTTPS with a self-signed certificate, as a fresh
// IceWarp install does.
func initBed(t *testing.T) (iw *icewarptest.Server, dir, arch string) {
	t.Helper()
	b := newEmulatorBed(t, icewarptest.Options{TLS: true})
	iw, dir, arch = b.iw, b.dir, b.arch
	day := time.Date(2024, 5, 6, 7, 8, 9, 0, time.Local)
	writeRound(t, arch, func(r *round) {
		r.mailbox("alice@example.com")
		r.folder("alice@example.com", folder{id: "inbox", name: "Inbox", class: "IPF.Note", dist: "inbox"})
		r.folder("alice@example.com", folder{id: "contacts", name: "Contacts", class: "IPF.Contact", dist: "contacts"})
		r.message(msg{mbx: "alice@example.com", folder: "inbox", id: "m1", read: true, received: day})
		r.message(msg{mbx: "alice@example.com", folder: "inbox", id: "m2", received: day.Add(time.Hour)})
		r.item(archive.KindContact, "alice@example.com", "contacts", "c1", contactV1)
	})
	return iw, dir, arch
}

// TestRunWithoutLogFolder: when the archive folder takes no log file or
// report (read-only, or here: files where the folders would go), the run
// warns and imports all the same.
func TestRunWithoutLogFolder(t *testing.T) {
	iw, dir, arch := initBed(t)
	for _, f := range []string{"logs", "reports"} {
		writeFile(t, arch, f, "in the way")
	}
	sum, out, err := runIn(t, initArgs(iw, dir, arch, "warn")...)
	if err != nil || sum.total().Appended != 3 {
		t.Fatalf("run = %v, %+v; want 3 items appended\n%s", err, sum.total(), out)
	}
	for _, want := range []string{"no log file in the archive folder", "no report in the archive folder", "import: 1 mailboxes, 3 items written"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// initArgs are the run arguments against the emulator of initBed, its
// certificate pinned, with the password file of the bed and WebDAV,
// logging at level.
func initArgs(iw *icewarptest.Server, dir, arch, level string) []string {
	return []string{"--archive", arch, "--api-url", iw.URL(), "--trust-cert", "sha256:" + iw.CertSHA256(), "--admin-user", iw.AdminEmail(),
		"--password-file", filepath.Join(dir, "pw"), "--imap-addr", iw.IMAPAddr(), "--imap-tls", "none",
		"--webdav-url", iw.WebDAVURL(), "--log-level", level, "--passwords-report", filepath.Join(dir, "pw.csv")}
}
