package pstwrite

// This file is the LTP layer of the writer ([MS-PST] 2.3): a one-block
// heap-on-node, BTHs of one leaf, property contexts and table contexts.

import (
	"encoding/binary"
	"fmt"
	"sort"
)

// Property types ([MS-OXCDATA] 2.11.1).
const (
	PtInt32   = 0x0003
	PtBool    = 0x000B
	PtString8 = 0x001E
	PtTime    = 0x0040
	PtBinary  = 0x0102
	PtInt64   = 0x0014
)

// maxHeapItem is the largest heap allocation ([MS-PST] 2.3.3.3: larger values go
// into a subnode).
const maxHeapItem = 3580

// Prop is one property: tag (id << 16 | type) and its value bytes.
type Prop struct {
	Tag   uint32
	Value []byte
}

// heapBuilder builds a heap-on-node ([MS-PST] 2.3.1) over as many blocks as its
// allocations need: block 0 starts with the HNHDR (ibHnpm, bSig 0xEC, bClientSig,
// hidUserRoot, rgbFillLevel), block 8 and every 128th after it with an
// HNBITMAPHDR (ibHnpm, rgbFillLevel of 64 bytes), the others with an HNPAGEHDR
// (ibHnpm); each block ends with its HNPAGEMAP (cAlloc, cFree, rgibAlloc).
type heapBuilder struct {
	client byte
	blocks [][][]byte // allocations by block
	used   []int      // bytes of header and allocations by block
	root   uint32
}

func heapHeader(block int) int {
	switch {
	case block == 0:
		return 12
	case block%128 == 8:
		return 66
	}
	return 2
}

// alloc adds an allocation and returns its HID (hidType 0, hidIndex from 1 within
// its block, hidBlockIndex, 2.3.1.1).
func (h *heapBuilder) alloc(p []byte) uint32 {
	fits := func(i int) bool {
		n := len(h.blocks[i]) + 1
		return h.used[i]+len(p)+1+4+2*(n+1) <= maxBlockData
	}
	last := len(h.blocks) - 1
	if last < 0 || !fits(last) {
		h.blocks = append(h.blocks, nil)
		last++
		h.used = append(h.used, heapHeader(last))
		if !fits(last) {
			panic(fmt.Sprintf("pstwrite: heap allocation of %d bytes", len(p)))
		}
	}
	h.blocks[last] = append(h.blocks[last], p)
	h.used[last] += len(p)
	return uint32(last)<<16 | uint32(len(h.blocks[last]))<<5
}

func (h *heapBuilder) bytes() [][]byte {
	le := binary.LittleEndian
	if len(h.blocks) == 0 {
		h.blocks, h.used = [][][]byte{nil}, []int{12}
	}
	var out [][]byte
	for bi, items := range h.blocks {
		b := make([]byte, heapHeader(bi))
		if bi == 0 {
			b[2], b[3] = 0xEC, h.client
			le.PutUint32(b[4:], h.root)
		}
		offs := []uint16{}
		for _, it := range items {
			offs = append(offs, uint16(len(b)))
			b = append(b, it...)
		}
		offs = append(offs, uint16(len(b)))
		if len(b)%2 == 1 {
			b = append(b, 0)
		}
		le.PutUint16(b, uint16(len(b)))
		b = le.AppendUint16(b, uint16(len(items)))
		b = le.AppendUint16(b, 0)
		for _, o := range offs {
			b = le.AppendUint16(b, o)
		}
		out = append(out, b)
	}
	return out
}

// bth adds a BTH ([MS-PST] 2.3.2: BTHHEADER bType 0xB5, cbKey, cbEnt, bIdxLevels,
// hidRoot) over records sorted by key: leaves of at most 3,580 bytes, and index
// levels of (key, hid) records (2.3.2.2) while a level needs more than one. It
// returns the header's HID. (libpst reads only BTHs of one leaf: PCs and the row
// indexes of tables of at most 596 rows stay so.)
func (h *heapBuilder) bth(cbKey, cbEnt int, recs [][]byte) uint32 {
	var root uint32
	levels := 0
	for len(recs) > 0 {
		per := maxHeapItem / len(recs[0])
		var up [][]byte
		for i := 0; i < len(recs); i += per {
			var node []byte
			for _, r := range recs[i:min(i+per, len(recs))] {
				node = append(node, r...)
			}
			hid := h.alloc(node)
			up = append(up, binary.LittleEndian.AppendUint32(append([]byte(nil), recs[i][:cbKey]...), hid))
		}
		if len(up) == 1 {
			root = binary.LittleEndian.Uint32(up[0][cbKey:])
			break
		}
		recs = up
		levels++
	}
	hdr := []byte{0xB5, byte(cbKey), byte(cbEnt), byte(levels), 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(hdr[4:], root)
	return h.alloc(hdr)
}

// fixedSize is the size of a fixed-size type, 0 for variable-size ones.
func fixedSize(t uint16) int {
	switch t {
	case 0x0002:
		return 2
	case PtInt32, PtBool, 0x0004, 0x000A:
		return 4
	case PtTime, PtInt64, 0x0005, 0x0006, 0x0007:
		return 8
	}
	return 0
}

// subAlloc hands out the subnodes of one node that hold large values, with nids
// of type NID_TYPE_LTP (0x1F, [MS-PST] 2.2.2.1), the type Outlook gives them
// [I: libpst is recalled to follow an HNID into a subnode only when its low 4
// bits are 0xF; verified only that readpst 0.6.76 reads these].
type subAlloc struct {
	next  uint32
	nodes []Node
}

func (s *subAlloc) ltp(w *NDB, v []byte) uint32 {
	s.next++
	nid := s.next<<5 | 0x1F
	s.nodes = append(s.nodes, Node{NID: nid, Data: w.Data(v)})
	return nid
}

// ltpBlocks is ltp for a value whose blocks are given (a row matrix).
func (s *subAlloc) ltpBlocks(w *NDB, blocks [][]byte) uint32 {
	s.next++
	nid := s.next<<5 | 0x1F
	s.nodes = append(s.nodes, Node{NID: nid, Data: w.DataBlocks(blocks)})
	return nid
}

// hnid stores a variable-size value: a heap item up to 3,580 bytes, else a subnode
// ([MS-PST] 2.3.3.3 HNID).
func hnid(w *NDB, h *heapBuilder, s *subAlloc, v []byte) uint32 {
	if len(v) == 0 {
		return 0
	}
	if len(v) <= maxHeapItem {
		return h.alloc(v)
	}
	return s.ltp(w, v)
}

// PC builds a property context ([MS-PST] 2.3.3): a BTH of 2-byte property ids and
// 6-byte PropEntryData (wPropType, dwValueHnid), values of at most 4 bytes inline.
// It returns the heap's blocks; large values go into subnodes added to s.
func PC(w *NDB, s *subAlloc, props []Prop) [][]byte {
	props = append([]Prop(nil), props...)
	sort.Slice(props, func(i, j int) bool { return props[i].Tag>>16 < props[j].Tag>>16 })
	h := &heapBuilder{client: 0xBC}
	var recs [][]byte
	for _, p := range props {
		r := make([]byte, 8)
		binary.LittleEndian.PutUint16(r, uint16(p.Tag>>16))
		binary.LittleEndian.PutUint16(r[2:], uint16(p.Tag))
		if sz := fixedSize(uint16(p.Tag)); sz > 0 && sz <= 4 {
			copy(r[4:], p.Value[:sz])
		} else {
			binary.LittleEndian.PutUint32(r[4:], hnid(w, h, s, p.Value))
		}
		recs = append(recs, r)
	}
	h.root = h.bth(2, 6, recs)
	return h.bytes()
}

// TC builds a table context ([MS-PST] 2.3.4): TCINFO, the row index BTH (dwRowID
// -> 2-byte ANSI dwRowIndex, 2.3.4.3) and the row matrix: one heap item up to
// 3,580 bytes, else a subnode whose blocks each hold whole rows (2.3.4.4). cols
// lists the column tags; row ids (PidTagLtpRowId 0x67F2) and versions (0x67F3)
// are added as columns 0 and 1. rows[i] maps tags to values; ids[i] is its row id.
func TC(w *NDB, s *subAlloc, cols []uint32, ids []uint32, rows []map[uint32][]byte) [][]byte {
	le := binary.LittleEndian
	all := append([]uint32{0x67F20003, 0x67F30003}, cols...)
	type col struct {
		tag     uint32
		off, cb int
		bit     int
	}
	cs := make([]col, len(all))
	for i, t := range all {
		cb := fixedSize(uint16(t))
		if cb == 0 {
			cb = 4 // an HNID
		}
		cs[i] = col{tag: t, cb: cb, bit: i}
	}
	// Cells by size group ([MS-PST] 2.3.4.1 rgib): 8- and 4-byte, then 2, then 1,
	// then the cell existence bitmap.
	off := 0
	var ends [4]int
	for gi, g := range [][2]int{{8, 4}, {2, 2}, {1, 1}} {
		for i := range cs {
			if cs[i].cb == g[0] || cs[i].cb == g[1] {
				cs[i].off = off
				off += cs[i].cb
			}
		}
		ends[gi] = off
	}
	ends[3] = off + (len(cs)+7)/8
	rowSize := ends[3]
	h := &heapBuilder{client: 0x7C}
	var matrix []byte
	var idx [][]byte
	for ri, row := range rows {
		r := make([]byte, rowSize)
		for _, c := range cs {
			var v []byte
			switch c.tag {
			case 0x67F20003:
				v = le.AppendUint32(nil, ids[ri])
			case 0x67F30003:
				v = le.AppendUint32(nil, 1)
			default:
				var ok bool
				if v, ok = row[c.tag]; !ok {
					continue
				}
			}
			if fixedSize(uint16(c.tag)) > 0 {
				copy(r[c.off:c.off+c.cb], v)
			} else {
				le.PutUint32(r[c.off:], hnid(w, h, s, v))
			}
			r[ends[2]+c.bit/8] |= 0x80 >> (c.bit % 8)
		}
		matrix = append(matrix, r...)
		e := make([]byte, 6)
		le.PutUint32(e, ids[ri])
		le.PutUint16(e[4:], uint16(ri))
		idx = append(idx, e)
	}
	sort.Slice(idx, func(i, j int) bool { return le.Uint32(idx[i]) < le.Uint32(idx[j]) })
	rowIndex := h.bth(4, 2, idx)
	var rowsHNID uint32
	switch {
	case len(matrix) > maxHeapItem:
		per := maxBlockData / rowSize * rowSize
		var blocks [][]byte
		for off := 0; off < len(matrix); off += per {
			blocks = append(blocks, matrix[off:min(off+per, len(matrix))])
		}
		rowsHNID = s.ltpBlocks(w, blocks)
	case len(matrix) > 0:
		rowsHNID = h.alloc(matrix)
	}
	info := []byte{0x7C, byte(len(cs))}
	for _, e := range ends {
		info = le.AppendUint16(info, uint16(e))
	}
	info = le.AppendUint32(info, rowIndex)
	info = le.AppendUint32(info, rowsHNID)
	info = le.AppendUint32(info, 0) // hidIndex: deprecated
	sorted := append([]col(nil), cs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].tag < sorted[j].tag })
	for _, c := range sorted {
		info = le.AppendUint32(info, c.tag)
		info = le.AppendUint16(info, uint16(c.off))
		info = append(info, byte(c.cb), byte(c.bit))
	}
	h.root = h.alloc(info)
	return h.bytes()
}
