package archive

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"hash/crc32"
	"io"

	"golang.org/x/crypto/chacha20poly1305"
)

const finalBit = 1 << 31

// recordWriter splits a record stream into chunks (SPEC.md §3.3) and
// writes them to out. It buffers one chunk, so that the final bit can be
// set on the last one. It is reused for every record of a volume.
type recordWriter struct {
	out   io.Writer
	aead  cipher.AEAD // nil: plain chunks with CRC32C
	buf   []byte      // pending chunk data, at buf[4:]
	nonce [24]byte
	index uint64
	n     int64 // bytes written to out for the current record
	err   error
}

func newRecordWriter(out io.Writer, key []byte) (*recordWriter, error) {
	rw := &recordWriter{out: out, buf: make([]byte, 4, 4+writeChunk+tagSize)}
	if key != nil {
		a, err := chacha20poly1305.NewX(key)
		if err != nil {
			return nil, err
		}
		rw.aead = a
	}
	return rw, nil
}

// begin starts a new record.
func (rw *recordWriter) begin() error {
	rw.buf = rw.buf[:4]
	rw.index = 0
	rw.n = 0
	if rw.aead != nil {
		if _, err := rand.Read(rw.nonce[:nonceSize]); err != nil {
			return err
		}
		return rw.emit(rw.nonce[:nonceSize])
	}
	return nil
}

func (rw *recordWriter) emit(p []byte) error {
	if rw.err != nil {
		return rw.err
	}
	n, err := rw.out.Write(p)
	rw.n += int64(n)
	if err != nil {
		rw.err = err
	}
	return err
}

func (rw *recordWriter) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		if len(rw.buf)-4 == writeChunk {
			if err := rw.flushChunk(false); err != nil {
				return total - len(p), err
			}
		}
		n := copy(rw.buf[len(rw.buf):4+writeChunk], p)
		rw.buf = rw.buf[:len(rw.buf)+n]
		p = p[n:]
	}
	return total, rw.err
}

// end writes the last chunk with the final bit and returns the record's
// length on disk.
func (rw *recordWriter) end() (int64, error) {
	if err := rw.flushChunk(true); err != nil {
		return 0, err
	}
	return rw.n, nil
}

func (rw *recordWriter) flushChunk(final bool) error {
	data := rw.buf[4:]
	if len(data) == 0 {
		return errf(ErrFormat, "empty record")
	}
	l := uint32(len(data))
	if rw.aead != nil {
		l += tagSize
	}
	if final {
		l |= finalBit
	}
	binary.LittleEndian.PutUint32(rw.buf[:4], l)
	if rw.aead != nil {
		binary.LittleEndian.PutUint64(rw.nonce[nonceSize:], rw.index)
		rw.buf = rw.aead.Seal(rw.buf[:4], rw.nonce[:], data, rw.buf[:4])
	} else {
		rw.buf = binary.LittleEndian.AppendUint32(rw.buf, crc32.Checksum(rw.buf, castagnoli))
	}
	err := rw.emit(rw.buf)
	rw.index++
	rw.buf = rw.buf[:4]
	return err
}

// recordReader reads one record's stream from in (positioned at the
// record's start), checking every chunk. It reports how many bytes of in
// the record used. Damage is ErrChecksum or ErrFormat; a short read is
// io.ErrUnexpectedEOF.
type recordReader struct {
	in    io.Reader
	aead  cipher.AEAD
	nonce [24]byte
	index uint64
	buf   []byte
	data  []byte // unread plaintext of the current chunk
	final bool
	n     int64
	err   error
	frame frameCheck
}

func newRecordReader(in io.Reader, aead cipher.AEAD) *recordReader {
	return &recordReader{in: in, aead: aead}
}

func (rr *recordReader) reset(in io.Reader) {
	rr.in, rr.index, rr.data, rr.final, rr.n, rr.err, rr.frame = in, 0, nil, false, 0, nil, frameCheck{}
}

func (rr *recordReader) Read(p []byte) (int, error) {
	for len(rr.data) == 0 {
		if rr.err != nil {
			return 0, rr.err
		}
		if rr.final {
			rr.err = io.EOF
			return 0, io.EOF
		}
		rr.err = rr.next()
	}
	n := copy(p, rr.data)
	rr.data = rr.data[n:]
	return n, nil
}

func (rr *recordReader) readFull(p []byte) error {
	n, err := io.ReadFull(rr.in, p)
	rr.n += int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

func (rr *recordReader) next() error {
	if rr.index == 0 && rr.aead != nil {
		if err := rr.readFull(rr.nonce[:nonceSize]); err != nil {
			return err
		}
	}
	var hdr [4]byte
	if err := rr.readFull(hdr[:]); err != nil {
		return err
	}
	h := binary.LittleEndian.Uint32(hdr[:])
	l := int(h &^ finalBit)
	max := maxChunk
	if rr.aead != nil {
		max += tagSize
	}
	if l == 0 || l > max || (rr.aead != nil && l <= tagSize) {
		return errf(ErrFormat, "chunk length %d", l)
	}
	extra := 4
	if rr.aead != nil {
		extra = 0
	}
	if cap(rr.buf) < l+extra {
		rr.buf = make([]byte, l+extra)
	}
	rr.buf = rr.buf[:l+extra]
	if err := rr.readFull(rr.buf); err != nil {
		return err
	}
	if rr.aead != nil {
		binary.LittleEndian.PutUint64(rr.nonce[nonceSize:], rr.index)
		pt, err := rr.aead.Open(rr.buf[:0], rr.nonce[:], rr.buf, hdr[:])
		if err != nil {
			return errf(ErrChecksum, "chunk %d authentication failed", rr.index)
		}
		rr.data = pt
	} else {
		crc := crc32.Update(crc32.Checksum(hdr[:], castagnoli), castagnoli, rr.buf[:l])
		if crc != binary.LittleEndian.Uint32(rr.buf[l:]) {
			return errf(ErrChecksum, "chunk %d crc", rr.index)
		}
		rr.data = rr.buf[:l]
	}
	rr.final = h&finalBit != 0
	rr.index++
	if err := rr.frame.feed(rr.data); err != nil {
		return err
	}
	if rr.final && !rr.frame.done() {
		return errf(ErrFormat, "record ends inside its zstd frame")
	}
	return nil
}
