package format

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/iemproject/iem/internal/testbed"
)

// Corpora written by others, fetched from Debian at test time by
// testdata/fetch-corpora.sh (shared/research/testbed.md §2a, §2e) and never
// committed. corporaRoot finds the extracted tree: $IEM_CORPORA(/root) or
// $TMPDIR/iem-corpora/root. Absent corpora skip the tests, or fail them
// under CI=true.
func corporaRoot(t *testing.T) string {
	t.Helper()
	var cands []string
	if d := os.Getenv("IEM_CORPORA"); d != "" {
		cands = append(cands, filepath.Join(d, "root"), d)
	}
	cands = append(cands, filepath.Join(os.TempDir(), "iem-corpora", "root"))
	for _, c := range cands {
		if st, err := os.Stat(filepath.Join(c, "usr")); err == nil && st.IsDir() {
			return c
		}
	}
	msg := "format: corpora not found (IEM_CORPORA, $TMPDIR/iem-corpora); run format/testdata/fetch-corpora.sh"
	if testbed.InCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// corpusFiles lists regular files under root/dir matching one of exts
// ("" matches all), sorted; a missing directory fails the test because the
// package layout is part of what fetch-corpora.sh promises.
func corpusFiles(t *testing.T, root, dir string, exts ...string) []string {
	t.Helper()
	var out []string
	base := filepath.Join(root, dir)
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		for _, e := range exts {
			if e == "" || strings.HasSuffix(p, e) {
				out = append(out, p)
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("corpus %s: %v", dir, err)
	}
	if len(out) == 0 {
		t.Fatalf("corpus %s: no files", dir)
	}
	sort.Strings(out)
	return out
}

// A tally counts per-corpus fidelity: exact round trips and, for the rest,
// the reasons. It is logged (go test -v) and checked against floors.
type tally struct {
	name    string
	total   int
	exact   int
	reasons map[string]int
	outputs map[string][]byte // converted items, checked with vobject at the end
}

// keep records a converted item for the vobject check.
func (c *tally) keep(name string, b []byte) {
	if c.outputs == nil {
		c.outputs = map[string][]byte{}
	}
	c.outputs[name] = append([]byte(nil), b...)
}

// checkVobject writes the kept outputs and has vobject parse and validate
// them (see vobject_test.go).
func (c *tally) checkVobject(t *testing.T) {
	t.Helper()
	if len(c.outputs) == 0 {
		return
	}
	dir := t.TempDir()
	var files []string
	for i, name := range sortedKeys(c.outputs) {
		p := filepath.Join(dir, fmt.Sprintf("%04d%s", i, filepath.Ext(name)))
		if err := os.WriteFile(p, c.outputs[name], 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	for _, r := range runVobject(t, files) {
		if r.Error != "" {
			t.Errorf("%s: vobject rejects a converted item: %s", c.name, r.Error)
		}
	}
	t.Logf("%s: %d converted items validated by vobject", c.name, len(files))
	n, dup := putRadicale(t, c.outputs)
	t.Logf("%s: %d converted items stored by radicale (%d refused as a UID already stored, by design)", c.name, n, dup)
	if n+dup != len(c.outputs) {
		t.Errorf("%s: radicale stored %d of %d", c.name, n, len(c.outputs))
	}
}

func newTally(name string) *tally { return &tally{name: name, reasons: map[string]int{}} }

func (c *tally) ok()               { c.total++; c.exact++ }
func (c *tally) differ(why string) { c.total++; c.reasons[why]++ }

func (c *tally) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d items, %d exact", c.name, c.total, c.exact)
	keys := make([]string, 0, len(c.reasons))
	for k := range c.reasons {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "\n    %4d %s", c.reasons[k], k)
	}
	return b.String()
}

// TestCorpusMIMEByteExact: every message of the enmime and flufl.bounce
// corpora, carried as EWS MimeContent, comes back byte-exact as EML.
func TestCorpusMIMEByteExact(t *testing.T) {
	root := corporaRoot(t)
	for _, c := range []struct{ name, dir string }{
		{"enmime", "usr/share/gocode/src/github.com/jhillyerd/enmime/testdata"},
		{"flufl.bounce", "usr/lib/python3/dist-packages/flufl/bounce/tests/data"},
	} {
		tl := newTally(c.name + " mime byte-exact")
		for _, p := range corpusFiles(t, root, c.dir, "") {
			raw, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if len(raw) == 0 || strings.HasSuffix(p, ".py") {
				continue // __init__.py and empty placeholders are not messages
			}
			got, err := MIMEContent(wrapMIME(raw))
			if err != nil || !bytes.Equal(got, raw) {
				t.Errorf("MIMEContent(%s) = %d bytes, %v; want the %d original bytes", p, len(got), err, len(raw))
				tl.differ("not byte-exact")
				continue
			}
			tl.ok()
		}
		t.Log(tl)
	}
}
