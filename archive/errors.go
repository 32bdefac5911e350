package archive

import (
	"errors"
	"fmt"
)

var (
	// ErrFormat means the bytes are not a valid iem archive (SPEC.md §3–§5, §10).
	ErrFormat = errors.New("archive: not a valid iem archive")
	// ErrVersion means the volume has a format version this package does not read.
	ErrVersion = errors.New("archive: unsupported format version")
	// ErrChecksum means a CRC, zstd checksum, SHA-256 digest or AEAD tag failed.
	ErrChecksum = errors.New("archive: checksum mismatch")
	// ErrChain means volumes are missing, out of order, from another archive,
	// or a round is incomplete (SPEC.md §2).
	ErrChain = errors.New("archive: broken round chain")
	// ErrTorn means the volume has no valid trailer: its writer died. It can
	// be recovered with [Recover] or [OpenFolder].
	ErrTorn = errors.New("archive: torn volume (no trailer)")
	// ErrWriteTooLong means more bytes were written than Header.Size.
	ErrWriteTooLong = errors.New("archive: write too long")
	// ErrShortWrite means fewer bytes were written than Header.Size.
	ErrShortWrite = errors.New("archive: entry shorter than its declared size")
	// ErrKey means the volume is encrypted and no given identity opens it.
	ErrKey = errors.New("archive: no identity opens this encrypted volume")
	// ErrClosed is returned by a Writer after Close.
	ErrClosed = errors.New("archive: writer closed")
)

// A VolumeError locates a failure: the volume, the byte offset, and the
// entry when one is known. It wraps one of the sentinel errors.
type VolumeError struct {
	Volume string // file name, or "" for an unnamed reader
	Offset int64  // byte offset of the damaged structure, -1 if unknown
	Entry  string // "kind mailbox id" of the entry, if known
	Err    error
}

func (e *VolumeError) Error() string {
	s := "archive"
	if e.Volume != "" {
		s += ": " + e.Volume
	}
	if e.Offset >= 0 {
		s += fmt.Sprintf(" at offset %d", e.Offset)
	}
	if e.Entry != "" {
		s += " (entry " + e.Entry + ")"
	}
	return s + ": " + e.Err.Error()
}

func (e *VolumeError) Unwrap() error { return e.Err }

func errf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}
