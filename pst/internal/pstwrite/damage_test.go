package pstwrite

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func byNID(folders []*Folder) map[uint32]*Message {
	out := map[uint32]*Message{}
	for _, ms := range modelMessages(folders) {
		for _, m := range ms {
			out[m.NID] = m
		}
	}
	return out
}

func writeBytes(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "damaged.pst")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// exportedIDs runs readpst on the file and returns the Message-Ids it wrote.
func exportedIDs(t *testing.T, b []byte) map[string]exported {
	out := map[string]exported{}
	for _, e := range readpst(t, writeBytes(t, b)) {
		id := e.msg.Header.Get("Message-Id")
		if _, dup := out[id]; dup {
			t.Errorf("readpst wrote %s twice", id)
		}
		out[id] = e
	}
	return out
}

// TestReadpstTruncated: readpst 0.6.76 exports the 290 messages before the cut
// and skips the 10 whose blocks it cuts, without failing.
func TestReadpstTruncated(t *testing.T) {
	file, folders, gone := Truncated(300, 10)
	msgs := byNID(folders)
	lost := map[string]bool{}
	for _, nid := range gone {
		lost[msgs[nid].MessageID] = true
	}
	if len(lost) != 10 {
		t.Fatalf("%d messages lost by the cut, want 10", len(lost))
	}
	got := exportedIDs(t, file)
	for _, m := range msgs {
		if _, ok := got[m.MessageID]; ok == lost[m.MessageID] {
			t.Errorf("%s (lost %v): exported %v", m.MessageID, lost[m.MessageID], ok)
		}
	}
	if len(got) != 290 {
		t.Errorf("readpst wrote %d messages, want 290", len(got))
	}
}

// TestReadpstCorrupted: readpst 0.6.76 skips the message whose heap signature is
// zeroed and exports the other 299; it does not check block trailers, so the
// attachment whose trailer names another block comes out whole (package pst
// archives that message in part instead: pst/written_test.go).
func TestReadpstCorrupted(t *testing.T) {
	file, folders, badPC, badAttach, _ := Corrupted(300)
	msgs := byNID(folders)
	got := exportedIDs(t, file)
	if _, ok := got[msgs[badPC].MessageID]; ok || len(got) != 299 {
		t.Errorf("readpst wrote %d messages (the damaged one: %v), want 299 without it", len(got), ok)
	}
	a := msgs[badAttach].Attachment
	if e, ok := got[msgs[badAttach].MessageID]; !ok || !bytes.Equal(e.files[a.Name], a.Data) {
		t.Errorf("message with the broken trailer: exported %v, attachment of %d bytes", ok, len(e.files[a.Name]))
	}
}
