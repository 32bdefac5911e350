package main

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/icewarp/icewarptest"
	"github.com/iemproject/iem/icewarp/imapsink"
	"github.com/iemproject/iem/replay"
)

// TestPathModeBatchKill kills path-mode runs (SIGKILL) at random points
// of a clean run's duration, measured first, so that the kills land
// inside the batches (pending records, staging, commit, ledger records,
// flags) however fast the machine is. Folders hold more than one batch
// (replay.PathBatchFiles). Four accounts get runs killed until one finishes (at
// most eight); then a run must finish with every message in the account
// exactly once with its flags, no temporary file left, the mail path
// accepted by the checker and "check" clean.
func TestPathModeBatchKill(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "mail")
	os.Mkdir(root, 0o700)
	iw, err := icewarptest.Start(&icewarptest.Options{MailRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	defer iw.Close()
	arch := filepath.Join(dir, "archive")
	os.Mkdir(arch, 0o700)
	day := time.Date(2025, 2, 3, 4, 5, 6, 0, time.Local)
	folders := map[string][]string{"big": {"Big"}, "edge": {"Edge"}, "small": {"Small"}}
	counts := map[string]int{"big": 2*replay.PathBatchFiles + 40, "edge": replay.PathBatchFiles + 1, "small": 3}
	var all []msg
	writeRound(t, arch, func(r *round) {
		r.mailbox("kim@example.test")
		for id, n := range counts {
			r.folder("kim@example.test", folder{id: id, name: folders[id][0], class: "IPF.Note"})
			for i := range n {
				m := msg{mbx: "kim@example.test", folder: id, id: fmt.Sprintf("%s-%d", id, i), read: i%2 == 0, flagged: i%7 == 0,
					received: day.Add(time.Duration(len(all)) * time.Second), size: 512 + (i*997)%(6<<10), noID: i%13 == 5}
				r.message(m)
				all = append(all, m)
			}
		}
	})
	pw := writeFile(t, dir, "pw", iw.AdminPassword())
	args := func(domain string) []string {
		return []string{"--archive", arch, "--api-url", iw.URL(), "--admin-user", iw.AdminEmail(), "--password-file", pw,
			"--imap-addr", iw.IMAPAddr(), "--imap-tls", "none", "--mail-mode", "path", "--mail-path", root, "--log-level", "error",
			"--passwords-report", filepath.Join(dir, "pw.csv"), "--domain-map", "example.test=" + domain,
			"--ledger", filepath.Join(dir, domain+".ledger")}
	}
	start := time.Now()
	if sum, out, err := runIn(t, args("probe.test")...); err != nil || sum.total().Appended != len(all) {
		t.Fatalf("probe run: %v\n%s", err, out)
	}
	clean := time.Since(start)

	kills, temps := 0, 0
	for r := range 4 {
		domain := fmt.Sprintf("k%d.test", r)
		a := args(domain)
	runs:
		for range 8 {
			cmd := command(append([]string{"run"}, a...)...)
			out := &strings.Builder{}
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("%s: run finished with %v\n%s", domain, err, out)
				}
				break runs
			case <-time.After(time.Duration(rand.Int64N(int64(clean)))):
				cmd.Process.Kill()
				<-done
				kills++
				filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
					if err == nil && strings.HasPrefix(d.Name(), ".iem-") {
						temps++
					}
					return nil
				})
			}
		}
		sum, out, err := runIn(t, a...)
		if err != nil || sum.total().Failed != 0 {
			t.Fatalf("%s: final run: %v\n%s", domain, err, out)
		}
		if err := iw.CheckMailPath(); err != nil {
			t.Errorf("%s: mail path checker: %v", domain, err)
		}
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && strings.Contains(p, domain) && strings.HasPrefix(d.Name(), ".iem-") {
				t.Errorf("%s: temporary file left: %s", domain, p)
			}
			return nil
		})
		mb, err := imapsink.Dial(context.Background(), imapsink.Options{Addr: iw.IMAPAddr(), AdminUser: iw.AdminEmail(),
			AdminPassword: iw.AdminPassword(), TLS: imapsink.TLSNone, Connections: 1}, "kim@"+domain)
		if err != nil {
			t.Fatal(err)
		}
		expectMail(t, mb, folders, all)
		mb.Close()
		checkIn(t, a...)
	}
	t.Logf("clean run %v; %d runs killed, %d temporary files seen after the kills", clean.Round(time.Millisecond), kills, temps)
	if kills < 4 {
		t.Errorf("only %d kills landed before the runs finished, want at least 4", kills)
	}
}
