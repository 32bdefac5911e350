package archive

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// A RoundWriter writes the next round of a Folder, split into parts at the
// volume size. It has the Writer's shape: WriteHeader, Write, Close.
type RoundWriter struct {
	f     *Folder
	w     *Writer
	file  *os.File
	name  string
	round int
	part  int
	prev  [32]byte
	// Resumed is set when Begin continued a torn volume or an unfinished round.
	Resumed bool
	// Cut is set when Begin cut an incomplete or damaged tail off a torn
	// volume: the offset it was cut at, the bytes dropped and why.
	Cut *TornTail
	err error
}

// Begin starts writing. It continues where an earlier writer stopped: a
// torn newest volume is cut after its last complete record and written on;
// a round whose last part is not final gets its next part. Otherwise a new
// round starts. Only one RoundWriter may be open per Folder.
func (f *Folder) Begin() (*RoundWriter, error) {
	if f.w != nil {
		return nil, errors.New("archive: a round is already being written")
	}
	if f.Encrypted() && len(f.opt.Recipients) == 0 {
		return nil, fmt.Errorf("%w: the archive is encrypted: recipients are needed to write to it", ErrKey)
	}
	f.buildIndex()
	rw := &RoundWriter{f: f}
	if n := len(f.vols); n > 0 {
		last := f.vols[n-1]
		if n > 1 {
			rw.prev = f.vols[n-2].Info.ManifestDigest
		}
		switch {
		case last.Torn:
			if err := rw.resume(last); err != nil {
				return nil, err
			}
			f.w = rw
			return rw, nil
		case !last.Info.Final:
			rw.round, rw.part, rw.prev, rw.Resumed = last.Info.Round, last.Info.Part+1, last.Info.ManifestDigest, true
		default:
			rw.round, rw.part, rw.prev = last.Info.Round+1, 1, last.Info.ManifestDigest
		}
	} else {
		rw.round, rw.part = 1, 1
	}
	if err := rw.create(); err != nil {
		return nil, err
	}
	f.w = rw
	return rw, nil
}

func (rw *RoundWriter) options() WriterOptions {
	o := WriterOptions{
		Round: rw.round, Part: rw.part, Prev: rw.prev, Writer: rw.f.opt.Writer,
		Recipients: rw.f.opt.Recipients, Index: folderIndex{rw.f}, SpoolDir: rw.f.opt.SpoolDir,
	}
	if len(rw.f.vols) > 0 {
		o.ArchiveID = rw.f.vols[0].Info.ArchiveID
	}
	return o
}

func (rw *RoundWriter) keyPath() string { return filepath.Join(rw.f.dir, "."+rw.name+".key") }

func (rw *RoundWriter) create() error {
	rw.name = VolumeName(rw.round, rw.part)
	path := filepath.Join(rw.f.dir, rw.name)
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("archive: create volume: %w", err)
	}
	o := rw.options()
	w, err := NewWriter(file, &o)
	if err != nil {
		file.Close()
		os.Remove(path)
		return err
	}
	if k := w.VolumeKey(); k != nil {
		if err := os.WriteFile(rw.keyPath(), k, 0o600); err != nil {
			file.Close()
			os.Remove(path)
			return err
		}
	}
	if err := file.Sync(); err != nil {
		return err
	}
	syncDir(rw.f.dir)
	rw.file, rw.w = file, w
	return nil
}

func (rw *RoundWriter) resume(v *Volume) error {
	rw.round, rw.part, rw.name, rw.Resumed = v.Info.Round, v.Info.Part, v.Name, true
	path := filepath.Join(rw.f.dir, v.Name)
	file, err := os.OpenFile(path, os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("archive: resume volume: %w", err)
	}
	if st, err := file.Stat(); err == nil && st.Size() > v.scan.End {
		rw.Cut = &TornTail{Volume: v.Name, Offset: v.scan.End, Dropped: st.Size() - v.scan.End, Reason: v.Recovered}
	}
	if err := file.Truncate(v.scan.End); err != nil {
		file.Close()
		return fmt.Errorf("archive: cut torn tail of %s: %w", v.Name, err)
	}
	if _, err := file.Seek(v.scan.End, 0); err != nil {
		file.Close()
		return err
	}
	if v.Info.Encrypted && v.scan.VolumeKey == nil {
		file.Close()
		return fmt.Errorf("%w: cannot continue encrypted %s without its key file or an identity", ErrKey, v.Name)
	}
	w, err := resumeWriter(file, v.scan, rw.options())
	if err != nil {
		file.Close()
		return err
	}
	rw.file, rw.w = file, w
	return nil
}

// A TornTail is what Begin cut off a torn volume before writing on.
type TornTail struct {
	Volume  string
	Offset  int64
	Dropped int64
	Reason  error // why the scan stopped there (nil: the file ended)
}

func (c *TornTail) String() string {
	s := fmt.Sprintf("cut %s at offset %d after its last complete record, dropping %d bytes", c.Volume, c.Offset, c.Dropped)
	if c.Reason != nil {
		s += " (" + c.Reason.Error() + ")"
	}
	return s
}

// Name returns the file name of the volume being written.
func (rw *RoundWriter) Name() string { return rw.name }

// Round returns the round being written.
func (rw *RoundWriter) Round() int { return rw.round }

// WriteHeader starts an entry; see [Writer.WriteHeader]. When the volume
// has reached the volume size, it first closes this part and starts the next.
func (rw *RoundWriter) WriteHeader(h *Header) error {
	if rw.err != nil {
		return rw.err
	}
	if err := rw.rotate(h.Size); err != nil {
		return err
	}
	return rw.fail(rw.w.WriteHeader(h))
}

// rotate finishes the current entry and, when the next entry of size
// bytes would take the volume past the volume size, closes this part and
// starts the next.
func (rw *RoundWriter) rotate(size int64) error {
	if rw.err != nil {
		return rw.err
	}
	if err := rw.w.Flush(); err != nil {
		return rw.fail(err)
	}
	if rw.w.Entries() > 0 && rw.w.Offset()+max(size, 0) > rw.f.opt.VolumeSize {
		if err := rw.closePart(false); err != nil {
			return rw.fail(err)
		}
		rw.part++
		if err := rw.create(); err != nil {
			return rw.fail(err)
		}
	}
	return nil
}

func (rw *RoundWriter) fail(err error) error {
	if err != nil && rw.err == nil {
		rw.err = err
	}
	return err
}

// Write writes body bytes of the current entry.
func (rw *RoundWriter) Write(p []byte) (int, error) {
	if rw.err != nil {
		return 0, rw.err
	}
	return rw.w.Write(p)
}

// Sync finishes the current entry and flushes the volume to stable storage.
func (rw *RoundWriter) Sync() error {
	if rw.err != nil {
		return rw.err
	}
	if err := rw.w.Flush(); err != nil {
		return rw.fail(err)
	}
	return rw.fail(rw.file.Sync())
}

// SyncFunc finishes the current entry and returns a function that makes
// everything written so far durable. Only the returned function waits for
// the disk, and it may run without whatever lock serialises the writer's
// other calls, so other goroutines go on writing during the fsync.
func (rw *RoundWriter) SyncFunc() (func() error, error) {
	if rw.err != nil {
		return nil, rw.err
	}
	if err := rw.w.Flush(); err != nil {
		return nil, rw.fail(err)
	}
	f := rw.file
	return func() error {
		err := f.Sync()
		if errors.Is(err, os.ErrClosed) {
			return nil // a later entry closed the part, which syncs it first
		}
		return err
	}, nil
}

// LastDigest returns the SHA-256 of the entry finished last.
func (rw *RoundWriter) LastDigest() [32]byte { return rw.w.LastDigest() }

func (rw *RoundWriter) closePart(final bool) error {
	rw.w.SetFinal(final)
	rw.w.opt.Created = rw.f.opt.Now()
	if err := rw.w.Close(); err != nil {
		return err
	}
	if err := rw.file.Sync(); err != nil {
		return err
	}
	if err := rw.file.Close(); err != nil {
		return err
	}
	rw.file = nil
	// Reopen the closed part as a reader, so the Folder's view and
	// de-duplication index include it.
	v, err := rw.f.openVolume(rw.name, true, rw.w.VolumeKey())
	if err != nil {
		return err
	}
	os.Remove(rw.keyPath())
	syncDir(rw.f.dir)
	if n := len(rw.f.vols); n > 0 && rw.f.vols[n-1].Name == rw.name {
		rw.f.vols[n-1].f.Close()
		rw.f.vols = rw.f.vols[:n-1]
	}
	if err := rw.f.checkChain(v); err != nil {
		return err
	}
	rw.f.vols = append(rw.f.vols, v)
	rw.f.indexVolume(v)
	writeVerified(rw.f.dir, v.Info.ManifestDigest)
	rw.prev = v.Info.ManifestDigest
	return nil
}

// Close finishes the round: the last part is marked final, closed and synced.
func (rw *RoundWriter) Close() error {
	if rw.err != nil {
		return rw.err
	}
	err := rw.closePart(true)
	rw.f.w = nil
	if err != nil {
		return rw.fail(err)
	}
	rw.err = ErrClosed
	return nil
}

// folderIndex makes the Folder's digest index an [Index] for its writers.
type folderIndex struct{ f *Folder }

func (fi folderIndex) Lookup(d [32]byte) (Ref, int64, bool) {
	fi.f.buildIndex()
	x, ok := fi.f.index[d]
	return x.ref, x.size, ok
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync() // best effort: not supported on every OS (Windows)
		d.Close()
	}
}

// Flush finishes the current entry and hands its record to the operating
// system (it survives a crash of this process, not of the machine; see Sync).
func (rw *RoundWriter) Flush() error {
	if rw.err != nil {
		return rw.err
	}
	return rw.fail(rw.w.Flush())
}
