package pst

import (
	"bytes"
	"math/rand"
	"os"
	"testing"
)

// inspectBytes reads a file held in memory, as Inspect does.
func inspectBytes(p []byte) (*Report, error) {
	f, err := NewFile(bytes.NewReader(p), int64(len(p)))
	if err != nil {
		return nil, err
	}
	return f.Inspect(), nil
}

func TestInspect(t *testing.T) {
	want := map[string]int{"32-bit.pst": 1, "dist-list.pst": 4, "enron.pst": 71}
	for _, tf := range testFiles {
		t.Run(tf.name, func(t *testing.T) {
			r, err := Inspect(tf.path(t))
			if err != nil {
				t.Fatal(err)
			}
			if r.Format != tf.format || r.Crypt != tf.crypt {
				t.Errorf("format %v %v", r.Format, r.Crypt)
			}
			if n, ok := want[tf.name]; ok && r.Items != n {
				t.Errorf("%d items, want %d", r.Items, n)
			}
			if len(r.Problems) > 0 {
				t.Errorf("problems: %q", r.Problems)
			}
		})
	}
}

// TestTruncated cuts each file at 50 random points: no panic, and the cuts past the
// middle of the file still list the items whose blocks lie before the cut.
func TestTruncated(t *testing.T) {
	rng := rand.New(rand.NewSource(18))
	for _, tf := range testFiles {
		t.Run(tf.name, func(t *testing.T) {
			p, err := os.ReadFile(tf.path(t))
			if err != nil {
				t.Fatal(err)
			}
			full, err := inspectBytes(p)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 50; i++ {
				cut := rng.Intn(len(p))
				r, err := inspectBytes(p[:cut])
				if err != nil {
					continue // the header or a B-tree root is gone: a clear error, no panic
				}
				if r.Items > full.Items {
					t.Errorf("cut at %d: %d items, more than the whole file's %d", cut, r.Items, full.Items)
				}
				if r.Items < full.Items && len(r.Problems) == 0 {
					t.Errorf("cut at %d: %d of %d items and no problem reported", cut, r.Items, full.Items)
				}
			}
		})
	}
}

func FuzzOpen(f *testing.F) {
	for _, tf := range testFiles {
		if tf.npm {
			continue // 14-16 MB seeds make the fuzzer crawl; the shared files cover all layers but 4K
		}
		p, err := os.ReadFile(tf.path(f))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		r, err := inspectBytes(p)
		if err == nil && r == nil {
			t.Fatal("nil report")
		}
	})
}
