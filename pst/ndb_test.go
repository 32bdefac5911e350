package pst

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// testFile is one of the public test files ([shared]/testdata/pst or the npm package
// pst-extractor@1.12.0, fetched and cached by fetchNPM).
type testFile struct {
	name    string
	npm     bool
	sha256  string
	format  Format
	crypt   Crypt
	minNode int
}

var testFiles = []testFile{
	{"32-bit.pst", false, "e1d6fc712ba5bc8df88a277ba54e8ccca5d5b78d74f92adb95fc079cf84d0b63", FormatANSI, CryptPermute, 10},
	{"dist-list.pst", false, "c86841da106036b5abe5a2141dc7644cbb2bf8b504873515eb35a2efeb8c28ac", FormatUnicode, CryptPermute, 10},
	{"enron.pst", true, "6152489de3472be6f1f840935d34b6dbf5f62b025dd015929ea9cf66eb5a5b46", FormatUnicode, CryptPermute, 100},
	{"pstextractortest@outlook.com.ost", true, "daacd8d441428634e103b7c1e37fe1e5909256cc917551667049b5e84dfcf5f0", FormatOST4K, CryptNone, 100},
	{"pstextractortestpdf@outlook.com.ost", true, "c914f1f9eea55da0eb3884d063acf18a109fcb34cdd7dda623770f117ff63918", FormatOST4K, CryptNone, 100},
}

const npmTarballSHA256 = "c4c9eb9e75d09171452a4706df7d0e0e49606c1ca04aa81f30417dd385ad0e30"

// path returns the file's path, fetching the npm package into the user cache once; it
// skips the test when npm or the network is missing, unless CI=true.
func (tf testFile) path(t testing.TB) string {
	t.Helper()
	if !tf.npm {
		for _, dir := range []string{"../../shared/testdata/pst", "/work/shared/testdata/pst"} {
			p := filepath.Join(dir, tf.name)
			if _, err := os.Stat(p); err == nil {
				return tf.check(t, p)
			}
		}
		skipf(t, "%s: not found under shared/testdata/pst", tf.name)
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		skipf(t, "no cache dir: %v", err)
	}
	dir = filepath.Join(dir, "iem", "pst")
	p := filepath.Join(dir, "package", "example", "testdata", tf.name)
	if _, err := os.Stat(p); err == nil {
		return tf.check(t, p)
	}
	if _, err := exec.LookPath("npm"); err != nil {
		skipf(t, "npm not installed")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tgz := filepath.Join(dir, "pst-extractor-1.12.0.tgz")
	if _, err := os.Stat(tgz); err != nil {
		cmd := exec.Command("npm", "pack", "pst-extractor@1.12.0")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			skipf(t, "npm pack pst-extractor@1.12.0: %v\n%s", err, out)
		}
	}
	tf.checkSum(t, tgz, npmTarballSHA256)
	cmd := exec.Command("tar", "xzf", tgz, "package/example/testdata")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	return tf.check(t, p)
}

func (tf testFile) check(t testing.TB, p string) string {
	tf.checkSum(t, p, tf.sha256)
	return p
}

func (tf testFile) checkSum(t testing.TB, p, want string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != want {
		t.Fatalf("%s: SHA-256 %x, want %s", p, sum, want)
	}
}

func skipf(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

func TestCRCAndSignature(t *testing.T) {
	// [MS-PST] 5.3: CRC with initial value 0 and no final inversion.
	if got := crc(nil); got != 0 {
		t.Errorf("crc(nil) = %x", got)
	}
	if got := crc([]byte("123456789")); got != 0x2DFD2D88 {
		t.Errorf("crc(123456789) = %x, want 2dfd2d88", got)
	}
	if got := sig(0x1000, 0x1000); got != 0 {
		t.Errorf("sig = %x", got)
	}
	if got := sig(0x12340000, 0x5678); got != 0x1234^0x5678 {
		t.Errorf("sig = %x", got)
	}
}

func TestCryptTables(t *testing.T) {
	var seen [256]bool
	for _, b := range mpbbS {
		seen[b] = true
	}
	for i, ok := range seen {
		if !ok {
			t.Fatalf("mpbbS is not a permutation: %d missing", i)
		}
	}
	for i := 0; i < 256; i++ {
		if mpbbI[mpbbR[i]] != byte(i) {
			t.Fatalf("mpbbI is not the inverse of mpbbR at %d", i)
		}
	}
	// Cyclic encoding is its own inverse ([MS-PST] 5.2 uses one routine both ways).
	p := []byte("The quick brown fox jumps over the lazy dog")
	q := append([]byte(nil), p...)
	decode(CryptCyclic, q, 0x1234abcd)
	decode(CryptCyclic, q, 0x1234abcd)
	if string(q) != string(p) {
		t.Errorf("cyclic twice = %q", q)
	}
}

// eachFile runs fn on every test file, opened.
func eachFile(t *testing.T, fn func(t *testing.T, tf testFile, f *File)) {
	for _, tf := range testFiles {
		t.Run(tf.name, func(t *testing.T) {
			f, err := Open(tf.path(t))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			fn(t, tf, f)
		})
	}
}

func TestNDB(t *testing.T) {
	eachFile(t, func(t *testing.T, tf testFile, f *File) {
		if f.Format != tf.format || f.Crypt != tf.crypt {
			t.Errorf("format %v crypt %v, want %v %v", f.Format, f.Crypt, tf.format, tf.crypt)
		}
		nodes, bad := 0, 0
		f.Nodes(func(n Node) {
			nodes++
			blocks, err := f.Data(n.Data)
			if err != nil {
				t.Errorf("node 0x%x: %v", n.NID, err)
				bad++
				return
			}
			// Every data block of a heap-on-node starts with HNHDR bSig 0xEC ([MS-PST] 2.3.1.2).
			if len(blocks) > 0 && len(blocks[0]) > 3 && blocks[0][2] != 0xEC && n.NID&0x1f != 1 {
				t.Logf("node 0x%x: first block is not a heap (%x)", n.NID, blocks[0][:4])
			}
			if _, err := f.Subnodes(n.Sub); err != nil {
				t.Errorf("node 0x%x subnodes: %v", n.NID, err)
			}
		}, func(err error) { t.Errorf("walk: %v", err) })
		if nodes < tf.minNode {
			t.Errorf("%d nodes, want at least %d", nodes, tf.minNode)
		}
		if f.CRCErrors != 0 {
			t.Errorf("%d CRC errors", f.CRCErrors)
		}
		n, err := f.Node(NIDMessageStore)
		if err != nil {
			t.Fatal(err)
		}
		b, err := f.Data(n.Data)
		if err != nil || len(b) == 0 || len(b[0]) < 4 || b[0][2] != 0xEC || b[0][3] != 0xBC {
			t.Fatalf("message store is not a property context: %v %x", err, b)
		}
		t.Logf("%v %v: %d nodes", f.Format, f.Crypt, nodes)
	})
}

func TestBadHeaders(t *testing.T) {
	for name, p := range map[string][]byte{
		"empty":     nil,
		"not a pst": []byte("From: someone\r\n\r\nhello, this is not a PST file at all, just text" + string(make([]byte, 600))),
	} {
		_, err := NewFile(bytesReaderAt(p), int64(len(p)))
		var e *Error
		if !errors.As(err, &e) || e.Kind != "header" {
			t.Errorf("%s: %v, want a header error", name, err)
		}
	}
}

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, errors.New("EOF")
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, errors.New("EOF")
	}
	return n, nil
}
