package pst

import (
	"sync"
	"testing"
)

// TestSourceConcurrentReads: the Source is safe for concurrent use, and its
// reads share the file's B-tree page cache. Four goroutines export enron.pst
// through one Source at once, with a cache of 8 pages so that they evict each
// other's pages on nearly every lookup (run under -race); each reads the items
// and bytes a lone pass reads.
func TestSourceConcurrentReads(t *testing.T) {
	p := testFiles[2].path(t)
	lone, err := NewSource("user", "user@example.com", "", []string{p}, nil)
	if err != nil {
		t.Fatal(err)
	}
	items, size := exportAll(t, lone)
	lone.Close()
	if items == 0 || size == 0 {
		t.Fatalf("a lone pass read %d items of %d bytes", items, size)
	}

	src, err := NewSource("user", "user@example.com", "", []string{p}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	src.files[0].f.pages.limit = 8
	const n = 4
	type result struct {
		items int
		size  int64
	}
	res := make([]result, n)
	var wg sync.WaitGroup
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[g].items, res[g].size = exportAll(t, src)
		}()
	}
	wg.Wait()
	for g, r := range res {
		if r.items != items || r.size != size {
			t.Errorf("goroutine %d read %d items of %d bytes, a lone pass %d of %d", g, r.items, r.size, items, size)
		}
	}
	if l := src.files[0].f.pages.len(); l > 8 {
		t.Errorf("8-page cache holds %d pages", l)
	}
}
