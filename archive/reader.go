package archive

import (
	"bufio"
	"bytes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"sort"
	"sync"
	"time"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/crypto/chacha20poly1305"
)

// An Entry is one manifest entry: the Header plus where its record lies.
type Entry struct {
	Header
	Round, Part    int   // the volume holding the record
	Offset, Length int64 // the record's place in the volume
	// Ref is non-nil when the body is stored in another record (SPEC.md §3.6).
	Ref *Ref

	// EntryMeta as stored, to compare record and manifest. Entries read
	// from a manifest keep its length and FNV-1a hash instead of the bytes
	// (half an entry's memory); recovered entries keep the bytes.
	rawMeta []byte
	metaLen int
	metaSum uint64
}

// entryAt returns the entry whose record starts at off. Entries are in
// offset order (records are contiguous, SPEC.md §3.7), so this is a binary
// search; a map by offset cost a tenth of a large volume's memory.
func (r *Reader) entryAt(off int64) (*Entry, bool) {
	i := sort.Search(len(r.entries), func(i int) bool { return r.entries[i].Offset >= off })
	if i < len(r.entries) && r.entries[i].Offset == off {
		return r.entries[i], true
	}
	return nil, false
}

// metaSize is the length of the entry's stored EntryMeta.
func (e *Entry) metaSize() int {
	if e.rawMeta != nil {
		return len(e.rawMeta)
	}
	return e.metaLen
}

// sameMeta reports whether meta is the entry's stored EntryMeta.
func (e *Entry) sameMeta(meta []byte) bool {
	if e.rawMeta != nil {
		return bytes.Equal(meta, e.rawMeta)
	}
	return len(meta) == e.metaLen && fnv64a(meta) == e.metaSum
}

func fnv64a(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

// VolumeInfo describes a volume, from its header and manifest.
type VolumeInfo struct {
	Round, Part    int
	Final          bool
	Encrypted      bool
	ArchiveID      [16]byte
	Prev           [32]byte // manifest digest of the previous volume
	ManifestDigest [32]byte
	Created        time.Time
	Writer         string
	Size           int64
}

// ReaderOptions configure a Reader. A nil *ReaderOptions reads plain volumes.
type ReaderOptions struct {
	// Name is used in errors (the volume's file name).
	Name string
	// Identities decrypt encrypted volumes.
	Identities []age.Identity
	// VolumeKey opens an encrypted volume without an identity (recovery, SPEC.md §7.3).
	VolumeKey []byte
}

// A Reader reads a closed volume from an io.ReaderAt, like zip.Reader: the
// trailer leads to the manifest, which lists the entries. It is safe for
// concurrent use.
type Reader struct {
	ra        io.ReaderAt
	name      string
	info      VolumeInfo
	aead      cipher.AEAD
	volumeKey []byte
	dataStart int64
	entries   []*Entry
}

var decoderPool = sync.Pool{New: func() any {
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxWindow),
		zstd.WithDecoderMaxMemory(maxDecoderMem), zstd.WithDecoderLowmem(true))
	if err != nil {
		panic(err) // only invalid options fail
	}
	return d
}}

func (r *Reader) errAt(off int64, e *Entry, err error) error {
	var ve *VolumeError
	if errors.As(err, &ve) {
		return err
	}
	label := ""
	if e != nil {
		label = e.label()
	}
	return &VolumeError{Volume: r.name, Offset: off, Entry: label, Err: err}
}

// readPrologue reads the header and key block, and sets up decryption.
func (r *Reader) readPrologue(size int64, opt *ReaderOptions) error {
	b := make([]byte, HeaderSize)
	if size < HeaderSize {
		return r.errAt(0, nil, errf(ErrFormat, "file of %d bytes is shorter than a header", size))
	}
	if _, err := r.ra.ReadAt(b, 0); err != nil {
		return r.errAt(0, nil, err)
	}
	h, err := parseHeader(b)
	if err != nil {
		return r.errAt(0, nil, err)
	}
	if r.name != "" {
		if ro, pa, ok := ParseVolumeName(r.name); ok && (ro != int(h.Round) || pa != int(h.Part)) {
			return r.errAt(0, nil, errf(ErrFormat, "header says round %d part %d", h.Round, h.Part))
		}
	}
	r.info.Round, r.info.Part, r.info.ArchiveID = int(h.Round), int(h.Part), h.ArchiveID
	r.info.Encrypted = h.Flags&flagEncrypted != 0
	r.info.Size = size
	r.dataStart = HeaderSize
	if !r.info.Encrypted {
		return nil
	}
	var lb [4]byte
	if size < HeaderSize+4 {
		return r.errAt(HeaderSize, nil, errf(ErrFormat, "no key block"))
	}
	r.ra.ReadAt(lb[:], HeaderSize)
	kl := int64(binary.LittleEndian.Uint32(lb[:]))
	if kl == 0 || kl > maxKeyBlock || HeaderSize+4+kl > size {
		return r.errAt(HeaderSize, nil, errf(ErrFormat, "key block of %d bytes", kl))
	}
	r.dataStart = HeaderSize + 4 + kl
	key := opt.VolumeKey
	if key == nil {
		if len(opt.Identities) == 0 {
			return r.errAt(HeaderSize, nil, fmt.Errorf("%w: volume is encrypted and no identity was given", ErrKey))
		}
		pr, err := age.Decrypt(io.NewSectionReader(r.ra, HeaderSize+4, kl), opt.Identities...)
		if err != nil {
			var nm *age.NoIdentityMatchError
			if errors.As(err, &nm) {
				return r.errAt(HeaderSize, nil, fmt.Errorf("%w: %v", ErrKey, err))
			}
			return r.errAt(HeaderSize, nil, fmt.Errorf("%w: key block: %v", ErrChecksum, err))
		}
		key, err = io.ReadAll(io.LimitReader(pr, 64))
		if err != nil || len(key) != 32 {
			return r.errAt(HeaderSize, nil, fmt.Errorf("%w: key block does not hold a 32-byte key", ErrChecksum))
		}
	}
	a, err := chacha20poly1305.NewX(key)
	if err != nil {
		return r.errAt(HeaderSize, nil, fmt.Errorf("%w: volume key: %v", ErrKey, err))
	}
	r.aead, r.volumeKey = a, key
	return nil
}

// NewReader opens a closed volume of the given size. An encrypted volume
// needs opt.Identities. A volume without trailer returns an error wrapping
// ErrTorn; see [Recover].
func NewReader(ra io.ReaderAt, size int64, opt *ReaderOptions) (*Reader, error) {
	if opt == nil {
		opt = &ReaderOptions{}
	}
	r := &Reader{ra: ra, name: opt.Name}
	if err := r.readPrologue(size, opt); err != nil {
		return nil, err
	}
	if size < r.dataStart+TrailerSize {
		return nil, r.errAt(r.dataStart, nil, ErrTorn)
	}
	tb := make([]byte, TrailerSize)
	if _, err := r.ra.ReadAt(tb, size-TrailerSize); err != nil {
		return nil, r.errAt(size-TrailerSize, nil, err)
	}
	t, err := parseTrailer(tb, size)
	if err != nil {
		return nil, r.errAt(size-TrailerSize, nil, err)
	}
	if t.Flags != uint16(boolFlag(r.info.Encrypted)) {
		return nil, r.errAt(size-TrailerSize, nil, errf(ErrFormat, "trailer flags differ from header"))
	}
	if int64(t.ManifestOffset) < r.dataStart {
		return nil, r.errAt(size-TrailerSize, nil, errf(ErrFormat, "manifest offset inside the header"))
	}
	// Check the manifest's digest over its bytes on disk, then decode it.
	raw := io.NewSectionReader(r.ra, int64(t.ManifestOffset), int64(t.ManifestLength))
	sha := sha256.New()
	if _, err := io.Copy(sha, raw); err != nil {
		return nil, r.errAt(int64(t.ManifestOffset), nil, err)
	}
	var got [32]byte
	sha.Sum(got[:0])
	if got != t.ManifestDigest {
		return nil, r.errAt(int64(t.ManifestOffset), nil, errf(ErrChecksum, "manifest digest"))
	}
	r.info.ManifestDigest = t.ManifestDigest
	m, n, err := r.readRecordStream(int64(t.ManifestOffset), int64(t.ManifestLength), maxManifest)
	if err == nil && n != int64(t.ManifestLength) {
		err = errf(ErrFormat, "manifest record is %d bytes, trailer says %d", n, t.ManifestLength)
	}
	if err != nil {
		return nil, r.errAt(int64(t.ManifestOffset), nil, err)
	}
	if err := r.parseManifest(m, int64(t.ManifestOffset)); err != nil {
		return nil, r.errAt(int64(t.ManifestOffset), nil, err)
	}
	return r, nil
}

func boolFlag(b bool) int {
	if b {
		return flagEncrypted
	}
	return 0
}

// readRecordStream reads and decompresses a whole record into memory
// (manifests and metadata), with a limit on the decompressed size.
func (r *Reader) readRecordStream(off, length int64, limit int64) ([]byte, int64, error) {
	rr := newRecordReader(bufio.NewReaderSize(io.NewSectionReader(r.ra, off, length), 64<<10), r.aead)
	// The frame header, read ahead of the decoder (exactly: rr checks
	// that nothing follows the frame, so nothing may read past it).
	hdr := make([]byte, zstd.HeaderMaxSize)
	hn, herr := io.ReadFull(rr, hdr)
	if herr != nil && herr != io.ErrUnexpectedEOF {
		return nil, 0, zerr(herr)
	}
	hdr = hdr[:hn]
	d := decoderPool.Get().(*zstd.Decoder)
	defer decoderPool.Put(d)
	if err := d.Reset(io.MultiReader(bytes.NewReader(hdr), rr)); err != nil {
		return nil, 0, zerr(err)
	}
	var buf bytes.Buffer
	// Size the buffer from the frame header when it declares the content
	// size (writers put it there): growing by doubling would need up to
	// twice a large manifest's size (50 MB for 100,000 entries).
	var zh zstd.Header
	if zh.Decode(hdr) == nil && zh.HasFCS && zh.FrameContentSize <= uint64(limit) {
		buf.Grow(int(zh.FrameContentSize) + bytes.MinRead)
	}
	n, err := io.Copy(&buf, io.LimitReader(d, limit+1))
	d.Reset(nil)
	if err != nil {
		return nil, 0, zerr(err)
	}
	if n > limit {
		return nil, 0, errf(ErrFormat, "record decompresses to more than %d bytes", limit)
	}
	if !rr.final || len(rr.data) != 0 {
		return nil, 0, errf(ErrFormat, "record has data after its zstd frame")
	}
	return buf.Bytes(), rr.n, nil
}

// zerr maps errors from the chunk and zstd layers onto the sentinels.
func zerr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrChecksum), errors.Is(err, ErrFormat), errors.Is(err, ErrTorn):
		return err
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errf(ErrFormat, "record truncated")
	case errors.Is(err, zstd.ErrCRCMismatch):
		return errf(ErrChecksum, "zstd content checksum")
	default:
		return errf(ErrFormat, "zstd: %v", err)
	}
}

func (r *Reader) parseManifest(m []byte, manifestOffset int64) error {
	mr := &metaReader{b: m, interned: make(map[string]string)}
	if mr.byte() != recManifest {
		return errf(ErrFormat, "manifest record type")
	}
	id := mr.bytes(16)
	round, part := mr.uvarint(), mr.uvarint()
	final := mr.byte()
	prev := mr.bytes(32)
	created := mr.varint()
	r.info.Writer = mr.str()
	count := mr.uvarint()
	if mr.err != nil {
		return mr.err
	}
	if !bytes.Equal(id, r.info.ArchiveID[:]) || round != uint64(r.info.Round) || part != uint64(r.info.Part) {
		return errf(ErrFormat, "manifest names another volume")
	}
	if final > 1 {
		return errf(ErrFormat, "manifest final flag %d", final)
	}
	if count > maxEntries || count*minManifestItem > uint64(len(m)) {
		return errf(ErrFormat, "manifest claims %d entries in %d bytes", count, len(m))
	}
	r.info.Final = final == 1
	copy(r.info.Prev[:], prev)
	r.info.Created = time.Unix(created, 0).UTC()
	r.entries = make([]*Entry, 0, count)
	var off int64
	expect := r.dataStart
	for i := uint64(0); i < count; i++ {
		delta := mr.uvarint()
		length := mr.uvarint()
		if mr.err != nil {
			return mr.err
		}
		if delta > 1<<62 || length > 1<<62 {
			return errf(ErrFormat, "manifest entry %d: offset or length out of range", i)
		}
		off += int64(delta)
		e := &Entry{Round: r.info.Round, Part: r.info.Part, Offset: off, Length: int64(length)}
		copy(e.Digest[:], mr.bytes(32))
		typ := mr.byte()
		start := mr.off
		mr.meta(&e.Header)
		if mr.err != nil {
			return fmt.Errorf("manifest entry %d: %w", i, mr.err)
		}
		e.metaLen, e.metaSum = mr.off-start, fnv64a(m[start:mr.off])
		switch typ {
		case recEntry:
		case recRef:
			ref := mr.ref()
			e.Ref = &ref
		default:
			return errf(ErrFormat, "manifest entry %d: record type %d", i, typ)
		}
		if mr.err != nil {
			return mr.err
		}
		if e.Offset != expect || e.Length == 0 || e.Offset+e.Length > manifestOffset {
			return errf(ErrFormat, "manifest entry %d at %d+%d: records must be contiguous from %d", i, e.Offset, e.Length, expect)
		}
		expect = e.Offset + e.Length
		if e.Ref != nil {
			if err := r.checkRef(e); err != nil {
				return fmt.Errorf("manifest entry %d: %w", i, err)
			}
		}
		r.entries = append(r.entries, e)
	}
	if expect != manifestOffset {
		return errf(ErrFormat, "manifest does not follow the last record (%d != %d)", manifestOffset, expect)
	}
	if mr.off != len(m) {
		return errf(ErrFormat, "%d bytes after the manifest entries", len(m)-mr.off)
	}
	return nil
}

// checkRef checks a ref against SPEC.md §3.6 as far as this volume can.
func (r *Reader) checkRef(e *Entry) error {
	ref := *e.Ref
	here := Ref{r.info.Round, r.info.Part, e.Offset}
	switch {
	case ref.Round > here.Round || ref.Round == here.Round && ref.Part > here.Part:
		return errf(ErrFormat, "ref to a later volume")
	case ref.Round == here.Round && ref.Part == here.Part:
		t, ok := r.entryAt(ref.Offset)
		if !ok || t.Ref != nil || ref.Offset >= e.Offset {
			return errf(ErrFormat, "ref to offset %d, which is no earlier body of this volume", ref.Offset)
		}
		if t.Digest != e.Digest || t.Size != e.Size {
			return errf(ErrFormat, "ref digest or size differs from its target")
		}
	}
	return nil
}

// Info describes the volume.
func (r *Reader) Info() VolumeInfo { return r.info }

// Entries returns the entries in file order. The slice and the entries
// belong to the Reader; do not modify them.
func (r *Reader) Entries() []*Entry { return r.entries }

// ErrExternalRef is returned by Reader.Open for an entry whose body lies
// in another volume; open it through a [Folder].
var ErrExternalRef = errors.New("archive: body is stored in another volume")

// Open returns the entry's body. Reading it to EOF verifies the size and
// the SHA-256; a mismatch is returned by Read as ErrChecksum instead of EOF.
// The caller must Close it.
func (r *Reader) Open(e *Entry) (io.ReadCloser, error) {
	target := e
	if e.Ref != nil {
		if e.Ref.Round != r.info.Round || e.Ref.Part != r.info.Part {
			return nil, ErrExternalRef
		}
		var ok bool
		if target, ok = r.entryAt(e.Ref.Offset); !ok {
			return nil, errf(ErrFormat, "ref to offset %d, where no record starts", e.Ref.Offset)
		}
	}
	return r.openBody(target, e)
}

// openBody opens the type-1 record of target; shown is the entry named in errors.
func (r *Reader) openBody(target, shown *Entry) (io.ReadCloser, error) {
	rr := newRecordReader(bufio.NewReaderSize(io.NewSectionReader(r.ra, target.Offset, target.Length), 64<<10), r.aead)
	d := decoderPool.Get().(*zstd.Decoder)
	if err := d.Reset(rr); err != nil {
		decoderPool.Put(d)
		return nil, r.errAt(target.Offset, shown, zerr(err))
	}
	br := &bodyReader{r: r, rr: rr, d: d, e: target, shown: shown, sha: sha256.New()}
	if err := br.prologue(recEntry); err != nil {
		br.Close()
		return nil, r.errAt(target.Offset, shown, err)
	}
	return br, nil
}

type bodyReader struct {
	r      *Reader
	rr     *recordReader
	d      *zstd.Decoder
	e      *Entry
	shown  *Entry
	sha    hash.Hash
	remain int64
	err    error
}

// prologue reads the record type and EntryMeta and checks them against the manifest.
func (b *bodyReader) prologue(want byte) error {
	var t [1]byte
	if _, err := io.ReadFull(b.d, t[:]); err != nil {
		return zerr(err)
	}
	if t[0] != want {
		return errf(ErrFormat, "record type %d, manifest says %d", t[0], want)
	}
	ml, err := binary.ReadUvarint(byteReader{b.d})
	if err != nil {
		return zerr(err)
	}
	if ml > maxMeta || ml != uint64(b.e.metaSize()) && want == recEntry {
		return errf(ErrFormat, "record meta length %d differs from manifest", ml)
	}
	meta := make([]byte, ml)
	if _, err := io.ReadFull(b.d, meta); err != nil {
		return zerr(err)
	}
	if want == recEntry && !b.e.sameMeta(meta) {
		return errf(ErrFormat, "record meta differs from manifest")
	}
	b.remain = b.e.Size
	return nil
}

type byteReader struct{ r io.Reader }

func (b byteReader) ReadByte() (byte, error) {
	var p [1]byte
	_, err := io.ReadFull(b.r, p[:])
	return p[0], err
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.remain == 0 {
		b.err = b.finish()
		return 0, b.err
	}
	if int64(len(p)) > b.remain {
		p = p[:b.remain]
	}
	n, err := b.d.Read(p)
	b.sha.Write(p[:n])
	b.remain -= int64(n)
	if err == io.EOF && b.remain > 0 {
		err = errf(ErrFormat, "body ends %d bytes short of its size", b.remain)
	}
	if err != nil && err != io.EOF {
		b.err = b.r.errAt(b.e.Offset, b.shown, zerr(err))
		return n, b.err
	}
	return n, nil
}

// finish checks that nothing follows the body and that its digest matches.
func (b *bodyReader) finish() error {
	var one [1]byte
	if n, err := b.d.Read(one[:]); n != 0 || err != io.EOF {
		if err != nil && err != io.EOF {
			return b.r.errAt(b.e.Offset, b.shown, zerr(err))
		}
		return b.r.errAt(b.e.Offset, b.shown, errf(ErrFormat, "record has bytes after the body"))
	}
	if !b.rr.final || len(b.rr.data) != 0 || b.rr.n != b.e.Length {
		return b.r.errAt(b.e.Offset, b.shown, errf(ErrFormat, "record length differs from manifest"))
	}
	var got [32]byte
	b.sha.Sum(got[:0])
	if got != b.e.Digest {
		return b.r.errAt(b.e.Offset, b.shown, errf(ErrChecksum, "body sha-256"))
	}
	return io.EOF
}

func (b *bodyReader) Close() error {
	if b.d != nil {
		b.d.Reset(nil)
		decoderPool.Put(b.d)
		b.d = nil
	}
	return nil
}

// Verify reads every record of the volume and checks every checksum, the
// manifest against each record, and every body's digest.
func (r *Reader) Verify() error {
	for _, e := range r.entries {
		if err := r.verifyEntry(e); err != nil {
			return err
		}
	}
	return nil
}

func (r *Reader) verifyEntry(e *Entry) error {
	if e.Ref == nil {
		rc, err := r.openBody(e, e)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		return err
	}
	// A ref record holds type 2, EntryMeta and the Ref: compare with the manifest.
	pt, n, err := r.readRecordStream(e.Offset, e.Length, maxMeta+64)
	if err == nil && n != e.Length {
		err = errf(ErrFormat, "record length differs from manifest")
	}
	if err != nil {
		return r.errAt(e.Offset, e, err)
	}
	mr := &metaReader{b: pt}
	if mr.byte() != recRef {
		return r.errAt(e.Offset, e, errf(ErrFormat, "record type differs from manifest"))
	}
	ml := mr.uvarint()
	meta := mr.bytes(int(min(ml, uint64(len(pt)))))
	ref := mr.ref()
	if mr.err != nil || mr.off != len(pt) || !e.sameMeta(meta) || ref != *e.Ref {
		return r.errAt(e.Offset, e, errf(ErrFormat, "ref record differs from manifest"))
	}
	return nil
}
