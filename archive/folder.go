package archive

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"filippo.io/age"
)

// DefaultVolumeSize is the size at which a round is split into parts.
const DefaultVolumeSize = 4 << 30

// FolderOptions configure a Folder. A nil *FolderOptions reads and writes
// plain archives with the default volume size.
type FolderOptions struct {
	// Identities decrypt an encrypted archive.
	Identities []age.Identity
	// Recipients encrypt new volumes. They must be given to write to an
	// encrypted archive, and make a new archive encrypted.
	Recipients []age.Recipient
	// VolumeSize splits a round into parts (default DefaultVolumeSize).
	VolumeSize int64
	// Writer names the program in new manifests.
	Writer string
	// SpoolDir holds temporary files for large bodies ("": the archive folder).
	SpoolDir string
	// Now returns the time recorded in manifests (nil: time.Now).
	Now func() time.Time
	// Existing makes OpenFolder fail with ErrNoArchive on a folder that
	// holds no volume (readers); writers start a new archive there.
	Existing bool
}

// ErrNoArchive is returned by OpenFolder with Existing set when the folder
// holds no iem volume.
var ErrNoArchive = errors.New("no iem archive")

// A Volume is one file of the archive.
type Volume struct {
	Name string
	Info VolumeInfo
	// Torn is set for a newest volume whose writer died; Entries then come
	// from recovery, and Recovered says why the scan stopped.
	Torn      bool
	Recovered error

	r    *Reader
	f    *os.File
	scan *Scan
}

// Entries returns the volume's entries in file order.
func (v *Volume) Entries() []*Entry { return v.r.entries }

// A Folder is an archive folder: all round volumes as one archive (SPEC.md §2).
type Folder struct {
	dir   string
	opt   FolderOptions
	vols  []*Volume
	index map[[32]byte]indexed
	w     *RoundWriter
}

type indexed struct {
	ref  Ref
	size int64
}

// OpenFolder opens the archive in dir (which must exist), checks the chain
// of volumes and reads every manifest. A newest volume without trailer is
// scanned (not yet truncated): its complete entries are part of the view,
// and [Folder.Begin] continues it. An empty folder is an empty archive.
func OpenFolder(dir string, opt *FolderOptions) (*Folder, error) {
	return openFolder(dir, opt, 0)
}

// openFolder opens the volumes of rounds before below (0: all).
func openFolder(dir string, opt *FolderOptions, below int) (*Folder, error) {
	f := &Folder{dir: dir}
	if opt != nil {
		f.opt = *opt
	}
	if f.opt.VolumeSize <= 0 {
		f.opt.VolumeSize = DefaultVolumeSize
	}
	if f.opt.Now == nil {
		f.opt.Now = time.Now
	}
	if f.opt.SpoolDir == "" {
		f.opt.SpoolDir = dir
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("archive: open folder: %w", err)
	}
	type vn struct {
		name        string
		round, part int
	}
	var names []vn
	for _, de := range des {
		if ro, pa, ok := ParseVolumeName(de.Name()); ok && de.Type().IsRegular() && (below == 0 || ro < below) {
			names = append(names, vn{de.Name(), ro, pa})
		}
	}
	if len(names) == 0 && f.opt.Existing {
		return nil, fmt.Errorf("%w: %s holds no iem volume (files named like %s); is it the archive folder iem-export wrote?",
			ErrNoArchive, dir, VolumeName(1, 1))
	}
	sort.Slice(names, func(i, j int) bool {
		if names[i].round != names[j].round {
			return names[i].round < names[j].round
		}
		return names[i].part < names[j].part
	})
	for i, n := range names {
		v, err := f.openVolume(n.name, i == len(names)-1, nil)
		if err != nil {
			f.Close()
			return nil, err
		}
		if err := f.checkChain(v); err != nil {
			v.f.Close()
			f.Close()
			return nil, err
		}
		f.vols = append(f.vols, v)
	}
	return f, nil
}

// buildIndex builds the de-duplication index when a round is first
// written. Readers (import plan, replay) never need it, and for an archive
// of 300,000 entries it was a sixth of the open's allocations (bench
// bigarchive row, pprof alloc_space: openFolder 71 of 467 MB).
func (f *Folder) buildIndex() {
	if f.index != nil {
		return
	}
	f.index = map[[32]byte]indexed{}
	for _, v := range f.vols {
		f.indexVolume(v)
	}
}

// indexVolume adds v's bodies to a built index.
func (f *Folder) indexVolume(v *Volume) {
	if f.index == nil {
		return
	}
	for _, e := range v.r.entries {
		if e.Ref == nil {
			if _, ok := f.index[e.Digest]; !ok {
				f.index[e.Digest] = indexed{Ref{e.Round, e.Part, e.Offset}, e.Size}
			}
		}
	}
}

func (f *Folder) openVolume(name string, newest bool, key []byte) (*Volume, error) {
	path := filepath.Join(f.dir, name)
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	st, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, err
	}
	ropt := &ReaderOptions{Name: name, Identities: f.opt.Identities, VolumeKey: key}
	if newest && key == nil {
		// A writer's key file (SPEC.md §7.3) lets the exporter continue a torn encrypted volume.
		if key, kerr := os.ReadFile(filepath.Join(f.dir, "."+name+".key")); kerr == nil && len(key) == 32 {
			ropt.VolumeKey = key
		}
	}
	r, err := NewReader(file, st.Size(), ropt)
	if err == nil {
		return &Volume{Name: name, Info: r.info, r: r, f: file}, nil
	}
	if !errors.Is(err, ErrTorn) {
		file.Close()
		return nil, err
	}
	if !newest {
		file.Close()
		return nil, &VolumeError{Volume: name, Offset: -1, Err: fmt.Errorf("%w: torn volume is not the newest", ErrChain)}
	}
	s, err := Recover(file, st.Size(), ropt, f.resolve)
	if err != nil {
		file.Close()
		return nil, err
	}
	// A Reader over the recovered records, so bodies can be opened.
	rr := &Reader{ra: file, name: name, info: s.Info, dataStart: HeaderSize, entries: s.Entries}
	if s.Info.Encrypted {
		probe := &Reader{ra: file, name: name}
		if err := probe.readPrologue(st.Size(), ropt); err != nil {
			file.Close()
			return nil, err
		}
		rr.aead, rr.dataStart, rr.volumeKey = probe.aead, probe.dataStart, probe.volumeKey
	}
	return &Volume{Name: name, Info: s.Info, Torn: true, Recovered: s.Reason, r: rr, f: file, scan: s}, nil
}

func (f *Folder) resolve(ref Ref) ([32]byte, int64, bool) {
	for _, v := range f.vols {
		if v.Info.Round == ref.Round && v.Info.Part == ref.Part {
			if e, ok := v.r.entryAt(ref.Offset); ok && e.Ref == nil {
				return e.Digest, e.Size, true
			}
		}
	}
	return [32]byte{}, 0, false
}

func (f *Folder) checkChain(v *Volume) error {
	chainErr := func(format string, args ...any) error {
		return &VolumeError{Volume: v.Name, Offset: -1, Err: fmt.Errorf("%w: "+format, append([]any{ErrChain}, args...)...)}
	}
	if len(f.vols) == 0 {
		if v.Info.Round != 1 || v.Info.Part != 1 {
			return chainErr("the archive starts at %s; %s is missing", v.Name, VolumeName(1, 1))
		}
		if !v.Torn && v.Info.Prev != ([32]byte{}) {
			return chainErr("first volume records a previous volume")
		}
		return nil
	}
	p := f.vols[len(f.vols)-1]
	if v.Info.ArchiveID != p.Info.ArchiveID {
		return chainErr("belongs to another archive than %s", p.Name)
	}
	if v.Info.Encrypted != p.Info.Encrypted {
		return chainErr("encryption differs from %s", p.Name)
	}
	switch {
	case v.Info.Round == p.Info.Round && v.Info.Part == p.Info.Part+1:
		if p.Info.Final {
			return chainErr("%s is the final part of round %d, yet %s follows it", p.Name, p.Info.Round, v.Name)
		}
	case v.Info.Round == p.Info.Round+1 && v.Info.Part == 1:
		if !p.Info.Final {
			return chainErr("round %d is incomplete: %s is missing", p.Info.Round, VolumeName(p.Info.Round, p.Info.Part+1))
		}
	default:
		next := VolumeName(p.Info.Round, p.Info.Part+1)
		if p.Info.Final {
			next = VolumeName(p.Info.Round+1, 1)
		}
		return chainErr("%s does not follow %s: %s is missing", v.Name, p.Name, next)
	}
	if !v.Torn && v.Info.Prev != p.Info.ManifestDigest {
		return chainErr("records another previous manifest than %s's: volumes replaced or out of order", p.Name)
	}
	return nil
}

// Volumes returns the volumes in chain order.
func (f *Folder) Volumes() []*Volume { return f.vols }

// Dir returns the archive folder's directory.
func (f *Folder) Dir() string { return f.dir }

// Encrypted reports whether the archive is encrypted.
func (f *Folder) Encrypted() bool {
	return len(f.vols) > 0 && f.vols[0].Info.Encrypted
}

// LastRound returns the newest round that is complete (its final part
// closed), or 0.
func (f *Folder) LastRound() int {
	for i := len(f.vols) - 1; i >= 0; i-- {
		if v := f.vols[i]; v.Info.Final && !v.Torn {
			return v.Info.Round
		}
	}
	return 0
}

// Verify reads every record of every volume (see [Reader.Verify]). Torn
// volumes are verified as far as recovery reached.
func (f *Folder) Verify() error {
	for _, v := range f.vols {
		for _, e := range v.r.entries {
			if e.Ref != nil && (e.Ref.Round != v.Info.Round || e.Ref.Part != v.Info.Part) {
				if _, _, ok := f.resolve(*e.Ref); !ok {
					return &VolumeError{Volume: v.Name, Offset: e.Offset, Entry: e.label(), Err: errf(ErrFormat, "ref to a body that does not exist")}
				}
				if dg, sz, _ := f.resolve(*e.Ref); dg != e.Digest || sz != e.Size {
					return &VolumeError{Volume: v.Name, Offset: e.Offset, Entry: e.label(), Err: errf(ErrFormat, "ref digest differs from its target")}
				}
			}
			if err := v.r.verifyEntry(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// Open returns an entry's body, following de-duplication refs across
// volumes. Reading to EOF verifies it, as for [Reader.Open].
func (f *Folder) Open(e *Entry) (io.ReadCloser, error) {
	ref := Ref{e.Round, e.Part, e.Offset}
	if e.Ref != nil {
		ref = *e.Ref
	}
	for _, v := range f.vols {
		if v.Info.Round == ref.Round && v.Info.Part == ref.Part {
			t, ok := v.r.entryAt(ref.Offset)
			if !ok || t.Ref != nil {
				return nil, &VolumeError{Volume: v.Name, Offset: ref.Offset, Entry: e.label(), Err: errf(ErrFormat, "ref to a body that does not exist")}
			}
			return v.r.openBody(t, e)
		}
	}
	return nil, &VolumeError{Volume: VolumeName(ref.Round, ref.Part), Offset: ref.Offset, Entry: e.label(), Err: fmt.Errorf("%w: volume missing", ErrChain)}
}

// Walk calls fn for every entry of every volume in chain order (the raw
// history, not the logical view).
func (f *Folder) Walk(fn func(e *Entry) error) error {
	for _, v := range f.vols {
		for _, e := range v.r.entries {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close closes the volumes (and aborts an unfinished round writer, leaving
// its volume torn, as a crash would).
func (f *Folder) Close() error {
	for _, v := range f.vols {
		if v.f != nil {
			v.f.Close()
		}
	}
	if f.w != nil && f.w.file != nil {
		f.w.file.Close()
	}
	return nil
}
