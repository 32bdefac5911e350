package archive

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

type item struct {
	h    Header
	body []byte
}

// corpus returns mail-like entries: small messages, a few large bodies and duplicates.
func corpus(seed uint64, n int) []item {
	rng := rand.New(rand.NewPCG(seed, 1))
	words := strings.Fields("the quick brown fox jumps over lazy dog meeting invoice report quarterly budget hello regards")
	var out []item
	for i := 0; i < n; i++ {
		var b bytes.Buffer
		fmt.Fprintf(&b, "From: user%d@example.com\r\nTo: all@example.com\r\nSubject: item %d\r\nMessage-ID: <%d@example.com>\r\n\r\n", i%7, i, i)
		size := 200 + rng.IntN(8000)
		for b.Len() < size {
			b.WriteString(words[rng.IntN(len(words))])
			b.WriteByte(' ')
		}
		h := Header{Kind: KindMessage, Mailbox: fmt.Sprintf("user%d@example.com", i%3), Folder: "inbox",
			ID: fmt.Sprintf("AAMk%06d", i), ChangeKey: "CQAAAB", Received: time.Unix(1700000000+int64(i), 0).UTC(),
			Attrs: map[string]string{"read": fmt.Sprint(i % 2)}}
		out = append(out, item{h, b.Bytes()})
	}
	return out
}

// entryWriter is what Writer and RoundWriter share.
type entryWriter interface {
	WriteHeader(h *Header) error
	Write(p []byte) (int, error)
}

// writeItems writes items to w, failing tb at the first error.
func writeItems(tb testing.TB, w entryWriter, items []item) {
	tb.Helper()
	for _, it := range items {
		h := it.h
		h.Size = int64(len(it.body))
		if err := w.WriteHeader(&h); err != nil {
			tb.Fatal(err)
		}
		if _, err := w.Write(it.body); err != nil {
			tb.Fatal(err)
		}
	}
}

func writeVolume(t testing.TB, items []item, opt *WriterOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, opt)
	if err != nil {
		t.Fatal(err)
	}
	writeItems(t, w, items)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readAll(t testing.TB, r *Reader, e *Entry) []byte {
	t.Helper()
	rc, err := r.Open(e)
	if err != nil {
		t.Fatalf("Open(%s) = %v", e.ID, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", e.ID, err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	items := corpus(1, 50)
	big := bytes.Repeat([]byte("0123456789abcdef"), 400<<10/16*3) // 1.2 MiB, several chunks
	items = append(items, item{Header{Kind: KindMessage, Mailbox: "a@example.com", ID: "big"}, big})
	items = append(items, item{Header{Kind: KindMessage, Mailbox: "b@example.com", ID: "big-copy"}, big})
	items = append(items, item{Header{Kind: KindTombstone, Mailbox: "a@example.com", ID: "gone"}, nil})
	items = append(items, item{Header{Kind: Kind(99), Mailbox: "ü@example.com", ID: "ünknown", Attrs: map[string]string{"x": "y"}}, []byte("?")})
	for _, memLimit := range []int{0, 1 << 10} { // in memory, and spooled to disk
		t.Run(fmt.Sprintf("mem=%d", memLimit), func(t *testing.T) {
			data := writeVolume(t, items, &WriterOptions{MemoryLimit: memLimit, SpoolDir: t.TempDir(), Writer: "test"})
			r, err := NewReader(bytes.NewReader(data), int64(len(data)), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(r.Entries()); got != len(items) {
				t.Fatalf("Entries() = %d, want %d", got, len(items))
			}
			for i, e := range r.Entries() {
				want := items[i]
				if e.ID != want.h.ID || e.Kind != want.h.Kind || e.Mailbox != want.h.Mailbox || !e.Received.Equal(want.h.Received) {
					t.Errorf("entry %d = %+v, want %+v", i, e.Header, want.h)
				}
				if e.Digest != sha256.Sum256(want.body) {
					t.Errorf("entry %d digest mismatch", i)
				}
				if got := readAll(t, r, e); !bytes.Equal(got, want.body) {
					t.Errorf("entry %d body differs (%d vs %d bytes)", i, len(got), len(want.body))
				}
			}
			if e := r.Entries()[51]; e.Ref == nil {
				t.Errorf("duplicate body not stored as a ref")
			}
			if len(data) > len(big) { // the 1.2 MiB body compresses to almost nothing, twice would still be tiny;
				t.Errorf("volume is %d bytes", len(data)) // this guards against storing raw bodies
			}
			if err := r.Verify(); err != nil {
				t.Errorf("Verify() = %v", err)
			}
			if r.Info().Writer != "test" {
				t.Errorf("Writer = %q", r.Info().Writer)
			}
		})
	}
}

func TestDedupStoresOnce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	body := make([]byte, 64<<10) // incompressible
	for i := range body {
		body[i] = byte(rng.Uint32())
	}
	one := writeVolume(t, []item{{Header{Kind: KindMessage, ID: "1"}, body}}, nil)
	var many []item
	for i := 0; i < 500; i++ {
		many = append(many, item{Header{Kind: KindMessage, Mailbox: fmt.Sprintf("u%d@example.com", i), ID: fmt.Sprint(i)}, body})
	}
	all := writeVolume(t, many, nil)
	// 500 deliveries of a 64 KiB body must cost one body plus small records.
	if extra := len(all) - len(one); extra > 499*100 {
		t.Errorf("500 copies cost %d bytes more than one, want < %d", extra, 499*100)
	}
}

func TestWriterErrors(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, nil)
	w.WriteHeader(&Header{Kind: KindMessage, ID: "x", Size: 3})
	if _, err := w.Write([]byte("abcd")); !errors.Is(err, ErrWriteTooLong) {
		t.Errorf("Write past Size = %v, want ErrWriteTooLong", err)
	}
	w.Write([]byte("ab"))
	if err := w.WriteHeader(&Header{Kind: KindMessage, ID: "y"}); !errors.Is(err, ErrShortWrite) {
		t.Errorf("WriteHeader after short body = %v, want ErrShortWrite", err)
	}
	if err := w.Close(); !errors.Is(err, ErrShortWrite) {
		t.Errorf("error not sticky: Close = %v", err)
	}
	if err := (&Writer{}).fail(nil); err != nil {
		t.Fatal(err)
	}
	w2, _ := NewWriter(io.Discard, nil)
	if err := w2.WriteHeader(&Header{Kind: 0}); !errors.Is(err, ErrFormat) {
		t.Errorf("kind 0 = %v, want ErrFormat", err)
	}
	w3, _ := NewWriter(io.Discard, nil)
	if err := w3.WriteHeader(&Header{Kind: KindMessage, ID: "\xff"}); !errors.Is(err, ErrFormat) {
		t.Errorf("invalid UTF-8 = %v, want ErrFormat", err)
	}
}

// TestEveryBitFlipDetected flips one bit at each of 1,000 random offsets
// (and at every offset of the header and trailer): every copy must fail to
// open or fail Verify, with a typed error, and never panic.
func TestEveryBitFlipDetected(t *testing.T) {
	items := corpus(3, 30)
	items = append(items, items[4]) // a ref record too
	items[len(items)-1].h.ID = "dup"
	data := writeVolume(t, items, nil)
	rng := rand.New(rand.NewPCG(11, 12))
	offsets := map[int]bool{}
	for i := 0; i < HeaderSize; i++ {
		offsets[i] = true
	}
	for i := len(data) - TrailerSize; i < len(data); i++ {
		offsets[i] = true
	}
	for len(offsets) < 1000+HeaderSize+TrailerSize {
		offsets[rng.IntN(len(data))] = true
	}
	for off := range offsets {
		bad := bytes.Clone(data)
		bad[off] ^= 1 << rng.IntN(8)
		err := openAndVerify(bad)
		if err == nil {
			t.Fatalf("flip at offset %d of %d not detected", off, len(data))
		}
		if !errors.Is(err, ErrChecksum) && !errors.Is(err, ErrFormat) && !errors.Is(err, ErrTorn) && !errors.Is(err, ErrVersion) {
			t.Fatalf("flip at %d: untyped error %v", off, err)
		}
	}
}

func openAndVerify(b []byte) error {
	r, err := NewReader(bytes.NewReader(b), int64(len(b)), &ReaderOptions{Name: "r000001.p001.iemv"})
	if err != nil {
		return err
	}
	return r.Verify()
}

// TestRecoverAtEveryCut cuts a volume at many offsets: recovery must keep
// exactly the records that were complete before the cut.
func TestRecoverAtEveryCut(t *testing.T) {
	items := corpus(5, 20)
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, &WriterOptions{Recipients: nil})
	var ends []int64
	w.onRecord = func(off, length int64) { ends = append(ends, off+length) }
	writeItems(t, w, items)
	w.Close()
	data := buf.Bytes()
	for cut := int64(0); cut <= int64(len(data)); cut += 37 {
		s, err := Recover(bytes.NewReader(data[:cut]), cut, nil, nil)
		if cut < HeaderSize {
			if err == nil {
				t.Fatalf("cut %d: Recover succeeded on a partial header", cut)
			}
			continue
		}
		if err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		want := 0
		for _, e := range ends {
			if e <= cut {
				want++
			}
		}
		if len(s.Entries) != want {
			t.Fatalf("cut %d: recovered %d entries, want %d", cut, len(s.Entries), want)
		}
		for i, e := range s.Entries {
			if e.Digest != sha256.Sum256(items[i].body) || e.ID != items[i].h.ID {
				t.Fatalf("cut %d: entry %d wrong", cut, i)
			}
		}
		if want > 0 && s.End != ends[want-1] {
			t.Fatalf("cut %d: End = %d, want %d", cut, s.End, ends[want-1])
		}
	}
}

func TestEncryption(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	other, _ := age.GenerateX25519Identity()
	secret := "secret-subject-line-4711@example.com"
	items := []item{{Header{Kind: KindMessage, Mailbox: secret, ID: "id-" + secret}, []byte("Subject: " + secret)}}
	items = append(items, corpus(9, 5)...)
	data := writeVolume(t, items, &WriterOptions{Recipients: []age.Recipient{id.Recipient()}})
	if bytes.Contains(data, []byte(secret)) || bytes.Contains(data, []byte("example.com")) {
		t.Fatal("plaintext visible in an encrypted volume")
	}
	if _, err := NewReader(bytes.NewReader(data), int64(len(data)), nil); !errors.Is(err, ErrKey) {
		t.Errorf("no identity: %v, want ErrKey", err)
	}
	if _, err := NewReader(bytes.NewReader(data), int64(len(data)), &ReaderOptions{Identities: []age.Identity{other}}); !errors.Is(err, ErrKey) {
		t.Errorf("wrong identity: %v, want ErrKey", err)
	}
	r, err := NewReader(bytes.NewReader(data), int64(len(data)), &ReaderOptions{Identities: []age.Identity{id}})
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, r, r.Entries()[0]); string(got) != "Subject: "+secret {
		t.Errorf("decrypted body = %q", got)
	}
	if err := r.Verify(); err != nil {
		t.Fatal(err)
	}
	// Tampering with any byte after the key block is caught by a tag.
	for off := int(r.dataStart) + 5; off < len(data)-TrailerSize; off += 97 {
		bad := bytes.Clone(data)
		bad[off] ^= 0x40
		r2, err := NewReader(bytes.NewReader(bad), int64(len(bad)), &ReaderOptions{Identities: []age.Identity{id}})
		if err == nil {
			err = r2.Verify()
		}
		if err == nil {
			t.Fatalf("tampered byte %d not detected", off)
		}
	}
}

func writeRound(t *testing.T, f *Folder, items []item) {
	t.Helper()
	rw, err := f.Begin()
	if err != nil {
		t.Fatal(err)
	}
	writeItems(t, rw, items)
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestFolderRoundsAndView(t *testing.T) {
	dir := t.TempDir()
	f, err := OpenFolder(dir, &FolderOptions{VolumeSize: 20 << 10})
	if err != nil {
		t.Fatal(err)
	}
	r1 := corpus(1, 20)
	writeRound(t, f, r1)
	r2 := []item{
		{Header{Kind: KindTombstone, Mailbox: r1[0].h.Mailbox, ID: r1[0].h.ID}, nil},
		{Header{Kind: KindState, Mailbox: r1[1].h.Mailbox, ID: r1[1].h.ID, Attrs: map[string]string{"read": "1", "flag": "flagged"}}, nil},
		{Header{Kind: KindMessage, Mailbox: "new@example.com", ID: "copy-of-2"}, r1[2].body}, // cross-round dedup
	}
	writeRound(t, f, r2)
	f.Close()

	f, err = OpenFolder(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.LastRound() != 2 {
		t.Errorf("LastRound() = %d, want 2", f.LastRound())
	}
	parts := 0
	for _, v := range f.Volumes() {
		if v.Info.Round == 1 {
			parts++
		}
	}
	if parts < 2 {
		t.Errorf("round 1 has %d parts, want a split at 20 KiB", parts)
	}
	v := f.View()
	if v.Len() != 20 { // 20 - 1 tombstone + 1 new
		t.Errorf("view has %d entries, want 20", v.Len())
	}
	if _, ok := v.Item(r1[0].h.Mailbox, r1[0].h.ID); ok {
		t.Error("tombstoned item still in view")
	}
	if e, _ := v.Item(r1[1].h.Mailbox, r1[1].h.ID); e == nil || e.Attrs["flag"] != "flagged" || e.Attrs["read"] != "1" {
		t.Errorf("state change not applied: %+v", e)
	}
	e, _ := v.Item("new@example.com", "copy-of-2")
	if e == nil || e.Ref == nil || e.Ref.Round != 1 {
		t.Fatalf("cross-round duplicate not stored as a ref to round 1: %+v", e)
	}
	rc, err := f.Open(e)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, r1[2].body) {
		t.Errorf("cross-round body: %v", err)
	}
	if err := f.Verify(); err != nil {
		t.Errorf("Verify() = %v", err)
	}
}

func TestFolderChainErrors(t *testing.T) {
	build := func(t *testing.T) (string, []string) {
		dir := t.TempDir()
		f, _ := OpenFolder(dir, nil)
		for r := 0; r < 3; r++ {
			writeRound(t, f, corpus(uint64(r), 3))
		}
		f.Close()
		return dir, []string{VolumeName(1, 1), VolumeName(2, 1), VolumeName(3, 1)}
	}
	tests := []struct {
		name   string
		damage func(dir string, v []string)
		want   error
	}{
		{"missing middle round", func(d string, v []string) { os.Remove(filepath.Join(d, v[1])) }, ErrChain},
		{"missing first round", func(d string, v []string) { os.Remove(filepath.Join(d, v[0])) }, ErrChain},
		{"swapped rounds", func(d string, v []string) {
			a, b := filepath.Join(d, v[1]), filepath.Join(d, v[2])
			os.Rename(a, a+".x")
			os.Rename(b, a)
			os.Rename(a+".x", b)
		}, ErrFormat}, // header round differs from the file name
		{"replaced round", func(d string, v []string) {
			other := t.TempDir()
			f, _ := OpenFolder(other, nil)
			writeRound(t, f, corpus(1, 3))
			writeRound(t, f, corpus(99, 3))
			f.Close()
			b, _ := os.ReadFile(filepath.Join(other, v[1]))
			os.WriteFile(filepath.Join(d, v[1]), b, 0o600)
		}, ErrChain},
		{"truncated middle volume", func(d string, v []string) {
			p := filepath.Join(d, v[1])
			st, _ := os.Stat(p)
			os.Truncate(p, st.Size()-10)
		}, ErrChain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, vols := build(t)
			tt.damage(dir, vols)
			f, err := OpenFolder(dir, nil)
			if err == nil {
				f.Close()
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("OpenFolder() = %v, want %v", err, tt.want)
			}
			var ve *VolumeError
			if err != nil && !errors.As(err, &ve) {
				t.Errorf("error %v does not name the volume", err)
			}
		})
	}
}

func TestFolderResumeTorn(t *testing.T) {
	for _, encrypted := range []bool{false, true} {
		t.Run(fmt.Sprint("encrypted=", encrypted), func(t *testing.T) {
			dir := t.TempDir()
			var opt FolderOptions
			if encrypted {
				id, _ := age.GenerateX25519Identity()
				opt.Recipients = []age.Recipient{id.Recipient()} // the exporter holds no identity
			}
			f, _ := OpenFolder(dir, &opt)
			items := corpus(2, 10)
			rw, err := f.Begin()
			if err != nil {
				t.Fatal(err)
			}
			writeItems(t, rw, items[:6])
			rw.Sync()
			// Simulate a crash: append half a record's worth of garbage and drop the writer.
			rw.file.Write([]byte{0x10, 0, 0, 0, 1, 2, 3})
			f.Close()

			f, err = OpenFolder(dir, &opt)
			if err != nil {
				t.Fatal(err)
			}
			vs := f.Volumes()
			if len(vs) != 1 || !vs[0].Torn || len(vs[0].Entries()) != 6 {
				t.Fatalf("after crash: %d volumes, torn=%v, %d entries; want 1 torn with 6", len(vs), vs[0].Torn, len(vs[0].Entries()))
			}
			rw, err = f.Begin()
			if err != nil {
				t.Fatal(err)
			}
			if !rw.Resumed {
				t.Error("Begin did not resume the torn volume")
			}
			writeItems(t, rw, items[6:])
			if err := rw.Close(); err != nil {
				t.Fatal(err)
			}
			f.Close()
			if _, err := os.Stat(filepath.Join(dir, "."+VolumeName(1, 1)+".key")); !os.IsNotExist(err) {
				t.Errorf("key file left behind: %v", err)
			}
			if encrypted {
				return // reading needs an identity; covered by TestEncryption
			}
			f, err = OpenFolder(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if n := f.View().Len(); n != 10 {
				t.Errorf("view after resume has %d entries, want 10", n)
			}
			if err := f.Verify(); err != nil {
				t.Error(err)
			}
		})
	}
}
