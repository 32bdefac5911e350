package spec

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func loadAll(t *testing.T) []*Vector {
	t.Helper()
	vs, err := Load()
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	if len(vs) < 40 {
		t.Fatalf("Load() found %d vectors, want at least 40", len(vs))
	}
	return vs
}

func TestVectorsParse(t *testing.T) {
	counts := make(map[string]int)
	for _, v := range loadAll(t) {
		counts[v.Expect]++
		t.Run(v.Name, func(t *testing.T) {
			raw, err := fs.ReadFile(Vectors, v.Name+".vec")
			if err != nil {
				t.Fatal(err)
			}
			hdr, _, _ := bytes.Cut(raw, []byte("\n\n"))
			total := len(hdr) + 2
			for _, f := range v.Files {
				total += len(f.Data)
			}
			if total != len(raw) {
				t.Errorf("header %d bytes + files = %d, want the vector's %d bytes", len(hdr)+2, total, len(raw))
			}
			if len(v.Files) == 0 {
				t.Errorf("no files")
			}
			if len(v.Header["file"]) != len(v.Files) {
				t.Errorf("Header[file] has %d values, want %d", len(v.Header["file"]), len(v.Files))
			}
			_, hasEntries := v.Header["entries"]
			switch v.Expect {
			case ExpectSuccess, ExpectRecovered:
				if !hasEntries || len(v.SHA256) != v.Entries {
					t.Errorf("entries %d (line present %v), %d digests", v.Entries, hasEntries, len(v.SHA256))
				}
			default:
				if hasEntries {
					t.Errorf("failure vector with an entries line")
				}
			}
			if v.FailAt != "" {
				name, off, _ := strings.Cut(v.FailAt, " ")
				n, err := strconv.Atoi(off)
				i := slices.IndexFunc(v.Files, func(f File) bool { return f.Name == name })
				if err != nil || i < 0 || n < 0 || n >= len(v.Files[i].Data) {
					t.Errorf("fail-at %q is not a byte of a file", v.FailAt)
				}
			}
			if v.Comment == "" {
				t.Errorf("no comment")
			}
		})
	}
	for _, e := range []string{ExpectSuccess, ExpectFormat, ExpectChecksum, ExpectVersion, ExpectChain, ExpectRecovered} {
		if counts[e] == 0 {
			t.Errorf("no vector expects %q", e)
		}
	}
}

// TestVectorsSize keeps the embedded vectors small.
func TestVectorsSize(t *testing.T) {
	total := 0
	err := fs.WalkDir(Vectors, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		total += int(info.Size())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if total > 2<<20 {
		t.Errorf("vectors take %d bytes, want at most 2 MiB", total)
	}
}

var volumeName = regexp.MustCompile(`^r[0-9]{6}\.p[0-9]{3}\.iemv$`)

// TestVectorsFraming checks, from SPEC.md §3.1 and §6 alone, the header and
// trailer of every volume of the success vectors, so that a generator bug
// cannot hide behind a reader bug.
func TestVectorsFraming(t *testing.T) {
	castagnoli := crc32.MakeTable(crc32.Castagnoli)
	for _, v := range loadAll(t) {
		if v.Expect != ExpectSuccess {
			continue
		}
		t.Run(v.Name, func(t *testing.T) {
			var id []byte
			volumes := 0
			for _, f := range v.Files {
				if !volumeName.MatchString(f.Name) {
					continue
				}
				volumes++
				d := f.Data
				if len(d) < 48+64 {
					t.Fatalf("%s: %d bytes", f.Name, len(d))
				}
				if !bytes.Equal(d[:8], []byte("\x89IEM\r\n\x1a\n")) || binary.LittleEndian.Uint16(d[8:]) != 1 {
					t.Errorf("%s: header magic or version wrong", f.Name)
				}
				if crc32.Checksum(d[:44], castagnoli) != binary.LittleEndian.Uint32(d[44:]) {
					t.Errorf("%s: HeaderCRC wrong", f.Name)
				}
				round, _ := strconv.Atoi(f.Name[1:7])
				part, _ := strconv.Atoi(f.Name[9:12])
				if int(binary.LittleEndian.Uint32(d[12:])) != round || int(binary.LittleEndian.Uint32(d[16:])) != part {
					t.Errorf("%s: header Round/Part do not match the name", f.Name)
				}
				if id == nil {
					id = d[20:36]
				} else if !bytes.Equal(id, d[20:36]) {
					t.Errorf("%s: ArchiveID differs", f.Name)
				}
				encrypted := binary.LittleEndian.Uint16(d[10:]) == 1
				if encrypted != (v.Identity != "" || v.Passphrase != "") {
					t.Errorf("%s: encrypted flag %v, identity %q, passphrase %q", f.Name, encrypted, v.Identity, v.Passphrase)
				}
				tr := d[len(d)-64:]
				if !bytes.Equal(tr[56:], []byte("\x89IEMEND\n")) || binary.LittleEndian.Uint16(tr[48:]) != 1 {
					t.Errorf("%s: trailer magic or version wrong", f.Name)
				}
				if crc32.Checksum(tr[:52], castagnoli) != binary.LittleEndian.Uint32(tr[52:]) {
					t.Errorf("%s: TrailerCRC wrong", f.Name)
				}
				off, n := binary.LittleEndian.Uint64(tr[0:]), binary.LittleEndian.Uint64(tr[8:])
				if off+n+64 != uint64(len(d)) {
					t.Fatalf("%s: ManifestOffset %d + ManifestLength %d + 64 != size %d", f.Name, off, n, len(d))
				}
				if sum := sha256.Sum256(d[off : off+n]); !bytes.Equal(sum[:], tr[16:48]) {
					t.Errorf("%s: ManifestDigest wrong", f.Name)
				}
			}
			if volumes == 0 {
				t.Errorf("no volume files")
			}
		})
	}
}

func TestParseVectorErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"no blank line", "expect: success\n"},
		{"no expect", "entries: 0\nsha256: \n\n"},
		{"unknown expect", "expect: maybe\n\n"},
		{"not key value", "expect: success\nhello\n\n"},
		{"repeated key", "expect: success\nexpect: success\n\n"},
		{"bad entries", "expect: success\nentries: x\nsha256: \n\n"},
		{"digest count", "expect: success\nentries: 2\nsha256: " + strings.Repeat("a", 64) + "\n\n"},
		{"bad digest", "expect: success\nentries: 1\nsha256: xyz\n\n"},
		{"file too long", "expect: success\nfile: a 5\n\nabc"},
		{"bytes left", "expect: success\nfile: a 2\n\nabc"},
		{"path in name", "expect: success\nfile: ../a 1\n\na"},
		{"slash in name", "expect: success\nfile: d/a 1\n\na"},
		{"bad size", "expect: success\nfile: a -1\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := ParseVector([]byte(tt.in))
			if !errors.Is(err, ErrVector) {
				t.Errorf("ParseVector(%q) = %v, %v, want ErrVector", tt.in, v, err)
			}
		})
	}
}

func TestParseVector(t *testing.T) {
	in := "expect: recovered\nentries: 1\nsha256: " + strings.Repeat("0f", 32) +
		"\nidentity: AGE-SECRET-KEY-1X\nfail-at: b 1\ncomment: a: b\nfuture: x\nfile: a 3\nfile: b 0\nfile: c 2\n\nabcde"
	v, err := ParseVector([]byte(in))
	if err != nil {
		t.Fatalf("ParseVector(%q) = %v", in, err)
	}
	want := []File{{"a", []byte("abc")}, {"b", []byte{}}, {"c", []byte("de")}}
	if len(v.Files) != len(want) {
		t.Fatalf("ParseVector(%q).Files = %q, want %q", in, v.Files, want)
	}
	for i := range want {
		if v.Files[i].Name != want[i].Name || !bytes.Equal(v.Files[i].Data, want[i].Data) {
			t.Errorf("ParseVector(%q).Files[%d] = %q, want %q", in, i, v.Files[i], want[i])
		}
	}
	if v.Expect != ExpectRecovered || v.Entries != 1 || v.SHA256[0] != strings.Repeat("0f", 32) ||
		v.Identity != "AGE-SECRET-KEY-1X" || v.FailAt != "b 1" || v.Comment != "a: b" || v.Header["future"][0] != "x" {
		t.Errorf("ParseVector(%q) = %+v", in, v)
	}
	// Appending to a file must not overwrite the next one.
	_ = append(v.Files[0].Data, 'X')
	if string(v.Files[2].Data) != "de" {
		t.Errorf("append to Files[0] changed Files[2] to %q", v.Files[2].Data)
	}
}

func TestWriteDir(t *testing.T) {
	for _, v := range loadAll(t) {
		if v.Name != "chain_missing_round" && v.Name != "success_other_files" {
			continue
		}
		dir := t.TempDir()
		if err := v.WriteDir(dir); err != nil {
			t.Fatalf("WriteDir(%s) = %v", v.Name, err)
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != len(v.Files) {
			t.Errorf("WriteDir(%s) wrote %d files, want %d", v.Name, len(ents), len(v.Files))
		}
		for _, f := range v.Files {
			got, err := os.ReadFile(filepath.Join(dir, f.Name))
			if err != nil || !bytes.Equal(got, f.Data) {
				t.Errorf("WriteDir(%s): %s = %d bytes, %v, want %d bytes", v.Name, f.Name, len(got), err, len(f.Data))
			}
		}
	}
	bad := &Vector{Files: []File{{"../escape", nil}}}
	if err := bad.WriteDir(t.TempDir()); !errors.Is(err, ErrVector) {
		t.Errorf("WriteDir(../escape) = %v, want ErrVector", err)
	}
}

// TestGeneratorDeterministic runs the generator and checks that it writes
// every committed plain vector byte for byte, and no other vector.
func TestGeneratorDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator (go run); skipped in -short")
	}
	out := t.TempDir()
	cmd := exec.Command("go", "run", "./internal/gen", "-out", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./internal/gen: %v\n%s", err, msg)
	}
	generated, err := filepath.Glob(filepath.Join(out, "*.vec"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range generated {
		got = append(got, filepath.Base(p))
	}
	committed, err := fs.Glob(Vectors, "*.vec")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, committed) {
		t.Errorf("generator wrote %q, committed are %q", got, committed)
	}
	for _, name := range committed {
		want, err := fs.ReadFile(Vectors, name)
		if err != nil {
			t.Fatal(err)
		}
		v, err := ParseVector(want)
		if err != nil {
			t.Fatal(err)
		}
		have, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Errorf("generator did not write %s: %v", name, err)
			continue
		}
		if v.Identity != "" || v.Passphrase != "" {
			// age encryption is not reproducible: the new vector must say
			// the same and read the same.
			w, err := ParseVector(have)
			if err != nil {
				t.Errorf("ParseVector(new %s) = %v", name, err)
				continue
			}
			if w.Expect != v.Expect || !slices.Equal(w.SHA256, v.SHA256) || w.Comment != v.Comment || len(w.Files) != len(v.Files) {
				t.Errorf("new %s = %s %q, committed %s %q", name, w.Expect, w.SHA256, v.Expect, v.SHA256)
			}
			if _, _, err := checkVector(w); (err == nil) != (v.Expect == ExpectSuccess || v.Expect == ExpectRecovered) {
				t.Errorf("checkVector(new %s) = %v, want %s", name, err, v.Expect)
			}
			continue
		}
		if !bytes.Equal(have, want) {
			t.Errorf("generator wrote %s differently from the committed vector (run go run ./spec/internal/gen -out spec/testdata)", name)
		}
	}
}
