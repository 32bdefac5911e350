//go:build unix

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iemproject/iem/exchange/ewstest"
)

// runRSS runs a command and returns its combined output, error and peak
// resident set size in bytes. On Linux the peak is the child's own VmHWM,
// read from /proc while it runs: the rusage of a child started by a large
// process (this test holds the emulated organisation in memory) reports
// the parent's high-water mark, because exec records the old address
// space's peak in ru_maxrss. Elsewhere it is ru_maxrss.
func runRSS(cmd *exec.Cmd) (string, error, int64) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err, 0
	}
	done := make(chan struct{})
	hwm := make(chan int64, 1)
	go func() {
		var peak int64
		status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
		for {
			if b, err := os.ReadFile(status); err == nil {
				for _, l := range strings.Split(string(b), "\n") {
					if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
						if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil && kb<<10 > peak {
							peak = kb << 10
						}
					}
				}
			}
			select {
			case <-done:
				hwm <- peak
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	rss := <-hwm
	if runtime.GOOS != "linux" && cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = int64(ru.Maxrss) // bytes on the BSDs and macOS
		}
	}
	return out.String(), err, rss
}

// TestScale exports and imports a 100,000-item mailbox and a mailbox with
// one 200 MB message, and reports each command's peak RSS, which must stay
// bounded: a large item streams (peak well below its size), and a large
// mailbox costs a few KB of state per item, not its content.
//
// Figures (2 cores, Go 1.26): 100,000 items: export 382 MB, import 470 MB;
// 200 MB item: export 61 MB, import 25 MB.
func TestScale(t *testing.T) {
	if os.Getenv("IEM_TEST_LONG") == "" {
		t.Skip("slow: set IEM_TEST_LONG=1 (make test-long)")
	}
	cases := []struct {
		name   string
		maxRSS int64 // for each command
		add    func(o *ewstest.Org, smtp string)
		mode   []string // import flags
	}{
		{name: "100000 items", maxRSS: 600 << 20, add: func(o *ewstest.Org, smtp string) {
			if ids := o.AddMessages(smtp, "inbox", 100000); len(ids) != 100000 {
				t.Fatalf("AddMessages: %d ids", len(ids))
			}
		}},
		// The emulator's IMAP front end (go-imap) refuses literals over
		// 100 MiB, so the 200 MB message goes through path mode.
		{name: "200 MB item", maxRSS: 100 << 20, add: func(o *ewstest.Org, smtp string) {
			o.AddLargeMessage(smtp, 200<<20, 200)
		}, mode: []string{"--mail-mode", "path"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newBed(t, ewstest.OrgOptions{Users: 1, MessagesPerFolder: 1, Contacts: 1, Tasks: 1}, nil)
			tc.add(b.ews.Org, b.ews.Org.Users[0].SMTP)
			out, err, exportRSS := runRSS(b.command("iem-export", "run", "--config", filepath.Join(b.dir, "export.conf"), "--archive", b.arch))
			t.Logf("export: peak RSS %d MB", exportRSS>>20)
			mustOK(t, "export", out, err)
			t.Logf("export: %s", summaryLine(out, "round "))
			args := []string{"run", "--config", filepath.Join(b.dir, "import.conf"), "--archive", b.arch}
			if tc.mode != nil {
				args = append(append(args, tc.mode...), "--mail-path", b.iw.MailRoot())
			}
			out, err, importRSS := runRSS(b.command("iem-import", args...))
			t.Logf("import: peak RSS %d MB", importRSS>>20)
			mustOK(t, "import", out, err)
			t.Logf("import: %s", summaryLine(out, "import: "))
			b.assertExactlyOnce(t)
			t.Logf("%s: peak RSS export %d MB, import %d MB; check: 0 lost, 0 duplicated", tc.name, exportRSS>>20, importRSS>>20)
			if exportRSS > tc.maxRSS || importRSS > tc.maxRSS {
				t.Errorf("peak RSS export %d MB, import %d MB; want both below %d MB", exportRSS>>20, importRSS>>20, tc.maxRSS>>20)
			}
		})
	}
}

func summaryLine(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}
