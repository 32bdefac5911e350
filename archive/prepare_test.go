package archive

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

// preparedCorpus is corpus plus large incompressible bodies (the parallel
// hash path) and duplicates of both sizes.
func preparedCorpus() []item {
	items := corpus(21, 40)
	rng := rand.New(rand.NewPCG(21, 2))
	big := make([]byte, parallelHashMin*3)
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	for i := range 6 {
		items = append(items, item{Header{Kind: KindMessage, Mailbox: fmt.Sprintf("big%d@example.com", i%2), ID: fmt.Sprint("big", i)}, big})
	}
	for i := range 5 {
		items = append(items, item{Header{Kind: KindMessage, Mailbox: "copy@example.com", ID: fmt.Sprint("copy", i)}, items[3].body})
	}
	return items
}

// TestWritePrepared writes the same entries streamed (WriteHeader, Write)
// and prepared (every other one, or all), plain and encrypted, and checks
// that the volumes read back the same entries and bodies, that prepared
// duplicates are stored once, and that Prepare rejects what WriteHeader
// rejects.
func TestWritePrepared(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	items := preparedCorpus()
	for _, tc := range []struct {
		name     string
		opt      func() *WriterOptions
		prepared func(i int) bool
	}{
		{"plain-all", func() *WriterOptions { return nil }, func(int) bool { return true }},
		{"plain-mixed", func() *WriterOptions { return nil }, func(i int) bool { return i%2 == 0 }},
		{"encrypted-mixed", func() *WriterOptions { return &WriterOptions{Recipients: []age.Recipient{id.Recipient()}} },
			func(i int) bool { return i%2 == 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			streamed := writeVolume(t, items, tc.opt())
			var buf bytes.Buffer
			w, err := NewWriter(&buf, tc.opt())
			if err != nil {
				t.Fatal(err)
			}
			pp, err := NewPreparer(0)
			if err != nil {
				t.Fatal(err)
			}
			defer pp.Close()
			for i, it := range items {
				h := it.h
				h.Size = int64(len(it.body))
				if tc.prepared(i) {
					p, err := pp.Prepare(&h, it.body)
					if err != nil {
						t.Fatal(err)
					}
					if err := w.WritePrepared(p); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if err := w.WriteHeader(&h); err != nil {
					t.Fatal(err)
				}
				if _, err := w.Write(it.body); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if d := buf.Len() - len(streamed); d > 64 || d < -64 {
				t.Errorf("prepared volume %d bytes, streamed %d: duplicates not stored once?", buf.Len(), len(streamed))
			}
			ropt := &ReaderOptions{Identities: []age.Identity{id}}
			r, err := NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), ropt)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Verify(); err != nil {
				t.Fatal(err)
			}
			if len(r.Entries()) != len(items) {
				t.Fatalf("%d entries, want %d", len(r.Entries()), len(items))
			}
			for i, e := range r.Entries() {
				if e.ID != items[i].h.ID || e.Mailbox != items[i].h.Mailbox || e.Size != int64(len(items[i].body)) ||
					!e.Received.Equal(items[i].h.Received) || e.Attrs["read"] != items[i].h.Attrs["read"] {
					t.Fatalf("entry %d = %+v, want %+v", i, e, items[i].h)
				}
				if got := readAll(t, r, e); !bytes.Equal(got, items[i].body) {
					t.Fatalf("entry %d: body differs", i)
				}
			}
		})
	}

	pp, _ := NewPreparer(0)
	defer pp.Close()
	if _, err := pp.Prepare(&Header{Kind: KindMessage, ID: "x", Size: 5}, []byte("abc")); !errors.Is(err, ErrShortWrite) {
		t.Errorf("Prepare with a wrong size = %v, want ErrShortWrite", err)
	}
	if _, err := pp.Prepare(&Header{Kind: KindMessage, ID: "\xff", Size: -1}, []byte("abc")); !errors.Is(err, ErrFormat) {
		t.Errorf("Prepare with invalid UTF-8 = %v, want ErrFormat", err)
	}
}

// TestRoundWriterPrepared writes prepared entries into a folder with a
// small volume size, so that parts rotate between them, and syncs with
// SyncFunc after each, also after the part it captured was closed.
func TestRoundWriterPrepared(t *testing.T) {
	dir := t.TempDir()
	f, err := OpenFolder(dir, &FolderOptions{VolumeSize: 20 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	items := preparedCorpus()
	rw, err := f.Begin()
	if err != nil {
		t.Fatal(err)
	}
	pp, _ := NewPreparer(0)
	defer pp.Close()
	var pending []func() error
	for _, it := range items {
		h := it.h
		h.Size = int64(len(it.body))
		p, err := pp.Prepare(&h, it.body)
		if err != nil {
			t.Fatal(err)
		}
		if err := rw.WritePrepared(p); err != nil {
			t.Fatal(err)
		}
		sync, err := rw.SyncFunc()
		if err != nil {
			t.Fatal(err)
		}
		pending = append(pending, sync)
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	for i, sync := range pending { // every captured part is closed by now
		if err := sync(); err != nil {
			t.Fatalf("sync %d after close: %v", i, err)
		}
	}
	if n := len(f.Volumes()); n < 3 {
		t.Fatalf("%d volumes, want parts rotated at 20 KiB", n)
	}
	if err := f.Verify(); err != nil {
		t.Fatal(err)
	}
	v := f.View()
	for _, it := range items {
		e, ok := v.Item(it.h.Mailbox, it.h.ID)
		if !ok {
			t.Fatalf("%s/%s missing", it.h.Mailbox, it.h.ID)
		}
		rc, err := f.Open(e)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(rc)
		rc.Close()
		if !bytes.Equal(b.Bytes(), it.body) {
			t.Fatalf("%s: body differs", it.h.ID)
		}
	}
}

// TestLargeManifestStreamed writes a volume whose manifest is larger than
// streamManifestMin, so that Close compresses it as a stream, and reads
// every entry back from the manifest.
func TestLargeManifestStreamed(t *testing.T) {
	const n = 16000
	long := strings.Repeat("AAMkADk0ZGJmZjA5LTdlMjAtNGZiYy1hNTc4LTE1NjA2MmQxOTZiNwBGAAAAAADn", 4)
	var buf bytes.Buffer
	w, err := NewWriter(&buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	pp, _ := NewPreparer(0)
	defer pp.Close()
	manifest := 0
	for i := range n {
		h := Header{Kind: KindMessage, Mailbox: "big@example.com", Folder: long[:120], ID: fmt.Sprintf("%s%08d", long, i),
			ChangeKey: "CQAAABYAAAA", Size: -1, Received: time.Unix(1700000000+int64(i), 0), Attrs: map[string]string{"read": "1", "message-id": fmt.Sprintf("<%d@example.com>", i)}}
		body := []byte(fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i))
		manifest += len(encodeMeta(nil, &h, int64(len(body)))) + 36
		p, err := pp.Prepare(&h, body)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WritePrepared(p); err != nil {
			t.Fatal(err)
		}
	}
	if manifest <= streamManifestMin {
		t.Fatalf("manifest of about %d bytes does not exercise the streamed path", manifest)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(r.Entries()); got != n {
		t.Fatalf("%d entries, want %d", got, n)
	}
	for _, i := range []int{0, 1, n / 2, n - 1} {
		e := r.Entries()[i]
		if e.ID != fmt.Sprintf("%s%08d", long, i) || e.Attrs["message-id"] != fmt.Sprintf("<%d@example.com>", i) {
			t.Fatalf("entry %d = %+v", i, e.Header)
		}
		if got := string(readAll(t, r, e)); got != fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i) {
			t.Fatalf("entry %d body %q", i, got)
		}
	}
	if err := r.Verify(); err != nil {
		t.Fatal(err)
	}
}
