package pstwrite

import (
	"testing"

	"github.com/iemproject/iem/pst"
)

// TestFlatReadBack: 1,000 messages in one folder read back through the contents
// table (multi-block heap, row matrix subnode, two-level row index) with pst.
func TestFlatReadBack(t *testing.T) {
	folders := Flat(1000)
	f, root := openRoot(t, writeFile(t, folders))
	in := root.Children[0].Children[0]
	rows, err := f.Messages(in.NID)
	if err != nil || len(rows) != 1000 || in.Count != 1000 {
		t.Fatalf("%d rows, count %d: %v", len(rows), in.Count, err)
	}
	for i, r := range rows {
		m := folders[0].Messages[i]
		id, _ := r.Get(pst.PidLtpRowID)
		if r.Str(pst.PidSubject) != m.Subject || uint32(id.Int()) != m.NID {
			t.Fatalf("row %d: %q 0x%x, want %q 0x%x", i, r.Str(pst.PidSubject), id.Int(), m.Subject, m.NID)
		}
	}
	// The table's heap spans blocks (an XBLOCK: bid bit 1) and it has subnodes (the row matrix).
	if n, err := f.Node(in.NID&^0x1F | 0x0E); err != nil || n.Data&2 == 0 || n.Sub == 0 {
		t.Errorf("contents table node %+v (%v): want a multi-block heap and a subnode", n, err)
	}
	m, err := f.Message(folders[0].Messages[999].NID)
	if err != nil || m.Props.Str(pst.PidBody) != folders[0].Messages[999].Body {
		t.Errorf("last message: %v", err)
	}
}

// TestReadpstFlat: readpst exports the 1,000 messages of one folder.
func TestReadpstFlat(t *testing.T) {
	folders := Flat(1000)
	got := readpst(t, writeFile(t, folders))
	ids := map[string]bool{}
	for _, e := range got {
		if e.folder != "Top of Personal Folders/Inbox" {
			t.Errorf("%s in %q", e.msg.Header.Get("Message-Id"), e.folder)
		}
		ids[e.msg.Header.Get("Message-Id")] = true
	}
	for _, m := range folders[0].Messages {
		if !ids[m.MessageID] {
			t.Errorf("%s not exported", m.MessageID)
		}
	}
	if len(got) != 1000 {
		t.Errorf("readpst wrote %d messages, want 1000", len(got))
	}
}
