// Package pst reads Outlook PST and OST files (ANSI, Unicode and the 4 KiB-page OST of
// Outlook 2013 and later), written from Microsoft's open specification [MS-PST]. This
// file is the NDB layer ([MS-PST] 2.2): the header, the node and block B-trees, blocks,
// data trees and subnodes. Every length read from the file is bounded by the file size
// and the spec's maxima; no input makes the reader panic.
package pst

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"sort"
	"sync"
)

// Format is the file variant, from wVer of the header ([MS-PST] 2.2.2.6).
type Format int

// The formats the reader knows.
const (
	FormatANSI    Format = 1 // wVer 14 or 15: 32-bit ids and offsets
	FormatUnicode Format = 2 // wVer 23 (21 from some tools): 64-bit ids and offsets
	FormatOST4K   Format = 3 // wVer 36: Unicode with 4 KiB pages and compressed blocks (not in [MS-PST])
)

func (f Format) String() string {
	switch f {
	case FormatANSI:
		return "ANSI"
	case FormatUnicode:
		return "Unicode"
	case FormatOST4K:
		return "OST 4K"
	}
	return "unknown"
}

// Error is every error of the reader: what was being read (Kind), the node or block id
// where one applies, and why it failed.
type Error struct {
	Kind   string // "header", "page", "block", "node", "subnode", "heap", "table", ...
	NID    uint32 // node id, 0 when none
	BID    uint64 // block or page id, 0 when none
	Offset int64  // file offset, -1 when none
	Reason string
}

func (e *Error) Error() string {
	s := "pst: " + e.Kind
	if e.NID != 0 {
		s += fmt.Sprintf(" nid 0x%x", e.NID)
	}
	if e.BID != 0 {
		s += fmt.Sprintf(" bid 0x%x", e.BID)
	}
	if e.Offset >= 0 {
		s += fmt.Sprintf(" at offset %d", e.Offset)
	}
	return s + ": " + e.Reason
}

func errf(kind string, nid uint32, bid uint64, off int64, format string, args ...any) *Error {
	return &Error{Kind: kind, NID: nid, BID: bid, Offset: off, Reason: fmt.Sprintf(format, args...)}
}

// Spec maxima ([MS-PST] 2.2.2.8: a block holds at most 8,176 bytes of data and is at most
// 8,192 bytes; 4K OST blocks hold up to 65,512 bytes, per the Mythicsoft notes).
const (
	maxBlockData   = 8176
	maxBlockData4K = 65512
	maxTreeDepth   = 8 // B-tree and data-tree levels we follow before calling the file cyclic
	headerSize     = 564
)

// Node is an NBT leaf entry ([MS-PST] 2.2.2.7.7.4) or a subnode SLENTRY (2.2.2.8.3.3.1.1).
type Node struct {
	NID    uint32
	Data   uint64 // bidData
	Sub    uint64 // bidSub, 0 when the node has no subnodes
	Parent uint32 // nidParent (NBT entries only)
}

// NID types ([MS-PST] 2.2.2.1).
const (
	nidTypeNormalFolder    = 0x02
	nidTypeSearchFolder    = 0x03
	nidTypeNormalMessage   = 0x04
	nidTypeAttachment      = 0x05
	nidTypeHierarchyTable  = 0x0D
	nidTypeContentsTable   = 0x0E
	nidTypeAssocContents   = 0x0F
	nidTypeAttachmentTable = 0x11
	nidTypeRecipientTable  = 0x12
)

// Special NIDs ([MS-PST] 2.4.1).
const (
	NIDMessageStore = 0x21
	NIDNameToIDMap  = 0x61
	NIDRootFolder   = 0x122
)

// File is an open PST or OST file.
type File struct {
	r        io.ReaderAt
	closer   io.Closer
	size     int64
	Format   Format
	Version  uint16 // wVer
	Client   string // wMagicClient: "SM" PST, "SO" OST, "AB" PAB
	Crypt    Crypt
	nbt, bbt bref
	// CRCErrors counts pages and blocks whose CRC did not match; they are read anyway.
	CRCErrors int
	// streamLock, when set, is held around the block reads of attachments streamed
	// after the message was read (the Source's lock of the file).
	streamLock sync.Locker
	// pages caches the B-tree pages most recently read: every block and node
	// lookup walks the B-tree from its root, and without the cache each walk
	// read and checked the same two or three pages again (the profile of
	// BenchmarkSourceEnron: a pread and an allocation per level per block).
	// Bounded by maxCachedPages whatever the size of the file.
	pages pageCache
}

// maxCachedPages bounds the B-tree page cache: 256 pages are 128 KiB of a
// PST (2 MiB of a 4K OST) and hold the upper levels of both B-trees of a
// 50 GB file (a Unicode BBT page has 20 entries: three levels reach 8,000 leaf
// pages), so a lookup reads at most its leaf page.
const maxCachedPages = 256

// pageCache is a bounded cache of parsed B-tree pages by offset, evicting the
// least recently used.
type pageCache struct {
	mu    sync.Mutex
	limit int // 0: maxCachedPages
	m     map[int64]*cachedPage
	clock uint64
}

type cachedPage struct {
	bid  uint64
	used uint64
	p    *btPage
}

func (c *pageCache) get(r bref) *btPage {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[r.ib]
	if e == nil || e.bid != r.bid {
		return nil
	}
	c.clock++
	e.used = c.clock
	return e.p
}

func (c *pageCache) put(r bref, p *btPage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[int64]*cachedPage, maxCachedPages)
	}
	limit := c.limit
	if limit <= 0 {
		limit = maxCachedPages
	}
	for len(c.m) >= limit {
		// Evict the least recently used: a scan of 256 entries, once per
		// page read from the file.
		var old int64
		oldest := ^uint64(0)
		for ib, e := range c.m {
			if e.used < oldest {
				old, oldest = ib, e.used
			}
		}
		delete(c.m, old)
	}
	c.clock++
	c.m[r.ib] = &cachedPage{bid: r.bid, used: c.clock, p: p}
}

func (c *pageCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

type bref struct {
	bid uint64
	ib  int64
}

// Open opens the file at path.
func Open(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	f, err := NewFile(fh, st.Size())
	if err != nil {
		fh.Close()
		return nil, err
	}
	f.closer = fh
	return f, nil
}

// Close closes the file opened by Open.
func (f *File) Close() error {
	if f.closer != nil {
		return f.closer.Close()
	}
	return nil
}

// crc is the CRC of [MS-PST] 5.3: the IEEE table, initial value 0, no final inversion.
func crc(p []byte) uint32 { return ^crc32.Update(0xFFFFFFFF, crc32.IEEETable, p) }

// sig is the block and page signature of [MS-PST] 5.5.
func sig(ib int64, bid uint64) uint16 {
	v := uint32(uint64(ib) ^ bid)
	return uint16(v>>16) ^ uint16(v)
}

// NewFile reads the header of a PST or OST of the given size from r ([MS-PST] 2.2.2.6).
func NewFile(r io.ReaderAt, size int64) (*File, error) {
	h := make([]byte, headerSize)
	if n, err := r.ReadAt(h, 0); n < 514 {
		return nil, errf("header", 0, 0, 0, "file too short for a PST header (%d bytes): %v", n, err)
	}
	if string(h[:4]) != "!BDN" {
		return nil, errf("header", 0, 0, 0, "not a PST or OST file (magic %q)", h[:4])
	}
	f := &File{r: r, size: size, Version: binary.LittleEndian.Uint16(h[10:]), Client: string(h[8:10])}
	switch f.Version {
	case 14, 15:
		f.Format = FormatANSI
	case 21, 23:
		f.Format = FormatUnicode
	case 36:
		f.Format = FormatOST4K
	default:
		return nil, errf("header", 0, 0, 10, "unknown file version wVer %d", f.Version)
	}
	if got, want := crc(h[8:8+471]), binary.LittleEndian.Uint32(h[4:]); got != want {
		return nil, errf("header", 0, 0, 4, "header CRC 0x%08x, computed 0x%08x", want, got)
	}
	le := binary.LittleEndian
	if f.Format == FormatANSI {
		f.nbt = bref{uint64(le.Uint32(h[184:])), int64(le.Uint32(h[188:]))}
		f.bbt = bref{uint64(le.Uint32(h[192:])), int64(le.Uint32(h[196:]))}
		f.Crypt = Crypt(h[461])
	} else {
		if got, want := crc(h[8:8+516]), le.Uint32(h[524:]); got != want {
			return nil, errf("header", 0, 0, 524, "full header CRC 0x%08x, computed 0x%08x", want, got)
		}
		f.nbt = bref{le.Uint64(h[216:]), int64(le.Uint64(h[224:]))}
		f.bbt = bref{le.Uint64(h[232:]), int64(le.Uint64(h[240:]))}
		f.Crypt = Crypt(h[513])
	}
	if f.Crypt > CryptCyclic {
		return nil, errf("header", 0, 0, -1, "unknown encoding bCryptMethod %d", f.Crypt)
	}
	return f, nil
}

func (f *File) unicode() bool { return f.Format != FormatANSI }

func (f *File) pageSize() int {
	if f.Format == FormatOST4K {
		return 4096
	}
	return 512
}

func (f *File) idSize() int {
	if f.unicode() {
		return 8
	}
	return 4
}

func (f *File) id(p []byte) uint64 {
	if f.unicode() {
		return binary.LittleEndian.Uint64(p)
	}
	return uint64(binary.LittleEndian.Uint32(p))
}

// readAt reads exactly n bytes at off, within the file.
func (f *File) readAt(kind string, nid uint32, bid uint64, off int64, n int) ([]byte, error) {
	if off < 0 || n < 0 || off > f.size || int64(n) > f.size-off {
		return nil, errf(kind, nid, bid, off, "%d bytes at offset %d lie outside the file (%d bytes)", n, off, f.size)
	}
	p := make([]byte, n)
	if _, err := f.r.ReadAt(p, off); err != nil {
		return nil, errf(kind, nid, bid, off, "read: %v", err)
	}
	return p, nil
}

// btPage is a BTPAGE ([MS-PST] 2.2.2.7.7.1; 4K layout per the Mythicsoft notes).
type btPage struct {
	ptype   byte
	level   int
	entries [][]byte
}

// page reads and checks the B-tree page at r: trailer type, signature, CRC; a
// page read before comes from the cache.
func (f *File) page(r bref, want byte) (*btPage, error) {
	if p := f.pages.get(r); p != nil {
		if p.ptype != want {
			return nil, errf("page", 0, r.bid, r.ib, "page type 0x%02x, want 0x%02x", p.ptype, want)
		}
		return p, nil
	}
	p, err := f.readPage(r, want)
	if err == nil {
		f.pages.put(r, p)
	}
	return p, err
}

func (f *File) readPage(r bref, want byte) (*btPage, error) {
	ps := f.pageSize()
	p, err := f.readAt("page", 0, r.bid, r.ib, ps)
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	var area, cEnt, cbEnt, level, tr int
	switch f.Format {
	case FormatANSI:
		area, cEnt, cbEnt, level, tr = 496, int(p[496]), int(p[498]), int(p[499]), 500
	case FormatUnicode:
		area, cEnt, cbEnt, level, tr = 488, int(p[488]), int(p[490]), int(p[491]), 496
	default:
		area, cEnt, cbEnt, level, tr = 4056, int(le.Uint16(p[4056:])), int(p[4060]), int(p[4061]), 4072
	}
	ptype, wsig := p[tr], le.Uint16(p[tr+2:])
	if ptype != want || p[tr+1] != want {
		return nil, errf("page", 0, r.bid, r.ib, "page type 0x%02x/0x%02x, want 0x%02x", ptype, p[tr+1], want)
	}
	var pcrc uint32
	var pbid uint64
	if f.Format == FormatANSI {
		pbid, pcrc = uint64(le.Uint32(p[tr+4:])), le.Uint32(p[tr+8:])
	} else {
		pcrc, pbid = le.Uint32(p[tr+4:]), le.Uint64(p[tr+8:])
	}
	if pbid != r.bid {
		return nil, errf("page", 0, r.bid, r.ib, "trailer names page 0x%x", pbid)
	}
	if wsig != 0 && wsig != sig(r.ib, r.bid) {
		return nil, errf("page", 0, r.bid, r.ib, "signature 0x%04x, computed 0x%04x", wsig, sig(r.ib, r.bid))
	}
	if crc(p[:tr]) != pcrc {
		f.CRCErrors++
	}
	if cbEnt == 0 || cEnt*cbEnt > area || level > maxTreeDepth {
		return nil, errf("page", 0, r.bid, r.ib, "bad entry layout: %d entries of %d bytes, level %d", cEnt, cbEnt, level)
	}
	minEnt := 3 * f.idSize() // branch entry: key + BREF
	if cbEnt < minEnt {
		return nil, errf("page", 0, r.bid, r.ib, "entries of %d bytes are too short", cbEnt)
	}
	bp := &btPage{ptype: ptype, level: level, entries: make([][]byte, 0, cEnt)}
	for i := 0; i < cEnt; i++ {
		bp.entries = append(bp.entries, p[i*cbEnt:(i+1)*cbEnt])
	}
	return bp, nil
}

const (
	ptypeBBT = 0x80
	ptypeNBT = 0x81
)

// lookup finds the leaf entry whose key is key in the B-tree rooted at root ([MS-PST]
// 2.2.2.7.7: branch entries are sorted; follow the last one whose key is <= key).
func (f *File) lookup(root bref, ptype byte, key uint64, mask uint64) ([]byte, error) {
	r := root
	kind := "node"
	if ptype == ptypeBBT {
		kind = "block"
	}
	for depth := 0; depth <= maxTreeDepth; depth++ {
		p, err := f.page(r, ptype)
		if err != nil {
			return nil, err
		}
		// Entries are sorted by key ([MS-PST] 2.2.2.7.7): the first whose
		// key exceeds key, by binary search.
		i := sort.Search(len(p.entries), func(i int) bool { return f.id(p.entries[i])&mask > key })
		if p.level == 0 {
			if i > 0 && f.id(p.entries[i-1])&mask == key {
				return p.entries[i-1], nil
			}
			// A file whose leaf is not sorted: the scan the reader did before.
			for _, e := range p.entries {
				if f.id(e)&mask == key {
					return e, nil
				}
			}
			break
		}
		next := i - 1
		if next < 0 {
			break
		}
		e := p.entries[next]
		r = bref{f.id(e[f.idSize():]), int64(f.id(e[2*f.idSize():]))}
	}
	if ptype == ptypeBBT {
		return nil, errf(kind, 0, key, -1, "not in the block B-tree")
	}
	return nil, errf(kind, uint32(key), 0, -1, "not in the node B-tree")
}

func (f *File) parseNode(e []byte) Node {
	n := f.idSize()
	return Node{NID: uint32(f.id(e)), Data: f.id(e[n:]), Sub: f.id(e[2*n:]), Parent: binary.LittleEndian.Uint32(e[3*n:])}
}

// Node looks nid up in the node B-tree ([MS-PST] 2.2.2.7.7.4).
func (f *File) Node(nid uint32) (Node, error) {
	e, err := f.lookup(f.nbt, ptypeNBT, uint64(nid), ^uint64(0))
	if err != nil {
		return Node{}, err
	}
	if len(e) < 3*f.idSize()+4 {
		return Node{}, errf("node", nid, 0, -1, "NBT entry of %d bytes is too short", len(e))
	}
	return f.parseNode(e), nil
}

// Nodes calls fn for every node of the node B-tree, in order. A page that cannot be read
// is reported to bad and skipped, so a damaged file still lists what it can.
func (f *File) Nodes(fn func(Node), bad func(error)) {
	seen := map[int64]bool{}
	var walk func(r bref, depth int)
	walk = func(r bref, depth int) {
		if depth > maxTreeDepth || seen[r.ib] {
			bad(errf("page", 0, r.bid, r.ib, "node B-tree is cyclic or too deep"))
			return
		}
		seen[r.ib] = true
		p, err := f.page(r, ptypeNBT)
		if err != nil {
			bad(err)
			return
		}
		for _, e := range p.entries {
			if p.level == 0 {
				if len(e) >= 3*f.idSize()+4 {
					fn(f.parseNode(e))
				}
				continue
			}
			walk(bref{f.id(e[f.idSize():]), int64(f.id(e[2*f.idSize():]))}, depth+1)
		}
	}
	walk(f.nbt, 0)
}

// block reads the block bid through the block B-tree: trailer, signature and CRC
// ([MS-PST] 2.2.2.8.1), decoding ([MS-PST] 5.1, 5.2) external blocks and inflating 4K
// OST blocks whose inflated size exceeds their stored size.
func (f *File) block(bid uint64) ([]byte, error) {
	return f.readBlock(bid, false)
}

// checkBlock makes every check block makes short of reading the data: the BBT
// entry, the block's place in the file, and its trailer (bid, size,
// signature). A compressed 4K OST block is read whole, since only inflating
// it shows it can be read.
func (f *File) checkBlock(bid uint64) error {
	_, err := f.readBlock(bid, true)
	return err
}

// CheckData checks the data tree rooted at bid as DataReader will read it,
// reading its XBLOCKs and the trailers of its data blocks but not their data
// (checkBlock): an attachment to be streamed is checked at a cost of one
// small read per 8 KiB block rather than a second read of all its bytes.
func (f *File) CheckData(bid uint64) error {
	w := f.walkData(bid)
	for {
		b, err := w.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := f.checkBlock(b); err != nil {
			return err
		}
	}
}

func (f *File) readBlock(bid uint64, trailerOnly bool) ([]byte, error) {
	key := bid &^ 1 // bit 0 is reserved; bit 1 marks internal blocks
	e, err := f.lookup(f.bbt, ptypeBBT, key, ^uint64(1))
	if err != nil {
		return nil, err
	}
	n := f.idSize()
	le := binary.LittleEndian
	ib := int64(f.id(e[n:]))
	if len(e) < 2*n+4 {
		return nil, errf("block", 0, bid, -1, "BBT entry of %d bytes is too short", len(e))
	}
	cb := int(le.Uint16(e[2*n:]))
	inflated := 0
	if f.Format == FormatOST4K {
		if len(e) < 2*n+6 {
			return nil, errf("block", 0, bid, ib, "4K BBT entry of %d bytes is too short", len(e))
		}
		inflated = int(le.Uint16(e[2*n+2:]))
	}
	max := maxBlockData
	if f.Format == FormatOST4K {
		max = maxBlockData4K
	}
	if cb > max {
		return nil, errf("block", 0, bid, ib, "block of %d bytes exceeds the maximum %d", cb, max)
	}
	// BLOCKTRAILER: 16 bytes (ANSI 12); 4K OST blocks add 8 bytes after it (cbInflated among them).
	trailer, extra := 16, 0
	switch f.Format {
	case FormatANSI:
		trailer = 12
	case FormatOST4K:
		extra = 8
	}
	align := 64 // [MS-PST] 2.2.2.8: blocks are 64-byte multiples; 4K OST blocks are 512-byte multiples
	if f.Format == FormatOST4K {
		align = 512
	}
	total := (cb + trailer + extra + align - 1) &^ (align - 1)
	if trailerOnly && inflated <= cb {
		t, err := f.readAt("block", 0, bid, ib+int64(total-trailer-extra), trailer)
		if err != nil {
			return nil, err
		}
		_, err = f.checkTrailer(t, bid, key, ib, cb)
		return nil, err
	}
	p, err := f.readAt("block", 0, bid, ib, total)
	if err != nil {
		return nil, err
	}
	tcrc, err := f.checkTrailer(p[total-trailer-extra:], bid, key, ib, cb)
	if err != nil {
		return nil, err
	}
	data := p[:cb]
	if crc(data) != tcrc {
		f.CRCErrors++
	}
	data = data[:cb:cb]
	if bid&2 == 0 {
		decode(f.Crypt, data, key)
	}
	if inflated > cb {
		zr, err := zlib.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, errf("block", 0, bid, ib, "compressed block: %v", err)
		}
		out := make([]byte, inflated)
		if _, err := io.ReadFull(zr, out); err != nil {
			return nil, errf("block", 0, bid, ib, "compressed block: %v", err)
		}
		data = out
	}
	return data, nil
}

// checkTrailer checks a BLOCKTRAILER ([MS-PST] 2.2.2.8.1): the bid and size it
// names and its signature; it returns the CRC it holds.
func (f *File) checkTrailer(t []byte, bid, key uint64, ib int64, cb int) (uint32, error) {
	le := binary.LittleEndian
	tcb, tsig := int(le.Uint16(t)), le.Uint16(t[2:])
	var tcrc uint32
	var tbid uint64
	if f.Format == FormatANSI {
		tbid, tcrc = uint64(le.Uint32(t[4:])), le.Uint32(t[8:])
	} else {
		tcrc, tbid = le.Uint32(t[4:]), le.Uint64(t[8:])
	}
	if tbid&^1 != key || tcb != cb {
		return 0, errf("block", 0, bid, ib, "trailer names block 0x%x of %d bytes, want %d bytes", tbid, tcb, cb)
	}
	if tsig != sig(ib, tbid) {
		return 0, errf("block", 0, bid, ib, "signature 0x%04x, computed 0x%04x", tsig, sig(ib, tbid))
	}
	return tcrc, nil
}

// Data reads the data tree rooted at bid: a single data block, or an XBLOCK / XXBLOCK
// listing data blocks ([MS-PST] 2.2.2.8.3.1, 2.2.2.8.3.2). It returns the data blocks
// in order; the heap-on-node needs them apart.
func (f *File) Data(bid uint64) ([][]byte, error) {
	bids, err := f.leafBlocks(bid)
	var out [][]byte
	total := int64(0)
	for _, b := range bids {
		p, berr := f.block(b)
		if berr != nil {
			return out, berr
		}
		total += int64(len(p))
		if total > f.size*8 { // 4K blocks inflate; nothing can justify more
			return out, errf("block", 0, b, -1, "data tree larger than the file can hold")
		}
		out = append(out, p)
	}
	return out, err
}

// leafBlocks lists the data blocks of the data tree rooted at bid (Data, which
// needs them all); on an error, the blocks listed before it.
func (f *File) leafBlocks(bid uint64) ([]uint64, error) {
	var out []uint64
	w := f.walkData(bid)
	for {
		b, err := w.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, b)
	}
}

// dataWalk walks the data tree rooted at a bid lazily, yielding its data blocks in
// order: a data block, an XBLOCK (cLevel 1, rgbid lists data blocks) or an XXBLOCK
// (cLevel 2, rgbid lists XBLOCKs), [MS-PST] 2.2.2.8.3.2. It holds at most the id
// list of one XXBLOCK and of one XBLOCK (8 KiB each), whatever the size of the
// value, and makes the checks of the tree as it reaches each block: btype and
// level, depth, entry count, lcbTotal, the kind of each child, and at most
// size/64 blocks (every block takes at least 64 bytes of the file).
type dataWalk struct {
	f        *File
	root     uint64
	started  bool
	reads    int64
	maxReads int64
	depth    int       // frames in use
	frames   [2]xframe // [0] the root XBLOCK/XXBLOCK, [1] an XBLOCK of an XXBLOCK
	err      error
}

type xframe struct {
	bid   uint64
	level int
	ids   []byte // rgbid
	i     int
}

func (f *File) walkData(bid uint64) *dataWalk {
	return &dataWalk{f: f, root: bid, maxReads: f.size/64 + 1}
}

// next returns the next data block's bid; io.EOF after the last. An error stays.
func (w *dataWalk) next() (uint64, error) {
	if w.err != nil {
		return 0, w.err
	}
	b, err := w.advance()
	if err != nil {
		w.err, w.depth = err, 0
	}
	return b, err
}

func (w *dataWalk) advance() (uint64, error) {
	if !w.started {
		w.started = true
		if w.root == 0 { // a node without data
			return 0, io.EOF
		}
		if leaf, ok, err := w.visit(w.root, 0); err != nil || ok {
			return leaf, err
		}
	}
	n := w.f.idSize()
	for w.depth > 0 {
		top := &w.frames[w.depth-1]
		if top.i*n >= len(top.ids) {
			w.depth--
			continue
		}
		child := w.f.id(top.ids[top.i*n:])
		top.i++
		if top.level == 2 && child&2 == 0 || top.level == 1 && child&2 != 0 {
			return 0, errf("block", 0, top.bid, -1, "XBLOCK level %d lists block 0x%x of the wrong kind", top.level, child)
		}
		if leaf, ok, err := w.visit(child, w.depth); err != nil || ok {
			return leaf, err
		}
	}
	return 0, io.EOF
}

// visit reaches bid at depth: a data block is returned (ok), an XBLOCK or
// XXBLOCK is read, checked and pushed.
func (w *dataWalk) visit(bid uint64, depth int) (uint64, bool, error) {
	f := w.f
	if w.reads++; w.reads > w.maxReads {
		return 0, false, errf("block", 0, bid, -1, "data tree lists more blocks than the file can hold")
	}
	if bid&2 == 0 {
		return bid, true, nil
	}
	p, err := f.block(bid)
	if err != nil {
		return 0, false, err
	}
	if len(p) < 8 || p[0] != 0x01 || depth >= 2 {
		return 0, false, errf("block", 0, bid, -1, "not an XBLOCK/XXBLOCK (btype %x) or nested too deep", firstByte(p))
	}
	level, n := int(p[1]), int(binary.LittleEndian.Uint16(p[2:]))
	if level != 1 && level != 2 || 8+n*f.idSize() > len(p) {
		return 0, false, errf("block", 0, bid, -1, "XBLOCK level %d with %d entries in %d bytes", level, n, len(p))
	}
	if lcb := int64(binary.LittleEndian.Uint32(p[4:])); lcb > f.size*8 {
		return 0, false, errf("block", 0, bid, -1, "XBLOCK claims %d bytes in a file of %d", lcb, f.size)
	}
	w.frames[depth] = xframe{bid: bid, level: level, ids: p[8 : 8+n*f.idSize()]}
	w.depth = depth + 1
	return 0, false, nil
}

// DataReader streams the data tree rooted at bid one block at a time, walking
// the tree as it goes (dataWalk): memory holds one XXBLOCK's and one XBLOCK's
// id list and one data block, whatever the size of the value. lock (nil: none)
// is held around each block read, for files shared by goroutines.
func (f *File) DataReader(bid uint64, lock sync.Locker) io.Reader {
	return &dataReader{f: f, root: bid, lock: lock, walk: f.walkData(bid)}
}

type dataReader struct {
	f     *File
	root  uint64
	lock  sync.Locker
	walk  *dataWalk
	cur   []byte
	total int64
	err   error
}

func (r *dataReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.lock != nil {
			r.lock.Lock()
		}
		b, err := r.walk.next()
		if err == nil {
			r.cur, err = r.f.block(b)
			r.total += int64(len(r.cur))
			if err == nil && r.total > r.f.size*8 { // 4K blocks inflate; nothing can justify more
				err = errf("block", 0, r.root, -1, "data tree larger than the file can hold")
			}
		}
		if err != nil {
			r.cur, r.err = nil, err
		}
		if r.lock != nil {
			r.lock.Unlock()
		}
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

func firstByte(p []byte) byte {
	if len(p) == 0 {
		return 0
	}
	return p[0]
}

// Subnodes reads the subnode B-tree rooted at bid: SLBLOCKs and SIBLOCKs ([MS-PST]
// 2.2.2.8.3.3). The nids are local to the node that owns them.
func (f *File) Subnodes(bid uint64) (map[uint32]Node, error) {
	out := map[uint32]Node{}
	if bid == 0 {
		return out, nil
	}
	n := f.idSize()
	hdr := 8
	if !f.unicode() {
		hdr = 4
	}
	var walk func(bid uint64, depth int) error
	walk = func(bid uint64, depth int) error {
		p, err := f.block(bid)
		if err != nil {
			return err
		}
		if len(p) < hdr || p[0] != 0x02 || depth > 1 {
			return errf("subnode", 0, bid, -1, "not an SLBLOCK/SIBLOCK (btype %x) or nested too deep", firstByte(p))
		}
		level, cnt := int(p[1]), int(binary.LittleEndian.Uint16(p[2:]))
		esz := 3 * n
		if level == 1 {
			esz = 2 * n
		} else if level != 0 {
			return errf("subnode", 0, bid, -1, "subnode block level %d", level)
		}
		if hdr+cnt*esz > len(p) {
			return errf("subnode", 0, bid, -1, "%d entries do not fit in %d bytes", cnt, len(p))
		}
		for i := 0; i < cnt; i++ {
			e := p[hdr+i*esz:]
			if level == 1 {
				if err := walk(f.id(e[n:]), depth+1); err != nil {
					return err
				}
				continue
			}
			nd := Node{NID: uint32(f.id(e)), Data: f.id(e[n:]), Sub: f.id(e[2*n:])}
			out[nd.NID] = nd
		}
		return nil
	}
	err := walk(bid, 0)
	return out, err
}
