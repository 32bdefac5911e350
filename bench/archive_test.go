//go:build linux

package bench

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/iemproject/iem/archive"
)

// archiveSpeed writes the corpus's deliveries into an archive folder with
// the archive package (as the exporter does: one entry per delivery,
// de-duplicated) and reads every body back, against zstd SpeedDefault
// compressing each message as its own frame to a file and decompressing
// it again, on the same disk in the same run (issue 7, measure 2: write and
// read MB/s). One goroutine each, so the ratios compare like with like.
func (h *harness) archiveSpeed() {
	c, _ := h.corpusOrg(corpusOptions())
	mb := float64(c.Bytes()) / 1e6

	// Baseline: one zstd frame per delivery, to a file, then read back.
	raw := filepath.Join(h.dir, "frames.zst")
	f, err := os.Create(raw)
	if err != nil {
		h.b.Fatal(err)
	}
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
	var frames [][2]int64
	var off int64
	var frame []byte
	t0 := time.Now()
	for _, m := range c.Messages {
		for range m.To {
			frame = enc.EncodeAll(m.MIME, frame[:0])
			f.Write(frame)
			frames = append(frames, [2]int64{off, int64(len(frame))})
			off += int64(len(frame))
		}
	}
	f.Sync()
	f.Close()
	zWrite := time.Since(t0)
	dec, _ := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	rf, _ := os.Open(raw)
	var buf, out []byte
	t0 = time.Now()
	for _, fr := range frames {
		if int64(cap(buf)) < fr[1] {
			buf = make([]byte, fr[1])
		}
		buf = buf[:fr[1]]
		rf.ReadAt(buf, fr[0])
		if out, err = dec.DecodeAll(buf, out[:0]); err != nil {
			h.b.Fatal(err)
		}
	}
	zRead := time.Since(t0)
	rf.Close()
	os.Remove(raw)

	// The archive.
	dir := filepath.Join(h.dir, "archive-speed")
	os.MkdirAll(dir, 0o700)
	folder, err := archive.OpenFolder(dir, nil)
	if err != nil {
		h.b.Fatal(err)
	}
	t0 = time.Now()
	rw, err := folder.Begin()
	if err != nil {
		h.b.Fatal(err)
	}
	for i, m := range c.Messages {
		for _, u := range m.To {
			hd := &archive.Header{Kind: archive.KindMessage, Mailbox: c.Users[u], Folder: "inbox", ID: fmt.Sprintf("m%d-%d", i, u),
				Received: m.Received, Size: int64(len(m.MIME)), Attrs: map[string]string{"message-id": m.MessageID, "read": "0"}}
			if err := rw.WriteHeader(hd); err != nil {
				h.b.Fatal(err)
			}
			if _, err := rw.Write(m.MIME); err != nil {
				h.b.Fatal(err)
			}
		}
	}
	if err := rw.Close(); err != nil {
		h.b.Fatal(err)
	}
	aWrite := time.Since(t0)
	folder.Close()
	t0 = time.Now()
	folder, err = archive.OpenFolder(dir, nil)
	if err != nil {
		h.b.Fatal(err)
	}
	n := 0
	err = folder.Walk(func(e *archive.Entry) error {
		rc, err := folder.Open(e)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		n++
		return err
	})
	aRead := time.Since(t0)
	folder.Close()
	if err != nil || n != c.Deliveries() {
		h.b.Fatalf("read back %d of %d entries: %v", n, c.Deliveries(), err)
	}
	size := dirSize(dir)
	os.RemoveAll(dir)
	h.add(row{measure: "archive write: MB/s", iem: fmt.Sprintf("%.0f MB/s (%.1f MB on disk)", mb/aWrite.Seconds(), float64(size)/1e6),
		baseline: fmt.Sprintf("zstd frame per message %.0f MB/s (%.1f MB)", mb/zWrite.Seconds(), float64(off)/1e6),
		ratio:    zWrite.Seconds() / aWrite.Seconds(), goal: "(SPEC: ≥ 0.8 of zstd)", pass: zWrite.Seconds()/aWrite.Seconds() >= 0.8,
		note: "one goroutine, fsync at the end; the archive also hashes every body (SHA-256), stores duplicates once and checksums every chunk"})
	h.add(row{measure: "archive read: MB/s", iem: fmt.Sprintf("%.0f MB/s", mb/aRead.Seconds()),
		baseline: fmt.Sprintf("zstd frame per message %.0f MB/s", mb/zRead.Seconds()),
		ratio:    zRead.Seconds() / aRead.Seconds(), goal: "none set", noGoal: true,
		note: "opening the folder (manifests) included; every body's SHA-256 and chunk checksums verified"})
}
