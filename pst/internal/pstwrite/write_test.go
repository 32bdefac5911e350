package pstwrite

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/iemproject/iem/pst"
)

var when = time.Date(2006, 3, 14, 9, 26, 53, 0, time.UTC)

func oneMessage() []*Folder {
	return []*Folder{{Name: "Inbox", Messages: []*Message{{
		Subject: "Hello from ExMerge", SenderName: "Alice Example", SenderEmail: "alice@example.com",
		MessageID: "<m1@example.com>", Body: "Plain body.\r\nSecond line.\r\n", Delivery: when, Read: true,
		Headers: "From: Alice Example <alice@example.com>\r\nTo: bob@example.com\r\nSubject: Hello from ExMerge\r\n" +
			"Message-ID: <m1@example.com>\r\nDate: Tue, 14 Mar 2006 09:26:53 +0000\r\n\r\n",
	}}}}
}

// writeFile writes the folders to a temporary file and returns its path.
func writeFile(t *testing.T, folders []*Folder) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "test.pst")
	if err := os.WriteFile(p, Write("Top of Personal Folders", folders), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// openRoot opens the file at p with package pst (closed at the test's end)
// and reads its folder tree, every damaged node an error of the test.
func openRoot(t *testing.T, p string) (*pst.File, *pst.Folder) {
	t.Helper()
	f, err := pst.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	root, err := f.Folders(func(err error) { t.Error(err) })
	if err != nil {
		t.Fatal(err)
	}
	return f, root
}

// TestReadBack reads the smallest file (one folder, one message) with package pst.
func TestReadBack(t *testing.T) {
	p := writeFile(t, oneMessage())
	f, err := pst.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Format != pst.FormatANSI || f.Crypt != pst.CryptNone {
		t.Fatalf("format %v, crypt %v", f.Format, f.Crypt)
	}
	root, err := f.Folders(func(err error) { t.Error(err) })
	if err != nil {
		t.Fatal(err)
	}
	if len(root.Children) != 1 || root.Children[0].Name != "Top of Personal Folders" {
		t.Fatalf("root children %+v", root.Children)
	}
	ipm := root.Children[0]
	if len(ipm.Children) != 1 || ipm.Children[0].Name != "Inbox" || ipm.Children[0].Count != 1 {
		t.Fatalf("IPM subtree children %+v", ipm.Children)
	}
	rows, err := f.Messages(ipm.Children[0].NID)
	if err != nil || len(rows) != 1 {
		t.Fatalf("contents table: %d rows, %v", len(rows), err)
	}
	if s := rows[0].Str(pst.PidSubject); s != "Hello from ExMerge" {
		t.Errorf("contents table subject %q", s)
	}
	id, _ := rows[0].Get(pst.PidLtpRowID)
	m, err := f.Message(uint32(id.Int()))
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[uint16]string{pst.PidSubject: "Hello from ExMerge", pst.PidSenderName: "Alice Example",
		pst.PidInternetMessageID: "<m1@example.com>", pst.PidBody: "Plain body.\r\nSecond line.\r\n"} {
		if got := m.Props.Str(id); got != want {
			t.Errorf("property 0x%04x: %q, want %q", id, got, want)
		}
	}
	d, _ := m.Props.Get(pst.PidDeliveryTime)
	if !d.Time().Equal(when) {
		t.Errorf("delivery time %v", d.Time())
	}
	fl, _ := m.Props.Get(pst.PidMessageFlags)
	if fl.Int()&1 == 0 {
		t.Errorf("message flags 0x%x: not read", fl.Int())
	}
	// Store, root folder, IPM subtree and Inbox (a PC and three tables each), the message.
	n := 0
	f.Nodes(func(pst.Node) { n++ }, func(err error) { t.Error(err) })
	if n != 14 {
		t.Errorf("%d nodes in the NBT, want 14", n)
	}
	if f.CRCErrors != 0 {
		t.Errorf("%d CRC errors", f.CRCErrors)
	}
}
