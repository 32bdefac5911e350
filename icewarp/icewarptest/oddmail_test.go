package icewarptest

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/iemproject/iem/icewarp/mailpath"
)

// checkOdd fetches every item from the selected folder, which holds
// OddMessages in order with internal dates day + i minutes, and compares:
// BODY[] byte for byte, RFC822.SIZE, INTERNALDATE, BODY[HEADER] and
// BODY[TEXT] as the two halves of BODY[], the Message-ID field; ENVELOPE,
// BODYSTRUCTURE and SEARCH must not fail on any of them.
func checkOdd(t *testing.T, c *imapclient.Client, day time.Time) {
	t.Helper()
	odd := OddMessages()
	whole := &imap.FetchItemBodySection{Peek: true}
	msgID := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Message-ID"}, Peek: true}
	hdr := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
	text := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierText, Peek: true}
	part := &imap.FetchItemBodySection{Part: []int{2}, Peek: true}
	partial := &imap.FetchItemBodySection{Peek: true, Partial: &imap.SectionPartial{Offset: 1, Size: 5}}
	msgs, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true, RFC822Size: true,
		Envelope: true, BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
		BodySection: []*imap.FetchItemBodySection{whole, msgID, hdr, text, part, partial}}).Collect()
	if err != nil {
		t.Fatalf("FETCH = %v", err)
	}
	if len(msgs) != len(odd) {
		t.Fatalf("FETCH returned %d messages, want %d", len(msgs), len(odd))
	}
	wantIDs := map[string]string{
		"delivery report":                     "Message-Id: <20260101000000.B1@mx.example.org>\r\n\r\n",
		"delivery report with mbox From line": "Message-Id: <20260101000000.B2@mx.example.org>\r\n\r\n",
		"8-bit Latin-1 subject":               "Message-ID: <latin1@example.de>\r\n\r\n",
		"NUL bytes in body":                   "Message-ID: <nul@example.com>\r\n\r\n",
		"header only, no blank line":          "Message-ID: <hdr@example.com>\r\n\r\n",
		"garbage without header":              "\r\n",
		"bare LF":                             "Message-ID: <lf@example.com>\r\n\r\n",
	}
	for i, m := range odd {
		got := msgs[i]
		if !bytes.Equal(got.FindBodySection(whole), m.Data) {
			t.Errorf("%s: BODY[] = %q, want %q", m.Name, got.FindBodySection(whole), m.Data)
		}
		if h, b := got.FindBodySection(hdr), got.FindBodySection(text); !bytes.Equal(append(append([]byte{}, h...), b...), m.Data) {
			t.Errorf("%s: BODY[HEADER] %q + BODY[TEXT] %q is not the message", m.Name, h, b)
		}
		if g, want := got.FindBodySection(partial), m.Data[1:min(6, len(m.Data))]; !bytes.Equal(g, want) {
			t.Errorf("%s: BODY[]<1.5> = %q, want %q", m.Name, g, want)
		}
		if g := string(got.FindBodySection(msgID)); g != wantIDs[m.Name] {
			t.Errorf("%s: BODY[HEADER.FIELDS (Message-ID)] = %q, want %q", m.Name, g, wantIDs[m.Name])
		}
		if got.RFC822Size != int64(len(m.Data)) {
			t.Errorf("%s: RFC822.SIZE = %d, want %d", m.Name, got.RFC822Size, len(m.Data))
		}
		if want := day.Add(time.Duration(i) * time.Minute); !got.InternalDate.Equal(want) {
			t.Errorf("%s: INTERNALDATE = %v, want %v", m.Name, got.InternalDate, want)
		}
		if got.Envelope == nil || got.BodyStructure == nil {
			t.Errorf("%s: ENVELOPE %v, BODYSTRUCTURE %v: want both", m.Name, got.Envelope, got.BodyStructure)
		}
	}
	if env := msgs[0].Envelope; env == nil || env.Subject != "Undelivered Mail Returned to Sender" {
		t.Errorf("ENVELOPE of the delivery report = %+v", env)
	}
	if bs, ok := msgs[0].BodyStructure.(*imap.BodyStructureMultiPart); !ok || bs.Subtype != "report" || len(bs.Children) != 3 {
		t.Errorf("BODYSTRUCTURE of the delivery report = %+v, want multipart/report with 3 parts", msgs[0].BodyStructure)
	}
	if p := string(msgs[0].FindBodySection(part)); !bytes.Contains([]byte(p), []byte("Action: failed")) {
		t.Errorf("BODY[2] of the delivery report = %q, want the delivery status", p)
	}
	for _, crit := range []*imap.SearchCriteria{
		{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: "nul@example.com"}}},
		{Body: []string{"after"}}, {Text: []string{"nobody"}}, {Larger: 1}, {SentSince: day.AddDate(-1, 0, 0)},
	} {
		if _, err := c.UIDSearch(crit, nil).Wait(); err != nil {
			t.Errorf("UID SEARCH %+v = %v", crit, err)
		}
	}
	sd, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: "latin1@example.de"}}}, nil).Wait()
	if err != nil || len(sd.AllUIDs()) != 1 || sd.AllUIDs()[0] != msgs[2].UID {
		t.Errorf("UID SEARCH HEADER Message-ID latin1 = %v, %v, want [%d]", sd, err, msgs[2].UID)
	}
}

// TestOddMessagesPathMode: every file of OddMessages dropped into the mail
// path shows up over IMAP after the refresh with its exact bytes, size and
// internal date (IceWarp indexes every .imap file, see refresh).
func TestOddMessagesPathMode(t *testing.T) {
	s := startServer(t)
	sid := setupAccount(t, s, "john@example.com")
	dir := filepath.Join(s.MailRoot(), "example.com", "john", "odd")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.Local)
	for i, m := range OddMessages() {
		name := mailpath.FileName("", day.Add(time.Duration(i)*time.Minute), i)
		if err := os.WriteFile(filepath.Join(dir, name), m.Data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	refresh(t, s, sid, "john@example.com")
	if n, err := s.MailboxStatus("john@example.com", "odd"); err != nil || n != uint32(len(OddMessages())) {
		t.Fatalf("after the refresh the folder holds %d messages (%v), want %d", n, err, len(OddMessages()))
	}
	c := dialIMAP(t, s)
	if err := c.Login("john@example.com", "user-pw").Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("odd", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	checkOdd(t, c, day)
}

// TestOddMessagesAppend: the same messages APPENDed are stored and served
// as sent.
func TestOddMessagesAppend(t *testing.T) {
	s := startServer(t)
	setupAccount(t, s, "john@example.com")
	c := dialIMAP(t, s)
	if err := c.Login("john@example.com", "user-pw").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Create("odd", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.Local)
	for i, m := range OddMessages() {
		app := c.Append("odd", int64(len(m.Data)), &imap.AppendOptions{Time: day.Add(time.Duration(i) * time.Minute)})
		if _, err := io.Copy(app, bytes.NewReader(m.Data)); err != nil {
			t.Fatal(err)
		}
		if err := app.Close(); err != nil {
			t.Fatalf("%s: APPEND = %v", m.Name, err)
		}
		if _, err := app.Wait(); err != nil {
			t.Fatalf("%s: APPEND = %v", m.Name, err)
		}
	}
	if _, err := c.Select("odd", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	checkOdd(t, c, day)
}
