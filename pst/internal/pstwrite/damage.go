package pstwrite

import (
	"encoding/binary"
	"sort"
)

// Damaged variants of Sample for the tests of a damaged file: what is damaged and
// which messages that must cost.

// Truncated returns Sample(n) cut inside the blocks of its last messages: the cut
// falls in the first block of the lost-th message from the end, so the lost
// messages cannot be read and every other can; gone maps the bids of their blocks
// to their NIDs. The B-tree pages lie before the blocks (NDB.Bytes), so both
// trees survive.
func Truncated(n, lost int) (file []byte, folders []*Folder, gone map[uint32]uint32) {
	w, folders := Build("Top of Personal Folders", Sample(n))
	file = w.Bytes()
	type ext struct {
		nid   uint32
		start uint32
	}
	var all []ext
	for nid := range w.spans {
		s, _, _ := w.Extent(nid)
		all = append(all, ext{nid, s})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].start < all[j].start })
	cut := all[len(all)-lost].start + 30
	gone = map[uint32]uint32{}
	for _, e := range all[len(all)-lost:] {
		sp := w.spans[e.nid]
		for bid := range w.offsets {
			if bid&^3 >= sp[0]&^3 && bid&^3 <= sp[1]&^3 {
				gone[bid] = e.nid
			}
		}
	}
	return file[:cut], folders, gone
}

// Corrupted returns Sample(n) with two blocks damaged: the property context of
// message badPC (its HNHDR signature zeroed: not a heap-on-node, [MS-PST] 2.3.1.2),
// and the trailer of the second data block of the 20,000-byte attachment of
// message badAttach (Sample's message 0; the block's bid in the trailer zeroed, so
// that its signature and bid no longer match, 2.2.2.8.1). badBlock is that bid.
func Corrupted(n int) (file []byte, folders []*Folder, badPC, badAttach, badBlock uint32) {
	w, folders := Build("Top of Personal Folders", Sample(n))
	file = w.Bytes()
	var msgs []*Message
	var walk func(f *Folder)
	walk = func(f *Folder) {
		msgs = append(msgs, f.Messages...)
		for _, c := range f.Children {
			walk(c)
		}
	}
	for _, f := range folders {
		walk(f)
	}
	for _, m := range msgs {
		if m.Subject == "Message 0 in Folder 0" {
			badAttach = m.NID
		}
	}
	badPC = msgs[len(msgs)/2].NID
	if badPC == badAttach {
		badPC = msgs[len(msgs)/2+1].NID
	}
	nd, _ := w.NodeOf(badPC)
	ib := w.offsets[nd.Data]
	file[ib+2] = 0 // bSig 0xEC
	// The attachment's data tree: the message's SLBLOCK lists the attachment,
	// whose own SLBLOCK lists the LTP subnode holding the XBLOCK.
	mn, _ := w.NodeOf(badAttach)
	att := slentries(w, mn.Sub)[0] // the attachment object (nid 0x25 sorts first)
	data := slentries(w, att.Sub)[0]
	x := w.blockData(data.Data)
	badBlock = binary.LittleEndian.Uint32(x[8+4:])
	t := w.offsets[badBlock] + blockSize(w.size[badBlock]) - blockTrailer
	binary.LittleEndian.PutUint32(file[t+4:], 0)
	return file, folders, badPC, badAttach, badBlock
}

func (w *NDB) blockData(bid uint32) []byte {
	for _, b := range w.blocks {
		if b.bid == bid {
			return b.data
		}
	}
	return nil
}

// slentries parses the SLBLOCK bid as Subnodes wrote it.
func slentries(w *NDB, bid uint32) []Node {
	p := w.blockData(bid)
	var out []Node
	for i := 4; i+12 <= len(p); i += 12 {
		le := binary.LittleEndian
		out = append(out, Node{NID: le.Uint32(p[i:]), Data: le.Uint32(p[i+4:]), Sub: le.Uint32(p[i+8:])})
	}
	return out
}
