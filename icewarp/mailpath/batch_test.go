package mailpath

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// folderFiles returns the names in dir, sorted.
func folderFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestBatch(t *testing.T) {
	recv := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	type item struct {
		received time.Time
		body     string
	}
	tests := []struct {
		name  string
		opt   Options
		items []item
		// existing are the random parts of names taken by other files
		// after the Adds, before Commit: they must be skipped, not replaced.
		existing []int
		want     []string // contents, in Add order
		wantN    []int    // random parts of the names, in Add order
	}{
		{name: "same second in add order", items: []item{{recv, "a\r\n"}, {recv, "b\r\n"}, {recv, "c\r\n"}},
			want: []string{"a\r\n", "b\r\n", "c\r\n"}, wantN: []int{0, 1, 2}},
		{name: "crlf repaired", items: []item{{recv, "Subject: a\nX: y\n\nbody\n"}, {recv, "lone\rCR\n"}, {recv, "kept\r\n"}, {recv, ""}},
			want: []string{"Subject: a\r\nX: y\r\n\r\nbody\r\n", "lone\rCR\r\n", "kept\r\n", ""}, wantN: []int{0, 1, 2, 3}},
		{name: "keep line endings", opt: Options{KeepLineEndings: true}, items: []item{{recv, "a\nb\n"}},
			want: []string{"a\nb\n"}, wantN: []int{0}},
		{name: "existing names never replaced", items: []item{{recv, "new1\r\n"}, {recv, "new2\r\n"}},
			existing: []int{0, 1, 3}, want: []string{"new1\r\n", "new2\r\n"}, wantN: []int{2, 4}},
		{name: "dates in add order", items: []item{{recv.Add(time.Hour), "late\r\n"}, {recv, "early\r\n"}, {recv.Add(time.Hour), "late2\r\n"}},
			want: []string{"late\r\n", "early\r\n", "late2\r\n"}, wantN: []int{0, 0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := tt.opt
			opt.Location, opt.Rand = time.UTC, func() int { return 0 }
			s := newStore(t, &opt)
			ctx := context.Background()
			b, err := s.NewBatch("example.com/john/", []string{"INBOX", "Sub"})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			dir := filepath.Join(s.Root(), "example.com", "john", "inbox", "Sub")
			if b.Dir() != dir {
				t.Errorf("Dir() = %q, want %q", b.Dir(), dir)
			}
			var total int64
			for i, it := range tt.items {
				n, err := b.Add(ctx, it.received, strings.NewReader(it.body))
				if err != nil {
					t.Fatalf("Add(%q) = %v", it.body, err)
				}
				if n != int64(len(tt.want[i])) {
					t.Errorf("Add(%q) size = %d, want %d", it.body, n, len(tt.want[i]))
				}
				total += n
			}
			if b.Len() != len(tt.items) || b.Size() != total {
				t.Errorf("Len, Size = %d, %d; want %d, %d", b.Len(), b.Size(), len(tt.items), total)
			}
			for _, f := range folderFiles(t, dir) {
				if strings.HasSuffix(f, ".imap") {
					t.Errorf("%s published before Commit", f)
				}
			}
			var keep []string
			for _, n := range tt.existing {
				name := FileName("", recv, n)
				keep = append(keep, name)
				if err := os.WriteFile(filepath.Join(dir, name), []byte("old "+name), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			names, err := b.Commit(ctx)
			if err != nil {
				t.Fatalf("Commit = %v", err)
			}
			if len(names) != len(tt.items) {
				t.Fatalf("Commit returned %d names, want %d", len(names), len(tt.items))
			}
			for i, name := range names {
				if want := FileName("", tt.items[i].received, tt.wantN[i]); name != want {
					t.Errorf("name %d = %q, want %q", i, name, want)
				}
				got, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil || string(got) != tt.want[i] {
					t.Errorf("%s holds %q, %v; want %q", name, got, err, tt.want[i])
				}
				if info, err := os.Stat(filepath.Join(dir, name)); err != nil {
					t.Error(err)
				} else if info.Mode().Perm() != 0o600 {
					t.Errorf("mode of %s = %v, want 0600", name, info.Mode().Perm())
				}
			}
			for _, name := range keep {
				if got, _ := os.ReadFile(filepath.Join(dir, name)); string(got) != "old "+name {
					t.Errorf("existing %s replaced: holds %q", name, got)
				}
			}
			want := append(slices.Clone(names), keep...)
			slices.Sort(want)
			if got := folderFiles(t, dir); !slices.Equal(got, want) {
				t.Errorf("folder holds %q, want %q (no temporary files)", got, want)
			}
			if b.Len() != 0 || b.Size() != 0 {
				t.Errorf("after Commit: Len, Size = %d, %d; want 0, 0", b.Len(), b.Size())
			}
			// The batch takes more after a Commit.
			if _, err := b.Add(ctx, recv, strings.NewReader("more\r\n")); err != nil {
				t.Fatal(err)
			}
			more, err := b.Commit(ctx)
			if err != nil || len(more) != 1 || slices.Contains(want, more[0]) {
				t.Errorf("second Commit = %q, %v; want one new name", more, err)
			}
			if got, _ := os.ReadFile(filepath.Join(dir, more[0])); string(got) != "more\r\n" {
				t.Errorf("second commit stored %q", got)
			}
		})
	}
}

// A process killed before Commit leaves temporary files only; RemoveTemp
// removes them.
func TestBatchUncommittedRemoveTemp(t *testing.T) {
	s := newStore(t, nil)
	ctx := context.Background()
	b, err := s.NewBatch("d/u", []string{"INBOX"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := b.Add(ctx, time.Time{}, strings.NewReader(fmt.Sprintf("m%d\r\n", i))); err != nil {
			t.Fatal(err)
		}
	}
	dir := b.Dir()
	files := folderFiles(t, dir)
	if len(files) != 3 {
		t.Fatalf("folder holds %q, want 3 temporary files", files)
	}
	for _, f := range files {
		if ok, _ := filepath.Match(".iem-*.tmp", f); !ok {
			t.Errorf("staged file %q is not a temporary name", f)
		}
	}
	// The process dies here: no Commit, no Close.
	n, err := s.RemoveTemp("d/u", []string{"INBOX"})
	if err != nil || n != 3 {
		t.Errorf("RemoveTemp = %d, %v; want 3, nil", n, err)
	}
	if files := folderFiles(t, dir); len(files) != 0 {
		t.Errorf("folder holds %q after RemoveTemp, want nothing", files)
	}
	if err := b.Close(); err != nil {
		t.Errorf("Close after the files went = %v", err)
	}
}

func TestBatchCancel(t *testing.T) {
	canceled := func() context.Context {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return ctx
	}
	tests := []struct {
		name string
		run  func(b *Batch) ([]string, error) // must fail with context.Canceled
	}{
		{"add cancelled", func(b *Batch) ([]string, error) {
			_, err := b.Add(canceled(), time.Time{}, strings.NewReader("x"))
			return nil, err
		}},
		{"add cancelled mid-body", func(b *Batch) ([]string, error) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, err := b.Add(ctx, time.Time{}, &cancelReader{cancel: cancel})
			return nil, err
		}},
		{"commit cancelled", func(b *Batch) ([]string, error) {
			for range 2 {
				if _, err := b.Add(context.Background(), time.Time{}, strings.NewReader("x")); err != nil {
					return nil, err
				}
			}
			return b.Commit(canceled())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t, nil)
			b, err := s.NewBatch("d/u", []string{"INBOX"})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			names, err := tt.run(b)
			if !errors.Is(err, context.Canceled) || len(names) != 0 {
				t.Fatalf("= %q, %v; want no names, context.Canceled", names, err)
			}
			if files := folderFiles(t, b.Dir()); len(files) != 0 {
				t.Errorf("folder holds %q, want nothing", files)
			}
			if b.Len() != 0 || b.Size() != 0 {
				t.Errorf("Len, Size = %d, %d; want 0, 0", b.Len(), b.Size())
			}
			// The batch is still usable.
			if _, err := b.Add(context.Background(), time.Time{}, strings.NewReader("y")); err != nil {
				t.Fatal(err)
			}
			names, err = b.Commit(context.Background())
			if err != nil || len(names) != 1 {
				t.Fatalf("Commit after the failure = %q, %v", names, err)
			}
			if files := folderFiles(t, b.Dir()); !slices.Equal(files, names) {
				t.Errorf("folder holds %q, want %q", files, names)
			}
		})
	}
}

// A message that cannot be published stops the Commit: the ones before it
// are published and reported, the rest leave no file at all.
func TestBatchCommitFailure(t *testing.T) {
	s := newStore(t, &Options{Rand: func() int { return 0 }})
	ctx := context.Background()
	b, err := s.NewBatch("d/u", []string{"INBOX"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for i := range 4 {
		if _, err := b.Add(ctx, time.Time{}, strings.NewReader(fmt.Sprintf("m%d\r\n", i))); err != nil {
			t.Fatal(err)
		}
	}
	// The second message's file vanishes: neither link nor rename can
	// publish it.
	if err := os.Remove(b.staged[1].tmp); err != nil {
		t.Fatal(err)
	}
	names, err := b.Commit(ctx)
	if err == nil || len(names) != 1 {
		t.Fatalf("Commit = %q, %v; want the first name and an error", names, err)
	}
	if got, _ := os.ReadFile(filepath.Join(b.Dir(), names[0])); string(got) != "m0\r\n" {
		t.Errorf("%s holds %q, want m0", names[0], got)
	}
	if files := folderFiles(t, b.Dir()); !slices.Equal(files, names) {
		t.Errorf("folder holds %q, want only %q (no later message, no temporary file)", files, names)
	}
}

func TestBatchClose(t *testing.T) {
	s := newStore(t, nil)
	ctx := context.Background()
	b, err := s.NewBatch("d/u", []string{"INBOX"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := b.Add(ctx, time.Time{}, strings.NewReader("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if files := folderFiles(t, b.Dir()); len(files) != 0 {
		t.Errorf("Close left %q", files)
	}
	if _, err := b.Add(ctx, time.Time{}, strings.NewReader("x")); err == nil {
		t.Error("Add after Close = nil, want error")
	}
	if _, err := b.Commit(ctx); err == nil {
		t.Error("Commit after Close = nil, want error")
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestBatchRejects(t *testing.T) {
	s := newStore(t, nil)
	for _, tt := range []struct {
		acct   string
		folder []string
	}{
		{"d/u", []string{".."}},
		{"../outside", []string{"INBOX"}},
		{"d/u", []string{"~webmail"}},
		{"d/u", nil},
	} {
		if _, err := s.NewBatch(tt.acct, tt.folder); !errors.Is(err, ErrInsecurePath) {
			t.Errorf("NewBatch(%q, %q) = %v, want ErrInsecurePath", tt.acct, tt.folder, err)
		}
	}
}

// Batches and Puts into one folder, all starting at the same random
// number and second: every name is unique and every message is there.
func TestBatchConcurrentUnique(t *testing.T) {
	s := newStore(t, &Options{Rand: func() int { return 7 }})
	recv := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	const writers, per = 6, 20
	var mu sync.Mutex
	var all []string
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			ctx := context.Background()
			var names []string
			if w == 0 {
				for range per {
					name, err := s.Put(ctx, "d/u", []string{"INBOX"}, recv, strings.NewReader("p"))
					if err != nil {
						t.Error(err)
						return
					}
					names = append(names, name)
				}
			} else {
				b, err := s.NewBatch("d/u", []string{"INBOX"})
				if err != nil {
					t.Error(err)
					return
				}
				defer b.Close()
				for range per {
					if _, err := b.Add(ctx, recv, strings.NewReader("b")); err != nil {
						t.Error(err)
						return
					}
				}
				if names, err = b.Commit(ctx); err != nil {
					t.Error(err)
				}
			}
			mu.Lock()
			all = append(all, names...)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(all)
	if len(slices.Compact(slices.Clone(all))) != writers*per {
		t.Errorf("%d distinct names of %d, want %d", len(slices.Compact(slices.Clone(all))), len(all), writers*per)
	}
	if files := folderFiles(t, filepath.Join(s.Root(), "d", "u", "inbox")); !slices.Equal(files, all) {
		t.Errorf("folder holds %d files, want the %d published", len(files), len(all))
	}
}
