package pst

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/iemproject/iem/export"
)

// testRow builds a contents-table row: node id nid, subject, read state and, when not
// "", a search key or else a Message-ID.
func testRow(nid uint32, subject string, read bool, searchKey, mid string) Props {
	u32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	flags := uint32(0)
	if read {
		flags = msgflagRead
	}
	ps := Props{}
	set := func(id, typ uint16, v []byte) {
		ps[uint32(id)<<16|uint32(typ)] = Property{Tag: uint32(id)<<16 | uint32(typ), Value: v}
	}
	set(PidLtpRowID, PtInt32, u32(nid))
	set(pidLtpRowVer, PtInt32, u32(nid*7))
	set(PidMessageClass, PtString8, []byte("IPM.Note"))
	set(PidSubject, PtString8, []byte(subject))
	set(PidMessageFlags, PtInt32, u32(flags))
	if searchKey != "" {
		set(pidSearchKey, PtBinary, []byte(searchKey))
	}
	if mid != "" {
		set(PidInternetMessageID, PtString8, []byte(mid))
	}
	return ps
}

// TestReExportIDs: the same mailbox written twice with other node ids, another row
// order and an extra folder first gives the same folder IDs, and round 2 reports
// exactly the new, the changed, the deleted item and the read-flag change.
func TestReExportIDs(t *testing.T) {
	tree := func(extra bool, base uint32) *Folder {
		ipm := &Folder{NID: base}
		if extra {
			ipm.Children = append(ipm.Children, &Folder{NID: base + 0x20, Name: "Journal"})
		}
		inbox := &Folder{NID: base + 0x40, Name: "Inbox", Children: []*Folder{{NID: base + 0x60, Name: "Project"}, {NID: base + 0x80, Name: "Project"}}}
		ipm.Children = append(ipm.Children, inbox, &Folder{NID: base + 0xA0, Name: "Sent Items"})
		return ipm
	}
	one, two := folderIDs("f", []string{"Archives"}, tree(false, 0x8002)), folderIDs("f", []string{"Archives"}, tree(true, 0x9002))
	if len(one) != 4 || len(two) != 5 {
		t.Fatalf("folders %d and %d, want 4 and 5", len(one), len(two))
	}
	for id := range one {
		if _, ok := two[id]; !ok {
			t.Errorf("folder %s of round 1 not in round 2", id)
		}
	}
	if other := folderIDs("f", nil, tree(false, 0x8002)); len(other) != 4 {
		t.Fatalf("no prefix: %d folders", len(other))
	} else {
		for id := range other {
			if _, ok := one[id]; ok {
				t.Errorf("folder %s the same with and without the prefix", id)
			}
		}
	}
	noPC := func(uint32) Props { return nil }
	round1 := []Props{
		testRow(0x200024, "kept", false, "sk-kept", ""),
		testRow(0x200044, "to change", false, "", "<change@x>"),
		testRow(0x200064, "to delete", false, "sk-del", ""),
		testRow(0x200084, "to read", false, "sk-read", ""),
		testRow(0x2000A4, "no key", false, "", ""),
		testRow(0x2000C4, "copy", false, "sk-copy", ""),
		testRow(0x2000E4, "copy", false, "sk-copy", ""),
	}
	round2 := []Props{ // other nids, other order
		testRow(0x3000E4, "copy", false, "sk-copy", ""),
		testRow(0x300024, "new", false, "sk-new", ""),
		testRow(0x300044, "no key", false, "", ""),
		testRow(0x300064, "to read", true, "sk-read", ""),
		testRow(0x300084, "changed", false, "", "<change@x>"),
		testRow(0x3000A4, "kept", false, "sk-kept", ""),
		testRow(0x3000C4, "copy", false, "sk-copy", ""),
	}
	ctx := context.Background()
	rows1, _ := keyRows("pst:f:x", round1, noPC)
	prev, err := diffItems(ctx, nil, rows1, func(export.ItemChange) error { return nil })
	if err != nil || len(prev) != 7 {
		t.Fatalf("round 1: %d entries, %v", len(prev), err)
	}
	rows2, nids := keyRows("pst:f:x", round2, noPC)
	got := map[export.ChangeKind][]string{}
	if _, err := diffItems(ctx, prev, rows2, func(c export.ItemChange) error {
		got[c.Kind] = append(got[c.Kind], c.Ref.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	subject := map[string]string{}
	for i, r := range rows2 {
		for _, p := range round2 {
			if id, _ := p.Get(PidLtpRowID); uint32(id.Int()) == nids[i] {
				subject[r.id] = p.Str(PidSubject)
			}
		}
	}
	if len(got) != 4 || len(got[export.Create]) != 1 || len(got[export.Update]) != 1 || len(got[export.Delete]) != 1 || len(got[export.ReadFlagChange]) != 1 {
		t.Fatalf("round 2 changes %v", got)
	}
	if subject[got[export.Create][0]] != "new" || subject[got[export.Update][0]] != "changed" || subject[got[export.ReadFlagChange][0]] != "to read" {
		t.Errorf("round 2: created %q, updated %q, read %q", subject[got[export.Create][0]], subject[got[export.Update][0]], subject[got[export.ReadFlagChange][0]])
	}
	if _, err := parseMarker([]byte("pst-marker-1\npst:f:1 00 0\n")); err == nil {
		t.Error("a pst-marker-1 marker was accepted")
	}
}

// TestItemKeyFromPC: a row without a search key takes the message's from its
// property context (enron.pst's rows have none).
func TestItemKeyFromPC(t *testing.T) {
	row := testRow(0x24, "s", false, "", "")
	pc := testRow(0x24, "s", false, "sk", "")
	if itemKey(row, func() Props { return pc }) != itemKey(testRow(0x44, "other", false, "sk", ""), nil) {
		t.Error("the search key of the property context is not the key")
	}
}
