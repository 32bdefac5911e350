package archive

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"

	"github.com/klauspost/compress/zstd"
)

// A Preparer hashes and compresses entries ahead of writing them, in the
// spirit of archive/zip's CreateRaw: Prepare runs on the caller's
// goroutine, and [Writer.WritePrepared] only appends the finished record.
// A program that feeds one Writer from several goroutines (one per
// mailbox) then compresses on every core and holds its writer lock for a
// copy, not for the compression. A Preparer is not safe for concurrent
// use: keep one per goroutine, and Close it to hand its encoder on.
type Preparer struct {
	c   *compressor
	sha hash.Hash
	p   Prepared
}

// Prepared is an entry ready for [Writer.WritePrepared]. It borrows its
// Preparer's buffers: it is valid until that Preparer's next Prepare.
type Prepared struct {
	hdr    Header
	size   int64
	digest [32]byte
	meta   []byte
	frame  []byte // the compressed record stream of the entry record
}

// Size returns the body size of the prepared entry.
func (p *Prepared) Size() int64 { return p.size }

// NewPreparer returns a Preparer that compresses at level (0 means
// zstd.SpeedDefault, as for [WriterOptions]).
func NewPreparer(level zstd.EncoderLevel) (*Preparer, error) {
	if level == 0 {
		level = zstd.SpeedDefault
	}
	c, err := getCompressor(level)
	if err != nil {
		return nil, err
	}
	return &Preparer{c: c, sha: sha256.New()}, nil
}

// Prepare hashes and compresses an entry whose whole body is in memory.
// h.Size must be -1 or len(body).
func (pp *Preparer) Prepare(h *Header, body []byte) (*Prepared, error) {
	if h.Size >= 0 && h.Size != int64(len(body)) {
		return nil, errf(ErrShortWrite, "entry %s: body of %d bytes for size %d", h.label(), len(body), h.Size)
	}
	if err := validateHeader(h); err != nil {
		return nil, err
	}
	p := &pp.p
	p.hdr = *h
	p.size = int64(len(body))
	p.meta = encodeMeta(p.meta[:0], h, p.size)
	c := pp.c
	c.scratch = append(c.scratch[:0], recEntry)
	c.scratch = binary.AppendUvarint(c.scratch, uint64(len(p.meta)))
	c.scratch = append(c.scratch, p.meta...)
	c.scratch = append(c.scratch, body...)
	// As in Writer.Flush: a large body is hashed on another core while it
	// compresses.
	if len(body) >= parallelHashMin {
		hashed := make(chan struct{})
		go func() {
			pp.sha.Reset()
			pp.sha.Write(body)
			pp.sha.Sum(p.digest[:0])
			close(hashed)
		}()
		c.frame = c.enc.EncodeAll(c.scratch, c.frame[:0])
		<-hashed
	} else {
		pp.sha.Reset()
		pp.sha.Write(body)
		pp.sha.Sum(p.digest[:0])
		c.frame = c.enc.EncodeAll(c.scratch, c.frame[:0])
	}
	p.frame = c.frame
	return p, nil
}

// Close hands the Preparer's encoder to later writers and preparers.
func (pp *Preparer) Close() {
	if pp.c == nil {
		return
	}
	pp.c.release()
	pp.c = nil
}

// WritePrepared finishes the current entry, if any, and writes p as the
// next one: a reference record if its body is stored already, else p's
// compressed record as it is.
func (w *Writer) WritePrepared(p *Prepared) error {
	if err := w.Flush(); err != nil {
		return err
	}
	// The meta is copied: the manifest keeps it, and p's buffers are reused.
	meta := append([]byte(nil), p.meta...)
	return w.record(&p.hdr, p.size, w.out.N, p.digest, meta, func() (int64, error) {
		return w.writeFrame(p.frame)
	})
}

// WritePrepared writes a prepared entry; see [Writer.WritePrepared]. When
// the volume has reached the volume size, it first closes this part and
// starts the next.
func (rw *RoundWriter) WritePrepared(p *Prepared) error {
	if err := rw.rotate(p.size); err != nil {
		return err
	}
	return rw.fail(rw.w.WritePrepared(p))
}
