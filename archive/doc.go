// Package archive reads and writes iem archives as defined in spec/SPEC.md
// (format version 1).
//
// An archive is a folder of round volumes. Each volume is a fixed header,
// a sequence of records (one zstd frame each, stored as checksummed or
// encrypted chunks), a manifest and a fixed trailer. The API is shaped like
// archive/tar for writing and archive/zip for reading:
//
//	w, _ := archive.NewWriter(f, &archive.WriterOptions{Round: 1, Part: 1})
//	w.WriteHeader(&archive.Header{Kind: archive.KindMessage, Mailbox: "a@example.com", ID: id, Size: n})
//	io.Copy(w, body)
//	w.Close() // manifest + trailer; does not close f
//
//	r, _ := archive.NewReader(f, size, nil)
//	for _, e := range r.Entries() { rc, _ := r.Open(e); … } // Open verifies the SHA-256 at EOF
//
// [Folder] ties volumes together: it checks the chain between rounds,
// recovers a volume whose writer died, writes new rounds (split at a volume
// size) and reads all rounds as one logical view.
//
// # Errors
//
// Errors wrap the sentinels [ErrFormat], [ErrChecksum], [ErrVersion],
// [ErrChain] and [ErrTorn]; test with errors.Is. A [*VolumeError] names the
// volume, byte offset and entry of a failure.
package archive
