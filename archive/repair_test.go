package archive

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func volumeFiles(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		if _, _, ok := ParseVolumeName(de.Name()); ok {
			names = append(names, de.Name())
		}
	}
	sort.Strings(names)
	return names
}

// twoRounds writes round 1 and a round 2 split into several parts.
func twoRounds(t *testing.T) (dir string, r1, r2 []item) {
	dir = t.TempDir()
	f, err := OpenFolder(dir, &FolderOptions{VolumeSize: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	all := corpus(7, 40)
	r1, r2 = all[:15], all[15:]
	writeRound(t, f, r1)
	writeRound(t, f, r2)
	f.Close()
	return dir, r1, r2
}

func flipAt(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0x20
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestRepairIntactMarksVerified(t *testing.T) {
	dir, _, _ := twoRounds(t)
	f, err := OpenFolder(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !f.LastRoundVerified() {
		t.Error("a round closed by this writer is not marked verified")
	}
	f.Close()
	os.Remove(filepath.Join(dir, VerifiedName)) // as left by another program
	f, _ = OpenFolder(dir, nil)
	if f.LastRoundVerified() {
		t.Error("verified without the mark")
	}
	f.Close()
	res, err := Repair(dir, nil)
	if err != nil || res.Repaired() {
		t.Fatalf("intact archive: %v %v", res, err)
	}
	f, _ = OpenFolder(dir, nil)
	defer f.Close()
	if !f.LastRoundVerified() {
		t.Error("Repair of an intact round did not mark it verified")
	}
}

func TestRepairCutsDamagedLastRound(t *testing.T) {
	dir, r1, r2 := twoRounds(t)
	names := volumeFiles(t, dir)
	round1 := map[string][]byte{}
	var round2 []string
	for _, n := range names {
		if ro, _, _ := ParseVolumeName(n); ro == 1 {
			round1[n], _ = os.ReadFile(filepath.Join(dir, n))
		} else {
			round2 = append(round2, n)
		}
	}
	if len(round2) < 3 {
		t.Fatalf("round 2 has %d parts, want 3 or more for this test", len(round2))
	}
	// Damage the second part of round 2 in the middle of its records.
	f, err := OpenFolder(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	var target *Volume
	for _, v := range f.Volumes() {
		if v.Name == round2[1] {
			target = v
		}
	}
	es := target.Entries()
	damaged := es[len(es)/2]
	f.Close()
	flipAt(t, filepath.Join(dir, round2[1]), damaged.Offset+damaged.Length/2)

	res, err := Repair(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Repaired() || res.Damaged != round2[1] || res.Offset != damaged.Offset || res.Kept != len(es)/2 {
		t.Fatalf("repair: %+v, want %s cut at %d keeping %d", res, round2[1], damaged.Offset, len(es)/2)
	}
	if len(res.MovedAside) != len(round2)-2 {
		t.Errorf("moved aside %v, want the %d parts after %s", res.MovedAside, len(round2)-2, round2[1])
	}
	if !strings.Contains(res.String(), "offset") || !strings.Contains(res.String(), round2[1]) {
		t.Errorf("summary %q", res)
	}
	for n, b := range round1 {
		if got, _ := os.ReadFile(filepath.Join(dir, n)); !bytes.Equal(got, b) {
			t.Errorf("repair changed %s of the complete round 1", n)
		}
	}
	// The round is now an interrupted one: the next writer continues it
	// and writes what was cut (an export run fetches it again).
	f, err = OpenFolder(dir, &FolderOptions{VolumeSize: 16 << 10})
	if err != nil {
		t.Fatalf("after repair: %v", err)
	}
	if err := f.Verify(); err != nil {
		t.Fatalf("after repair: %v", err)
	}
	have := map[string]bool{}
	for _, e := range f.View().Entries() {
		have[e.ID] = true
	}
	var lost []item
	for _, it := range r2 {
		if !have[it.h.ID] {
			lost = append(lost, it)
		}
	}
	if len(lost) == 0 {
		t.Fatal("nothing was cut")
	}
	rw, err := f.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if !rw.Resumed || rw.Round() != 2 {
		t.Errorf("Begin after repair: round %d resumed %v, want round 2 continued", rw.Round(), rw.Resumed)
	}
	writeItems(t, rw, lost)
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	f, err = OpenFolder(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Verify(); err != nil {
		t.Fatal(err)
	}
	if n := f.View().Len(); n != len(r1)+len(r2) {
		t.Errorf("view holds %d entries, want %d", n, len(r1)+len(r2))
	}
}

func TestRepairLeavesEarlierRounds(t *testing.T) {
	dir, _, _ := twoRounds(t)
	first := filepath.Join(dir, VolumeName(1, 1))
	st, _ := os.Stat(first)
	flipAt(t, first, st.Size()-TrailerSize/2) // the trailer: round 1 no longer opens
	before, _ := os.ReadFile(first)
	_, err := Repair(dir, nil)
	if err == nil || !strings.Contains(err.Error(), "earlier round") {
		t.Fatalf("damage in round 1: %v, want an error saying an earlier round is damaged", err)
	}
	if after, _ := os.ReadFile(first); !bytes.Equal(before, after) {
		t.Error("repair changed round 1")
	}
}

func TestNoArchive(t *testing.T) {
	empty := t.TempDir()
	junk := t.TempDir()
	os.WriteFile(filepath.Join(junk, "random.bin"), bytes.Repeat([]byte{0x5a}, 4096), 0o600)
	os.WriteFile(filepath.Join(junk, "r1.iemv"), []byte("not a volume"), 0o600)
	for _, dir := range []string{empty, junk} {
		if _, err := OpenFolder(dir, &FolderOptions{Existing: true}); !errors.Is(err, ErrNoArchive) || !strings.Contains(err.Error(), dir) {
			t.Errorf("OpenFolder(%s, Existing): %v, want ErrNoArchive naming the folder", dir, err)
		}
		if _, err := Repair(dir, nil); !errors.Is(err, ErrNoArchive) {
			t.Errorf("Repair(%s): %v, want ErrNoArchive", dir, err)
		}
		f, err := OpenFolder(dir, nil)
		if err != nil {
			t.Errorf("writer's OpenFolder(%s): %v, want a new archive", dir, err)
		} else {
			f.Close()
		}
	}
}

func TestMissingMiddleVolumeNamed(t *testing.T) {
	dir := t.TempDir()
	f, _ := OpenFolder(dir, nil)
	all := corpus(3, 9)
	writeRound(t, f, all[:3])
	writeRound(t, f, all[3:6])
	writeRound(t, f, all[6:])
	f.Close()
	os.Remove(filepath.Join(dir, VolumeName(2, 1)))
	_, err := OpenFolder(dir, nil)
	if !errors.Is(err, ErrChain) || !strings.Contains(err.Error(), VolumeName(2, 1)+" is missing") {
		t.Fatalf("missing middle volume: %v", err)
	}
}
