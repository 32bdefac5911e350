package pst

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Block ids of the sparse file: bit 1 marks internal blocks ([MS-PST] 2.2.2.2).
const (
	sparseData = 0x04 // data block D
	sparseX    = 0x06 // XBLOCK listing D
	sparseXX   = 0x0A // XXBLOCK listing the XBLOCK
	sparseXPer = (maxBlockData - 8) / 8
)

// writeSparse writes, in a sparse file of the given apparent size, what the NDB
// layer needs to stream a data tree: a Unicode header ([MS-PST] 2.2.2.6, both
// CRCs), a BBT leaf page ([MS-PST] 2.2.2.7.7.1, trailer 2.2.2.7.1, CRC 5.3,
// signature 5.5) with three entries, a full data block D (8176 bytes,
// NDB_CRYPT_NONE), an XBLOCK listing D sparseXPer (1021) times and an XXBLOCK
// listing the XBLOCK n times ([MS-PST] 2.2.2.8.3.2) whose lcbTotal is lcb. It
// returns D's bytes.
func writeSparse(t *testing.T, path string, size int64, n int, lcb uint32) []byte {
	t.Helper()
	le := binary.LittleEndian
	const bbtAt, dAt, xAt, xxAt = 4096, 8192, 16384, 24576
	h := make([]byte, headerSize)
	copy(h, "!BDN")
	copy(h[8:], "SM")
	le.PutUint16(h[10:], 23)
	le.PutUint64(h[232:], 0x100) // BBT root BREF
	le.PutUint64(h[240:], bbtAt)
	h[513] = byte(CryptNone)
	le.PutUint32(h[4:], crc(h[8:8+471]))
	le.PutUint32(h[524:], crc(h[8:8+516]))

	// block returns data with its trailer, aligned to 64 bytes ([MS-PST] 2.2.2.8.1).
	block := func(data []byte, bid uint64, ib int64) []byte {
		total := (len(data) + 16 + 63) &^ 63
		p := make([]byte, total)
		copy(p, data)
		tr := p[total-16:]
		le.PutUint16(tr, uint16(len(data)))
		le.PutUint16(tr[2:], sig(ib, bid))
		le.PutUint32(tr[4:], crc(data))
		le.PutUint64(tr[8:], bid)
		return p
	}
	d := make([]byte, maxBlockData)
	for i := range d {
		d[i] = byte(i*7 + i>>8)
	}
	x := make([]byte, 8+8*sparseXPer)
	x[0], x[1] = 0x01, 1
	le.PutUint16(x[2:], sparseXPer)
	le.PutUint32(x[4:], sparseXPer*maxBlockData)
	for i := range sparseXPer {
		le.PutUint64(x[8+8*i:], sparseData)
	}
	xx := make([]byte, 8+8*n)
	xx[0], xx[1] = 0x01, 2
	le.PutUint16(xx[2:], uint16(n))
	le.PutUint32(xx[4:], lcb)
	for i := range n {
		le.PutUint64(xx[8+8*i:], sparseX)
	}

	page := make([]byte, 512)
	for i, e := range []struct {
		bid uint64
		ib  int64
		cb  int
	}{{sparseData, dAt, len(d)}, {sparseX, xAt, len(x)}, {sparseXX, xxAt, len(xx)}} {
		ent := page[i*24:]
		le.PutUint64(ent, e.bid)
		le.PutUint64(ent[8:], uint64(e.ib))
		le.PutUint16(ent[16:], uint16(e.cb))
		le.PutUint16(ent[18:], 1) // cRef
	}
	page[488], page[489], page[490], page[491] = 3, 20, 24, 0 // cEnt, cEntMax, cbEnt, cLevel
	page[496], page[497] = ptypeBBT, ptypeBBT
	le.PutUint16(page[498:], sig(bbtAt, 0x100))
	le.PutUint32(page[500:], crc(page[:496]))
	le.PutUint64(page[504:], 0x100)

	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if err := fh.Truncate(size); err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct {
		p  []byte
		at int64
	}{{h, 0}, {page, bbtAt}, {block(d, sparseData, dAt), dAt}, {block(x, sparseX, xAt), xAt}, {block(xx, sparseXX, xxAt), xxAt}} {
		if _, err := fh.WriteAt(w.p, w.at); err != nil {
			t.Fatal(err)
		}
	}
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
	return d
}

// heapWriter hashes what it is given and, every 4 MiB, samples the live heap
// (after a collection): the sampling follows the bytes, not the clock.
type heapWriter struct {
	h       hash.Hash
	n, next int64
	peak    uint64
	samples int
}

func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func (w *heapWriter) Write(p []byte) (int, error) {
	w.h.Write(p)
	w.n += int64(len(p))
	if w.n >= w.next {
		w.next = w.n + 4<<20
		w.samples++
		w.peak = max(w.peak, liveHeap())
	}
	return len(p), nil
}

// TestDataReaderSparseTree: a data tree of ~300 MB held in three blocks of a
// sparse file streams through DataReader with the bytes and hash of D repeated
// and a live heap that does not grow with the tree (the list of its 36,756
// leaf ids alone would be 294 KB); a tiny file whose tree exceeds 8x its size
// fails with that bound's error after reading at most that much.
func TestDataReaderSparseTree(t *testing.T) {
	dir := t.TempDir()
	const n = 36
	p := filepath.Join(dir, "big.pst")
	d := writeSparse(t, p, 64<<20, n, n*sparseXPer*maxBlockData)
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := sha256.New()
	for range n * sparseXPer {
		want.Write(d)
	}
	base := liveHeap()
	w := &heapWriter{h: sha256.New()}
	got, err := io.Copy(w, f.DataReader(sparseXX, nil))
	if err != nil {
		t.Fatal(err)
	}
	if wantN := int64(n * sparseXPer * maxBlockData); got != wantN {
		t.Fatalf("streamed %d bytes, want %d", got, wantN)
	}
	if !bytes.Equal(w.h.Sum(nil), want.Sum(nil)) {
		t.Fatal("streamed bytes differ from D repeated")
	}
	if f.CRCErrors != 0 {
		t.Errorf("%d CRC errors in a file written with correct CRCs", f.CRCErrors)
	}
	// The growth, not the peak: the package's other tests leave tens of MB live.
	grow := int64(w.peak) - int64(base)
	if grow > 128<<10 {
		t.Errorf("live heap grew by %d bytes while streaming %d bytes; want under 128 KiB", grow, got)
	}
	t.Logf("%d bytes streamed from a file of 64 MiB apparent size; %d heap samples, peak %d bytes, %+d over the start", got, w.samples, w.peak, grow)

	// 8 MiB claiming 10 x 8.35 MB: the XXBLOCK's honest lcbTotal is refused
	// before any data is read; a lying one is cut off at 8x the file size.
	const small, bigN = 8 << 20, 10
	p = filepath.Join(dir, "honest.pst")
	writeSparse(t, p, small, bigN, bigN*sparseXPer*maxBlockData)
	hf, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer hf.Close()
	got, err = io.Copy(io.Discard, hf.DataReader(sparseXX, nil))
	var pe *Error
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "XBLOCK claims") || got != 0 {
		t.Errorf("honest hostile tree: %d bytes, error %v; want 0 bytes and the lcbTotal bound", got, err)
	}

	p = filepath.Join(dir, "lying.pst")
	writeSparse(t, p, small, bigN, maxBlockData)
	lf, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	got, err = io.Copy(io.Discard, lf.DataReader(sparseXX, nil))
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "data tree larger than the file can hold") {
		t.Errorf("lying tree: error %v after %d bytes; want the size*8 bound", err, got)
	}
	if got > small*8 {
		t.Errorf("lying tree: %d bytes streamed past the bound of %d", got, small*8)
	}
	if _, err := lf.Data(sparseXX); err == nil || !strings.Contains(err.Error(), "data tree larger than the file can hold") {
		t.Errorf("Data of the lying tree: %v; want the size*8 bound", err)
	}
}
