package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/iemproject/iem/bench"
	"github.com/iemproject/iem/exchange/ewstest"
)

// BenchmarkExport runs the exporter in-process against the EWS emulator
// loaded with the benchmark corpus (bench.Generate), so that
// `go test -bench Export -cpuprofile` shows where an export's time goes.
// The emulator runs in the same process; its functions are in ewstest.
func BenchmarkExport(b *testing.B) { benchmarkExport(b, false) }

// BenchmarkExportUnchanged times later rounds on an unchanged organisation
// (issue 7: under 2% of round 1).
func BenchmarkExportUnchanged(b *testing.B) { benchmarkExport(b, true) }

func benchmarkExport(b *testing.B, unchanged bool) {
	c := bench.Generate(bench.CorpusOptions{Users: 4, PerUser: 150, Seed: 2026, MaxAttachment: 2 << 20})
	org := ewstest.Generate(11, ewstest.OrgOptions{Users: 4, MessagesPerFolder: 1, Contacts: 1, Events: 1, Tasks: 1})
	for i := range 4 {
		c.Users = append(c.Users, org.Users[i].SMTP)
	}
	for _, m := range c.Messages {
		for _, u := range m.To {
			org.AddMessage(c.Users[u], "inbox", m.MIME, m.Received, m.MessageID)
		}
	}
	srv, err := ewstest.Start(org, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	dir := b.TempDir()
	var ldif bytes.Buffer
	org.WriteLDIF(&ldif)
	os.WriteFile(filepath.Join(dir, "ad.ldf"), ldif.Bytes(), 0o600)
	os.WriteFile(filepath.Join(dir, "ews.pw"), []byte(srv.Password()), 0o600)
	run := func(arch string) {
		args := []string{"iem-export", "run", "--ews-url", srv.URL(), "--admin-user", srv.Username(),
			"--password-file", filepath.Join(dir, "ews.pw"), "--trust-cert", srv.Fingerprint(),
			"--directory-file", filepath.Join(dir, "ad.ldf"), "--archive", arch, "--log-level", "warn", "--jobs", "2"}
		if err := newApp(io.Discard, io.Discard).RunContext(context.Background(), args); err != nil {
			b.Fatal(err)
		}
	}
	if unchanged {
		arch := filepath.Join(dir, "archive")
		run(arch)
		b.ResetTimer()
		for range b.N {
			run(arch)
		}
		return
	}
	b.SetBytes(c.Bytes())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		run(filepath.Join(dir, fmt.Sprintf("archive-%d", i)))
	}
	b.ReportMetric(float64(c.Deliveries()*b.N)/b.Elapsed().Seconds(), "items/s")
}
