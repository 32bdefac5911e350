//go:build linux

package bench

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/iemproject/iem/archive"
)

// bigArchiveEntries is the size of the generated archive (issue 20 goal 5:
// 10,000,000; IEM_BENCH_BIG_ENTRIES overrides it, e.g. 1000000 to profile).
func bigArchiveEntries() int {
	if n, err := strconv.Atoi(os.Getenv("IEM_BENCH_BIG_ENTRIES")); err == nil && n > 0 {
		return n
	}
	return 1000000
}

// genBigArchive writes an archive of n entries in rounds rounds directly
// with the archive package: round 1 holds messages spread over many
// mailboxes; every later round adds new messages and read-state changes of
// earlier ones, as an incremental export of a live organisation does. The
// bodies are small (the open reads manifests, not bodies); the identifiers
// have the length of EWS ones (an ItemId is about 150 base64 characters
// [inferred from the emulator's ids]).
func genBigArchive(dir string, n, rounds int) error {
	folder, err := archive.OpenFolder(dir, &archive.FolderOptions{Writer: "iem-bench"})
	if err != nil {
		return err
	}
	defer folder.Close()
	const mailboxes = 20000
	per := (n + rounds - 1) / rounds
	pad := "AAMkAGI2TG93AAAAAAEMAAAhE6C5mnZSRbXOXf7N3C0BAAAAAAEMAAAhE6C5mnZSRbXOXf7N3C0BAAAAAAEMAAAhE6C5mnZSRbXOXf7N3C0AAAG"
	id := func(i int) string { return fmt.Sprintf("%s%010d", pad, i) }
	body := make([]byte, 0, 256)
	written, items := 0, 0
	for r := 1; r <= rounds && written < n; r++ {
		rw, err := folder.Begin()
		if err != nil {
			return err
		}
		for k := 0; k < per && written < n; k++ {
			var h archive.Header
			if r > 1 && k%5 == 0 && items > 0 {
				// A read-state change of an earlier message.
				i := (written * 7919) % items
				h = archive.Header{Kind: archive.KindState, Mailbox: fmt.Sprintf("user%05d@example.com", i%mailboxes),
					Folder: fmt.Sprintf("AQMkAD-inbox-%05d", i%mailboxes), ID: id(i), Attrs: map[string]string{"read": "1"}}
			} else {
				i := items
				items++
				body = fmt.Appendf(body[:0], "From: user%d@example.com\r\nSubject: message %d\r\nMessage-ID: <%d@example.com>\r\n\r\nbody of %d\r\n", i%mailboxes, i, i, i)
				h = archive.Header{Kind: archive.KindMessage, Mailbox: fmt.Sprintf("user%05d@example.com", i%mailboxes),
					Folder: fmt.Sprintf("AQMkAD-inbox-%05d", i%mailboxes), ID: id(i), ChangeKey: fmt.Sprintf("CQAAABYAAAA%08d", i),
					Received: time.Unix(1772532000+int64(i), 0), Size: int64(len(body)),
					Attrs: map[string]string{"message-id": fmt.Sprintf("<%d@example.com>", i), "read": "0"}}
			}
			if err := rw.WriteHeader(&h); err != nil {
				return err
			}
			if h.Size > 0 {
				if _, err := rw.Write(body); err != nil {
					return err
				}
			}
			written++
		}
		if err := rw.Close(); err != nil {
			return err
		}
	}
	return nil
}

// bigOpenResult is what the child process measures.
type bigOpenResult struct {
	Entries, ViewLen, Volumes  int
	ManifestBytes, ManifestRaw int64
	Floor, Open, View          time.Duration
	HeapLive                   uint64
}

// TestBigArchiveOpenChild is the child process of the big-archive row: it
// opens the archive in $IEM_BIG_ARCHIVE as the next export round and
// `import plan` do (OpenFolder, then the view), after the floor (reading
// every manifest's bytes and decompressing them, what any reader of the
// format must do), and prints the figures as JSON. It runs only as the
// harness's child.
func TestBigArchiveOpenChild(t *testing.T) {
	dir := os.Getenv("IEM_BIG_ARCHIVE")
	if dir == "" {
		t.Skip("child of the bigarchive harness row")
	}
	var res bigOpenResult
	t0 := time.Now()
	dec, _ := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
	names, _ := filepath.Glob(filepath.Join(dir, "r*.iemv"))
	for _, name := range names {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		tb := make([]byte, 64)
		f.ReadAt(tb, st.Size()-64)
		off, length := int64(binary.LittleEndian.Uint64(tb)), int64(binary.LittleEndian.Uint64(tb[8:]))
		res.ManifestBytes += length
		// The record's chunk framing (SPEC.md §3.3) is skipped by the
		// decoder reading frames only as far as they are zstd; here the
		// floor reads the bytes and decompresses the frame inside.
		buf := make([]byte, length)
		f.ReadAt(buf, off)
		f.Close()
		sum := sha256.Sum256(buf) // the manifest digest every reader checks (SPEC.md §6)
		_ = sum
		res.ManifestRaw += floorDecode(dec, buf)
	}
	res.Floor = time.Since(t0)
	runtime.GC()
	t0 = time.Now()
	folder, err := archive.OpenFolder(dir, &archive.FolderOptions{Existing: true})
	if err != nil {
		t.Fatal(err)
	}
	res.Open = time.Since(t0)
	t0 = time.Now()
	v := folder.View()
	res.View = time.Since(t0)
	res.ViewLen = v.Len()
	res.Volumes = len(folder.Volumes())
	folder.Walk(func(*archive.Entry) error { res.Entries++; return nil })
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.HeapLive = ms.HeapAlloc
	runtime.KeepAlive(v)
	folder.Close()
	json.NewEncoder(os.Stdout).Encode(res)
}

// floorDecode decompresses the zstd frame held in a plain record (SPEC.md
// §3.3: chunks of a 4-byte length and a CRC around the frame's bytes) and
// returns the decompressed length.
func floorDecode(dec *zstd.Decoder, rec []byte) int64 {
	var frame []byte
	for p := rec; len(p) >= 8; {
		l := int(binary.LittleEndian.Uint32(p) & 0x7fffffff)
		if 8+l > len(p) {
			break
		}
		frame = append(frame, p[4:4+l]...)
		p = p[8+l:]
	}
	dec.Reset(nil)
	out, _ := dec.DecodeAll(frame, nil)
	return int64(len(out))
}

// bigArchive is issue 20 goal 5: an archive of many rounds and N entries
// opens for the next round and for `import plan` in under 10 s and 300 MB.
func (h *harness) bigArchive() {
	n := bigArchiveEntries()
	dir := filepath.Join(h.dir, "archive-big")
	os.MkdirAll(dir, 0o700)
	t0 := time.Now()
	if err := genBigArchive(dir, n, 20); err != nil {
		h.b.Fatal(err)
	}
	gen := time.Since(t0)
	defer os.RemoveAll(dir)
	exe, _ := os.Executable()
	cmd := exec.Command(exe, "-test.run", "^TestBigArchiveOpenChild$", "-test.count", "1")
	cmd.Env = append(os.Environ(), "IEM_BIG_ARCHIVE="+dir)
	out, err := os.CreateTemp(h.dir, "big-*.out")
	if err != nil {
		h.b.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	t0 = time.Now()
	peak, err := runPeak(cmd)
	wall := time.Since(t0)
	out.Seek(0, 0)
	data, _ := io.ReadAll(out)
	if err != nil {
		h.b.Fatalf("child: %v\n%s", err, data)
	}
	var res bigOpenResult
	for _, l := range splitLines(data) {
		if json.Unmarshal(l, &res) == nil && res.Entries > 0 {
			break
		}
	}
	if res.Entries != n {
		h.b.Fatalf("child read %d of %d entries:\n%s", res.Entries, n, data)
	}
	scale := 10e6 / float64(n)
	open := res.Open + res.View
	at10M := time.Duration(float64(open) * scale)
	h.add(row{measure: fmt.Sprintf("archive of %d entries: open + view", n),
		iem:      fmt.Sprintf("%s (open %s, view %s)", open.Round(time.Millisecond), res.Open.Round(time.Millisecond), res.View.Round(time.Millisecond)),
		baseline: fmt.Sprintf("manifests read + unzstd %s", res.Floor.Round(time.Millisecond)),
		ratio:    open.Seconds() / res.Floor.Seconds(), goal: "< 10 s at 10M", pass: at10M < 10*time.Second,
		note: fmt.Sprintf("%d volumes in 20 rounds, generated in %s; %.1f manifest bytes/entry on disk (%.0f decompressed); "+
			"scaled to 10M: %s; child wall %s", res.Volumes, gen.Round(time.Second), float64(res.ManifestBytes)/float64(n),
			float64(res.ManifestRaw)/float64(n), at10M.Round(time.Millisecond), wall.Round(time.Millisecond))})
	rss10M := float64(peak) * scale
	h.add(row{measure: fmt.Sprintf("archive of %d entries: open + view peak RSS", n), iem: fmt.Sprintf("%.0f MB", float64(peak)/1e6),
		baseline: "300 MB", ratio: float64(peak) / 300e6, goal: "< 300 MB at 10M", pass: rss10M < 300e6,
		note: fmt.Sprintf("child process VmHWM; live heap after the view %.0f MB (%.0f B/entry); scaled to 10M: %.0f MB",
			float64(res.HeapLive)/1e6, float64(res.HeapLive)/float64(n), rss10M/1e6)})
}

func splitLines(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != '\n' {
			i++
		}
		out = append(out, b[:i])
		if i < len(b) {
			i++
		}
		b = b[i:]
	}
	return out
}
