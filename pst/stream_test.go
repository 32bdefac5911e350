package pst

import (
	"bytes"
	"io"
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
		c, err := src.convert(sf, nodeID(sf, m.NID), export.KindMail, m, nil)
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
