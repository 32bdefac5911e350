package pst

import (
	"bytes"
	"io"
	"runtime"
	"testing"

	"github.com/iemproject/iem/export"
)

// TestStreamedAttachments: attachments of more than one block are left in the file
// (Property.Lazy) and stream the same bytes the data tree holds; a message with one is
// handed to the engine as a stream (Content.Body), and its EML is the one EML gives.
func TestStreamedAttachments(t *testing.T) {
	tf := testFiles[2] // enron.pst
	p := tf.path(t)
	src, err := NewSource("user", "user@example.com", "", []string{p}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	sf := src.files[0]
	lazy, streamed, largest := 0, 0, 0
	eachMessage(t, sf.f, func(fo *Folder, row Props, m *Message) {
		has := false
		for _, a := range m.Attachments {
			if a.lazy == 0 {
				continue
			}
			lazy++
			has = true
			blocks, err := sf.f.Data(a.lazy)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(a.reader())
			if err != nil || !bytes.Equal(got, bytes.Join(blocks, nil)) {
				t.Errorf("message 0x%x: streamed %d bytes (%v), the data tree holds %d", m.NID, len(got), err, len(bytes.Join(blocks, nil)))
			}
			largest = max(largest, len(got))
		}
		c, err := src.convert(sf, "test-item", export.KindMail, m, nil)
		if err != nil {
			t.Fatal(err)
		}
		if (c.Body != nil) != has {
			t.Errorf("message 0x%x: streamed %v, has a lazy attachment %v", m.NID, c.Body != nil, has)
		}
		if c.Body != nil {
			streamed++
			got, err := io.ReadAll(c.Body)
			want, werr := m.EML()
			if err != nil || werr != nil || len(got) != len(want) {
				t.Errorf("message 0x%x: stream of %d bytes (%v), EML %d (%v)", m.NID, len(got), err, len(want), werr)
			}
		}
	})
	if lazy == 0 || streamed == 0 {
		t.Errorf("%s: %d attachments left in the file, %d messages streamed; want some", tf.name, lazy, streamed)
	}
	t.Logf("%s: %d attachments streamed (largest %d bytes) in %d messages", tf.name, lazy, largest, streamed)
}

// heapPeak is an io.Writer recording the largest live heap seen at each write (after a
// collection, so garbage does not count).
type heapPeak struct{ peak uint64 }

func (h *heapPeak) Write(p []byte) (int, error) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h.peak = max(h.peak, ms.HeapAlloc)
	return len(p), nil
}

// TestStreamMemory: streaming the message with enron.pst's largest attachment grows the
// live heap by far less than the attachment (a whole-message build holds it and its
// base64 text), measured at every write of the stream.
func TestStreamMemory(t *testing.T) {
	p := testFiles[2].path(t)
	src, err := NewSource("user", "user@example.com", "", []string{p}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	sf := src.files[0]
	var nid uint32
	size := 0
	eachMessage(t, sf.f, func(fo *Folder, row Props, m *Message) {
		for _, a := range m.Attachments {
			if a.lazy != 0 {
				if b, _ := a.Bytes(); len(b) > size {
					nid, size = m.NID, len(b)
				}
			}
		}
	})
	if size < 256<<10 {
		t.Fatalf("largest streamed attachment %d bytes; want one of 256 KiB or more", size)
	}
	m, err := sf.f.Message(nid)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	h := &heapPeak{peak: base}
	c, err := src.convert(sf, "test-item", export.KindMail, m, nil)
	if err != nil || c.Body == nil {
		t.Fatalf("convert: %v, streamed %v", err, c != nil && c.Body != nil)
	}
	n, err := io.Copy(h, c.Body)
	if err != nil {
		t.Fatal(err)
	}
	grew := int64(h.peak) - int64(base)
	t.Logf("message 0x%x: %d-byte attachment, %d-byte EML streamed, heap grew %d bytes at most over %d", nid, size, n, grew, base)
	if grew > int64(size)/2 {
		t.Errorf("heap grew %d bytes streaming a %d-byte attachment", grew, size)
	}
}
