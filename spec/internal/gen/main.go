// Command gen writes the test vectors of the iem archive format (spec/SPEC.md
// §12) into a folder, one <case>.vec file per named case.
//
// It is an independent implementation of spec/SPEC.md, written from the
// document alone: it uses only the standard library,
// github.com/klauspost/compress/zstd, filippo.io/age and golang.org/x/crypto,
// and never the archive package, so that the archive package's tests can show
// that it follows the spec (the C2SP/CCTV model).
//
// Run it from the module root:
//
//	go run ./spec/internal/gen -out spec/testdata
//
// It is an ordinary main package rather than a //go:build ignore file: with
// that tag, "go run ./spec/internal/gen" (the Makefile's vectors target)
// reports that build constraints exclude all Go files. Nothing imports it.
//
// Plain vectors are deterministic: every random byte (archive IDs, record
// nonces, volume keys, bodies) comes from a ChaCha8 generator seeded from the
// case name. age draws its own randomness, so an encrypted vector is written
// only when its file does not exist yet, or with -regen-encrypted.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/crypto/chacha20poly1305"
)

// Test keys. They protect nothing but test vectors.
const (
	testIdentity   = "AGE-SECRET-KEY-1NGG4KNQEAZ04RY09ZJHNL3504DQUY75QY8WSFXA75XEQVCGSJNLSS2J3JM"
	testRecipient  = "age1pt4e9c8l3v2rknhdr6x6urjptlr29xk9d4v94tftmsxkwask5qvq0qc4ua"
	testPassphrase = "correct horse battery staple"
	scryptLogN     = 10 // small, so that tests decrypt fast
)

const (
	headerSize   = 48 // §3.1
	trailerSize  = 64 // §6
	chunkDefault = 256 << 10
	maxChunk     = 1 << 20 // §3.3
	maxStr       = 65536   // §3.5
	created      = 1795000000
	writerName   = "iem-spec-gen 1"
)

var (
	headerMagic  = []byte("\x89IEM\r\n\x1a\n") // §3.1
	trailerMagic = []byte("\x89IEMEND\n")      // §6
	castagnoli   = crc32.MakeTable(crc32.Castagnoli)
)

func crc32c(parts ...[]byte) uint32 {
	var c uint32
	for _, p := range parts {
		c = crc32.Update(c, castagnoli, p)
	}
	return c
}

// ref is a type-2 record's Ref (§3.6).
type ref struct{ Round, Part, Offset uint64 }

// entry is one entry to write, with knobs that break it on purpose.
type entry struct {
	Kind               uint8
	Received, Modified *int64
	Mailbox, Folder    string
	ID, ChangeKey      string
	Attrs              [][2]string // written in this order
	Body               []byte      // the logical body (for a ref: the referenced body)

	size      *uint64             // EntryMeta.Size if not len(Body)
	ref       *ref                // forces a type-2 record with this Ref
	stream    func([]byte) []byte // rewrites the record stream before compression
	chunkSize int                 // chunk data size, default 256 KiB
	zeroChunk bool                // prepend a non-final chunk of length 0
	metaMod   func([]byte) []byte // rewrites EntryMeta in the record and the manifest
	manMeta   func([]byte) []byte // rewrites EntryMeta in the manifest only
	digest    *[32]byte           // manifest Digest if not SHA-256(Body)
	frame     func([]byte) []byte // encodes the record stream if not as one checked zstd frame
}

func i64(v int64) *int64    { return &v }
func u64(v uint64) *uint64  { return &v }
func sum(b []byte) [32]byte { return sha256.Sum256(b) }

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// meta encodes EntryMeta (§3.5).
func (e *entry) meta() []byte {
	b := []byte{e.Kind, 0}
	if e.Received != nil {
		b[1] |= 1
		b = binary.AppendVarint(b, *e.Received)
	}
	if e.Modified != nil {
		b[1] |= 2
		b = binary.AppendVarint(b, *e.Modified)
	}
	size := uint64(len(e.Body))
	if e.size != nil {
		size = *e.size
	}
	b = binary.AppendUvarint(b, size)
	b = appendStr(b, e.Mailbox)
	b = appendStr(b, e.Folder)
	b = appendStr(b, e.ID)
	b = appendStr(b, e.ChangeKey)
	b = binary.AppendUvarint(b, uint64(len(e.Attrs)))
	for _, kv := range e.Attrs {
		b = appendStr(b, kv[0])
		b = appendStr(b, kv[1])
	}
	return b
}

func (r ref) encode() []byte {
	b := binary.AppendUvarint(nil, r.Round)
	b = binary.AppendUvarint(b, r.Part)
	return binary.AppendUvarint(b, r.Offset)
}

// volSpec describes one volume to write.
type volSpec struct {
	Round, Part uint32
	Final       bool
	Entries     []entry

	id       *[16]byte // ArchiveID if not the archive's
	prev     *[32]byte // Prev if not the previous volume's ManifestDigest
	count    *uint64   // manifest Count if not len(Entries)
	manifest func([]byte) []byte
}

// record is one record of a built volume.
type record struct {
	Offset, Length int
	Type           byte
	Digest         [32]byte
}

// volume is a built volume.
type volume struct {
	Name          string
	Data          []byte
	Records       []record // entries, in file order
	ManifestOff   int
	ManifestLen   int
	ManifestDigst [32]byte
	Key           []byte // the volume key, when encrypted
}

// archive writes the volumes of one archive, per SPEC.md.
type archive struct {
	rng       *rand.Rand
	zenc      *zstd.Encoder
	id        [16]byte
	encrypted bool
	recipient age.Recipient
	prev      [32]byte
	bodies    map[[32]byte]ref // stored type-1 bodies, for de-duplication (§3.6)
	vols      []*volume
	digests   []string // entry digests in chain order
}

func newRand(seed string) *rand.Rand {
	return rand.New(rand.NewChaCha8(sha256.Sum256([]byte("iem spec vectors: " + seed))))
}

func newArchive(seed string, recipient age.Recipient) *archive {
	z, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(true),
		zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		panic(err)
	}
	a := &archive{rng: newRand(seed), zenc: z, recipient: recipient, encrypted: recipient != nil,
		bodies: make(map[[32]byte]ref)}
	a.fill(a.id[:])
	return a
}

func (a *archive) fill(b []byte) {
	for i := range b {
		b[i] = byte(a.rng.Uint32())
	}
}

func (a *archive) bytes(n int) []byte {
	b := make([]byte, n)
	a.fill(b)
	return b
}

// text returns n bytes of printable pseudo-random text, which compresses
// somewhat, like mail does.
func (a *archive) text(n int) []byte {
	const words = "the of and to in is that for it as was with be by on not he this are or his from at which but have an they you were her all she there would their we him been has when who will more no if out so said what up its about into than them can only other new some could time these two may then do first any my now such like our over man me even most made after also did many before must through back years where much your way well down should because each just those people how too little state good very make world still own see men work long get here between both life being under never day same another know while last might us great old year off come since against go came right used take three"
	ws := strings.Fields(words)
	var b []byte
	for len(b) < n {
		b = append(b, ws[a.rng.IntN(len(ws))]...)
		if a.rng.IntN(12) == 0 {
			b = append(b, '.', '\r', '\n')
		} else {
			b = append(b, ' ')
		}
	}
	return b[:n]
}

// header encodes a volume header (§3.1).
func header(round, part uint32, flags uint16, id [16]byte) []byte {
	h := make([]byte, headerSize)
	copy(h, headerMagic)
	binary.LittleEndian.PutUint16(h[8:], 1)
	binary.LittleEndian.PutUint16(h[10:], flags)
	binary.LittleEndian.PutUint32(h[12:], round)
	binary.LittleEndian.PutUint32(h[16:], part)
	copy(h[20:36], id[:])
	fixHeaderCRC(h)
	return h
}

func fixHeaderCRC(v []byte) {
	binary.LittleEndian.PutUint32(v[44:48], crc32c(v[:44]))
}

// trailer encodes a volume trailer (§6).
func trailer(off, length int, digest [32]byte, flags uint16) []byte {
	t := make([]byte, trailerSize)
	binary.LittleEndian.PutUint64(t[0:], uint64(off))
	binary.LittleEndian.PutUint64(t[8:], uint64(length))
	copy(t[16:48], digest[:])
	binary.LittleEndian.PutUint16(t[48:], 1)
	binary.LittleEndian.PutUint16(t[50:], flags)
	copy(t[56:], trailerMagic)
	binary.LittleEndian.PutUint32(t[52:], crc32c(t[:52]))
	return t
}

// fixTrailerCRC recomputes the TrailerCRC of the trailer ending v.
func fixTrailerCRC(v []byte) {
	t := v[len(v)-trailerSize:]
	binary.LittleEndian.PutUint32(t[52:], crc32c(t[:52]))
}

// chunks compresses a record stream into one zstd frame with a content
// checksum and stores it as chunks (§3.3).
func (a *archive) chunks(stream []byte, key []byte, chunkSize int, zeroChunk bool, enc func([]byte) []byte) []byte {
	if chunkSize == 0 {
		chunkSize = chunkDefault
	}
	var frame []byte
	if enc != nil {
		frame = enc(stream)
	} else {
		frame = a.zenc.EncodeAll(stream, nil)
	}
	var pieces [][]byte
	if zeroChunk {
		pieces = append(pieces, nil)
	}
	for len(frame) > 0 {
		n := min(chunkSize, len(frame))
		pieces = append(pieces, frame[:n])
		frame = frame[n:]
	}
	var out []byte
	if key == nil {
		for i, p := range pieces {
			h := uint32(len(p))
			if i == len(pieces)-1 {
				h |= 1 << 31
			}
			hb := binary.LittleEndian.AppendUint32(nil, h)
			out = append(out, hb...)
			out = append(out, p...)
			out = binary.LittleEndian.AppendUint32(out, crc32c(hb, p))
		}
		return out
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		panic(err)
	}
	recNonce := a.bytes(16) // RecordNonce, fresh for every record
	out = append(out, recNonce...)
	for i, p := range pieces {
		h := uint32(len(p) + chacha20poly1305.Overhead)
		if i == len(pieces)-1 {
			h |= 1 << 31
		}
		hb := binary.LittleEndian.AppendUint32(nil, h)
		nonce := binary.LittleEndian.AppendUint64(append([]byte(nil), recNonce...), uint64(i))
		out = append(out, hb...)
		out = aead.Seal(out, nonce, p, hb)
	}
	return out
}

func volumeName(round, part uint32) string {
	return fmt.Sprintf("r%06d.p%03d.iemv", round, part)
}

// add writes one volume and appends it to the archive.
func (a *archive) add(vs volSpec) *volume {
	id := a.id
	if vs.id != nil {
		id = *vs.id
	}
	prev := a.prev
	if vs.prev != nil {
		prev = *vs.prev
	}
	var flags uint16
	if a.encrypted {
		flags = 1
	}
	v := &volume{Name: volumeName(vs.Round, vs.Part)}
	out := header(vs.Round, vs.Part, flags, id)
	var key []byte
	if a.encrypted {
		key = a.bytes(32) // the volume key
		v.Key = key
		var kb bytes.Buffer
		w, err := age.Encrypt(&kb, a.recipient)
		if err != nil {
			panic(err)
		}
		w.Write(key)
		if err := w.Close(); err != nil {
			panic(err)
		}
		out = binary.LittleEndian.AppendUint32(out, uint32(kb.Len()))
		out = append(out, kb.Bytes()...)
	}

	var man []byte // manifest entries
	lastOff := 0
	for _, e := range vs.Entries {
		off := len(out)
		digest := sum(e.Body)
		typ := byte(1)
		var r ref
		switch {
		case e.ref != nil:
			typ, r = 2, *e.ref
		case len(e.Body) > 0: // empty bodies are not de-duplicated
			if prevRef, ok := a.bodies[digest]; ok {
				typ, r = 2, prevRef
			}
		}
		meta := e.meta()
		if e.metaMod != nil {
			meta = e.metaMod(meta)
		}
		stream := []byte{typ}
		stream = binary.AppendUvarint(stream, uint64(len(meta)))
		stream = append(stream, meta...)
		if typ == 1 {
			stream = append(stream, e.Body...)
		} else {
			stream = append(stream, r.encode()...)
		}
		if e.stream != nil {
			stream = e.stream(stream)
		}
		rec := a.chunks(stream, key, e.chunkSize, e.zeroChunk, e.frame)
		out = append(out, rec...)
		if typ == 1 && len(e.Body) > 0 {
			if _, ok := a.bodies[digest]; !ok {
				a.bodies[digest] = ref{uint64(vs.Round), uint64(vs.Part), uint64(off)}
			}
		}
		v.Records = append(v.Records, record{Offset: off, Length: len(rec), Type: typ, Digest: digest})
		a.digests = append(a.digests, hex.EncodeToString(digest[:]))

		// ManifestEntry (§5).
		man = binary.AppendUvarint(man, uint64(off-lastOff))
		man = binary.AppendUvarint(man, uint64(len(rec)))
		if e.digest != nil {
			man = append(man, e.digest[:]...)
		} else {
			man = append(man, digest[:]...)
		}
		man = append(man, typ)
		if e.manMeta != nil {
			man = append(man, e.manMeta(bytes.Clone(meta))...)
		} else {
			man = append(man, meta...)
		}
		if typ == 2 {
			man = append(man, r.encode()...)
		}
		lastOff = off
	}

	// Manifest (§5).
	m := []byte{3}
	m = append(m, id[:]...)
	m = binary.AppendUvarint(m, uint64(vs.Round))
	m = binary.AppendUvarint(m, uint64(vs.Part))
	if vs.Final {
		m = append(m, 1)
	} else {
		m = append(m, 0)
	}
	m = append(m, prev[:]...)
	m = binary.AppendVarint(m, created)
	m = appendStr(m, writerName)
	count := uint64(len(vs.Entries))
	if vs.count != nil {
		count = *vs.count
	}
	m = binary.AppendUvarint(m, count)
	m = append(m, man...)
	if vs.manifest != nil {
		m = vs.manifest(m)
	}
	v.ManifestOff = len(out)
	mrec := a.chunks(m, key, 0, false, nil)
	v.ManifestLen = len(mrec)
	v.ManifestDigst = sum(mrec)
	out = append(out, mrec...)
	out = append(out, trailer(v.ManifestOff, v.ManifestLen, v.ManifestDigst, flags)...)
	v.Data = out
	a.prev = v.ManifestDigst
	a.vols = append(a.vols, v)
	return v
}

// files returns the archive's volumes as vector files.
func (a *archive) files() []file {
	var fs []file
	for _, v := range a.vols {
		fs = append(fs, file{v.Name, v.Data})
	}
	return fs
}

type file struct {
	Name string
	Data []byte
}

// vector is one output file (§12).
type vector struct {
	expect     string
	entries    int // -1: no entries line
	sha256     []string
	identity   string
	passphrase string
	failAt     string
	comment    string
	files      []file
}

func (v *vector) encode() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "expect: %s\n", v.expect)
	if v.entries >= 0 {
		fmt.Fprintf(&b, "entries: %d\n", v.entries)
		fmt.Fprintf(&b, "sha256: %s\n", strings.Join(v.sha256, " "))
	}
	if v.identity != "" {
		fmt.Fprintf(&b, "identity: %s\n", v.identity)
	}
	if v.passphrase != "" {
		fmt.Fprintf(&b, "passphrase: %s\n", v.passphrase)
	}
	if v.failAt != "" {
		fmt.Fprintf(&b, "fail-at: %s\n", v.failAt)
	}
	if v.comment != "" {
		fmt.Fprintf(&b, "comment: %s\n", v.comment)
	}
	for _, f := range v.files {
		fmt.Fprintf(&b, "file: %s %d\n", f.Name, len(f.Data))
	}
	b.WriteByte('\n')
	for _, f := range v.files {
		b.Write(f.Data)
	}
	return b.Bytes()
}

// success returns a vector expecting every entry of a.
func success(a *archive, comment string) *vector {
	return &vector{expect: "success", entries: len(a.digests), sha256: a.digests,
		files: a.files(), comment: comment}
}

// failure returns a vector expecting the given failure for files, with
// fail-at set to the first byte where files differ from base (if any).
func failure(expect string, base, files []file, comment string) *vector {
	return &vector{expect: expect, entries: -1, files: files, comment: comment, failAt: firstDiff(base, files)}
}

// firstDiff names the first byte at which got differs from base, comparing
// files of the same name in order.
func firstDiff(base, got []file) string {
	for _, g := range got {
		for _, b := range base {
			if b.Name != g.Name {
				continue
			}
			n := min(len(b.Data), len(g.Data))
			for i := 0; i < n; i++ {
				if b.Data[i] != g.Data[i] {
					return fmt.Sprintf("%s %d", g.Name, i)
				}
			}
			if len(b.Data) != len(g.Data) {
				return fmt.Sprintf("%s %d", g.Name, n)
			}
		}
	}
	return ""
}

// clone deep-copies files so that a mutation leaves the original alone.
func clone(fs []file) []file {
	out := make([]file, len(fs))
	for i, f := range fs {
		out[i] = file{f.Name, bytes.Clone(f.Data)}
	}
	return out
}

// testCase is one named case of the table.
type testCase struct {
	name      string
	encrypted bool
	build     func() *vector
}

func main() {
	out := flag.String("out", "spec/testdata", "output `folder`")
	regen := flag.Bool("regen-encrypted", false, "rewrite encrypted vectors that exist (they are not reproducible)")
	flag.Parse()
	if err := run(*out, *regen); err != nil {
		fmt.Fprintf(os.Stderr, "gen: %v\n", err)
		os.Exit(1)
	}
}

func run(out string, regen bool) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	seen := make(map[string]bool)
	for _, c := range cases() {
		if seen[c.name] {
			return fmt.Errorf("duplicate case %s", c.name)
		}
		seen[c.name] = true
		path := filepath.Join(out, c.name+".vec")
		if c.encrypted && !regen {
			if _, err := os.Stat(path); err == nil {
				continue
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		v := c.build()
		if err := os.WriteFile(path, v.encode(), 0o644); err != nil {
			return err
		}
	}
	return nil
}
