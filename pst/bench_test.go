package pst

import (
	"context"
	"io"
	"os"
	"runtime"
	"testing"

	"github.com/iemproject/iem/export"
)

// exportAll reads every item of the Source the way the export engine does:
// Hierarchy, Changes per folder, Fetch, Open, and the content read to the end. It
// returns the number of items and content bytes.
func exportAll(tb testing.TB, src *Source) (items int, bytes int64) {
	tb.Helper()
	ctx := context.Background()
	h, err := src.Hierarchy(ctx, src.address, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for _, fc := range h.Changes {
		var refs []export.ItemRef
		var kinds []export.ItemKind
		if _, err := src.Changes(ctx, src.address, fc.Folder.ID, nil, func(c export.ItemChange) error {
			refs, kinds = append(refs, c.Ref), append(kinds, c.Ref.Kind)
			return nil
		}); err != nil {
			tb.Fatal(err)
		}
		for i, r := range refs {
			if err := src.Fetch(ctx, src.address, kinds[i], []export.ItemRef{r}, func(x *export.Item) error {
				c, err := x.Open()
				if err != nil {
					return nil // counted by the engine as skipped; not a reader cost
				}
				items++
				bytes += int64(len(c.Data))
				if c.Body != nil {
					n, _ := io.Copy(io.Discard, c.Body)
					bytes += n
				}
				return nil
			}); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return items, bytes
}

// BenchmarkSourceEnron exports enron.pst through the Source: the profile of
// iem-export run --source pst without the archive (go test -bench SourceEnron
// -cpuprofile / -memprofile).
func BenchmarkSourceEnron(b *testing.B) {
	p := testFiles[2].path(b)
	fi, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	b.ReportAllocs()
	for b.Loop() {
		src, err := NewSource("user", "user@example.com", "", []string{p}, nil)
		if err != nil {
			b.Fatal(err)
		}
		exportAll(b, src)
		src.Close()
	}
}

// TestReaderMemoryFlat: reading a whole file through the Source leaves the
// reader holding no state that grows with what it read. After a first export of
// enron.pst (14 MB, of which 12 MB are streamed attachments) an open Source
// retains under 1 MiB (a cache of blocks, of nodes' data or of messages would
// hold several), two more passes add under 64 KiB (state kept per read), and the
// B-tree page cache holds at most its limit, also when the limit is far below
// the file's page count (where eviction must keep the reads right).
func TestReaderMemoryFlat(t *testing.T) {
	p := testFiles[2].path(t)
	src, err := NewSource("user", "user@example.com", "", []string{p}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	heap := func() int64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc)
	}
	before := heap()
	items, size := exportAll(t, src)
	first := heap()
	for range 2 {
		if i, n := exportAll(t, src); i != items || n != size {
			t.Fatalf("pass read %d items of %d bytes, the first %d of %d", i, n, items, size)
		}
	}
	last := heap()
	if size < 10<<20 {
		t.Fatalf("%d bytes read: too few for the bounds below to mean anything", size)
	}
	if r := first - before; r > 1<<20 {
		t.Errorf("an open Source retains %d bytes after reading %d items (%d bytes); want under 1 MiB", r, items, size)
	}
	if g := last - first; g > 64<<10 {
		t.Errorf("two more passes grew the retained heap by %d bytes; want under 64 KiB", g)
	}
	f := src.files[0].f
	if n := f.pages.len(); n > maxCachedPages {
		t.Errorf("page cache holds %d pages, limit %d", n, maxCachedPages)
	}
	t.Logf("%d items, %d bytes; retained %d bytes after one pass, %d after three; %d pages cached", items, size, first-before, last-before, f.pages.len())

	// A cache of 4 pages evicts on nearly every lookup: the same items and bytes.
	small, err := NewSource("user", "user@example.com", "", []string{p}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	small.files[0].f.pages.limit = 4
	if i, n := exportAll(t, small); i != items || n != size {
		t.Errorf("with a 4-page cache: %d items of %d bytes, want %d of %d", i, n, items, size)
	}
	if n := small.files[0].f.pages.len(); n > 4 {
		t.Errorf("4-page cache holds %d pages", n)
	}
}
