//go:build linux

package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/icewarp/icewarptest"
	"github.com/iemproject/iem/internal/testbed"
)

// importIMAP measures iem-import over IMAP into a real Dovecot (testbed.md
// §1c) against mbsync (isync) pushing the same messages from a Maildir
// into the same Dovecot, in the same run (issue 7, measure 3). Both write
// into accounts of their own; the messages are the corpus, unread, dated.
func (h *harness) importIMAP() {
	c, _ := h.corpusOrg(corpusOptions())
	arch := h.corpusArchive()
	md := h.maildir(c)
	mbsync := testbed.Need(h.b, "mbsync")
	d := testbed.StartDovecot(h.b, "bench")

	// mbsync: one channel per mailbox, pushed one after the other (mbsync
	// runs its channels in sequence).
	host, port, _ := strings.Cut(d.Addr, ":")
	var rc strings.Builder
	for i, u := range c.Users {
		fmt.Fprintf(&rc, "IMAPAccount a%d\nHost %s\nPort %s\nUser %s*%s\nPass %s\nSSLType None\nAuthMechs LOGIN\n\n"+
			"IMAPStore r%d\nAccount a%d\n\nMaildirStore l%d\nPath %s/\nInbox %s/INBOX\n\n"+
			"Channel c%d\nFar :r%d:\nNear :l%d:\nPatterns INBOX\nCreate Far\nSync Push\nSyncState *\n\n",
			i, host, port, "mbsync-"+u, d.MasterUser, d.MasterPassword, i, i, i, filepath.Join(md, u), filepath.Join(md, u), i, i, i)
	}
	rcPath := filepath.Join(h.dir, "mbsyncrc")
	os.WriteFile(rcPath, []byte(rc.String()), 0o600)
	t0 := time.Now()
	if out, err := exec.Command(mbsync, "-q", "-c", rcPath, "-a").CombinedOutput(); err != nil {
		h.b.Fatalf("mbsync: %v\n%s", err, out)
	}
	mbWall := time.Since(t0)
	mbRate := float64(c.Deliveries()) / mbWall.Seconds()

	// iem-import into the same Dovecot, accounts through the IceWarp
	// emulator's admin API (Dovecot has none), as cmd/iem-import's tests do.
	iw, err := icewarptest.Start(&icewarptest.Options{AdminEmail: d.MasterUser, AdminPassword: d.MasterPassword})
	if err != nil {
		h.b.Fatal(err)
	}
	defer iw.Close()
	dir := filepath.Join(h.dir, "dovecot-import")
	os.MkdirAll(dir, 0o700)
	os.WriteFile(filepath.Join(dir, "admin.pw"), []byte(d.MasterPassword), 0o600)
	conf := filepath.Join(dir, "import.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("api-url = %s\nadmin-user = %s\npassword-file = %s\nimap-addr = %s\nimap-tls = none\n"+
		"imap-auth = master\nlog-level = warn\n", iw.URL(), d.MasterUser, filepath.Join(dir, "admin.pw"), d.Addr)), 0o600)
	r := h.importRun(conf, arch, "--domain-map", "example.com=iem.example", "--ledger", filepath.Join(dir, "ledger"),
		"--passwords-report", filepath.Join(dir, "passwords.csv"))
	rate := float64(r.appended) / r.wall.Seconds()
	h.add(row{measure: "IMAP import into Dovecot: messages/s", iem: fmt.Sprintf("%.0f msg/s, %.1f MB/s (%d messages)", rate, float64(r.appendedBytes)/1e6/r.wall.Seconds(), r.appended),
		baseline: fmt.Sprintf("mbsync %.0f msg/s (%d messages in %s)", mbRate, c.Deliveries(), mbWall.Round(time.Millisecond)),
		ratio:    rate / mbRate, goal: "≥ 1.0 of mbsync", pass: rate >= mbRate,
		note: fmt.Sprintf("iem-import --jobs 2 in %s, accounts and groupware included; peak RSS %.0f MB", r.wall.Round(time.Millisecond), float64(r.maxRSS)/1e6)})
	h.add(rssRow("IMAP import: peak RSS", r.maxRSS, ""))
	if r.appended < c.Deliveries() {
		h.b.Errorf("iem-import appended %d messages, the corpus has %d:\n%s", r.appended, c.Deliveries(), r.out)
	}
}

// importPath measures --mail-mode path into the IceWarp emulator's mail
// path against `cp -r` of a Maildir holding the same message files, on the
// same disk in the same run (issue 7, measure 4).
func (h *harness) importPath() {
	c, _ := h.corpusOrg(corpusOptions())
	arch := h.corpusArchive()
	md := h.maildir(c)
	dst := filepath.Join(h.dir, "cp-copy")
	t0 := time.Now()
	if out, err := exec.Command("cp", "-r", md, dst).CombinedOutput(); err != nil {
		h.b.Fatalf("cp -r: %v\n%s", err, out)
	}
	cpWall := time.Since(t0)
	// What it takes to make the copy durable, as path mode's files are.
	t0 = time.Now()
	exec.Command("sync").Run()
	syncWall := time.Since(t0)
	os.RemoveAll(dst)
	cpRate := float64(c.Deliveries()) / cpWall.Seconds()
	durableRate := float64(c.Deliveries()) / (cpWall + syncWall).Seconds()

	conf, root, stop := h.startIceWarp("iw-path", true)
	defer stop()
	r := h.importRun(conf, arch, "--ledger", filepath.Join(h.dir, "iw-path", "ledger"))
	rate := float64(r.appended) / r.wall.Seconds()
	h.add(row{measure: "path-mode import: files/s", iem: fmt.Sprintf("%.0f files/s (%d messages)", rate, r.appended),
		baseline: fmt.Sprintf("cp -r %.0f files/s (%d files in %s)", cpRate, c.Deliveries(), cpWall.Round(time.Millisecond)),
		ratio:    rate / cpRate, goal: "≥ 0.5 of cp -r", pass: rate >= 0.5*cpRate,
		note: fmt.Sprintf("whole import in %s (iem-import used %.1f CPU s): accounts, files made durable, the emulator's refresh (it copies every file into its in-memory IMAP store, in this process), flags over IMAP, groupware; "+
			"cp -r followed by sync (durable, as path mode): %.0f files/s, ratio %.2f", r.wall.Round(time.Millisecond), r.cpu.Seconds(), durableRate, rate/durableRate)})
	os.RemoveAll(root)
}

// largeMailbox exports and imports one mailbox of 100,000 items and
// reports the peak RSS of each command (issue 7, measure 6).
func (h *harness) largeMailbox() {
	const n = 100000
	org := ewstest.Generate(14, ewstest.OrgOptions{Users: 1, MessagesPerFolder: 1, Contacts: 1, Events: 1, Tasks: 1})
	if ids := org.AddMessages(org.Users[0].SMTP, "inbox", n); len(ids) != n {
		h.b.Fatalf("AddMessages: %d", len(ids))
	}
	bd := h.startEWS("scale", org)
	arch := filepath.Join(h.dir, "archive-scale")
	r := h.command("iem-export", "run", "--config", bd.conf, "--archive", arch)
	h.add(rssRow("export of a 100,000-item mailbox: peak RSS", r.maxRSS,
		fmt.Sprintf("%s, %.0f items/s", r.wall.Round(time.Millisecond), float64(n)/r.wall.Seconds())))
	bd.ews.Close()

	conf, _, stop := h.startIceWarp("iw-scale", false)
	defer stop()
	ri := h.importRun(conf, arch)
	h.add(rssRow("import of a 100,000-item mailbox (IMAP): peak RSS", ri.maxRSS,
		fmt.Sprintf("%s into the IceWarp emulator, %d messages appended", ri.wall.Round(time.Millisecond), ri.appended)))
	if ri.appended < n {
		h.b.Errorf("imported %d of %d messages:\n%s", ri.appended, n, ri.out)
	}
}
