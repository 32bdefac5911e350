package archive

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Version is the archive format version this package writes and reads.
const Version = 1

// Sizes and limits from SPEC.md §3, §6 and §10.
const (
	HeaderSize  = 48
	TrailerSize = 64

	maxChunk        = 1 << 20
	writeChunk      = 256 << 10
	tagSize         = 16
	nonceSize       = 16
	maxMeta         = 1 << 20
	maxStr          = 64 << 10
	maxAttrs        = 256
	maxEntries      = 1 << 24
	minManifestItem = 36
	maxManifest     = 1 << 30
	maxKeyBlock     = 64 << 10
	maxWindow       = 8 << 20
	maxDecoderMem   = 64 << 20

	flagEncrypted = 1

	recEntry    = 0x01
	recRef      = 0x02
	recManifest = 0x03
)

var (
	headerMagic  = [8]byte{0x89, 'I', 'E', 'M', '\r', '\n', 0x1a, '\n'}
	trailerMagic = [8]byte{0x89, 'I', 'E', 'M', 'E', 'N', 'D', '\n'}
	castagnoli   = crc32.MakeTable(crc32.Castagnoli)
)

// Kind is the kind of an entry (SPEC.md §4).
type Kind uint8

// Entry kinds. Values ≥ 15 are unknown to this version and passed through.
const (
	KindMessage          Kind = 1
	KindContact          Kind = 2
	KindEvent            Kind = 3
	KindTask             Kind = 4
	KindNote             Kind = 5
	KindFolder           Kind = 6
	KindMailbox          Kind = 7
	KindGroup            Kind = 8
	KindPublicFolder     Kind = 9
	KindDelta            Kind = 10
	KindTombstone        Kind = 11
	KindState            Kind = 12
	KindDistributionList Kind = 13
	// KindSettings is a mailbox's settings (out-of-office, ...): one per
	// mailbox, a JSON [format.MailboxSettings].
	KindSettings Kind = 14
)

var kindNames = map[Kind]string{
	KindMessage: "message", KindContact: "contact", KindEvent: "event", KindTask: "task", KindNote: "note",
	KindFolder: "folder", KindMailbox: "mailbox", KindGroup: "group", KindPublicFolder: "public-folder",
	KindDelta: "delta", KindTombstone: "tombstone", KindState: "state", KindDistributionList: "distribution-list",
	KindSettings: "settings",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ParseKind returns the Kind named s (as printed by Kind.String).
func ParseKind(s string) (Kind, bool) {
	for k, n := range kindNames {
		if n == s {
			return k, true
		}
	}
	return 0, false
}

// A Header describes one entry. As with tar.Header, build a fresh one per
// entry; the Writer does not keep it after WriteHeader returns, except that
// it fills in Digest when the entry is finished.
type Header struct {
	Kind      Kind
	Mailbox   string    // primary SMTP address of the mailbox; "" for organisation-wide entries
	Folder    string    // source folder identity (EWS FolderId)
	ID        string    // source identity (EWS ItemId, FolderId, group address …)
	ChangeKey string    // EWS ChangeKey
	Received  time.Time // zero if absent; stored with second precision
	Modified  time.Time // zero if absent; stored with second precision
	// Size is the body length. A negative Size means unknown: the Writer
	// then accepts any length.
	Size int64
	// Attrs holds extra, namespaced properties (SPEC.md §4). Keys are unique.
	Attrs map[string]string
	// Digest is the SHA-256 of the body. Set by the reader; the writer
	// computes it and ignores what the caller put here.
	Digest [32]byte
}

func (h *Header) label() string {
	return fmt.Sprintf("%s %s %s", h.Kind, h.Mailbox, h.ID)
}

// encodeMeta appends EntryMeta (SPEC.md §3.5).
func encodeMeta(b []byte, h *Header, size int64) []byte {
	b = append(b, byte(h.Kind))
	var tf byte
	if !h.Received.IsZero() {
		tf |= 1
	}
	if !h.Modified.IsZero() {
		tf |= 2
	}
	b = append(b, tf)
	if tf&1 != 0 {
		b = binary.AppendVarint(b, h.Received.Unix())
	}
	if tf&2 != 0 {
		b = binary.AppendVarint(b, h.Modified.Unix())
	}
	b = binary.AppendUvarint(b, uint64(size))
	b = appendStr(b, h.Mailbox)
	b = appendStr(b, h.Folder)
	b = appendStr(b, h.ID)
	b = appendStr(b, h.ChangeKey)
	keys := make([]string, 0, len(h.Attrs))
	for k := range h.Attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendStr(b, k)
		b = appendStr(b, h.Attrs[k])
	}
	return b
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// validateHeader checks what the spec's limits require of a header before writing it.
func validateHeader(h *Header) error {
	if h.Kind == 0 {
		return errf(ErrFormat, "entry kind 0")
	}
	for _, s := range []string{h.Mailbox, h.Folder, h.ID, h.ChangeKey} {
		if len(s) > maxStr || !utf8.ValidString(s) {
			return errf(ErrFormat, "entry %s: string over %d bytes or not UTF-8", h.label(), maxStr)
		}
	}
	if len(h.Attrs) > maxAttrs {
		return errf(ErrFormat, "entry %s: %d attributes, limit %d", h.label(), len(h.Attrs), maxAttrs)
	}
	for k, v := range h.Attrs {
		if len(k) > maxStr || len(v) > maxStr || !utf8.ValidString(k) || !utf8.ValidString(v) {
			return errf(ErrFormat, "entry %s: attribute %q over %d bytes or not UTF-8", h.label(), k, maxStr)
		}
	}
	return nil
}

// metaReader decodes EntryMeta and manifests from a byte slice with strict bounds.
type metaReader struct {
	b   []byte
	off int
	err error
	// interned holds the strings that repeat from entry to entry of a
	// manifest (mailbox, folder, attribute keys and short values), so
	// that 100,000 entries share one copy of each; nil: no interning.
	interned map[string]string
}

// istr reads a string like str, sharing the copy with earlier equal ones
// when interning.
func (r *metaReader) istr() string {
	if r.interned == nil {
		return r.str()
	}
	start := r.off
	n := r.uvarint()
	if r.err != nil || n > maxStr {
		r.off = start
		return r.str() // reports the error
	}
	p := r.bytes(int(n))
	if r.err != nil {
		return ""
	}
	if s, ok := r.interned[string(p)]; ok {
		return s
	}
	if !utf8.Valid(p) {
		r.fail("string not UTF-8 at byte %d", r.off-len(p))
		return ""
	}
	s := string(p)
	r.interned[s] = s
	return s
}

func (r *metaReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = errf(ErrFormat, format, args...)
	}
}

func (r *metaReader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.b) {
		r.fail("truncated at byte %d", r.off)
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *metaReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	return readVarint(r, v, n, "uvarint")
}

func (r *metaReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b[r.off:])
	return readVarint(r, v, n, "varint")
}

// readVarint takes the value binary.Uvarint or binary.Varint decoded from
// n bytes at r.off (what names it): past them, or 0 and an error when
// there was none.
func readVarint[T uint64 | int64](r *metaReader, v T, n int, what string) T {
	if n <= 0 {
		r.fail("bad %s at byte %d", what, r.off)
		return 0
	}
	r.off += n
	return v
}

func (r *metaReader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.off {
		r.fail("field of %d bytes past end at byte %d", n, r.off)
		return nil
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p
}

func (r *metaReader) str() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > maxStr {
		r.fail("string of %d bytes over limit %d", n, maxStr)
		return ""
	}
	p := r.bytes(int(n))
	if r.err == nil && !utf8.Valid(p) {
		r.fail("string not UTF-8 at byte %d", r.off-len(p))
	}
	return string(p)
}

// maxInternedValue is the longest attribute value interned.
const maxInternedValue = 16

// meta decodes EntryMeta into h and returns the declared size.
func (r *metaReader) meta(h *Header) int64 {
	h.Kind = Kind(r.byte())
	if r.err == nil && h.Kind == 0 {
		r.fail("entry kind 0")
	}
	tf := r.byte()
	if tf&^3 != 0 {
		r.fail("time flags %#x", tf)
	}
	if tf&1 != 0 {
		h.Received = time.Unix(r.varint(), 0).UTC()
	}
	if tf&2 != 0 {
		h.Modified = time.Unix(r.varint(), 0).UTC()
	}
	size := r.uvarint()
	if size > 1<<50 {
		r.fail("body size %d", size)
	}
	h.Size = int64(size)
	h.Mailbox = r.istr()
	h.Folder = r.istr()
	h.ID = r.str()
	h.ChangeKey = r.str()
	n := r.uvarint()
	if n > maxAttrs {
		r.fail("%d attributes, limit %d", n, maxAttrs)
		return 0
	}
	if n > 0 {
		h.Attrs = make(map[string]string, n)
	}
	prev := ""
	for i := uint64(0); i < n && r.err == nil; i++ {
		k := r.istr()
		var v string
		if r.interned != nil && r.off < len(r.b) && r.b[r.off] <= maxInternedValue {
			v = r.istr() // flags and the like, the same in most entries
		} else {
			v = r.str()
		}
		if i > 0 && strings.Compare(k, prev) <= 0 {
			r.fail("attribute keys not strictly increasing at %q", k)
		}
		prev = k
		h.Attrs[k] = v
	}
	return h.Size
}

// Ref locates a body stored in another record (SPEC.md §3.6).
type Ref struct {
	Round, Part int
	Offset      int64
}

func (r *metaReader) ref() Ref {
	ro, pa, off := r.uvarint(), r.uvarint(), r.uvarint()
	if ro == 0 || pa == 0 || ro > 1<<31 || pa > 1<<31 || off > 1<<62 {
		r.fail("bad ref %d/%d/%d", ro, pa, off)
	}
	return Ref{int(ro), int(pa), int64(off)}
}

func appendRef(b []byte, ref Ref) []byte {
	b = binary.AppendUvarint(b, uint64(ref.Round))
	b = binary.AppendUvarint(b, uint64(ref.Part))
	return binary.AppendUvarint(b, uint64(ref.Offset))
}

// volumeHeader is the fixed header (SPEC.md §3.1).
type volumeHeader struct {
	Flags     uint16
	Round     uint32
	Part      uint32
	ArchiveID [16]byte
}

func (h volumeHeader) marshal() []byte {
	b := make([]byte, HeaderSize)
	copy(b, headerMagic[:])
	binary.LittleEndian.PutUint16(b[8:], Version)
	binary.LittleEndian.PutUint16(b[10:], h.Flags)
	binary.LittleEndian.PutUint32(b[12:], h.Round)
	binary.LittleEndian.PutUint32(b[16:], h.Part)
	copy(b[20:36], h.ArchiveID[:])
	binary.LittleEndian.PutUint32(b[44:], crc32.Checksum(b[:44], castagnoli))
	return b
}

func parseHeader(b []byte) (volumeHeader, error) {
	var h volumeHeader
	if len(b) < HeaderSize || !bytes.Equal(b[:8], headerMagic[:]) {
		return h, errf(ErrFormat, "bad magic")
	}
	if v := binary.LittleEndian.Uint16(b[8:]); v != Version {
		return h, fmt.Errorf("%w: version %d", ErrVersion, v)
	}
	if crc32.Checksum(b[:44], castagnoli) != binary.LittleEndian.Uint32(b[44:]) {
		return h, errf(ErrChecksum, "header crc")
	}
	h.Flags = binary.LittleEndian.Uint16(b[10:])
	if h.Flags&^flagEncrypted != 0 {
		return h, errf(ErrFormat, "unknown header flags %#x", h.Flags)
	}
	for _, c := range b[36:44] {
		if c != 0 {
			return h, errf(ErrFormat, "reserved header bytes not zero")
		}
	}
	h.Round = binary.LittleEndian.Uint32(b[12:])
	h.Part = binary.LittleEndian.Uint32(b[16:])
	if h.Round == 0 || h.Part == 0 {
		return h, errf(ErrFormat, "round %d part %d", h.Round, h.Part)
	}
	copy(h.ArchiveID[:], b[20:36])
	return h, nil
}

// trailer is the fixed end of a closed volume (SPEC.md §6).
type trailer struct {
	ManifestOffset, ManifestLength uint64
	ManifestDigest                 [32]byte
	Flags                          uint16
}

func (t trailer) marshal() []byte {
	b := make([]byte, TrailerSize)
	binary.LittleEndian.PutUint64(b[0:], t.ManifestOffset)
	binary.LittleEndian.PutUint64(b[8:], t.ManifestLength)
	copy(b[16:48], t.ManifestDigest[:])
	binary.LittleEndian.PutUint16(b[48:], Version)
	binary.LittleEndian.PutUint16(b[50:], t.Flags)
	binary.LittleEndian.PutUint32(b[52:], crc32.Checksum(b[:52], castagnoli))
	copy(b[56:], trailerMagic[:])
	return b
}

// parseTrailer reads the last 64 bytes of a volume. A missing magic means a
// torn volume (ErrTorn); other damage is ErrChecksum/ErrFormat/ErrVersion.
func parseTrailer(b []byte, size int64) (trailer, error) {
	var t trailer
	if len(b) < TrailerSize || !bytes.Equal(b[56:64], trailerMagic[:]) {
		return t, ErrTorn
	}
	if crc32.Checksum(b[:52], castagnoli) != binary.LittleEndian.Uint32(b[52:]) {
		return t, errf(ErrChecksum, "trailer crc")
	}
	if v := binary.LittleEndian.Uint16(b[48:]); v != Version {
		return t, fmt.Errorf("%w: trailer version %d", ErrVersion, v)
	}
	t.ManifestOffset = binary.LittleEndian.Uint64(b[0:])
	t.ManifestLength = binary.LittleEndian.Uint64(b[8:])
	copy(t.ManifestDigest[:], b[16:48])
	t.Flags = binary.LittleEndian.Uint16(b[50:])
	if t.ManifestOffset < HeaderSize || t.ManifestLength == 0 || t.ManifestOffset > uint64(size) ||
		t.ManifestLength > uint64(size) || t.ManifestOffset+t.ManifestLength+TrailerSize != uint64(size) {
		return t, errf(ErrFormat, "trailer manifest %d+%d does not end at %d", t.ManifestOffset, t.ManifestLength, size-TrailerSize)
	}
	return t, nil
}

// VolumeName returns the file name of a volume: r000001.p001.iemv.
func VolumeName(round, part int) string {
	return fmt.Sprintf("r%06d.p%03d.iemv", round, part)
}

// ParseVolumeName reports the round and part of a volume file name.
func ParseVolumeName(name string) (round, part int, ok bool) {
	if len(name) != len("r000001.p001.iemv") || name[0] != 'r' || name[7:9] != ".p" || name[12:] != ".iemv" {
		return 0, 0, false
	}
	for _, c := range name[1:7] + name[9:12] {
		if c < '0' || c > '9' {
			return 0, 0, false
		}
	}
	fmt.Sscanf(name[1:7], "%d", &round)
	fmt.Sscanf(name[9:12], "%d", &part)
	return round, part, round > 0 && part > 0
}
