// Package spec holds the iem archive format specification, SPEC.md, and its
// test vectors (SPEC.md §12).
//
// The vectors in testdata/*.vec are written by spec/internal/gen, an
// implementation of SPEC.md that is independent of the archive package, so
// that the archive package's tests can show it follows the spec. Each vector
// is a text header of "key: value" lines, a blank line, then the bytes of the
// files of an archive folder, concatenated in the order of the header's
// "file:" lines.
//
// A case's name starts with what it expects: success_, format_, checksum_,
// version_, chain_ or recovered_. Failure vectors carry no "entries:" or
// "sha256:" line; each is the smallest change to a valid archive, and its
// "fail-at:" names the first byte that differs from that archive. Encrypted
// vectors carry a test X25519 identity ("identity:") or an scrypt passphrase
// ("passphrase:"); they protect nothing.
//
// Regenerate with "go run ./spec/internal/gen -out spec/testdata" from the
// module root; plain vectors come out byte for byte the same.
package spec

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

//go:embed testdata/*.vec
var vectors embed.FS

// Vectors holds the test vectors as <case>.vec files at its root.
var Vectors fs.FS = mustSub(vectors, "testdata")

func mustSub(f fs.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return s
}

// Expectations a vector's "expect:" line can hold (SPEC.md §12).
const (
	ExpectSuccess   = "success"
	ExpectFormat    = "format failure"
	ExpectChecksum  = "checksum failure"
	ExpectVersion   = "version failure"
	ExpectChain     = "chain failure"
	ExpectRecovered = "recovered"
)

// ErrVector is returned, wrapped, for a vector that cannot be parsed.
var ErrVector = errors.New("spec: malformed vector")

// File is one file of a vector's archive folder.
type File struct {
	Name string
	Data []byte
}

// Vector is one parsed test vector.
type Vector struct {
	// Name is the case name: the file name without ".vec" when the vector was
	// loaded by [Load], else empty.
	Name string
	// Expect is one of the Expect constants.
	Expect string
	// Entries is the number of entries a reader (or recovery) must find; 0
	// when the vector has no "entries:" line, as failure vectors do not.
	Entries int
	// SHA256 holds the hex digests of the entries' bodies in entry order.
	SHA256 []string
	// Files are the archive folder's files, in the order of the header.
	Files []File
	// Identity is an age identity (AGE-SECRET-KEY-1…) that decrypts the
	// vector, or empty.
	Identity string
	// Passphrase is an age scrypt passphrase that decrypts the vector, or
	// empty.
	Passphrase string
	// FailAt is "<file name> <byte offset>" of the first damaged byte, or
	// empty.
	FailAt string
	// Comment is free text.
	Comment string
	// Header holds every header line's values by key, in order, including the
	// keys above and any this package does not know.
	Header map[string][]string
}

// ParseVector parses a vector (SPEC.md §12). The returned Files share data's
// memory.
func ParseVector(data []byte) (*Vector, error) {
	hdr, body, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		return nil, fmt.Errorf("%w: no blank line after the header", ErrVector)
	}
	v := &Vector{Header: make(map[string][]string)}
	type fileSize struct {
		name string
		size int
	}
	var sizes []fileSize
	for i, line := range strings.Split(string(hdr), "\n") {
		key, val, ok := strings.Cut(line, ": ")
		if !ok || key == "" {
			return nil, fmt.Errorf("%w: header line %d: not \"key: value\"", ErrVector, i+1)
		}
		v.Header[key] = append(v.Header[key], val)
		if key != "file" && len(v.Header[key]) > 1 {
			return nil, fmt.Errorf("%w: header line %d: repeated key %s", ErrVector, i+1, key)
		}
		switch key {
		case "expect":
			switch val {
			case ExpectSuccess, ExpectFormat, ExpectChecksum, ExpectVersion, ExpectChain, ExpectRecovered:
			default:
				return nil, fmt.Errorf("%w: unknown expect %q", ErrVector, val)
			}
			v.Expect = val
		case "entries":
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%w: entries %q", ErrVector, val)
			}
			v.Entries = n
		case "sha256":
			v.SHA256 = strings.Fields(val)
			for _, d := range v.SHA256 {
				if len(d) != 64 || strings.Trim(d, "0123456789abcdef") != "" {
					return nil, fmt.Errorf("%w: sha256 %q", ErrVector, d)
				}
			}
		case "file":
			name, sz, ok := strings.Cut(val, " ")
			n, err := strconv.Atoi(sz)
			if !ok || err != nil || n < 0 || !validName(name) {
				return nil, fmt.Errorf("%w: file %q", ErrVector, val)
			}
			sizes = append(sizes, fileSize{name, n})
		case "identity":
			v.Identity = val
		case "passphrase":
			v.Passphrase = val
		case "fail-at":
			v.FailAt = val
		case "comment":
			v.Comment = val
		}
	}
	if v.Expect == "" {
		return nil, fmt.Errorf("%w: no expect line", ErrVector)
	}
	if _, ok := v.Header["entries"]; ok && len(v.SHA256) != v.Entries {
		return nil, fmt.Errorf("%w: entries %d but %d sha256 digests", ErrVector, v.Entries, len(v.SHA256))
	}
	for _, fsz := range sizes {
		if fsz.size > len(body) {
			return nil, fmt.Errorf("%w: file %s: %d bytes declared, %d left", ErrVector, fsz.name, fsz.size, len(body))
		}
		v.Files = append(v.Files, File{Name: fsz.name, Data: body[:fsz.size:fsz.size]})
		body = body[fsz.size:]
	}
	if len(body) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the last file", ErrVector, len(body))
	}
	return v, nil
}

// validName reports whether name is a plain file name, safe to create in a
// folder.
func validName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, `/\:`) &&
		filepath.IsLocal(name)
}

// Load parses every vector in [Vectors], sorted by name, setting each Name.
func Load() ([]*Vector, error) {
	names, err := fs.Glob(Vectors, "*.vec")
	if err != nil {
		return nil, err
	}
	var vs []*Vector
	for _, n := range names {
		data, err := fs.ReadFile(Vectors, n)
		if err != nil {
			return nil, err
		}
		v, err := ParseVector(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		v.Name = strings.TrimSuffix(path.Base(n), ".vec")
		vs = append(vs, v)
	}
	return vs, nil
}

// WriteDir writes the vector's files into dir, which must exist, as an
// archive folder. Existing files of the same names are replaced.
func (v *Vector) WriteDir(dir string) error {
	for _, f := range v.Files {
		if !validName(f.Name) {
			return fmt.Errorf("%w: file name %q", ErrVector, f.Name)
		}
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o600); err != nil {
			return err
		}
	}
	return nil
}
