package archive

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"

	"github.com/klauspost/compress/zstd"
)

// RefResolver returns the digest and size of a body stored in an earlier
// volume, for recovering type-2 records (SPEC.md §8).
type RefResolver func(ref Ref) (digest [32]byte, size int64, ok bool)

// A Scan is the result of [Recover]: the complete entries of a torn volume
// and where its valid part ends.
type Scan struct {
	Info    VolumeInfo // Round, Part, ArchiveID, Encrypted; no manifest fields
	Entries []*Entry
	// End is the offset just after the last complete record: the size to
	// truncate the volume to before writing continues.
	End int64
	// Reason says why the scan stopped (nil at a clean end of file).
	Reason error
	// VolumeKey is the key of an encrypted volume.
	VolumeKey []byte
}

// Recover scans a volume from the start and returns every complete record
// (SPEC.md §8), for a volume whose writer died. It reads a closed volume
// too, ignoring its manifest. Errors are returned only when the header
// cannot be read or the volume cannot be decrypted.
func Recover(ra io.ReaderAt, size int64, opt *ReaderOptions, resolve RefResolver) (*Scan, error) {
	if opt == nil {
		opt = &ReaderOptions{}
	}
	r := &Reader{ra: ra, name: opt.Name}
	if err := r.readPrologue(size, opt); err != nil {
		return nil, err
	}
	s := &Scan{Info: r.info, End: r.dataStart, VolumeKey: r.volumeKey}
	byOffset := map[int64]*Entry{}
	off := r.dataStart
	for off < size {
		e, err := r.scanRecord(off, size, byOffset, resolve)
		if err != nil {
			s.Reason = r.errAt(off, nil, err)
			break
		}
		if e == nil { // a manifest: the writer died while writing the trailer
			s.Reason = r.errAt(off, nil, errManifestFound)
			break
		}
		s.Entries = append(s.Entries, e)
		byOffset[e.Offset] = e
		off += e.Length
		s.End = off
	}
	return s, nil
}

var errManifestFound = errors.New("archive: manifest without a valid trailer")

// scanRecord reads one record at off. It returns (nil, nil) for a manifest record.
func (r *Reader) scanRecord(off, size int64, byOffset map[int64]*Entry, resolve RefResolver) (*Entry, error) {
	rr := newRecordReader(bufio.NewReaderSize(io.NewSectionReader(r.ra, off, size-off), 64<<10), r.aead)
	d := decoderPool.Get().(*zstd.Decoder)
	defer func() { d.Reset(nil); decoderPool.Put(d) }()
	if err := d.Reset(rr); err != nil {
		return nil, zerr(err)
	}
	var t [1]byte
	if _, err := io.ReadFull(d, t[:]); err != nil {
		return nil, zerr(err)
	}
	if t[0] == recManifest {
		return nil, nil
	}
	if t[0] != recEntry && t[0] != recRef {
		return nil, errf(ErrFormat, "record type %d", t[0])
	}
	ml, err := binary.ReadUvarint(byteReader{d})
	if err != nil {
		return nil, zerr(err)
	}
	if ml > maxMeta {
		return nil, errf(ErrFormat, "meta of %d bytes", ml)
	}
	meta := make([]byte, ml)
	if _, err := io.ReadFull(d, meta); err != nil {
		return nil, zerr(err)
	}
	e := &Entry{Round: r.info.Round, Part: r.info.Part, Offset: off}
	mr := &metaReader{b: meta}
	mr.meta(&e.Header)
	if mr.err == nil && mr.off != len(meta) {
		mr.fail("meta length mismatch")
	}
	if mr.err != nil {
		return nil, mr.err
	}
	e.rawMeta = meta
	if t[0] == recEntry {
		sha := sha256.New()
		n, err := io.Copy(sha, io.LimitReader(d, e.Size))
		if err != nil {
			return nil, zerr(err)
		}
		if n != e.Size {
			return nil, errf(ErrFormat, "body %d of %d bytes", n, e.Size)
		}
		sha.Sum(e.Digest[:0])
	} else {
		rest, err := io.ReadAll(io.LimitReader(d, 64))
		if err != nil {
			return nil, zerr(err)
		}
		rm := &metaReader{b: rest}
		ref := rm.ref()
		if rm.err != nil || rm.off != len(rest) {
			return nil, errf(ErrFormat, "bad ref")
		}
		e.Ref = &ref
		if ref.Round == r.info.Round && ref.Part == r.info.Part {
			tgt, ok := byOffset[ref.Offset]
			if !ok || tgt.Ref != nil || tgt.Size != e.Size {
				return nil, errf(ErrFormat, "ref to offset %d is not an earlier body", ref.Offset)
			}
			e.Digest = tgt.Digest
		} else {
			dg, sz, ok := resolveRef(resolve, ref)
			if !ok || sz != e.Size {
				return nil, errf(ErrFormat, "ref to %s offset %d cannot be resolved", VolumeName(ref.Round, ref.Part), ref.Offset)
			}
			e.Digest = dg
		}
	}
	var one [1]byte
	if n, err := d.Read(one[:]); n != 0 || err != io.EOF {
		if err != nil && err != io.EOF {
			return nil, zerr(err)
		}
		return nil, errf(ErrFormat, "bytes after the record content")
	}
	if !rr.final || len(rr.data) != 0 {
		return nil, errf(ErrFormat, "record not complete")
	}
	e.Length = rr.n
	return e, nil
}

func resolveRef(resolve RefResolver, ref Ref) ([32]byte, int64, bool) {
	if resolve == nil {
		return [32]byte{}, 0, false
	}
	return resolve(ref)
}
