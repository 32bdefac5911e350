package archive

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const crashItems = 300

// crashItem returns item i of the crash test's deterministic stream; every
// 7th body repeats an earlier one, so refs are recovered too.
func crashItem(i int) (Header, []byte) {
	j := i
	if i%7 == 6 {
		j = i / 2
	}
	rng := rand.New(rand.NewPCG(uint64(j), 42))
	body := make([]byte, 500+rng.IntN(40000))
	for k := range body {
		body[k] = "abcdefghij \r\n"[rng.IntN(13)]
	}
	if i%50 == 0 {
		body = bytes.Repeat(body, 20) // some bodies over the memory limit: spooled
	}
	return Header{Kind: KindMessage, Mailbox: "crash@example.com", ID: fmt.Sprintf("item-%05d", i), Size: int64(len(body))}, body
}

// TestCrashChild is the writer process of TestSIGKILLRecovery.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("IEM_CRASH_DIR")
	if dir == "" {
		t.Skip("helper process for TestSIGKILLRecovery")
	}
	f, err := OpenFolder(dir, &FolderOptions{VolumeSize: 1 << 20, SpoolDir: dir})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	if f.LastRound() == 1 { // killed after Close but before saying so
		fmt.Println("closed")
		os.Exit(0)
	}
	next := f.View().Len()
	rw, err := f.Begin()
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	// One record per "go" line from the parent: the kill then lands
	// within the record the parent let through, however loaded the
	// machine is (a free-running writer could finish the stream before
	// the parent's 20 kills).
	permits := bufio.NewReader(os.Stdin)
	for i := next; i < crashItems; i++ {
		if _, err := permits.ReadString('\n'); err != nil {
			os.Exit(0) // the parent is gone
		}
		h, body := crashItem(i)
		if err := rw.WriteHeader(&h); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		rw.Write(body)
		if err := rw.Flush(); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Printf("done %d\n", i) // the record is complete in the file
	}
	if err := rw.Close(); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("closed")
	os.Exit(0)
}

// TestSIGKILLRecovery kills a writer process with SIGKILL at random points
// (at least 20 times) and checks after each kill that every entry reported
// complete before the kill is recovered, then lets the writer resume. At
// the end the archive holds every item exactly once, byte for byte.
func TestSIGKILLRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(2026, 11))
	kills := 0
	for round := 0; round < 60; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "IEM_CRASH_DIR="+dir)
		out, _ := cmd.StdoutPipe()
		permit, _ := cmd.StdinPipe()
		cmd.Stderr = io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		io.WriteString(permit, "go\n")
		killAfter := 1 + rng.IntN(12)
		extra := time.Duration(rng.IntN(3000)) * time.Microsecond
		last := -1
		closed := false
		sc := bufio.NewScanner(out)
		seen := 0
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "error") {
				t.Fatalf("child: %s", line)
			}
			if line == "closed" {
				closed = true
				break
			}
			if n, err := strconv.Atoi(strings.TrimPrefix(line, "done ")); err == nil {
				last = n
			}
			seen++
			io.WriteString(permit, "go\n") // the next record
			if seen == killAfter {
				time.Sleep(extra) // land somewhere inside (or after) that record
				cmd.Process.Signal(syscall.SIGKILL)
				kills++
				break
			}
		}
		permit.Close()
		cmd.Wait()
		if closed {
			break
		}
		f, err := OpenFolder(dir, nil)
		if err != nil {
			t.Fatalf("kill %d: OpenFolder: %v", kills, err)
		}
		v := f.View()
		for i := 0; i <= last; i++ {
			h, body := crashItem(i)
			e, ok := v.Item(h.Mailbox, h.ID)
			if !ok {
				t.Fatalf("kill %d: item %d reported complete but lost", kills, i)
			}
			if e.Digest != sha256.Sum256(body) {
				t.Fatalf("kill %d: item %d damaged", kills, i)
			}
		}
		f.Close()
	}
	if kills < 20 {
		t.Fatalf("only %d kills before the writer finished; want ≥ 20", kills)
	}
	f, err := OpenFolder(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.LastRound() != 1 {
		t.Fatalf("round 1 not closed after the final run")
	}
	seen := map[string]int{}
	f.Walk(func(e *Entry) error { seen[e.ID]++; return nil })
	for i := 0; i < crashItems; i++ {
		h, _ := crashItem(i)
		if seen[h.ID] != 1 {
			t.Errorf("item %d stored %d times, want exactly once", i, seen[h.ID])
		}
	}
	if err := f.Verify(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d SIGKILLs survived, %d items, %d volumes, 0 lost, 0 duplicated", kills, crashItems, len(f.Volumes()))
}
