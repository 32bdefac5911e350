package archive

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/iemproject/iem/spec"
)

// The vectors in spec/testdata are written by spec/internal/gen, an
// implementation of SPEC.md that shares no code with this package. Reading
// every one of them as the spec says is how this package shows it follows
// the spec (SPEC.md §12).

var expectErr = map[string]error{
	spec.ExpectFormat:   ErrFormat,
	spec.ExpectChecksum: ErrChecksum,
	spec.ExpectVersion:  ErrVersion,
	spec.ExpectChain:    ErrChain,
}

func loadVectors(t testing.TB) []*spec.Vector {
	t.Helper()
	vs, err := spec.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) < 50 {
		t.Fatalf("only %d spec vectors; the spec's set has more", len(vs))
	}
	return vs
}

func vectorIdentities(t testing.TB, v *spec.Vector) []age.Identity {
	t.Helper()
	var ids []age.Identity
	if v.Identity != "" {
		id, err := age.ParseX25519Identity(v.Identity)
		if err != nil {
			t.Fatalf("%s: identity: %v", v.Name, err)
		}
		ids = append(ids, id)
	}
	if v.Passphrase != "" {
		id, err := age.NewScryptIdentity(v.Passphrase)
		if err != nil {
			t.Fatalf("%s: passphrase: %v", v.Name, err)
		}
		ids = append(ids, id)
	}
	return ids
}

// readVectorFolder opens the vector as an archive folder, verifies it and
// reads every entry's body, returning the bodies' digests in chain order and
// whether the newest volume was torn.
func readVectorFolder(dir string, ids []age.Identity) (digests []string, torn bool, err error) {
	f, err := OpenFolder(dir, &FolderOptions{Identities: ids})
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	if err := f.Verify(); err != nil {
		return nil, false, err
	}
	for _, v := range f.Volumes() {
		torn = torn || v.Torn
	}
	err = f.Walk(func(e *Entry) error {
		rc, err := f.Open(e)
		if err != nil {
			return err
		}
		defer rc.Close()
		h := sha256.New()
		if _, err := io.Copy(h, rc); err != nil {
			return err
		}
		digests = append(digests, hex.EncodeToString(h.Sum(nil)))
		return nil
	})
	return digests, torn, err
}

func TestSpecVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			dir := t.TempDir()
			if err := v.WriteDir(dir); err != nil {
				t.Fatal(err)
			}
			digests, torn, err := readVectorFolder(dir, vectorIdentities(t, v))
			switch v.Expect {
			case spec.ExpectSuccess, spec.ExpectRecovered:
				if err != nil {
					t.Fatalf("expected %s, got %v (%s)", v.Expect, err, v.Comment)
				}
				if want := v.Expect == spec.ExpectRecovered; torn != want {
					t.Errorf("torn volume = %v, want %v", torn, want)
				}
				if len(digests) != v.Entries {
					t.Fatalf("%d entries, want %d", len(digests), v.Entries)
				}
				for i, d := range digests {
					if d != v.SHA256[i] {
						t.Errorf("entry %d: body sha256 %s, want %s", i, d, v.SHA256[i])
					}
				}
			default:
				want := expectErr[v.Expect]
				if err == nil {
					t.Fatalf("expected %s, read %d entries without error (%s)", v.Expect, len(digests), v.Comment)
				}
				if !errors.Is(err, want) {
					t.Fatalf("expected %s (%v), got %v (%s)", v.Expect, want, err, v.Comment)
				}
				// The error must locate the damage: every failure names a volume
				// file, except chain failures about a volume that is absent.
				var ve *VolumeError
				if v.Expect != spec.ExpectChain && !errors.As(err, &ve) {
					t.Errorf("error does not name the volume: %v", err)
				}
			}
		})
	}
}

// TestSpecVectorsSingleVolume reads every single-volume vector through the
// lower-level API too: NewReader for closed volumes, Recover for torn ones.
// A reader MUST NOT accept a damaged volume that the folder API rejects.
func TestSpecVectorsSingleVolume(t *testing.T) {
	for _, v := range loadVectors(t) {
		if len(v.Files) != 1 || strings.HasPrefix(v.Name, "chain_") {
			continue
		}
		t.Run(v.Name, func(t *testing.T) {
			data := v.Files[0].Data
			opt := &ReaderOptions{Name: v.Files[0].Name, Identities: vectorIdentities(t, v)}
			r, err := NewReader(strings.NewReader(string(data)), int64(len(data)), opt)
			if err == nil {
				err = r.Verify()
			}
			switch v.Expect {
			case spec.ExpectSuccess:
				if err != nil {
					t.Fatalf("NewReader: %v", err)
				}
				if len(r.Entries()) != v.Entries {
					t.Fatalf("%d entries, want %d", len(r.Entries()), v.Entries)
				}
			case spec.ExpectRecovered:
				if !errors.Is(err, ErrTorn) {
					t.Fatalf("NewReader on a torn volume: %v, want ErrTorn", err)
				}
				s, err := Recover(strings.NewReader(string(data)), int64(len(data)), opt, nil)
				if err != nil {
					t.Fatalf("Recover: %v", err)
				}
				if len(s.Entries) != v.Entries {
					t.Fatalf("recovered %d entries, want %d (stopped: %v)", len(s.Entries), v.Entries, s.Reason)
				}
			default:
				if err == nil {
					t.Fatalf("expected %s, NewReader accepted it (%s)", v.Expect, v.Comment)
				}
			}
		})
	}
}

// vectorSeeds returns the single-volume spec vectors, plain ones only (the
// fuzzer reads without identities), as fuzz seeds.
func vectorSeeds() [][]byte {
	vs, err := spec.Load()
	if err != nil {
		panic(err)
	}
	var seeds [][]byte
	for _, v := range vs {
		if len(v.Files) == 1 && v.Identity == "" && v.Passphrase == "" {
			seeds = append(seeds, v.Files[0].Data)
		}
	}
	return seeds
}

// TestVectorsGolden keeps spec/testdata honest: a vector rewritten by hand
// (not by the generator) shows up as a parse failure or an unknown file.
func TestVectorsGolden(t *testing.T) {
	names, err := filepath.Glob("../spec/testdata/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if !strings.HasSuffix(n, ".vec") {
			t.Errorf("unexpected file in spec/testdata: %s", n)
			continue
		}
		data, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := spec.ParseVector(data); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
}
