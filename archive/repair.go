package archive

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// VerifiedName is the file in which a writer records the manifest digest
// of the last round it closed or verified, so that the next run knows the
// newest round is intact without reading it again (SPEC.md §8.1).
const VerifiedName = ".iem.verified"

// A RepairResult says what [Repair] found and did.
type RepairResult struct {
	Round   int      // the newest round, the only one Repair changes
	Checked []string // its volumes, read in full
	// Damaged is the first damaged volume ("" when the round is intact),
	// Offset where it was cut and Cause what was wrong there.
	Damaged string
	Offset  int64
	Cause   error
	Kept    int // complete entries kept in the damaged volume
	// MovedAside lists later parts of the round renamed to NAME.damaged-TIME.
	MovedAside []string
}

// Repaired reports whether Repair changed anything.
func (r *RepairResult) Repaired() bool { return r.Damaged != "" }

func (r *RepairResult) String() string {
	if !r.Repaired() {
		return fmt.Sprintf("round %d is intact (%s read in full)", r.Round, strings.Join(r.Checked, ", "))
	}
	s := fmt.Sprintf("round %d was damaged in %s at offset %d (%v): cut there, keeping its %d complete entries before it",
		r.Round, r.Damaged, r.Offset, r.Cause, r.Kept)
	if len(r.MovedAside) > 0 {
		s += "; moved aside " + strings.Join(r.MovedAside, ", ")
	}
	return s + "; the next export run continues the round and fetches what was cut"
}

// Repair reads every record of the newest round in full and, at the first
// damaged record (a crash, a bad copy, two writers at once), cuts that
// volume there and moves the later parts of the round aside: the round is
// then an interrupted one, which the next [Folder.Begin] continues. Earlier
// rounds are never changed; damage there is reported as an error. The
// caller holds the folder's writer lock ([LockDir]). A folder without
// volumes gives ErrNoArchive.
func Repair(dir string, opt *FolderOptions) (*RepairResult, error) {
	var o FolderOptions
	if opt != nil {
		o = *opt
	}
	o.Existing = false
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("archive: repair: %w", err)
	}
	last := 0
	var parts []int
	for _, de := range des {
		if ro, pa, ok := ParseVolumeName(de.Name()); ok && de.Type().IsRegular() {
			switch {
			case ro > last:
				last, parts = ro, []int{pa}
			case ro == last:
				parts = append(parts, pa)
			}
		}
	}
	if last == 0 {
		return nil, fmt.Errorf("%w: %s holds no iem volume", ErrNoArchive, dir)
	}
	sort.Ints(parts)
	earlier, err := openFolder(dir, &o, last)
	if err != nil {
		return nil, fmt.Errorf("archive: an earlier round than %d is damaged, which repair does not change (import lists what it cannot read): %w", last, err)
	}
	defer earlier.Close()
	res := &RepairResult{Round: last}
	// Refs inside the round resolve against the parts scanned so far.
	type at struct {
		part int
		off  int64
	}
	seen := map[at]*Entry{}
	resolve := func(ref Ref) ([32]byte, int64, bool) {
		if ref.Round == last {
			if e, ok := seen[at{ref.Part, ref.Offset}]; ok && e.Ref == nil {
				return e.Digest, e.Size, true
			}
			return [32]byte{}, 0, false
		}
		return earlier.resolve(ref)
	}
	var prevDigest [32]byte
	if n := len(earlier.vols); n > 0 {
		prevDigest = earlier.vols[n-1].Info.ManifestDigest
	}
	for i, part := range parts {
		name := VolumeName(last, part)
		res.Checked = append(res.Checked, name)
		cut, kept, torn, cause, err := checkVolume(filepath.Join(dir, name), name, &o, resolve, func(e *Entry) { seen[at{part, e.Offset}] = e })
		if err != nil {
			return res, err
		}
		if torn && i < len(parts)-1 {
			cause = fmt.Errorf("%w: torn volume is not the newest", ErrChain)
		}
		if cause == nil && part != i+1 {
			cause = fmt.Errorf("%w: %s is missing", ErrChain, VolumeName(last, i+1))
			cut = -1
		}
		if cause == nil && !torn {
			if info, ierr := volumeInfo(filepath.Join(dir, name), name, &o); ierr == nil {
				if i == 0 && info.Prev != prevDigest || i > 0 && info.Prev == ([32]byte{}) {
					cause, cut = fmt.Errorf("%w: records another previous manifest", ErrChain), 0
				}
				prevDigest = info.ManifestDigest
			}
		}
		if cause == nil {
			continue
		}
		res.Damaged, res.Offset, res.Cause, res.Kept = name, cut, cause, kept
		stamp := time.Now().UTC().Format("20060102T150405Z")
		from := i
		if cut < 0 { // this part is missing: keep the earlier ones as they are
			res.Damaged, res.Offset = VolumeName(last, i), 0
		} else if cut == 0 {
			from = i // nothing usable: move it aside with the rest
		} else {
			from = i + 1
			if err := cutVolume(filepath.Join(dir, name), cut); err != nil {
				return res, err
			}
		}
		for _, p := range parts[from:] {
			n := VolumeName(last, p)
			aside := n + ".damaged-" + stamp
			if err := os.Rename(filepath.Join(dir, n), filepath.Join(dir, aside)); err != nil {
				return res, fmt.Errorf("archive: repair: %w", err)
			}
			res.MovedAside = append(res.MovedAside, aside)
		}
		os.Remove(filepath.Join(dir, VerifiedName))
		syncDir(dir)
		return res, nil
	}
	if d, ok := lastClosedDigest(dir, last, parts, &o); ok {
		writeVerified(dir, d)
	}
	return res, nil
}

// checkVolume reads a volume in full. It returns where its intact part ends
// and why the rest is not intact (cause nil: the whole volume, manifest and
// trailer included, is intact, or torn is set: the volume ends cleanly after
// its last complete record, as an interrupted writer leaves it). err is set
// only when the volume cannot be read for a reason repair cannot fix (no
// identity for it).
func checkVolume(path, name string, o *FolderOptions, resolve RefResolver, add func(*Entry)) (cut int64, kept int, torn bool, cause, err error) {
	file, err := os.Open(path)
	if err != nil {
		return 0, 0, false, nil, fmt.Errorf("archive: repair: %w", err)
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return 0, 0, false, nil, err
	}
	ropt := &ReaderOptions{Name: name, Identities: o.Identities}
	s, err := Recover(file, st.Size(), ropt, resolve)
	if err != nil {
		if errors.Is(err, ErrKey) {
			return 0, 0, false, nil, err
		}
		return 0, 0, false, err, nil // the header itself is damaged
	}
	for _, e := range s.Entries {
		add(e)
	}
	r, rerr := NewReader(file, st.Size(), ropt)
	if rerr == nil && errors.Is(s.Reason, errManifestFound) && sameEntries(r.entries, s.Entries) {
		return st.Size(), len(s.Entries), false, nil, nil
	}
	if errors.Is(rerr, ErrTorn) && s.Reason == nil {
		return s.End, len(s.Entries), true, nil, nil
	}
	cause = s.Reason
	switch {
	case cause == nil || errors.Is(cause, errManifestFound):
		cause = rerr
	}
	if cause == nil {
		cause = errf(ErrFormat, "the manifest does not list the records the volume holds")
	}
	return s.End, len(s.Entries), false, cause, nil
}

func sameEntries(a, b []*Entry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Offset != b[i].Offset || a[i].Digest != b[i].Digest || a[i].Size != b[i].Size {
			return false
		}
	}
	return true
}

func volumeInfo(path, name string, o *FolderOptions) (VolumeInfo, error) {
	file, err := os.Open(path)
	if err != nil {
		return VolumeInfo{}, err
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return VolumeInfo{}, err
	}
	r, err := NewReader(file, st.Size(), &ReaderOptions{Name: name, Identities: o.Identities})
	if err != nil {
		return VolumeInfo{}, err
	}
	return r.info, nil
}

func cutVolume(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("archive: repair: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("archive: repair: cut %s: %w", filepath.Base(path), err)
	}
	return f.Sync()
}

// lastClosedDigest returns the manifest digest of the round's last volume
// that has a trailer.
func lastClosedDigest(dir string, round int, parts []int, o *FolderOptions) ([32]byte, bool) {
	for i := len(parts) - 1; i >= 0; i-- {
		name := VolumeName(round, parts[i])
		if info, err := volumeInfo(filepath.Join(dir, name), name, o); err == nil {
			return info.ManifestDigest, true
		}
	}
	return [32]byte{}, false
}

func writeVerified(dir string, d [32]byte) {
	path := filepath.Join(dir, VerifiedName)
	tmp := path + ".tmp"
	if os.WriteFile(tmp, []byte(hex.EncodeToString(d[:])+"\n"), 0o600) == nil {
		os.Rename(tmp, path)
	}
}

// LastRoundVerified reports whether the closed volumes of the newest round
// were closed, or verified in full, by a writer holding the lock (the
// digest of the last one is in VerifiedName): a run that finds it false
// calls Repair first, as the volumes may have been written by two writers
// at once or damaged since. A torn newest volume needs no mark: OpenFolder
// scanned it record by record.
func (f *Folder) LastRoundVerified() bool {
	var closed *Volume
	for i := len(f.vols) - 1; i >= 0; i-- {
		v := f.vols[i]
		if v.Info.Round != f.vols[len(f.vols)-1].Info.Round {
			break
		}
		if !v.Torn {
			closed = v
			break
		}
	}
	if closed == nil {
		return true
	}
	b, err := os.ReadFile(filepath.Join(f.dir, VerifiedName))
	return err == nil && strings.TrimSpace(string(b)) == hex.EncodeToString(closed.Info.ManifestDigest[:])
}
