package main

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/icewarp/icewarptest"
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
	b := newEmulatorBed(t, icewarptest.Options{})
	day := time.Date(2025, 2, 3, 4, 5, 6, 0, time.Local)
	folders := map[string][]string{"big": {"Big"}, "edge": {"Edge"}, "small": {"Small"}}
	counts := map[string]int{"big": 2*replay.PathBatchFiles + 40, "edge": replay.PathBatchFiles + 1, "small": 3}
	var all []msg
	writeRound(t, b.arch, func(r *round) {
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
	args := func(domain string) []string {
		return b.pathArgs("--domain-map", "example.test="+domain, "--ledger", filepath.Join(b.dir, domain+".ledger"))
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
		for range 8 {
			killed, out, err := runKilled(t, time.Duration(rand.Int64N(int64(clean))), a)
			if !killed {
				if err != nil {
					t.Fatalf("%s: run finished with %v\n%s", domain, err, out)
				}
				break
			}
			kills++
			temps += len(tempFiles(b.root))
		}
		sum, out, err := runIn(t, a...)
		if err != nil || sum.total().Failed != 0 {
			t.Fatalf("%s: final run: %v\n%s", domain, err, out)
		}
		if err := b.iw.CheckMailPath(); err != nil {
			t.Errorf("%s: mail path checker: %v", domain, err)
		}
		for _, p := range tempFiles(b.root) {
			if strings.Contains(p, domain) {
				t.Errorf("%s: temporary file left: %s", domain, p)
			}
		}
		mb := b.dial(t, "kim@"+domain)
		expectMail(t, mb, folders, all)
		mb.Close()
		checkIn(t, a...)
	}
	t.Logf("clean run %v; %d runs killed, %d temporary files seen after the kills", clean.Round(time.Millisecond), kills, temps)
	if kills < 4 {
		t.Errorf("only %d kills landed before the runs finished, want at least 4", kills)
	}
}
