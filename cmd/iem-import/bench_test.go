package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/iemproject/iem/icewarp/icewarptest"
	"github.com/iemproject/iem/icewarp/mailpath"
	"github.com/iemproject/iem/replay"
)

// benchArchive writes into the archive folder arch mailboxes × perBox messages of mixed sizes (2 to
// 62 KiB, about 32 KiB on average) and returns them with their total bytes.
func benchArchive(b *testing.B, arch string, mailboxes, perBox int) ([]msg, int64) {
	b.Helper()
	var all []msg
	var total int64
	day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.Local)
	os.MkdirAll(arch, 0o700)
	writeRound(b, arch, func(r *round) {
		for i := range mailboxes {
			u := fmt.Sprintf("user%d@example.test", i)
			r.mailbox(u)
			r.folder(u, folder{id: "inbox", name: "Inbox", class: "IPF.Note", dist: "inbox"})
			r.folder(u, folder{id: "archive", name: "Archiv 2023", class: "IPF.Note"})
			for j := range perBox {
				fid := "inbox"
				if j%3 == 0 {
					fid = "archive"
				}
				m := msg{mbx: u, folder: fid, id: fmt.Sprintf("%s-%d", u, j), read: j%2 == 0, flagged: j%11 == 0,
					received: day.Add(time.Duration(len(all)) * time.Minute), size: 2<<10 + (j*7919)%(60<<10)}
				r.message(m)
				all = append(all, m)
				total += int64(len(m.body()))
			}
		}
	})
	return all, total
}

// BenchmarkImportDovecot measures "iem-import run" over IMAP into a real
// Dovecot (mail_fsync=never, testbed.md §1c) with 1 and 4 jobs: 4
// mailboxes of 300 messages each. Every iteration imports into new
// accounts (--domain-map to a fresh domain) with a fresh ledger.
func BenchmarkImportDovecot(b *testing.B) {
	for _, jobs := range []int{1, 4} {
		b.Run(fmt.Sprintf("jobs=%d", jobs), func(b *testing.B) {
			bed := newDovecotBed(b)
			msgs, size := benchArchive(b, bed.arch, 4, 300)
			b.ResetTimer()
			for i := range b.N {
				args := append(append([]string(nil), bed.args...), "--jobs", fmt.Sprint(jobs),
					"--domain-map", fmt.Sprintf("example.test=j%di%d-%d.test", jobs, i, time.Now().UnixNano()),
					"--ledger", filepath.Join(b.TempDir(), "ledger"))
				sum, out, err := runIn(b, args...)
				if err != nil || sum.total().Appended != len(msgs) {
					b.Fatalf("run: %v, appended %d of %d\n%s", err, sum.total().Appended, len(msgs), out)
				}
			}
			s := b.Elapsed().Seconds()
			b.ReportMetric(float64(len(msgs)*b.N)/s, "items/s")
			b.ReportMetric(float64(size*int64(b.N))/s/1e6, "MB/s")
		})
	}
}

// BenchmarkPathMode measures --mail-mode path into the IceWarp emulator
// (files, refresh, flags over IMAP), mailpath.Store.Put and mailpath.Batch
// alone, a plain copy of the same bytes into files on the same disk, with
// and without fsync per file, and "cp -r" of a directory of the same
// files (the baseline of issue 7), in the same run.
func BenchmarkPathMode(b *testing.B) {
	dir := b.TempDir()
	const perBox = 500
	msgs, size := benchArchive(b, filepath.Join(dir, "archive"), 1, perBox)
	bodies := make([][]byte, len(msgs))
	for i, m := range msgs {
		bodies[i] = m.body()
	}
	report := func(b *testing.B) {
		s := b.Elapsed().Seconds()
		b.ReportMetric(float64(len(msgs)*b.N)/s, "files/s")
		b.ReportMetric(float64(size*int64(b.N))/s/1e6, "MB/s")
	}

	b.Run("importer", func(b *testing.B) {
		bed := newEmulatorBed(b, icewarptest.Options{})
		bed.arch = filepath.Join(dir, "archive")
		b.ResetTimer()
		for i := range b.N {
			sum, out, err := runIn(b, bed.pathArgs("--ledger", filepath.Join(b.TempDir(), "ledger"),
				"--domain-map", fmt.Sprintf("example.test=p%d-%d.test", i, time.Now().UnixNano()))...)
			if err != nil || sum.total().Appended != len(msgs) {
				b.Fatalf("run: %v\n%s", err, out)
			}
		}
		report(b)
	})
	// store opens a mail path in a new folder and resets the timer.
	store := func(b *testing.B) (string, *mailpath.Store) {
		root := b.TempDir()
		st, err := mailpath.Open(root)
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		return root, st
	}
	b.Run("mailpath.Put", func(b *testing.B) {
		root, st := store(b)
		ctx := context.Background()
		for i := range b.N {
			acct := filepath.Join(root, fmt.Sprintf("acct%d", i))
			os.Mkdir(acct, 0o700)
			for j, body := range bodies {
				if _, err := st.Put(ctx, acct, []string{"INBOX"}, msgs[j].received, bytes.NewReader(body)); err != nil {
					b.Fatal(err)
				}
			}
		}
		report(b)
	})
	b.Run("mailpath.Batch", func(b *testing.B) {
		root, st := store(b)
		ctx := context.Background()
		for i := range b.N {
			batch, err := st.NewBatch(filepath.Join(root, fmt.Sprintf("acct%d", i)), []string{"INBOX"})
			if err != nil {
				b.Fatal(err)
			}
			for j, body := range bodies {
				if _, err := batch.Add(ctx, msgs[j].received, bytes.NewReader(body)); err != nil {
					b.Fatal(err)
				}
				if batch.Len() >= replay.PathBatchFiles || batch.Size() >= replay.PathBatchBytes || j == len(bodies)-1 {
					if _, err := batch.Commit(ctx); err != nil {
						b.Fatal(err)
					}
				}
			}
			batch.Close()
		}
		report(b)
	})
	b.Run("cp-r", func(b *testing.B) {
		cp, err := exec.LookPath("cp")
		if err != nil {
			b.Skip("no cp:", err)
		}
		src := filepath.Join(b.TempDir(), "src")
		os.Mkdir(src, 0o700)
		for j, body := range bodies {
			if err := os.WriteFile(filepath.Join(src, fmt.Sprintf("%06d.imap", j)), body, 0o600); err != nil {
				b.Fatal(err)
			}
		}
		root := b.TempDir()
		b.ResetTimer()
		for i := range b.N {
			if out, err := exec.Command(cp, "-r", src, filepath.Join(root, fmt.Sprint(i))).CombinedOutput(); err != nil {
				b.Fatalf("cp -r: %v\n%s", err, out)
			}
		}
		report(b)
	})
	for _, sync := range []bool{true, false} {
		b.Run(fmt.Sprintf("copy/fsync=%v", sync), func(b *testing.B) {
			root := b.TempDir()
			b.ResetTimer()
			for i := range b.N {
				d := filepath.Join(root, fmt.Sprint(i))
				os.Mkdir(d, 0o700)
				for j, body := range bodies {
					f, err := os.Create(filepath.Join(d, fmt.Sprintf("%06d.imap", j)))
					if err != nil {
						b.Fatal(err)
					}
					f.Write(body)
					if sync {
						f.Sync()
					}
					f.Close()
				}
			}
			report(b)
		})
	}
}
