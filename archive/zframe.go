package archive

import "encoding/binary"

// frameCheck follows the structure of the zstd frame a record stream holds
// (RFC 8878 §3.1.1) as its bytes go by, without decompressing, so that a
// reader rejects what SPEC.md §4 forbids and a zstd decoder would accept: a
// frame without a content checksum, a second frame (or skippable frame)
// after the first, and a reserved block type. The decoder still checks
// everything inside the blocks.
type frameCheck struct {
	state  int
	hdr    []byte // bytes of the part being collected
	need   int    // bytes still to collect or skip
	last   bool   // the current block is the frame's last
	single bool
}

const (
	fcMagic       = iota // collecting the 4-byte magic
	fcFHD                // the Frame_Header_Descriptor
	fcHeaderRest         // skipping window descriptor, dictionary id, content size
	fcBlockHeader        // collecting a 3-byte block header
	fcBlockBody          // skipping a block's content
	fcChecksum           // skipping the 4-byte content checksum
	fcDone               // the frame ended; nothing may follow
)

const zstdMagic = 0xFD2FB528

func (f *frameCheck) done() bool { return f.state == fcDone }

func (f *frameCheck) feed(p []byte) error {
	for len(p) > 0 {
		switch f.state {
		case fcMagic, fcBlockHeader:
			want := 4
			if f.state == fcBlockHeader {
				want = 3
			}
			n := min(want-len(f.hdr), len(p))
			f.hdr = append(f.hdr, p[:n]...)
			p = p[n:]
			if len(f.hdr) < want {
				continue
			}
			if f.state == fcMagic {
				if binary.LittleEndian.Uint32(f.hdr) != zstdMagic {
					return errf(ErrFormat, "record is not a zstd frame")
				}
				f.state = fcFHD
			} else {
				h := uint32(f.hdr[0]) | uint32(f.hdr[1])<<8 | uint32(f.hdr[2])<<16
				f.last = h&1 != 0
				size := int(h >> 3)
				switch (h >> 1) & 3 {
				case 1: // RLE: one byte on disk
					size = 1
				case 3:
					return errf(ErrFormat, "zstd reserved block type")
				}
				f.need = size
				f.state = fcBlockBody
				if size == 0 {
					f.endBlock()
				}
			}
			f.hdr = f.hdr[:0]
		case fcFHD:
			d := p[0]
			p = p[1:]
			if d&0x04 == 0 {
				return errf(ErrFormat, "zstd frame has no content checksum")
			}
			single := d&0x20 != 0
			n := 0
			if !single {
				n++ // Window_Descriptor
			}
			n += [4]int{0, 1, 2, 4}[d&3]
			fcs := [4]int{0, 2, 4, 8}[d>>6]
			if d>>6 == 0 && single {
				fcs = 1
			}
			f.need = n + fcs
			f.state = fcHeaderRest
			if f.need == 0 {
				f.state = fcBlockHeader
			}
		case fcHeaderRest, fcBlockBody, fcChecksum:
			n := min(f.need, len(p))
			f.need -= n
			p = p[n:]
			if f.need > 0 {
				continue
			}
			switch f.state {
			case fcHeaderRest:
				f.state = fcBlockHeader
			case fcBlockBody:
				f.endBlock()
			case fcChecksum:
				f.state = fcDone
			}
		case fcDone:
			return errf(ErrFormat, "record has data after its zstd frame")
		}
	}
	return nil
}

func (f *frameCheck) endBlock() {
	if f.last {
		f.state, f.need = fcChecksum, 4
	} else {
		f.state = fcBlockHeader
	}
}
