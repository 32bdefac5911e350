package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/icewarp/icewarptest"
)

// oddMsg is one message of TestOddMessages: bytes as archived, date, flags.
type oddMsg struct {
	name           string
	data           []byte
	received       time.Time
	read, flagged  bool
	archivedMsgID  string // the Message-ID attribute EWS gave; may disagree with the header
	duplicateOfIdx int    // -1, or the message this one is a byte-identical copy of (same date)
}

func (m oddMsg) flags() []imap.Flag {
	var fl []imap.Flag
	if m.read {
		fl = append(fl, imap.FlagSeen)
	}
	if m.flagged {
		fl = append(fl, imap.FlagFlagged)
	}
	return fl
}

// crlfRepaired is what mailpath stores: bare LF turned into CRLF.
func crlfRepaired(b []byte) []byte {
	var out []byte
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

// oddMessages are icewarptest.OddMessages (delivery reports, one with an
// mbox "From " line, raw Latin-1 in Subject, NUL bytes, no blank line after
// the header, garbage, bare LF), each with \Seen, \Flagged or both, plus a
// byte-identical copy of the delivery report with the same date and other
// flags.
func oddMessages() []oddMsg {
	day := time.Date(2026, 1, 2, 3, 4, 5, 0, time.Local)
	var out []oddMsg
	for i, m := range icewarptest.OddMessages() {
		out = append(out, oddMsg{name: m.Name, data: m.Data, received: day.Add(time.Duration(i) * time.Hour),
			read: i%3 != 1, flagged: i%3 != 0, duplicateOfIdx: -1})
	}
	// Bounces as Exchange archives them: EWS's InternetMessageId need not be
	// what a server reads from the header.
	out[0].archivedMsgID = "<other-id@exchange.example.com>"
	out[1].archivedMsgID = "<20260101000000.B2@mx.example.org>"
	out[2].archivedMsgID = "<latin1@example.de>"
	dup := out[0]
	dup.name, dup.read, dup.flagged, dup.duplicateOfIdx = "delivery report, second copy", false, true, 0
	return append(out, dup)
}

func writeOddRound(t *testing.T, arch, mbx string, msgs []oddMsg) {
	writeRound(t, arch, func(r *round) {
		r.mailbox(mbx)
		r.folder(mbx, folder{id: "odd", name: "Odd", class: "IPF.Note"})
		for i, m := range msgs {
			attrs := map[string]string{"read": "0", "class": "IPM.Note"}
			if m.read {
				attrs["read"] = "1"
			}
			if m.flagged {
				attrs["flag"] = "flagged"
			}
			if m.archivedMsgID != "" {
				attrs["message-id"] = m.archivedMsgID
			}
			r.put(&archive.Header{Kind: archive.KindMessage, Mailbox: mbx, Folder: "odd", ID: fmt.Sprintf("odd-%d", i),
				Received: m.received, Attrs: attrs}, m.data)
		}
	})
}

// expectOdd reads the folder over the emulator's IMAP (FETCH BODY[]) and
// wants every message exactly once, byte for byte (want applied to the
// archived bytes), with its internal date, size and flags; byte-identical
// messages of one date may have their flags in any order.
func expectOdd(t *testing.T, iw *icewarptest.Server, user string, msgs []oddMsg, want func([]byte) []byte) {
	t.Helper()
	c, err := imapclient.DialInsecure(iw.IMAPAddr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Authenticate(sasl.NewPlainClient(user, iw.AdminEmail(), iw.AdminPassword())); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("Odd", nil).Wait(); err != nil {
		t.Fatalf("SELECT Odd: %v", err)
	}
	whole := &imap.FetchItemBodySection{Peek: true}
	got, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true,
		RFC822Size: true, BodySection: []*imap.FetchItemBodySection{whole}}).Collect()
	if err != nil {
		t.Fatalf("FETCH: %v", err)
	}
	if len(got) != len(msgs) {
		t.Errorf("folder Odd holds %d messages, want %d", len(got), len(msgs))
	}
	key := func(body []byte, date time.Time) string { return fmt.Sprintf("%d %x", date.Unix(), body) }
	gotFlags := map[string][]string{}
	for _, g := range got {
		body := g.FindBodySection(whole)
		if g.RFC822Size != int64(len(body)) {
			t.Errorf("UID %d: RFC822.SIZE %d, BODY[] %d bytes", g.UID, g.RFC822Size, len(body))
		}
		var fl []string
		for _, f := range g.Flags {
			if f == imap.FlagSeen || f == imap.FlagFlagged {
				fl = append(fl, string(f))
			}
		}
		slices.Sort(fl)
		k := key(body, g.InternalDate)
		gotFlags[k] = append(gotFlags[k], strings.Join(fl, " "))
	}
	wantFlags := map[string][]string{}
	for _, m := range msgs {
		var fl []string
		for _, f := range m.flags() {
			fl = append(fl, string(f))
		}
		slices.Sort(fl)
		k := key(want(m.data), m.received)
		wantFlags[k] = append(wantFlags[k], strings.Join(fl, " "))
	}
	for k, w := range wantFlags {
		g := gotFlags[k]
		slices.Sort(g)
		slices.Sort(w)
		if !slices.Equal(g, w) {
			name := ""
			for _, m := range msgs {
				if key(want(m.data), m.received) == k {
					name = m.name
				}
			}
			t.Errorf("%s: found with flags %q, want %q (byte-identical BODY[] and INTERNALDATE)", name, g, w)
		}
	}
	for k := range gotFlags {
		if _, ok := wantFlags[k]; !ok {
			t.Errorf("unexpected message on the target: %.120s", k)
		}
	}
}

// TestOddMessages imports real-world odd messages (delivery reports, one
// starting with an mbox "From " line, 8-bit and NUL bytes, no header/body
// separator, bare LF) into the IceWarp emulator, in path mode and over
// IMAP: the run must finish without failures, every message must be on the
// target once with the exact bytes and its flags, and a rerun writes
// nothing. In path mode the files hold the archived bytes with bare LF
// repaired (mailpath); over IMAP the bytes as archived.
func TestOddMessages(t *testing.T) {
	for _, mode := range []string{"path", "imap"} {
		t.Run(mode, func(t *testing.T) {
			b := newEmulatorBed(t, icewarptest.Options{})
			root, iw := b.root, b.iw
			const user = "ann@example.com"
			msgs := oddMessages()
			writeOddRound(t, b.arch, user, msgs)
			args := b.args("--mail-mode", mode, "--log-level", "warn", "--ledger", filepath.Join(b.dir, "ledger"),
				"--passwords-report", filepath.Join(b.dir, "pw.csv"))
			want := func(b []byte) []byte { return b }
			if mode == "path" {
				args = append(args, "--mail-path", root)
				want = crlfRepaired
			}
			sum, out, err := runIn(t, args...)
			if err != nil {
				t.Fatalf("run: %v\n%s", err, out)
			}
			if got := sum.total(); got.Failed != 0 || got.Skipped != 0 || got.Appended != len(msgs) {
				t.Errorf("run: appended %d, failed %d, skipped %d; want %d appended, none failed\n%s", got.Appended, got.Failed, got.Skipped, len(msgs), out)
			}
			if strings.Contains(out, "not visible") {
				t.Errorf("run output reports messages not visible:\n%s", out)
			}
			if mode == "path" {
				if err := iw.CheckMailPath(); err != nil {
					t.Errorf("mail path checker: %v", err)
				}
				// The files hold the archived bytes (bare LF repaired).
				var files [][]byte
				filepath.WalkDir(filepath.Join(root, "example.com", "ann", "Odd"), func(p string, d os.DirEntry, err error) error {
					if err == nil && strings.HasSuffix(p, ".imap") {
						b, _ := os.ReadFile(p)
						files = append(files, b)
					}
					return nil
				})
				for _, m := range msgs {
					if !slices.ContainsFunc(files, func(b []byte) bool { return bytes.Equal(b, crlfRepaired(m.data)) }) {
						t.Errorf("%s: no file holds its bytes", m.name)
					}
				}
			}
			expectOdd(t, iw, user, msgs, want)
			// Not checkIn: "check" matches by Message-ID, which these
			// messages do not carry reliably (an mbox "From " line hides it,
			// EWS may give another one), so it reports them as missing.

			sum, out, err = runIn(t, args...)
			if got := sum.total(); err != nil || got.Failed != 0 || got.Appended != 0 || got.Unchanged != len(msgs) {
				t.Errorf("rerun: %v, %+v; want every message unchanged\n%s", err, got, out)
			}
			expectOdd(t, iw, user, msgs, want)
		})
	}
}
