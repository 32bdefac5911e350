package archive

import (
	"bytes"
	"io"
	"testing"
)

// FuzzReader feeds arbitrary bytes to NewReader and Recover. Neither may
// panic; whatever NewReader accepts and Verify passes must re-write
// through Writer into a volume with the same entries and bodies (the
// archive/tar FuzzReader rule). Seeds: volumes from the writer, and the
// spec's vectors (see vectors_test.go).
func FuzzReader(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Recover(bytes.NewReader(data), int64(len(data)), nil, nil)
		if err == nil && s.End > int64(len(data)) {
			t.Fatalf("Recover End %d past size %d", s.End, len(data))
		}
		r, err := NewReader(bytes.NewReader(data), int64(len(data)), nil)
		if err != nil {
			return
		}
		if r.Verify() != nil {
			return
		}
		var out bytes.Buffer
		w, err := NewWriter(&out, &WriterOptions{Round: r.Info().Round, Part: r.Info().Part, ArchiveID: r.Info().ArchiveID})
		if err != nil {
			t.Fatal(err)
		}
		var bodies [][]byte
		for _, e := range r.Entries() {
			rc, err := r.Open(e)
			if err == ErrExternalRef {
				rc = io.NopCloser(bytes.NewReader(nil))
				e = &Entry{Header: e.Header}
				e.Size = 0
			} else if err != nil {
				t.Fatalf("Open after Verify: %v", err)
			}
			body, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatalf("read after Verify: %v", err)
			}
			bodies = append(bodies, body)
			h := e.Header
			h.Size = int64(len(body))
			if err := w.WriteHeader(&h); err != nil {
				t.Fatalf("re-write header: %v", err)
			}
			w.Write(body)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		r2, err := NewReader(bytes.NewReader(out.Bytes()), int64(out.Len()), nil)
		if err != nil {
			t.Fatalf("re-written volume does not read: %v", err)
		}
		if len(r2.Entries()) != len(r.Entries()) {
			t.Fatalf("re-written volume has %d entries, want %d", len(r2.Entries()), len(r.Entries()))
		}
		for i, e := range r2.Entries() {
			rc, err := r2.Open(e)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(b, bodies[i]) || e.ID != r.Entries()[i].ID {
				t.Fatalf("entry %d differs after re-write (%v)", i, err)
			}
		}
	})
}

func fuzzSeeds(tb testing.TB) [][]byte {
	items := corpus(21, 4)
	items = append(items, item{Header{Kind: KindMessage, ID: "dup"}, items[0].body})
	seeds := [][]byte{writeVolume(tb, items, nil), writeVolume(tb, nil, nil)}
	seeds = append(seeds, vectorSeeds()...)
	return seeds
}
