package pstwrite

// This file is the NDB layer of the writer ([MS-PST] 2.2): the ANSI header, data
// blocks with their trailers, XBLOCK data trees, SLBLOCK subnode blocks, and the
// node and block B-trees built bottom-up from their sorted entries.

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"sort"
)

// ANSI layout constants ([MS-PST] 2.2.2.6, 2.2.2.7, 2.2.2.8).
const (
	pageSize     = 512
	maxBlockData = 8176 // 2.2.2.8: a block holds at most 8,192 bytes, 8,176 of data with an ANSI trailer
	blockTrailer = 12   // 2.2.2.8.1 ANSI BLOCKTRAILER: cb, wSig, bid (4), dwCRC
	bbtLeafMax   = 41   // 2.2.2.7.7.3: 496 / 12-byte BBTENTRY
	nbtLeafMax   = 31   // 2.2.2.7.7.4: 496 / 16-byte NBTENTRY
	branchMax    = 41   // 2.2.2.7.7.2: 496 / 12-byte BTENTRY
	firstData    = 0x4400
	ptypeBBT     = 0x80
	ptypeNBT     = 0x81
)

// crc is the CRC of [MS-PST] 5.3 (the reader's pst.crc).
func crc(p []byte) uint32 { return ^crc32.Update(0xFFFFFFFF, crc32.IEEETable, p) }

// sig is the block and page signature of [MS-PST] 5.5.
func sig(ib uint32, bid uint32) uint16 {
	v := ib ^ bid
	return uint16(v>>16) ^ uint16(v)
}

// Node is one entry of the node B-tree (NBTENTRY, [MS-PST] 2.2.2.7.7.4) or of a
// subnode SLBLOCK (SLENTRY, 2.2.2.8.3.3.1.1; Parent unused there).
type Node struct {
	NID, Data, Sub, Parent uint32
}

type block struct {
	bid  uint32
	data []byte
}

// NDB collects blocks and nodes and lays them out as a file.
type NDB struct {
	blocks  []block
	nodes   []Node
	nextBID uint32               // bids advance by 4; bit 1 marks internal blocks ([MS-PST] 2.2.2.2)
	offsets map[uint32]uint32    // block offsets of the last Bytes, for tests that damage one
	spans   map[uint32][2]uint32 // message nid -> its first and last bid
	size    map[uint32]int       // block data sizes of the last Bytes

}

func (w *NDB) bid(internal bool) uint32 {
	w.nextBID += 4
	if internal {
		return w.nextBID | 2
	}
	return w.nextBID
}

// Block adds one data block (at most 8,176 bytes) and returns its bid.
func (w *NDB) Block(data []byte, internal bool) uint32 {
	if len(data) > maxBlockData {
		panic(fmt.Sprintf("pstwrite: block of %d bytes", len(data)))
	}
	b := w.bid(internal)
	w.blocks = append(w.blocks, block{b, append([]byte(nil), data...)})
	return b
}

// Data adds a value as a data tree ([MS-PST] 2.2.2.8.3.2): one data block when it
// fits, else data blocks listed by an XBLOCK (btype 1, cLevel 1, cEnt, lcbTotal,
// 4-byte bids); 0 for an empty value.
func (w *NDB) Data(v []byte) uint32 {
	if len(v) == 0 {
		return 0
	}
	if len(v) <= maxBlockData {
		return w.Block(v, false)
	}
	var bids []uint32
	for off := 0; off < len(v); off += maxBlockData {
		end := min(off+maxBlockData, len(v))
		bids = append(bids, w.Block(v[off:end], false))
	}
	return w.xblock(bids, len(v))
}

// xblock adds an XBLOCK listing bids, whose data total total bytes.
func (w *NDB) xblock(bids []uint32, total int) uint32 {
	if 8+4*len(bids) > maxBlockData {
		panic("pstwrite: values over one XBLOCK (16 MB) are not written")
	}
	x := []byte{0x01, 0x01, 0, 0, 0, 0, 0, 0}
	binary.LittleEndian.PutUint16(x[2:], uint16(len(bids)))
	binary.LittleEndian.PutUint32(x[4:], uint32(total))
	for _, b := range bids {
		x = binary.LittleEndian.AppendUint32(x, b)
	}
	return w.Block(x, true)
}

// DataBlocks adds a value whose blocks are given (a heap, a row matrix): the
// block itself when there is one, else an XBLOCK listing them.
func (w *NDB) DataBlocks(blocks [][]byte) uint32 {
	if len(blocks) == 1 {
		return w.Block(blocks[0], false)
	}
	var bids []uint32
	total := 0
	for _, b := range blocks {
		bids = append(bids, w.Block(b, false))
		total += len(b)
	}
	return w.xblock(bids, total)
}

// Subnodes adds an SLBLOCK ([MS-PST] 2.2.2.8.3.3.1: btype 2, cLevel 0, cEnt, then
// 12-byte ANSI SLENTRYs sorted by nid) and returns its bid; 0 when there are none.
func (w *NDB) Subnodes(sub []Node) uint32 {
	if len(sub) == 0 {
		return 0
	}
	sub = append([]Node(nil), sub...)
	sort.Slice(sub, func(i, j int) bool { return sub[i].NID < sub[j].NID })
	if 4+12*len(sub) > maxBlockData {
		panic("pstwrite: more subnodes than one SLBLOCK holds")
	}
	p := []byte{0x02, 0x00, 0, 0}
	binary.LittleEndian.PutUint16(p[2:], uint16(len(sub)))
	for _, s := range sub {
		p = binary.LittleEndian.AppendUint32(p, s.NID)
		p = binary.LittleEndian.AppendUint32(p, s.Data)
		p = binary.LittleEndian.AppendUint32(p, s.Sub)
	}
	return w.Block(p, true)
}

// Extent returns where the blocks of message nid lie in the last file Bytes
// made: from the first byte of its first block to the end of its last.
func (w *NDB) Extent(nid uint32) (start, end uint32, ok bool) {
	sp, ok := w.spans[nid]
	if !ok {
		return 0, 0, false
	}
	start, end = ^uint32(0), 0
	for bid, ib := range w.offsets {
		if bid&^3 >= sp[0]&^3 && bid&^3 <= sp[1]&^3 {
			start = min(start, ib)
			end = max(end, ib+blockSize(w.size[bid]))
		}
	}
	return start, end, start < end
}

// NodeOf returns the NBT entry of nid.
func (w *NDB) NodeOf(nid uint32) (Node, bool) {
	for _, n := range w.nodes {
		if n.NID == nid {
			return n, true
		}
	}
	return Node{}, false
}

// blockSize is the size a block of cb data bytes takes in the file.
func blockSize(cb int) uint32 { return uint32(cb+blockTrailer+63) &^ 63 }

// AddNode adds an entry of the node B-tree.
func (w *NDB) AddNode(n Node) { w.nodes = append(w.nodes, n) }

// BlockOffset returns the file offset of block bid in the last file Bytes made.
func (w *NDB) BlockOffset(bid uint32) (uint32, bool) {
	ib, ok := w.offsets[bid]
	return ib, ok
}

// Bytes lays the file out: header, the B-tree pages (512 bytes, [MS-PST]
// 2.2.2.7), then the blocks (64-byte multiples, 2.2.2.8) in the order they were
// added, and returns it. The pages come first so that a cut through the blocks
// leaves both B-trees whole and loses only the nodes whose blocks lie past it.
func (w *NDB) Bytes() []byte {
	le := binary.LittleEndian
	nodes := append([]Node(nil), w.nodes...)
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].NID < nodes[j].NID })
	base := uint32(firstData + pageSize*(pagesFor(len(nodes), nbtLeafMax)+pagesFor(len(w.blocks), bbtLeafMax)))
	w.offsets, w.size = map[uint32]uint32{}, map[uint32]int{}
	type bbtEntry struct {
		bid, ib uint32
		cb      uint16
	}
	var bbt []bbtEntry
	var blocks []byte
	for _, b := range w.blocks {
		ib := base + uint32(len(blocks))
		total := int(blockSize(len(b.data)))
		p := make([]byte, total)
		copy(p, b.data)
		t := p[total-blockTrailer:]
		le.PutUint16(t, uint16(len(b.data)))
		le.PutUint16(t[2:], sig(ib, b.bid))
		le.PutUint32(t[4:], b.bid)
		le.PutUint32(t[8:], crc(b.data))
		blocks = append(blocks, p...)
		w.offsets[b.bid] = ib
		w.size[b.bid] = len(b.data)
		bbt = append(bbt, bbtEntry{b.bid, ib, uint16(len(b.data))})
	}
	sort.Slice(bbt, func(i, j int) bool { return bbt[i].bid < bbt[j].bid })
	var bbtRecs []rec
	for _, e := range bbt {
		r := make([]byte, 12) // BBTENTRY: BREF (bid, ib), cb, cRef
		le.PutUint32(r, e.bid)
		le.PutUint32(r[4:], e.ib)
		le.PutUint16(r[8:], e.cb)
		le.PutUint16(r[10:], 2)
		bbtRecs = append(bbtRecs, rec{e.bid, r})
	}
	var nbtRecs []rec
	for i, n := range nodes {
		if i > 0 && nodes[i-1].NID == n.NID {
			panic(fmt.Sprintf("pstwrite: node 0x%x added twice", n.NID))
		}
		r := make([]byte, 16) // NBTENTRY: nid, bidData, bidSub, nidParent
		le.PutUint32(r, n.NID)
		le.PutUint32(r[4:], n.Data)
		le.PutUint32(r[8:], n.Sub)
		le.PutUint32(r[12:], n.Parent)
		nbtRecs = append(nbtRecs, rec{n.NID, r})
	}
	out := make([]byte, firstData, int(base)+len(blocks))
	nbtBID, nbtIB := w.tree(&out, ptypeNBT, nbtRecs, 16, nbtLeafMax)
	bbtBID, bbtIB := w.tree(&out, ptypeBBT, bbtRecs, 12, bbtLeafMax)
	if uint32(len(out)) != base {
		panic(fmt.Sprintf("pstwrite: %d bytes of pages, %d planned", len(out)-firstData, base-firstData))
	}
	out = append(out, blocks...)
	w.header(out, nbtBID, nbtIB, bbtBID, bbtIB)
	return out
}

// pagesFor is the number of pages of a B-tree of n entries, leafMax a leaf page.
func pagesFor(n, leafMax int) int {
	c := max(1, (n+leafMax-1)/leafMax)
	total := c
	for c > 1 {
		c = (c + branchMax - 1) / branchMax
		total += c
	}
	return total
}

type rec struct {
	key uint32
	b   []byte
}

// tree writes a B-tree bottom-up ([MS-PST] 2.2.2.7.7): leaf pages of the sorted
// entries, then levels of BTENTRYs (btkey = the first key of the child page, BREF)
// until one page holds them, and returns the root's BREF.
func (w *NDB) tree(out *[]byte, ptype byte, recs []rec, cb, leafMax int) (uint32, uint32) {
	level := 0
	for {
		var up []rec
		for i := 0; i < len(recs) || i == 0; i += leafMax {
			chunk := recs[i:min(i+leafMax, len(recs))]
			bid, ib := w.page(out, ptype, chunk, cb, leafMax, level)
			r := make([]byte, 12)
			key := uint32(0)
			if len(chunk) > 0 {
				key = chunk[0].key
			}
			binary.LittleEndian.PutUint32(r, key)
			binary.LittleEndian.PutUint32(r[4:], bid)
			binary.LittleEndian.PutUint32(r[8:], ib)
			up = append(up, rec{key, r})
		}
		if len(up) == 1 {
			return binary.LittleEndian.Uint32(up[0].b[4:]), binary.LittleEndian.Uint32(up[0].b[8:])
		}
		recs, cb, leafMax = up, 12, branchMax
		level++
	}
}

// page appends one BTPAGE: entries, cEnt, cEntMax, cbEnt, cLevel at 496..499 and the
// ANSI PAGETRAILER at 500 (ptype, ptypeRepeat, wSig, bid, CRC of bytes 0..499).
func (w *NDB) page(out *[]byte, ptype byte, recs []rec, cb, max, level int) (uint32, uint32) {
	ib := uint32(len(*out))
	bid := w.bid(false) // page bids share the bid space ([MS-PST] 2.2.2.7.1)
	p := make([]byte, pageSize)
	for i, r := range recs {
		copy(p[i*cb:], r.b)
	}
	p[496], p[497], p[498], p[499] = byte(len(recs)), byte(max), byte(cb), byte(level)
	p[500], p[501] = ptype, ptype
	binary.LittleEndian.PutUint16(p[502:], sig(ib, bid))
	binary.LittleEndian.PutUint32(p[504:], bid)
	binary.LittleEndian.PutUint32(p[508:], crc(p[:500]))
	*out = append(*out, p...)
	return bid, ib
}

// header fills the ANSI HEADER ([MS-PST] 2.2.2.6) at the start of out.
func (w *NDB) header(out []byte, nbtBID, nbtIB, bbtBID, bbtIB uint32) {
	le := binary.LittleEndian
	h := out[:pageSize]
	copy(h, "!BDN")
	copy(h[8:], "SM")                 // wMagicClient: PST
	le.PutUint16(h[10:], 14)          // wVer: ANSI
	le.PutUint16(h[12:], 19)          // wVerClient
	h[14], h[15] = 1, 1               // bPlatformCreate, bPlatformAccess
	le.PutUint32(h[24:], w.nextBID+4) // bidNextB
	le.PutUint32(h[28:], w.nextBID+8) // bidNextP
	le.PutUint32(h[32:], 1)           // dwUnique
	for i := 0; i < 32; i++ {         // rgnid: next nid index per type, past every nid used
		le.PutUint32(h[36+4*i:], 0x400000)
	}
	le.PutUint32(h[168:], uint32(len(out))) // ibFileEof
	le.PutUint32(h[184:], nbtBID)
	le.PutUint32(h[188:], nbtIB)
	le.PutUint32(h[192:], bbtBID)
	le.PutUint32(h[196:], bbtIB)
	h[200] = 0                           // fAMapValid: no allocation map is written (readers do not use it)
	h[460] = 0x80                        // bSentinel
	h[461] = 0                           // bCryptMethod: NDB_CRYPT_NONE
	le.PutUint32(h[4:], crc(h[8:8+471])) // dwCRCPartial
}
