package spec

// This file is a second, minimal reader of SPEC.md, written for the tests
// only: it reads every vector and checks that it succeeds, is recovered or
// fails as its "expect:" line says. It keeps the generator honest (a vector
// that fails for another reason than the one it was made for is caught
// here); it is not the archive package and shares no code with it.

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"unicode/utf8"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/crypto/chacha20poly1305"
)

var (
	errFormat   = errors.New("format")
	errChecksum = errors.New("checksum")
	errVersion  = errors.New("version")
	errChain    = errors.New("chain")
	errTorn     = errors.New("torn") // a record runs past the end of the data
)

func bad(kind error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{kind}, args...)...)
}

var castagnoliTable = crc32.MakeTable(crc32.Castagnoli)

func crc32c(b []byte) uint32 { return crc32.Checksum(b, castagnoliTable) }

var volName = regexp.MustCompile(`^r([0-9]{6})\.p([0-9]{3})\.iemv$`)

type loc struct{ round, part, off uint64 }

type body struct {
	size   uint64
	digest [32]byte
}

type checker struct {
	v      *Vector
	dec    *zstd.Decoder
	bodies map[loc]body // type-1 records read so far
	out    []string     // digests of entries in chain order
}

// checkVector reads v's archive and returns the entries' digests, whether the
// last volume was recovered, and the first failure.
func checkVector(v *Vector) (digests []string, recovered bool, err error) {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderMaxWindow(8<<20), zstd.WithDecoderMaxMemory(64<<20),
		zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, false, err
	}
	defer dec.Close()
	c := &checker{v: v, dec: dec, bodies: make(map[loc]body)}
	var vols []File
	for _, f := range v.Files {
		if volName.MatchString(f.Name) {
			vols = append(vols, f)
		}
	}
	slices.SortFunc(vols, func(a, b File) int { return bytes.Compare([]byte(a.Name), []byte(b.Name)) })
	var prev *volState
	for i, f := range vols {
		st, err := c.volume(f, prev, i == len(vols)-1)
		if err != nil {
			return c.out, false, fmt.Errorf("%s: %w", f.Name, err)
		}
		if st.torn {
			return c.out, true, nil
		}
		prev = st
	}
	return c.out, false, nil
}

type volState struct {
	round, part uint32
	final       bool
	id          []byte
	flags       uint16
	digest      [32]byte
	torn        bool
}

func (c *checker) volume(f File, prev *volState, last bool) (*volState, error) {
	d := f.Data
	if len(d) < 48 {
		return nil, bad(errFormat, "%d bytes, shorter than a header", len(d))
	}
	// §3.1, in the order the spec gives.
	if !bytes.Equal(d[:8], []byte("\x89IEM\r\n\x1a\n")) {
		return nil, bad(errFormat, "header magic")
	}
	if binary.LittleEndian.Uint16(d[8:]) != 1 {
		return nil, bad(errVersion, "header version %d", binary.LittleEndian.Uint16(d[8:]))
	}
	if crc32c(d[:44]) != binary.LittleEndian.Uint32(d[44:]) {
		return nil, bad(errChecksum, "HeaderCRC")
	}
	st := &volState{flags: binary.LittleEndian.Uint16(d[10:]), round: binary.LittleEndian.Uint32(d[12:]),
		part: binary.LittleEndian.Uint32(d[16:]), id: d[20:36]}
	if st.flags&^1 != 0 || !bytes.Equal(d[36:44], make([]byte, 8)) {
		return nil, bad(errFormat, "header flags or reserved bytes")
	}
	m := volName.FindStringSubmatch(f.Name)
	r, _ := strconv.Atoi(m[1])
	p, _ := strconv.Atoi(m[2])
	if uint32(r) != st.round || uint32(p) != st.part {
		return nil, bad(errFormat, "header round %d part %d", st.round, st.part)
	}
	// Chain position (§2).
	switch {
	case prev == nil && (st.round != 1 || st.part != 1):
		return nil, bad(errChain, "the first volume is not round 1 part 1")
	case prev != nil && prev.final && (st.round != prev.round+1 || st.part != 1):
		return nil, bad(errChain, "round %d part %d follows a final round %d", st.round, st.part, prev.round)
	case prev != nil && !prev.final && (st.round != prev.round || st.part != prev.part+1):
		return nil, bad(errChain, "round %d part %d follows round %d part %d, not final", st.round, st.part, prev.round, prev.part)
	case prev != nil && !bytes.Equal(prev.id, st.id):
		return nil, bad(errChain, "ArchiveID differs")
	case prev != nil && prev.flags != st.flags:
		return nil, bad(errChain, "encryption flag differs")
	}

	pos := 48
	var aead cipherAEAD
	if st.flags&1 != 0 {
		if len(d) < pos+4 {
			return nil, bad(errFormat, "no key block")
		}
		n := int(binary.LittleEndian.Uint32(d[pos:]))
		if n > 65536 || len(d) < pos+4+n {
			return nil, bad(errFormat, "key block length %d", n)
		}
		key, err := c.volumeKey(d[pos+4 : pos+4+n])
		if err != nil {
			return nil, err
		}
		// A writer key file (§7.3), when present, holds the same key.
		for _, kf := range c.v.Files {
			if kf.Name == "."+f.Name+".key" && !bytes.Equal(kf.Data, key) {
				return nil, fmt.Errorf("key file %s does not hold the volume key", kf.Name)
			}
		}
		if aead, err = chacha20poly1305.NewX(key); err != nil {
			return nil, bad(errFormat, "volume key: %v", err)
		}
		pos += 4 + n
	}

	// §6: a volume is closed when it ends in the trailer magic.
	closed := len(d) >= pos+64 && bytes.Equal(d[len(d)-8:], []byte("\x89IEMEND\n"))
	if !closed {
		if !last {
			return nil, bad(errChain, "torn volume is not the newest")
		}
		st.torn = true
		c.scan(d, pos, len(d), aead, st, true)
		return st, nil
	}
	t := d[len(d)-64:]
	if binary.LittleEndian.Uint16(t[48:]) != 1 {
		return nil, bad(errVersion, "trailer version %d", binary.LittleEndian.Uint16(t[48:]))
	}
	if crc32c(t[:52]) != binary.LittleEndian.Uint32(t[52:]) {
		return nil, bad(errChecksum, "TrailerCRC")
	}
	if binary.LittleEndian.Uint16(t[50:]) != st.flags {
		return nil, bad(errFormat, "trailer flags")
	}
	moff, mlen := binary.LittleEndian.Uint64(t[0:]), binary.LittleEndian.Uint64(t[8:])
	if moff < uint64(pos) || moff > uint64(len(d)) || mlen != uint64(len(d))-64-moff {
		return nil, bad(errFormat, "trailer offset %d length %d", moff, mlen)
	}
	mrec := d[moff : moff+mlen]
	if sum := sha256.Sum256(mrec); !bytes.Equal(sum[:], t[16:48]) {
		return nil, bad(errChecksum, "ManifestDigest")
	}
	st.digest = sha256.Sum256(mrec)
	recs, err := c.scan(d, pos, int(moff), aead, st, false)
	if err != nil {
		return nil, err
	}
	ms, n, err := c.record(d, int(moff), len(d)-64, aead)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if n != int(mlen) {
		return nil, bad(errFormat, "manifest record is %d bytes, trailer says %d", n, mlen)
	}
	if err := c.manifest(ms, st, prev, recs); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return st, nil
}

type cipherAEAD interface {
	Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error)
}

// keyCache holds volume keys already unwrapped, by identity, passphrase and
// age file, so that the bit-flip test does not run X25519 for every flip.
var keyCache sync.Map

func (c *checker) volumeKey(ageFile []byte) ([]byte, error) {
	ck := c.v.Identity + "\x00" + c.v.Passphrase + "\x00" + string(ageFile)
	if k, ok := keyCache.Load(ck); ok {
		return k.([]byte), nil
	}
	key, err := c.unwrapKey(ageFile)
	if err == nil {
		keyCache.Store(ck, key)
	}
	return key, err
}

func (c *checker) unwrapKey(ageFile []byte) ([]byte, error) {
	var ids []age.Identity
	if c.v.Identity != "" {
		id, err := age.ParseX25519Identity(c.v.Identity)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if c.v.Passphrase != "" {
		id, err := age.NewScryptIdentity(c.v.Passphrase)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	r, err := age.Decrypt(bytes.NewReader(ageFile), ids...)
	if err != nil {
		return nil, bad(errChecksum, "key block: %v", err)
	}
	key, err := io.ReadAll(r)
	if err != nil || len(key) != 32 {
		return nil, bad(errChecksum, "volume key: %d bytes, %v", len(key), err)
	}
	return key, nil
}

// entryRec is one entry record as read.
type entryRec struct {
	off, length int
	typ         byte
	meta        []byte
	ref         []byte
	digest      [32]byte
	size        uint64
}

// scan reads entry records from pos to end. When recovering, it stops
// quietly at the first record that is torn or fails a check.
func (c *checker) scan(d []byte, pos, end int, aead cipherAEAD, st *volState, recovering bool) ([]entryRec, error) {
	var recs []entryRec
	for pos < end {
		s, n, err := c.record(d, pos, end, aead)
		if err == nil {
			var e entryRec
			e, err = c.entry(s, pos, st)
			e.off, e.length = pos, n
			if err == nil {
				recs = append(recs, e)
				c.out = append(c.out, hex.EncodeToString(e.digest[:]))
				if e.typ == 1 {
					c.bodies[loc{uint64(st.round), uint64(st.part), uint64(pos)}] = body{e.size, e.digest}
				}
				pos += n
				continue
			}
		}
		if recovering {
			return recs, nil
		}
		if errors.Is(err, errTorn) {
			err = bad(errFormat, "record at %d runs past the manifest", pos)
		}
		return nil, fmt.Errorf("record at %d: %w", pos, err)
	}
	return recs, nil
}

// record reads the chunks of one record (§3.3) and returns its decompressed
// stream and its length on disk.
func (c *checker) record(d []byte, pos, end int, aead cipherAEAD) ([]byte, int, error) {
	p := pos
	var nonce []byte
	if aead != nil {
		if p+16 > end {
			return nil, 0, errTorn
		}
		nonce, p = d[p:p+16], p+16
	}
	var frame []byte
	for i := uint64(0); ; i++ {
		if p+4 > end {
			return nil, 0, errTorn
		}
		h := binary.LittleEndian.Uint32(d[p:])
		n := int(h &^ (1 << 31))
		limit := 1 << 20
		if aead != nil {
			limit += 16
		}
		if n < 1 || n > limit || (aead != nil && n < 16) {
			return nil, 0, bad(errFormat, "chunk length %d", n)
		}
		if aead == nil {
			if p+4+n+4 > end {
				return nil, 0, errTorn
			}
			if crc32c(d[p:p+4+n]) != binary.LittleEndian.Uint32(d[p+4+n:]) {
				return nil, 0, bad(errChecksum, "chunk CRC32C at %d", p)
			}
			frame = append(frame, d[p+4:p+4+n]...)
			p += 8 + n
		} else {
			if p+4+n > end {
				return nil, 0, errTorn
			}
			nc := binary.LittleEndian.AppendUint64(bytes.Clone(nonce), i)
			var err error
			frame, err = aead.Open(frame, nc, d[p+4:p+4+n], d[p:p+4])
			if err != nil {
				return nil, 0, bad(errChecksum, "chunk tag at %d", p)
			}
			p += 4 + n
		}
		if h>>31 == 1 {
			break
		}
	}
	s, err := c.frame(frame)
	return s, p - pos, err
}

// frame decodes exactly one zstd frame with a content checksum.
func (c *checker) frame(f []byte) ([]byte, error) {
	var h zstd.Header
	if err := h.Decode(f); err != nil || h.Skippable || !h.HasCheckSum {
		return nil, bad(errFormat, "zstd frame header (checksum %v): %v", h.HasCheckSum, err)
	}
	p := h.HeaderSize
	for {
		if p+3 > len(f) {
			return nil, bad(errFormat, "zstd frame truncated")
		}
		bh := uint32(f[p]) | uint32(f[p+1])<<8 | uint32(f[p+2])<<16
		p += 3
		switch (bh >> 1) & 3 {
		case 0, 2:
			p += int(bh >> 3)
		case 1:
			p++
		default:
			return nil, bad(errFormat, "zstd reserved block type")
		}
		if bh&1 == 1 {
			break
		}
	}
	if p+4 != len(f) {
		return nil, bad(errFormat, "record stream is not exactly one zstd frame")
	}
	s, err := c.dec.DecodeAll(f, nil)
	if errors.Is(err, zstd.ErrCRCMismatch) {
		return nil, bad(errChecksum, "zstd content checksum")
	}
	if err != nil {
		return nil, bad(errFormat, "zstd: %v", err)
	}
	return s, nil
}

// rd decodes the integers and strings of §1 with the limits of §10.
type rd struct {
	b   []byte
	err error
}

func (r *rd) fail(what string) {
	if r.err == nil {
		r.err = bad(errFormat, "%s", what)
	}
	r.b = nil
}

func (r *rd) u8() byte {
	if len(r.b) < 1 {
		r.fail("short u8")
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *rd) take(n uint64) []byte {
	if uint64(len(r.b)) < n {
		r.fail("short bytes")
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *rd) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	return rdVarint(r, v, n, "uvarint")
}

func (r *rd) varint() int64 {
	v, n := binary.Varint(r.b)
	return rdVarint(r, v, n, "varint")
}

// rdVarint takes the value binary.Uvarint or binary.Varint decoded from
// the first n bytes of r.b (what names it), or 0 when there was none.
func rdVarint[T uint64 | int64](r *rd, v T, n int, what string) T {
	if n <= 0 {
		r.fail("bad " + what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *rd) str() string {
	n := r.uvarint()
	if n > 65536 {
		r.fail("str over 64 KiB")
		return ""
	}
	s := r.take(n)
	if !utf8.Valid(s) {
		r.fail("str not UTF-8")
	}
	return string(s)
}

// meta reads an EntryMeta (§3.5) and returns its Size.
func (r *rd) meta() uint64 {
	r.u8() // Kind: every kind is valid
	tf := r.u8()
	if tf&^3 != 0 {
		r.fail("TimeFlags")
	}
	if tf&1 != 0 {
		r.varint()
	}
	if tf&2 != 0 {
		r.varint()
	}
	size := r.uvarint()
	for range 4 {
		r.str()
	}
	n := r.uvarint()
	if n > 256 {
		r.fail("more than 256 attrs")
	}
	last := ""
	for i := range n {
		k := r.str()
		r.str()
		if i > 0 && k <= last {
			r.fail("attr keys not increasing")
		}
		last = k
	}
	return size
}

// entry parses one entry record stream (§3.4) found at off.
func (c *checker) entry(s []byte, off int, st *volState) (entryRec, error) {
	r := &rd{b: s}
	e := entryRec{typ: r.u8()}
	if e.typ != 1 && e.typ != 2 {
		return e, bad(errFormat, "record type %d", e.typ)
	}
	ml := r.uvarint()
	if ml > 1<<20 {
		return e, bad(errFormat, "MetaLength %d", ml)
	}
	e.meta = r.take(ml)
	mr := &rd{b: e.meta}
	size := mr.meta()
	if r.err == nil && mr.err == nil && len(mr.b) != 0 {
		mr.fail("MetaLength is not the EntryMeta's length")
	}
	if r.err != nil || mr.err != nil {
		return e, errors.Join(r.err, mr.err)
	}
	if e.typ == 1 {
		if uint64(len(r.b)) != size {
			return e, bad(errFormat, "body is %d bytes, Size %d", len(r.b), size)
		}
		e.digest = sha256.Sum256(r.b)
		e.size = size
		return e, nil
	}
	e.ref = r.b
	ref := loc{r.uvarint(), r.uvarint(), r.uvarint()}
	if r.err != nil || len(r.b) != 0 {
		return e, bad(errFormat, "Ref")
	}
	here := loc{uint64(st.round), uint64(st.part), uint64(off)}
	if ref.round > here.round || ref.round == here.round && ref.part > here.part ||
		ref.round == here.round && ref.part == here.part && ref.off >= here.off {
		return e, bad(errFormat, "Ref (%d, %d, %d) is not before this record", ref.round, ref.part, ref.off)
	}
	b, ok := c.bodies[ref]
	if !ok {
		return e, bad(errFormat, "Ref (%d, %d, %d) is not a type-1 record", ref.round, ref.part, ref.off)
	}
	if b.size != size {
		return e, bad(errFormat, "Ref Size %d, referenced Size %d", size, b.size)
	}
	e.digest = b.digest
	return e, nil
}

// manifest checks a manifest stream (§5) against the records read.
func (c *checker) manifest(s []byte, st *volState, prev *volState, recs []entryRec) error {
	r := &rd{b: s}
	if r.u8() != 3 {
		return bad(errFormat, "not a manifest record")
	}
	id := r.take(16)
	round, part := r.uvarint(), r.uvarint()
	final := r.u8()
	pd := r.take(32)
	r.varint()
	r.str()
	count := r.uvarint()
	if r.err != nil {
		return r.err
	}
	if !bytes.Equal(id, st.id) || round != uint64(st.round) || part != uint64(st.part) || final > 1 {
		return bad(errFormat, "manifest ArchiveID, Round, Part or Final")
	}
	if count > 1<<24 || count*36 > uint64(len(s)) {
		return bad(errFormat, "manifest Count %d", count)
	}
	st.final = final == 1
	var want [32]byte
	if prev != nil {
		want = prev.digest
	}
	if !bytes.Equal(pd, want[:]) {
		return bad(errChain, "Prev")
	}
	if count != uint64(len(recs)) {
		return bad(errFormat, "manifest Count %d, %d records", count, len(recs))
	}
	off := 0
	for i, e := range recs {
		off += int(r.uvarint())
		length := r.uvarint()
		digest := r.take(32)
		typ := r.u8()
		before := r.b
		r.meta()
		meta := before[:len(before)-len(r.b)]
		var ref []byte
		if typ == 2 {
			before = r.b
			r.uvarint()
			r.uvarint()
			r.uvarint()
			ref = before[:len(before)-len(r.b)]
		}
		if r.err != nil {
			return r.err
		}
		if off != e.off || length != uint64(e.length) || typ != e.typ || !bytes.Equal(meta, e.meta) || !bytes.Equal(ref, e.ref) {
			return bad(errFormat, "manifest entry %d does not match its record", i)
		}
		if !bytes.Equal(digest, e.digest[:]) {
			return bad(errChecksum, "entry %d: body digest", i)
		}
	}
	if len(r.b) != 0 {
		return bad(errFormat, "bytes after the manifest entries")
	}
	return nil
}

func TestVectorsCheck(t *testing.T) {
	kinds := map[string]error{ExpectFormat: errFormat, ExpectChecksum: errChecksum,
		ExpectVersion: errVersion, ExpectChain: errChain}
	for _, v := range loadAll(t) {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			got, recovered, err := checkVector(v)
			switch v.Expect {
			case ExpectSuccess, ExpectRecovered:
				if err != nil || recovered != (v.Expect == ExpectRecovered) {
					t.Fatalf("checkVector(%s) = recovered %v, %v, want %s", v.Name, recovered, err, v.Expect)
				}
				if !slices.Equal(got, v.SHA256) {
					t.Errorf("checkVector(%s) digests = %q, want %q", v.Name, got, v.SHA256)
				}
			default:
				t.Logf("checkVector(%s) = %v", v.Name, err)
				if !errors.Is(err, kinds[v.Expect]) {
					t.Errorf("checkVector(%s) = %v, want %s", v.Name, err, v.Expect)
				}
			}
		})
	}
}

// TestEveryBitFlipDetected checks SPEC.md §7.1's claim that every byte of a
// closed volume is covered by a check, on the second reader: a flipped bit
// anywhere in a success vector's volume is a failure, or (for the trailer
// magic) makes the volume torn, and never yields other entries.
func TestEveryBitFlipDetected(t *testing.T) {
	names := []string{"success_basic", "success_encrypted", "success_split_round"}
	if testing.Short() {
		names = names[:1]
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			v := readVector(t, name)
			last := len(v.Files) - 1
			orig := v.Files[last].Data
			for i := range len(orig) * 8 {
				flipped := bytes.Clone(orig)
				flipped[i/8] ^= 1 << (i % 8)
				w := *v
				w.Files = append(slices.Clone(v.Files[:last]), File{v.Files[last].Name, flipped})
				got, recovered, err := checkVector(&w)
				if err == nil && !recovered {
					t.Fatalf("checkVector(%s with bit %d of %s flipped) = success", name, i, v.Files[last].Name)
				}
				if err == nil && (len(got) > len(v.SHA256) || !slices.Equal(got, v.SHA256[:len(got)])) {
					t.Fatalf("checkVector(%s with bit %d flipped) recovered other entries %q", name, i, got)
				}
			}
		})
	}
}

// TestRecoverAtEveryCut cuts the last volume of success vectors at every
// length after the header (and key block) and checks, on the second reader,
// that recovery keeps exactly the entries whose records are complete, in
// order, never more as the cut moves back.
func TestRecoverAtEveryCut(t *testing.T) {
	for _, name := range []string{"success_basic", "success_encrypted", "success_small_chunks"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			v := readVector(t, name)
			last := len(v.Files) - 1
			orig := v.Files[last].Data
			start := 48
			if binary.LittleEndian.Uint16(orig[10:])&1 != 0 {
				start += 4 + int(binary.LittleEndian.Uint32(orig[48:]))
			}
			prevN := -1
			for n := len(orig) - 1; n >= start; n-- {
				w := *v
				w.Files = append(slices.Clone(v.Files[:last]), File{v.Files[last].Name, orig[:n]})
				got, recovered, err := checkVector(&w)
				if err != nil || !recovered {
					t.Fatalf("checkVector(%s cut at %d) = recovered %v, %v, want recovered", name, n, recovered, err)
				}
				if len(got) > len(v.SHA256) || !slices.Equal(got, v.SHA256[:len(got)]) {
					t.Fatalf("checkVector(%s cut at %d) = %q, not a prefix of the entries", name, n, got)
				}
				if prevN >= 0 && len(got) > prevN {
					t.Fatalf("checkVector(%s cut at %d) kept %d entries, more than at %d bytes (%d)", name, n, len(got), n+1, prevN)
				}
				prevN = len(got)
			}
			w := *v
			w.Files = v.Files[:last]
			before, _, err := checkVector(&w)
			if err != nil || prevN != len(before) {
				t.Errorf("checkVector(%s cut after the header) kept %d entries, want the %d of the volumes before (%v)", name, prevN, len(before), err)
			}
		})
	}
}

// readVector reads and parses the embedded vector name.vec.
func readVector(t *testing.T, name string) *Vector {
	t.Helper()
	data, err := fs.ReadFile(Vectors, name+".vec")
	if err != nil {
		t.Fatal(err)
	}
	v, err := ParseVector(data)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
