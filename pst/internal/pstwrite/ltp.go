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

// heapBuilder builds a heap-on-node of one block ([MS-PST] 2.3.1): HNHDR (ibHnpm,
// bSig 0xEC, bClientSig, hidUserRoot, rgbFillLevel), the allocations, then the
// HNPAGEMAP (cAlloc, cFree, rgibAlloc).
type heapBuilder struct {
	client byte
	items  [][]byte
	root   uint32
}

// alloc adds an allocation and returns its HID (hidType 0, hidIndex from 1, block 0).
func (h *heapBuilder) alloc(p []byte) uint32 {
	h.items = append(h.items, p)
	return uint32(len(h.items)) << 5
}

func (h *heapBuilder) bytes() []byte {
	le := binary.LittleEndian
	out := make([]byte, 12)
	out[2], out[3] = 0xEC, h.client
	le.PutUint32(out[4:], h.root)
	offs := []uint16{}
	for _, it := range h.items {
		offs = append(offs, uint16(len(out)))
		out = append(out, it...)
	}
	offs = append(offs, uint16(len(out)))
	if len(out)%2 == 1 {
		out = append(out, 0)
	}
	le.PutUint16(out, uint16(len(out)))
	out = le.AppendUint16(out, uint16(len(h.items)))
	out = le.AppendUint16(out, 0)
	for _, o := range offs {
		out = le.AppendUint16(out, o)
	}
	if len(out) > maxBlockData {
		panic(fmt.Sprintf("pstwrite: heap of %d bytes exceeds one block", len(out)))
	}
	return out
}

// bth adds a BTH of one leaf ([MS-PST] 2.3.2: BTHHEADER bType 0xB5, cbKey, cbEnt,
// bIdxLevels 0, hidRoot) over records already sorted by key; it returns the
// header's HID.
func (h *heapBuilder) bth(cbKey, cbEnt int, recs [][]byte) uint32 {
	var leaf []byte
	for _, r := range recs {
		leaf = append(leaf, r...)
	}
	if len(leaf) > maxHeapItem {
		panic(fmt.Sprintf("pstwrite: BTH leaf of %d bytes needs index levels, not written", len(leaf)))
	}
	var root uint32
	if len(leaf) > 0 {
		root = h.alloc(leaf)
	}
	hdr := []byte{0xB5, byte(cbKey), byte(cbEnt), 0, 0, 0, 0, 0}
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

// ltpNID is the next subnode nid of type NID_TYPE_LTP (0x1F, [MS-PST] 2.2.2.1),
// the type Outlook gives subnodes holding large values (libpst follows an HNID to a
// subnode only when its low 4 bits are 0xF).
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
// It returns the heap's bytes; large values go into subnodes added to s.
func PC(w *NDB, s *subAlloc, props []Prop) []byte {
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
// -> 2-byte ANSI dwRowIndex, 2.3.4.3) and the row matrix in one heap item. cols
// lists the column tags; row ids (PidTagLtpRowId 0x67F2) and versions (0x67F3)
// are added as columns 0 and 1. rows[i] maps tags to values; ids[i] is its row id.
func TC(w *NDB, s *subAlloc, cols []uint32, ids []uint32, rows []map[uint32][]byte) []byte {
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
	if len(matrix) > 0 {
		if len(matrix) > maxHeapItem {
			panic(fmt.Sprintf("pstwrite: row matrix of %d bytes (%d rows) needs a subnode, not written", len(matrix), len(rows)))
		}
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
