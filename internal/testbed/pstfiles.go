package testbed

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// PSTFiles are the five public PST/OST test files (shared/testdata/pst/SOURCES.md and
// research/pst.md §9), by name, with their pinned SHA-256.
var PSTFiles = []struct{ Name, SHA256 string }{
	{"32-bit.pst", "e1d6fc712ba5bc8df88a277ba54e8ccca5d5b78d74f92adb95fc079cf84d0b63"},
	{"dist-list.pst", "c86841da106036b5abe5a2141dc7644cbb2bf8b504873515eb35a2efeb8c28ac"},
	{"enron.pst", "6152489de3472be6f1f840935d34b6dbf5f62b025dd015929ea9cf66eb5a5b46"},
	{"pstextractortest@outlook.com.ost", "daacd8d441428634e103b7c1e37fe1e5909256cc917551667049b5e84dfcf5f0"},
	{"pstextractortestpdf@outlook.com.ost", "c914f1f9eea55da0eb3884d063acf18a109fcb34cdd7dda623770f117ff63918"},
}

// pstTarball is the npm package holding enron.pst and the two OSTs, and its SHA-256.
const (
	pstTarball       = "pst-extractor-1.12.0.tgz"
	pstTarballSHA256 = "c4c9eb9e75d09171452a4706df7d0e0e49606c1ca04aa81f30417dd385ad0e30"
)

// PSTFile returns the path of the named public test file (one of PSTFiles), checked
// against its pinned SHA-256: the two small files from shared/testdata/pst, the three
// others from npm pst-extractor@1.12.0, packed once into the user cache
// (<cache>/iem/pst, the place the pst package's tests and scripts/demo use). It skips
// when a file or npm is missing, unless CI=true.
func PSTFile(t testing.TB, name string) string {
	t.Helper()
	want := ""
	for _, f := range PSTFiles {
		if f.Name == name {
			want = f.SHA256
		}
	}
	if want == "" {
		t.Fatalf("%s is not a public PST test file", name)
	}
	var p string
	switch name {
	case "32-bit.pst", "dist-list.pst":
		for _, dir := range []string{"../../shared/testdata/pst", "../../../shared/testdata/pst", "/work/shared/testdata/pst"} {
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				p, _ = filepath.Abs(filepath.Join(dir, name))
				break
			}
		}
		if p == "" {
			skipOrFail(t, "%s: not found under shared/testdata/pst", name)
		}
	default:
		p = npmPSTFile(t, name)
	}
	if got := fileSHA256(t, p); got != want {
		t.Fatalf("%s: SHA-256 %s, want %s", p, got, want)
	}
	return p
}

// npmPSTFile unpacks the npm package into the user cache once and returns the file's path.
func npmPSTFile(t testing.TB, name string) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		skipOrFail(t, "no user cache directory: %v", err)
	}
	dir := filepath.Join(cache, "iem", "pst")
	p := filepath.Join(dir, "package", "example", "testdata", name)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	if _, err := exec.LookPath("npm"); err != nil {
		skipOrFail(t, "npm not installed (it fetches pst-extractor@1.12.0)")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tgz := filepath.Join(dir, pstTarball)
	if _, err := os.Stat(tgz); err != nil {
		pack := exec.Command("npm", "pack", "pst-extractor@1.12.0")
		pack.Dir = dir
		if out, err := pack.CombinedOutput(); err != nil {
			skipOrFail(t, "npm pack pst-extractor@1.12.0: %v\n%s", err, out)
		}
	}
	if got := fileSHA256(t, tgz); got != pstTarballSHA256 {
		t.Fatalf("%s: SHA-256 %s, want %s", tgz, got, pstTarballSHA256)
	}
	untar := exec.Command("tar", "xzf", tgz, "package/example/testdata")
	untar.Dir = dir
	if out, err := untar.CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	return p
}

func fileSHA256(t testing.TB, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}
