package pst

import (
	"encoding/binary"
	"math"
	"time"
	"unicode/utf16"
)

// This file is the LTP layer ([MS-PST] 2.3): heap-on-node, BTH, property and table contexts.

// heap is a heap-on-node ([MS-PST] 2.3.1) over the data blocks of one node.
type heap struct {
	f      *File
	nid    uint32
	blocks [][]byte
	sub    map[uint32]Node
	client byte   // bClientSig: 0xBC PC, 0x7C TC, 0xB5 BTH
	root   uint32 // hidUserRoot
}

func (f *File) heap(n Node) (*heap, error) {
	blocks, err := f.Data(n.Data)
	if err != nil {
		return nil, err
	}
	if len(blocks) == 0 || len(blocks[0]) < 12 || blocks[0][2] != 0xEC {
		return nil, errf("heap", n.NID, n.Data, -1, "not a heap-on-node (HNHDR bSig)")
	}
	sub, err := f.Subnodes(n.Sub)
	if err != nil {
		return nil, err
	}
	return &heap{f: f, nid: n.NID, blocks: blocks, sub: sub, client: blocks[0][3], root: binary.LittleEndian.Uint32(blocks[0][4:])}, nil
}

// item returns the heap allocation hid ([MS-PST] 2.3.1.1 HID, 2.3.1.5 HNPAGEMAP).
func (h *heap) item(hid uint32) ([]byte, error) {
	if hid&0x1F != 0 {
		return nil, errf("heap", h.nid, 0, -1, "0x%x is not a heap id", hid)
	}
	idx, blk := int(hid>>5&0x7FF), int(hid>>16)
	if h.f.Format == FormatOST4K { // 4K files: 19-bit index, 13-bit block index (Mythicsoft notes)
		idx, blk = int(hid>>5&0x7FFFF), int(hid>>24)
	}
	if idx == 0 {
		return nil, nil
	}
	if blk >= len(h.blocks) {
		return nil, errf("heap", h.nid, 0, -1, "heap id 0x%x names block %d of %d", hid, blk, len(h.blocks))
	}
	p := h.blocks[blk]
	if len(p) < 2 {
		return nil, errf("heap", h.nid, 0, -1, "heap block %d is empty", blk)
	}
	le := binary.LittleEndian
	m := int(le.Uint16(p))
	if m+4 > len(p) {
		return nil, errf("heap", h.nid, 0, -1, "page map of block %d at %d is outside its %d bytes", blk, m, len(p))
	}
	cAlloc := int(le.Uint16(p[m:]))
	if idx > cAlloc || m+4+2*(cAlloc+1) > len(p) {
		return nil, errf("heap", h.nid, 0, -1, "heap id 0x%x: index %d of %d allocations", hid, idx, cAlloc)
	}
	lo, hi := int(le.Uint16(p[m+4+2*(idx-1):])), int(le.Uint16(p[m+4+2*idx:]))
	if lo > hi || hi > len(p) {
		return nil, errf("heap", h.nid, 0, -1, "heap id 0x%x: allocation %d..%d outside the block", hid, lo, hi)
	}
	return p[lo:hi], nil
}

// hnid reads an HNID ([MS-PST] 2.3.3.2): a heap id, or a subnode's whole data tree.
func (h *heap) hnid(v uint32) ([]byte, error) {
	if v == 0 {
		return nil, nil
	}
	if v&0x1F == 0 {
		return h.item(v)
	}
	n, ok := h.sub[v]
	if !ok {
		return nil, errf("heap", h.nid, 0, -1, "subnode 0x%x not found", v)
	}
	blocks, err := h.f.Data(n.Data)
	if err != nil {
		return nil, err
	}
	var out []byte
	for _, b := range blocks {
		out = append(out, b...)
	}
	return out, nil
}

// bth reads every record of the BTH whose header is at hid ([MS-PST] 2.3.2).
func (h *heap) bth(hid uint32) (keySize, dataSize int, recs [][]byte, err error) {
	hdr, err := h.item(hid)
	if err != nil {
		return 0, 0, nil, err
	}
	if len(hdr) < 8 || hdr[0] != 0xB5 {
		return 0, 0, nil, errf("heap", h.nid, 0, -1, "BTH header 0x%x is not a BTH", hid)
	}
	keySize, dataSize = int(hdr[1]), int(hdr[2])
	levels, root := int(hdr[3]), binary.LittleEndian.Uint32(hdr[4:])
	if keySize == 0 || keySize > 16 || levels > maxTreeDepth {
		return 0, 0, nil, errf("heap", h.nid, 0, -1, "BTH key size %d, %d levels", keySize, levels)
	}
	var walk func(hid uint32, level int) error
	walk = func(hid uint32, level int) error {
		p, err := h.item(hid)
		if err != nil {
			return err
		}
		if level == 0 {
			sz := keySize + dataSize
			for i := 0; i+sz <= len(p); i += sz {
				recs = append(recs, p[i:i+sz])
			}
			return nil
		}
		sz := keySize + 4
		for i := 0; i+sz <= len(p); i += sz {
			if err := walk(binary.LittleEndian.Uint32(p[i+keySize:]), level-1); err != nil {
				return err
			}
		}
		return nil
	}
	if root != 0 {
		err = walk(root, levels)
	}
	return keySize, dataSize, recs, err
}

// Property types ([MS-OXCDATA] 2.11.1).
const (
	PtInt16    = 0x0002
	PtInt32    = 0x0003
	PtFloat    = 0x0004
	PtDouble   = 0x0005
	PtCurrency = 0x0006
	PtAppTime  = 0x0007
	PtError    = 0x000A
	PtBool     = 0x000B
	PtObject   = 0x000D
	PtInt64    = 0x0014
	PtString8  = 0x001E
	PtUnicode  = 0x001F
	PtTime     = 0x0040
	PtGUID     = 0x0048
	PtBinary   = 0x0102
	PtMulti    = 0x1000
)

// Property is one property value: its tag (id << 16 | type) and its raw bytes.
type Property struct {
	Tag   uint32
	Value []byte
	// Lazy, when not 0, is the BID of the multi-block data tree holding the value, which
	// was not read (an attachment's bytes, streamed by [File.DataReader]); Value is nil.
	Lazy uint64
}

// ID and Type split the tag.
func (p Property) ID() uint16   { return uint16(p.Tag >> 16) }
func (p Property) Type() uint16 { return uint16(p.Tag) }

// String decodes a PT_UNICODE (UTF-16LE) or PT_STRING8 value (bytes as Latin-1 when not UTF-8).
func (p Property) String() string {
	switch p.Type() {
	case PtUnicode:
		return utf16le(p.Value)
	case PtString8:
		return string(trimNUL(p.Value))
	}
	return ""
}

func trimNUL(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}

func utf16le(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	for len(u) > 0 && u[len(u)-1] == 0 {
		u = u[:len(u)-1]
	}
	return string(utf16.Decode(u))
}

// Int decodes integer and boolean values.
func (p Property) Int() int64 {
	v := p.Value
	switch {
	case len(v) >= 8 && (p.Type() == PtInt64 || p.Type() == PtCurrency || p.Type() == PtTime):
		return int64(binary.LittleEndian.Uint64(v))
	case len(v) >= 4 && p.Type() != PtInt16 && p.Type() != PtBool:
		return int64(int32(binary.LittleEndian.Uint32(v)))
	case len(v) >= 2:
		return int64(int16(binary.LittleEndian.Uint16(v)))
	case len(v) == 1:
		return int64(v[0])
	}
	return 0
}

// Time decodes a PT_SYSTIME (FILETIME: 100 ns since 1601, UTC).
func (p Property) Time() time.Time {
	if p.Type() != PtTime || len(p.Value) < 8 {
		return time.Time{}
	}
	ft := binary.LittleEndian.Uint64(p.Value)
	const epochDiff = 116444736000000000 // 1601-01-01 to 1970-01-01 in 100 ns
	if ft < epochDiff || ft > math.MaxInt64 {
		return time.Time{}
	}
	d := ft - epochDiff
	return time.Unix(int64(d/1e7), int64(d%1e7)*100).UTC()
}

// Multi splits a multi-valued property ([MS-PST] 2.3.3.4): fixed-size values are an
// array; variable-size ones a count, offsets and the values.
func (p Property) Multi() [][]byte {
	if p.Type()&PtMulti == 0 {
		return nil
	}
	v := p.Value
	if sz := fixedSize(p.Type() &^ PtMulti); sz > 0 {
		var out [][]byte
		for i := 0; i+sz <= len(v); i += sz {
			out = append(out, v[i:i+sz])
		}
		return out
	}
	if len(v) < 4 {
		return nil
	}
	n := int(binary.LittleEndian.Uint32(v))
	if n > len(v)/4 {
		return nil
	}
	var out [][]byte
	for i := 0; i < n; i++ {
		lo := int(binary.LittleEndian.Uint32(v[4+4*i:]))
		hi := len(v)
		if i+1 < n {
			hi = int(binary.LittleEndian.Uint32(v[4+4*(i+1):]))
		}
		if lo < 4+4*n || lo > hi || hi > len(v) {
			return out
		}
		out = append(out, v[lo:hi])
	}
	return out
}

// fixedSize is the size of a fixed-size type, 0 for variable-size ones.
func fixedSize(t uint16) int {
	switch t {
	case PtInt16:
		return 2
	case PtInt32, PtFloat, PtError, PtBool:
		return 4
	case PtDouble, PtCurrency, PtAppTime, PtInt64, PtTime:
		return 8
	case PtGUID:
		return 16
	}
	return 0
}

// Props is a property context or a table row: properties by tag.
type Props map[uint32]Property

// Get returns the property with the given id, whatever its type.
func (ps Props) Get(id uint16) (Property, bool) {
	for tag, p := range ps {
		if uint16(tag>>16) == id {
			return p, true
		}
	}
	return Property{}, false
}

// Str returns the string property with the given id, "" when absent.
func (ps Props) Str(id uint16) string {
	p, _ := ps.Get(id)
	return p.String()
}

// PC reads the property context of node n ([MS-PST] 2.3.3).
func (f *File) PC(n Node) (Props, error) {
	h, err := f.heap(n)
	if err != nil {
		return nil, err
	}
	return h.pc()
}

func (h *heap) pc() (Props, error) {
	if h.client != 0xBC {
		return nil, errf("heap", h.nid, 0, -1, "not a property context (bClientSig 0x%x)", h.client)
	}
	k, d, recs, err := h.bth(h.root)
	if err != nil {
		return nil, err
	}
	if k != 2 || d != 6 {
		return nil, errf("heap", h.nid, 0, -1, "PC BTH of %d/%d-byte records", k, d)
	}
	ps := Props{}
	var firstErr error
	for _, r := range recs {
		le := binary.LittleEndian
		id, typ, v := le.Uint16(r), le.Uint16(r[2:]), le.Uint32(r[4:])
		tag := uint32(id)<<16 | uint32(typ)
		sz := fixedSize(typ)
		if sz > 0 && sz <= 4 {
			var b [4]byte
			le.PutUint32(b[:], v)
			ps[tag] = Property{Tag: tag, Value: b[:sz]}
			continue
		}
		if typ == PtObject && v&0x1F != 0 { // an object names its subnode; its reader opens it
			ps[tag] = Property{Tag: tag, Value: le.AppendUint32(nil, v)}
			continue
		} // else a heap item: the subnode nid, then the object's size ([MS-PST] 2.3.3.5)
		if n, ok := h.sub[v]; ok && id == PidAttachData && typ == PtBinary && v&0x1F != 0 && n.Data&2 != 0 {
			ps[tag] = Property{Tag: tag, Lazy: n.Data} // more than one block: streamed when written
			continue
		}
		val, err := h.hnid(v)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		ps[tag] = Property{Tag: tag, Value: val}
	}
	return ps, firstErr
}

// Table reads the table context of node n ([MS-PST] 2.3.4): one Props per row, in row order.
func (f *File) Table(n Node) ([]Props, error) {
	h, err := f.heap(n)
	if err != nil {
		return nil, err
	}
	if h.client != 0x7C {
		return nil, errf("table", n.NID, 0, -1, "not a table context (bClientSig 0x%x)", h.client)
	}
	info, err := h.item(h.root)
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	if len(info) < 22 || info[0] != 0x7C {
		return nil, errf("table", n.NID, 0, -1, "bad TCINFO")
	}
	cols := int(info[1])
	ceb, rowSize := int(le.Uint16(info[2+4:])), int(le.Uint16(info[2+6:]))
	rowsHNID := le.Uint32(info[14:])
	if len(info) < 22+8*cols || rowSize == 0 || ceb+(cols+7)/8 > rowSize {
		return nil, errf("table", n.NID, 0, -1, "TCINFO: %d columns, rows of %d bytes", cols, rowSize)
	}
	type col struct {
		tag     uint32
		off, cb int
		bit     int
	}
	cs := make([]col, cols)
	for i := range cs {
		d := info[22+8*i:]
		cs[i] = col{le.Uint32(d), int(le.Uint16(d[4:])), int(d[6]), int(d[7])}
		if cs[i].off+cs[i].cb > rowSize || cs[i].bit >= cols {
			return nil, errf("table", n.NID, 0, -1, "column 0x%08x outside the row", cs[i].tag)
		}
	}
	// The row matrix: a heap item, or a subnode whose blocks each hold whole rows.
	var blocks [][]byte
	if rowsHNID&0x1F == 0 {
		b, err := h.item(rowsHNID)
		if err != nil {
			return nil, err
		}
		blocks = [][]byte{b}
	} else if sn, ok := h.sub[rowsHNID]; ok {
		if blocks, err = f.Data(sn.Data); err != nil {
			return nil, err
		}
	} else if rowsHNID != 0 {
		return nil, errf("table", n.NID, 0, -1, "row matrix subnode 0x%x not found", rowsHNID)
	}
	var rows []Props
	var firstErr error
	for _, b := range blocks {
		for i := 0; i+rowSize <= len(b); i += rowSize {
			r := b[i : i+rowSize]
			ps := Props{}
			for _, c := range cs {
				if r[ceb+c.bit/8]&(0x80>>(c.bit%8)) == 0 {
					continue
				}
				typ := uint16(c.tag)
				cell := r[c.off : c.off+c.cb]
				if sz := fixedSize(typ); sz > 0 && sz <= 8 { // stored in the cell ([MS-PST] 2.3.4.4.1)
					ps[c.tag] = Property{Tag: c.tag, Value: cell}
					continue
				}
				if c.cb < 4 {
					continue
				}
				val, err := h.hnid(le.Uint32(cell))
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					continue
				}
				ps[c.tag] = Property{Tag: c.tag, Value: val}
			}
			rows = append(rows, ps)
		}
	}
	return rows, firstErr
}
