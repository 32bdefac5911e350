package imapsink

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iemproject/iem/internal/testbed"
)

// BenchmarkMbsync pushes the same messages as BenchmarkAppend from a local
// Maildir into the same Dovecot with mbsync (isync), the speed IMAP import
// must at least match. Compare msgs/s with BenchmarkAppend.
func BenchmarkMbsync(b *testing.B) {
	bin := testbed.Need(b, "mbsync")
	d := testbed.StartDovecot(b, "mbsync")
	dir := b.TempDir()
	body := string(eml("bench@x", "bench", 20000))
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, "src", "INBOX", sub), 0o755); err != nil {
			b.Fatal(err)
		}
	}
	for i := range b.N {
		// Distinct Message-IDs, or mbsync would still copy them all.
		msg := strings.Replace(body, "bench@x", fmt.Sprintf("m%d@x", i), 1)
		name := filepath.Join(dir, "src", "INBOX", "cur", fmt.Sprintf("%d.%d.bench:2,S", 1700000000+i, i))
		if err := os.WriteFile(name, []byte(msg), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	host, port, _ := strings.Cut(d.Addr, ":")
	rc := fmt.Sprintf("IMAPAccount t\nHost %s\nPort %s\nUser %s*%s\nPass %s\nSSLType None\nAuthMechs LOGIN\n\n"+
		"IMAPStore remote\nAccount t\n\nMaildirStore local\nPath %s/src/\nInbox %s/src/INBOX\n\n"+
		"Channel c\nFar :remote:\nNear :local:\nPatterns INBOX\nCreate Far\nSync Push\nSyncState *\n",
		host, port, d.Users[0].Name, d.MasterUser, d.MasterPassword, dir, dir)
	if err := os.WriteFile(filepath.Join(dir, "rc"), []byte(rc), 0o600); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	out, err := exec.Command(bin, "-q", "-c", filepath.Join(dir, "rc"), "-a").CombinedOutput()
	if err != nil {
		b.Fatalf("mbsync: %v\n%s", err, out)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	m := dial(b, d, "", d.Users[0].Name, 1)
	if got := len(listAll(b, m, []string{"INBOX"})); got != b.N {
		b.Fatalf("mbsync stored %d messages, want %d", got, b.N)
	}
}
