package archive

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash"
	"io"
	"os"
	"time"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"

	"github.com/iemproject/iem/internal/countio"
)

// An Index finds bodies already stored in earlier volumes of the archive,
// so a Writer stores each body once (SPEC.md §3.6). [Folder] provides one.
type Index interface {
	Lookup(digest [32]byte) (ref Ref, size int64, ok bool)
}

// WriterOptions configure a volume Writer. A nil *WriterOptions means
// round 1, part 1, a random archive ID, no encryption.
type WriterOptions struct {
	Round, Part int
	ArchiveID   [16]byte // zero: random
	Prev        [32]byte // manifest digest of the previous volume in chain order
	// Final marks the volume as the last part of its round. [Writer.SetFinal] changes it.
	Final bool
	// Writer names the program, recorded in the manifest ("iem-export 0.1.0").
	Writer string
	// Created is recorded in the manifest; zero means the time of Close.
	Created time.Time
	// Recipients, when not empty, encrypt the volume (SPEC.md §7.2).
	Recipients []age.Recipient
	// Index finds bodies stored in earlier volumes (nil: de-duplicate within this volume only).
	Index Index
	// SpoolDir holds temporary files for large bodies ("": os.TempDir()).
	SpoolDir string
	// MemoryLimit is the largest body kept in memory; larger ones are
	// spooled to a file (default 4 MiB).
	MemoryLimit int
	// Level is the zstd level (default zstd.SpeedDefault).
	Level zstd.EncoderLevel

	// volumeKey, when set, is used instead of a fresh key (resumed volumes).
	volumeKey []byte
}

// manifestItem is one manifest entry waiting to be written at Close.
type manifestItem struct {
	offset, length int64
	digest         [32]byte
	typ            byte
	meta           []byte // EntryMeta, and Ref for type 2
}

// A Writer writes one volume. WriteHeader starts an entry, Write supplies
// its body, Close writes the manifest and trailer. Errors are sticky: after
// the first, every method returns it. A Writer is not safe for concurrent use.
type Writer struct {
	out       *countio.Writer
	opt       WriterOptions
	hdr       volumeHeader
	rw        *recordWriter
	enc       *zstd.Encoder
	level     zstd.EncoderLevel
	volumeKey []byte

	cur      *Header // entry being written, nil if none
	written  int64
	sha      hash.Hash
	mem      bytes.Buffer
	spool    *os.File
	scratch  []byte
	frame    []byte
	items    []manifestItem
	self     map[[32]byte]int // digest → index in items of the type-1 record
	lastDig  [32]byte
	err      error
	closed   bool
	onRecord func(offset, length int64) // test hook
	digest   [32]byte
}

// NewWriter starts a volume on w: it writes the header (and the key block
// when encrypting) at once. The caller owns w; Close does not close it.
func NewWriter(w io.Writer, opt *WriterOptions) (*Writer, error) {
	var o WriterOptions
	if opt != nil {
		o = *opt
	}
	if o.Round == 0 {
		o.Round = 1
	}
	if o.Part == 0 {
		o.Part = 1
	}
	if o.ArchiveID == ([16]byte{}) {
		if _, err := rand.Read(o.ArchiveID[:]); err != nil {
			return nil, err
		}
	}
	vw := &Writer{out: &countio.Writer{W: w}, opt: o}
	vw.hdr = volumeHeader{Round: uint32(o.Round), Part: uint32(o.Part), ArchiveID: o.ArchiveID}
	if len(o.Recipients) > 0 {
		vw.hdr.Flags |= flagEncrypted
		vw.volumeKey = o.volumeKey
		if vw.volumeKey == nil {
			vw.volumeKey = make([]byte, 32)
			if _, err := rand.Read(vw.volumeKey); err != nil {
				return nil, err
			}
		}
	}
	if err := vw.init(); err != nil {
		return nil, err
	}
	if _, err := vw.out.Write(vw.hdr.marshal()); err != nil {
		return nil, err
	}
	if vw.volumeKey != nil {
		var kb bytes.Buffer
		aw, err := age.Encrypt(&kb, o.Recipients...)
		if err != nil {
			return nil, err
		}
		aw.Write(vw.volumeKey)
		if err := aw.Close(); err != nil {
			return nil, err
		}
		b := binary.LittleEndian.AppendUint32(nil, uint32(kb.Len()))
		if _, err := vw.out.Write(append(b, kb.Bytes()...)); err != nil {
			return nil, err
		}
	}
	return vw, nil
}

func (w *Writer) init() error {
	level := w.opt.Level
	if level == 0 {
		level = zstd.SpeedDefault
	}
	c, err := getCompressor(level)
	if err != nil {
		return err
	}
	w.enc, w.level, w.frame, w.scratch = c.enc, level, c.frame, c.scratch
	w.mem = *bytes.NewBuffer(c.mem)
	w.rw, err = newRecordWriter(w.out, w.volumeKey)
	if err != nil {
		return err
	}
	if w.opt.MemoryLimit <= 0 {
		w.opt.MemoryLimit = 4 << 20
	}
	w.sha = sha256.New()
	w.self = make(map[[32]byte]int)
	return nil
}

// VolumeKey returns the key of an encrypted volume (nil when plain), so
// that a caller can keep it for recovery (SPEC.md §7.3).
func (w *Writer) VolumeKey() []byte { return w.volumeKey }

// Offset returns the number of bytes written to the volume so far.
func (w *Writer) Offset() int64 { return w.out.N }

// Entries returns the number of entries completed so far.
func (w *Writer) Entries() int { return len(w.items) }

// SetFinal sets whether this volume is the last part of its round.
func (w *Writer) SetFinal(final bool) { w.opt.Final = final }

// WriteHeader finishes the current entry, if any, and starts a new one.
// The body (h.Size bytes, or any length when h.Size < 0) follows through Write.
func (w *Writer) WriteHeader(h *Header) error {
	if err := w.Flush(); err != nil {
		return err
	}
	if err := validateHeader(h); err != nil {
		return w.fail(err)
	}
	c := *h
	if h.Attrs != nil {
		c.Attrs = make(map[string]string, len(h.Attrs))
		for k, v := range h.Attrs {
			c.Attrs[k] = v
		}
	}
	w.cur = &c
	w.written = 0
	w.sha.Reset()
	w.mem.Reset()
	return nil
}

func (w *Writer) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	return w.err
}

// Write writes body bytes of the current entry.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.cur == nil {
		return 0, w.fail(errors.New("archive: write outside an entry"))
	}
	if w.cur.Size >= 0 && w.written+int64(len(p)) > w.cur.Size {
		return 0, ErrWriteTooLong // not sticky, like tar
	}
	w.written += int64(len(p))
	if w.spool == nil && w.mem.Len()+len(p) <= w.opt.MemoryLimit {
		return w.mem.Write(p) // hashed in Flush, beside compression
	}
	if w.spool == nil {
		w.sha.Write(w.mem.Bytes())
		f, err := os.CreateTemp(w.opt.SpoolDir, ".iem-spool-*")
		if err != nil {
			return 0, w.fail(err)
		}
		os.Remove(f.Name()) // unlinked: vanishes even if we crash (on Windows, Close removes it below)
		w.spool = f
		if _, err := f.Write(w.mem.Bytes()); err != nil {
			return 0, w.fail(err)
		}
		w.mem.Reset()
	}
	w.sha.Write(p)
	if _, err := w.spool.Write(p); err != nil {
		return 0, w.fail(err)
	}
	return len(p), nil
}

// Flush finishes the current entry: its record is written to the volume.
// WriteHeader and Close call it; call it directly to make sure an entry is
// on disk (after a Sync of the underlying file) before moving on.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return ErrClosed
	}
	if w.cur == nil {
		return nil
	}
	h := w.cur
	w.cur = nil
	defer w.dropSpool()
	if h.Size >= 0 && w.written != h.Size {
		return w.fail(errf(ErrShortWrite, "entry %s: wrote %d of %d bytes", h.label(), w.written, h.Size))
	}
	size := w.written
	offset := w.out.N
	meta := encodeMeta(nil, h, size)
	pre := []byte{recEntry}
	pre = binary.AppendUvarint(pre, uint64(len(meta)))
	pre = append(pre, meta...)

	// An in-memory body is hashed now. A large one is compressed at the same
	// time on another core, betting that it is not a duplicate: the digest
	// is needed before the record is written (de-duplication), and SHA-256
	// would otherwise add a third to the time zstd takes on such bodies.
	var compressed chan struct{}
	if w.spool == nil {
		body := w.mem.Bytes()
		if len(body) >= parallelHashMin {
			w.scratch = append(append(w.scratch[:0], pre...), body...)
			compressed = make(chan struct{})
			go func() {
				w.frame = w.enc.EncodeAll(w.scratch, w.frame[:0])
				close(compressed)
			}()
		}
		w.sha.Write(body)
	}
	var digest [32]byte
	w.sha.Sum(digest[:0])
	if compressed != nil {
		<-compressed
	}
	return w.record(h, size, offset, digest, meta, func() (int64, error) {
		switch {
		case compressed != nil:
			return w.writeFrame(w.frame)
		case w.spool == nil:
			w.scratch = append(append(w.scratch[:0], pre...), w.mem.Bytes()...)
			return w.writeSmall(w.scratch)
		default:
			return w.writeStream(pre, size)
		}
	})
}

// record writes a finished entry: a reference record if its body is
// already stored (this volume first, then earlier volumes), else the entry
// record that writeBody writes; then it notes the entry for the manifest.
func (w *Writer) record(h *Header, size, offset int64, digest [32]byte, meta []byte, writeBody func() (int64, error)) error {
	w.lastDig = digest
	var ref Ref
	found := false
	if i, ok := w.self[digest]; ok {
		ref, found = Ref{w.opt.Round, w.opt.Part, w.items[i].offset}, true
	} else if w.opt.Index != nil {
		if r, sz, ok := w.opt.Index.Lookup(digest); ok && sz == size {
			ref, found = r, true
		}
	}
	var err error
	var length int64
	if found {
		pt := []byte{recRef}
		pt = binary.AppendUvarint(pt, uint64(len(meta)))
		pt = append(pt, meta...)
		pt = appendRef(pt, ref)
		length, err = w.writeSmall(pt)
		meta = appendRef(meta, ref)
	} else {
		length, err = writeBody()
	}
	if err != nil {
		return w.fail(err)
	}
	typ := byte(recEntry)
	if found {
		typ = recRef
	} else {
		w.self[digest] = len(w.items)
	}
	w.items = append(w.items, manifestItem{offset: offset, length: length, digest: digest, typ: typ, meta: meta})
	if w.onRecord != nil {
		w.onRecord(offset, length)
	}
	return nil
}

// LastDigest returns the SHA-256 of the body of the entry finished last.
func (w *Writer) LastDigest() [32]byte { return w.lastDig }

func (w *Writer) dropSpool() {
	if w.spool != nil {
		name := w.spool.Name()
		w.spool.Close()
		os.Remove(name)
		w.spool = nil
	}
}

// parallelHashMin is the body size from which Flush hashes and compresses
// in parallel; below it a goroutine costs more than it saves.
const parallelHashMin = 64 << 10

// writeFrame writes frame, an already compressed record stream.
func (w *Writer) writeFrame(frame []byte) (int64, error) {
	if err := w.rw.begin(); err != nil {
		return 0, err
	}
	if _, err := w.rw.Write(frame); err != nil {
		return 0, err
	}
	return w.rw.end()
}

// writeSmall compresses an in-memory record stream in one go.
func (w *Writer) writeSmall(pt []byte) (int64, error) {
	if err := w.rw.begin(); err != nil {
		return 0, err
	}
	w.frame = w.enc.EncodeAll(pt, w.frame[:0])
	if _, err := w.rw.Write(w.frame); err != nil {
		return 0, err
	}
	return w.rw.end()
}

// writeStream compresses a spooled body without holding it in memory.
func (w *Writer) writeStream(pre []byte, size int64) (int64, error) {
	if err := w.rw.begin(); err != nil {
		return 0, err
	}
	if _, err := w.spool.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	w.enc.ResetContentSize(w.rw, int64(len(pre))+size)
	if _, err := w.enc.Write(pre); err != nil {
		return 0, err
	}
	n, err := io.Copy(w.enc, w.spool)
	if err != nil {
		return 0, err
	}
	if n != size {
		return 0, errf(ErrShortWrite, "spool returned %d of %d bytes", n, size)
	}
	if err := w.enc.Close(); err != nil {
		return 0, err
	}
	return w.rw.end()
}

// Close finishes the last entry and writes the manifest and the trailer.
// It does not close the underlying writer.
func (w *Writer) Close() error {
	if err := w.Flush(); err != nil {
		return err
	}
	w.closed = true
	created := w.opt.Created
	if created.IsZero() {
		created = time.Now()
	}
	m := []byte{recManifest}
	m = append(m, w.opt.ArchiveID[:]...)
	m = binary.AppendUvarint(m, uint64(w.opt.Round))
	m = binary.AppendUvarint(m, uint64(w.opt.Part))
	if w.opt.Final {
		m = append(m, 1)
	} else {
		m = append(m, 0)
	}
	m = append(m, w.opt.Prev[:]...)
	m = binary.AppendVarint(m, created.Unix())
	m = appendStr(m, w.opt.Writer)
	m = binary.AppendUvarint(m, uint64(len(w.items)))
	size := int64(len(m))
	var prev int64
	for _, it := range w.items {
		size += int64(uvarintLen(uint64(it.offset-prev)) + uvarintLen(uint64(it.length)) + 32 + 1 + len(it.meta))
		prev = it.offset
	}
	offset := w.out.N
	// The digest covers the manifest record's bytes on disk.
	sha := sha256.New()
	w.rw.out = io.MultiWriter(w.out, sha)
	var length int64
	var err error
	if size <= streamManifestMin {
		prev = 0
		for _, it := range w.items {
			m = appendManifestItem(m, it, &prev)
		}
		length, err = w.writeSmall(m)
	} else {
		length, err = w.writeManifestStream(m, size)
	}
	w.rw.out = w.out
	if err != nil {
		return w.fail(err)
	}
	var t trailer
	t.ManifestOffset, t.ManifestLength, t.Flags = uint64(offset), uint64(length), w.hdr.Flags
	sha.Sum(t.ManifestDigest[:0])
	if _, err := w.out.Write(t.marshal()); err != nil {
		return w.fail(err)
	}
	w.digest = t.ManifestDigest
	w.err = ErrClosed
	// The manifest is written: drop its items before a RoundWriter reads
	// the volume back (for 100,000 entries both would be tens of MB).
	w.items, w.self = nil, nil
	w.putCompressor()
	return nil
}

// streamManifestMin is the manifest size from which Close compresses it
// as a stream: building a manifest of 100,000 entries (about 50 MB) in
// memory and compressing it in one call held it, its history and its
// output at once, the largest allocation of an export.
const streamManifestMin = 4 << 20

// appendManifestItem appends one ManifestItem (SPEC.md §3.7); prev is the
// offset of the item before.
func appendManifestItem(m []byte, it manifestItem, prev *int64) []byte {
	m = binary.AppendUvarint(m, uint64(it.offset-*prev))
	*prev = it.offset
	m = binary.AppendUvarint(m, uint64(it.length))
	m = append(m, it.digest[:]...)
	m = append(m, it.typ)
	return append(m, it.meta...)
}

// writeManifestStream writes the manifest record (head, then the items)
// through the streaming encoder, size bytes in all.
func (w *Writer) writeManifestStream(head []byte, size int64) (int64, error) {
	if err := w.rw.begin(); err != nil {
		return 0, err
	}
	w.enc.ResetContentSize(w.rw, size)
	buf := head
	var prev int64
	for _, it := range w.items {
		buf = appendManifestItem(buf, it, &prev)
		if len(buf) >= 64<<10 {
			if _, err := w.enc.Write(buf); err != nil {
				return 0, err
			}
			buf = buf[:0]
		}
	}
	if _, err := w.enc.Write(buf); err != nil {
		return 0, err
	}
	if err := w.enc.Close(); err != nil {
		return 0, err
	}
	return w.rw.end()
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// spareEncoders keeps a few zstd encoders, with the buffers grown for their
// records, for later writers: an encoder holds a history buffer of twice the
// 8 MiB window, too costly to allocate for every volume (parts, tests,
// benchmarks). A channel, not a sync.Pool, so a GC does not empty it.
var spareEncoders = make(chan *compressor, 4)

type compressor struct {
	enc            *zstd.Encoder
	level          zstd.EncoderLevel
	frame, scratch []byte
	mem            []byte
}

func getCompressor(level zstd.EncoderLevel) (*compressor, error) {
	select {
	case c := <-spareEncoders:
		if c.level == level {
			return c, nil
		}
	default:
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(maxWindow), zstd.WithEncoderCRC(true))
	if err != nil {
		return nil, err
	}
	return &compressor{enc: enc, level: level}, nil
}

// putCompressor keeps the writer's encoder after a clean Close; the encoder
// of a failed writer may be mid-frame and is dropped.
func (w *Writer) putCompressor() {
	if w.enc == nil {
		return
	}
	c := &compressor{enc: w.enc, level: w.level, frame: w.frame, scratch: w.scratch, mem: w.mem.Bytes()}
	w.enc, w.frame, w.scratch = nil, nil, nil
	c.release()
}

// release keeps c for later writers and preparers, without pinning
// buffers grown for a huge record.
func (c *compressor) release() {
	c.enc.Reset(nil)
	c.frame, c.scratch, c.mem = c.frame[:0], c.scratch[:0], c.mem[:0]
	// Buffers grown for a large record are dropped: a few pooled
	// compressors each pinning several megabytes kept an export near its
	// heap limit, and large records are rare.
	const keep = 8 << 20
	if cap(c.mem) > keep {
		c.mem = nil
	}
	if cap(c.frame) > keep {
		c.frame = nil
	}
	if cap(c.scratch) > keep {
		c.scratch = nil
	}
	select {
	case spareEncoders <- c:
	default:
	}
}

// ManifestDigest returns the digest of the closed volume's manifest, the
// value the next volume records as Prev.
func (w *Writer) ManifestDigest() [32]byte { return w.digest }

// resumeWriter continues a torn volume after its complete records (SPEC.md
// §8). out must be positioned at s.End, with the torn tail already cut.
func resumeWriter(out io.Writer, s *Scan, opt WriterOptions) (*Writer, error) {
	opt.Round, opt.Part, opt.ArchiveID = s.Info.Round, s.Info.Part, s.Info.ArchiveID
	w := &Writer{out: &countio.Writer{W: out, N: s.End}, opt: opt, volumeKey: s.VolumeKey}
	w.hdr = volumeHeader{Round: uint32(opt.Round), Part: uint32(opt.Part), ArchiveID: opt.ArchiveID}
	if s.Info.Encrypted {
		w.hdr.Flags |= flagEncrypted
	}
	if err := w.init(); err != nil {
		return nil, err
	}
	for _, e := range s.Entries {
		it := manifestItem{offset: e.Offset, length: e.Length, digest: e.Digest, typ: recEntry, meta: e.rawMeta}
		if e.Ref != nil {
			it.typ = recRef
			it.meta = appendRef(append([]byte(nil), e.rawMeta...), *e.Ref)
		} else if _, dup := w.self[e.Digest]; !dup {
			w.self[e.Digest] = len(w.items)
		}
		w.items = append(w.items, it)
	}
	return w, nil
}
