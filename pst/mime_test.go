package pst

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// emlSummary is what the oracle test compares of a message: its subject and the
// SHA-256s of its attachments (those of embedded messages included), sorted.
func emlSummary(t *testing.T, b []byte) (id, summary string) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		t.Errorf("net/mail: %v", err)
		return "", ""
	}
	var sums []string
	walkParts(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Header.Get("Content-Disposition"), m.Body, &sums, 0)
	slices.Sort(sums)
	subj, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		subj = m.Header.Get("Subject")
	}
	return strings.TrimSpace(m.Header.Get("Message-Id")), strings.TrimSpace(subj) + " " + strings.Join(sums, ",")
}

func walkParts(ctype, cte, disp string, body io.Reader, sums *[]string, depth int) {
	mt, params, _ := mime.ParseMediaType(ctype)
	if depth > 10 {
		return
	}
	switch {
	case strings.HasPrefix(mt, "multipart/"):
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextRawPart()
			if err != nil {
				return
			}
			walkParts(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p.Header.Get("Content-Disposition"), p, sums, depth+1)
		}
	case mt == "message/rfc822":
		if m, err := mail.ReadMessage(body); err == nil {
			walkParts(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Header.Get("Content-Disposition"), m.Body, sums, depth+1)
		}
		return
	}
	_, dp, _ := mime.ParseMediaType(disp)
	name := dp["filename"]
	if m := quotedFilename.FindStringSubmatch(disp); name == "" && m != nil {
		name = m[1] // readpst writes both filename*= and filename=, which ParseMediaType refuses
	}
	if name == "" {
		name = params["name"]
	}
	// rtf-body.rtf and i<n>.ics are readpst's own (the RTF body, and an iCalendar
	// rebuilt from a meeting's properties), not stored attachments.
	if name == "" || name == "rtf-body.rtf" || readpstICS.MatchString(name) {
		return
	}
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, &crlfStripper{r: body})
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	}
	h := sha256.New()
	io.Copy(h, body)
	*sums = append(*sums, hex.EncodeToString(h.Sum(nil))[:16])
}

var (
	quotedFilename = regexp.MustCompile(`filename="([^"]*)"`)
	readpstICS     = regexp.MustCompile(`^i[0-9]+\.ics$`)
)

// crlfStripper drops line ends and spaces from base64 text.
type crlfStripper struct{ r io.Reader }

func (c *crlfStripper) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	j := 0
	for _, b := range p[:n] {
		if b != '\r' && b != '\n' && b != ' ' && b != '\t' {
			p[j] = b
			j++
		}
	}
	return j, err
}

// TestReadpstEML compares every mail readpst writes (readpst -e -b -t e) with the
// message rebuilt here: same Message-ID (or, without one, same subject), same subject
// and same attachment SHA-256s; and every rebuilt message parses with net/mail.
func TestReadpstEML(t *testing.T) {
	eachReadpst(t, []string{"-b", "-t", "e"}, func(t *testing.T, tf testFile, p, out string) {
		theirs := map[string][]string{}
		filepath.WalkDir(out, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".eml") {
				return nil
			}
			b, _ := os.ReadFile(path)
			id, sum := emlSummary(t, b)
			theirs[id] = append(theirs[id], sum)
			return nil
		})
		f, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		ours := map[string][]string{}
		n := 0
		eachMessage(t, f, func(_ *Folder, _ Props, m *Message) {
			b, err := m.EML()
			if err != nil {
				t.Errorf("message 0x%x: %v", m.NID, err)
			}
			id, sum := emlSummary(t, b)
			ours[id] = append(ours[id], sum)
			n++
		})
		matched := 0
		for id, sums := range theirs {
			for _, s := range sums {
				if i := slices.Index(ours[id], s); i >= 0 {
					ours[id] = slices.Delete(ours[id], i, i+1)
					matched++
				} else {
					t.Errorf("readpst message %q: %q not among %q", id, s, ours[id])
				}
			}
		}
		t.Logf("%d messages rebuilt, %d of readpst's matched", n, matched)
	})
}

// TestDecompressRTF decompresses the example of [MS-OXRTFCP] 3.1.1, cut and bit-flipped
// copies of it (no panic, bounded), and every PidTagRtfCompressed of the test files.
func TestDecompressRTF(t *testing.T) {
	ex, _ := hex.DecodeString("2d0000002b0000004c5a4675f1c5c7a703000a0072637067313235423" +
		"20af32068656c090020627705b06c647d0a800fa0")
	got, err := DecompressRTF(ex)
	if want := "{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n"; err != nil || string(got) != want {
		t.Errorf("DecompressRTF = %q, %v; want %q", got, err, want)
	}
	for i := range ex {
		DecompressRTF(ex[:i])
		c := bytes.Clone(ex)
		c[i] ^= 0x5A
		DecompressRTF(c)
	}
	eachFile(t, func(t *testing.T, _ testFile, f *File) {
		n := 0
		eachMessage(t, f, func(_ *Folder, _ Props, m *Message) {
			if p, ok := m.Props.Get(PidRTFCompressed); ok {
				rtf, err := DecompressRTF(p.Value)
				if err != nil || !bytes.HasPrefix(rtf, []byte("{\\rtf")) {
					t.Errorf("message 0x%x: RTF %.20q, %v", m.NID, rtf, err)
				}
				n++
			}
		})
		t.Logf("%d compressed RTF bodies", n)
	})
}

// TestAddress: SMTP addresses as they are, Exchange ones resolved or as an empty group.
func TestAddress(t *testing.T) {
	resolve := func(a string) (string, bool) {
		if strings.EqualFold(a, "/o=Org/cn=Recipients/cn=alice") {
			return "alice@example.com", true
		}
		return "", false
	}
	for _, tt := range []struct{ name, email, smtp, want string }{
		{"Alice", "/o=Org/cn=Recipients/cn=alice", "", `"Alice" <alice@example.com>`},
		{"Bob", "/o=Org/cn=Recipients/cn=bob", "", `"Bob": ;`},
		{"Bob", "/o=Org/cn=Recipients/cn=bob", "bob@example.com", `"Bob" <bob@example.com>`},
		{"Zoë", "", "", `=?utf-8?q?Zo=C3=AB?=: ;`},
		{"", "/o=Org/cn=x", "", ""},
	} {
		got := address(resolve, tt.name, tt.email, tt.smtp)
		if got != tt.want {
			t.Errorf("address(%q, %q, %q) = %q, want %q", tt.name, tt.email, tt.smtp, got, tt.want)
		}
		if _, err := mail.ParseAddressList(got); got != "" && err != nil {
			t.Errorf("%q: %v", got, err)
		}
	}
}

// TestAttachmentHeader: the type from the extension when none is stored, names with
// control characters encoded (RFC 2231), embedded messages as message/rfc822.
func TestAttachmentHeader(t *testing.T) {
	name := func(s string) Props {
		b := make([]byte, 0, 2*len(s))
		for _, r := range s {
			b = append(b, byte(r), byte(r>>8))
		}
		return Props{uint32(PidAttachFilename)<<16 | PtUnicode: {Tag: uint32(PidAttachFilename)<<16 | PtUnicode, Value: b}}
	}
	for _, tt := range []struct {
		a         Attachment
		ctype, cd string
	}{
		{Attachment{Props: name("a\x01b.pdf")}, "application/pdf; name*=utf-8''a%01b.pdf", "attachment; filename*=utf-8''a%01b.pdf"},
		{Attachment{Props: name("report.pdf")}, `application/pdf; name=report.pdf`, `attachment; filename=report.pdf`},
		{Attachment{Props: name("x\x02"), Embedded: &Message{}}, "message/rfc822; name*=utf-8''x%02", "attachment; filename*=utf-8''x%02"},
	} {
		h := tt.a.header(0, 1)
		if h.Get("Content-Type") != tt.ctype || h.Get("Content-Disposition") != tt.cd {
			t.Errorf("%q: %q, %q; want %q, %q", tt.a.name(0, 1), h.Get("Content-Type"), h.Get("Content-Disposition"), tt.ctype, tt.cd)
		}
	}
}
