package directory

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"
	"unicode/utf16"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

func readFixture(t *testing.T, name string) *Snapshot {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := ReadLDIF(f)
	if err != nil {
		t.Fatalf("ReadLDIF(%q) = %v", name, err)
	}
	return s
}

// TestReadLDIFGolden reads an export written as ldifde writes it (CRLF,
// changetype: add, folding at 80 columns, base64 values and DN) and compares
// the whole snapshot with a golden file.
func TestReadLDIFGolden(t *testing.T) {
	s := readFixture(t, "ldifde-org.ldf")
	got, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := "testdata/ldifde-org.golden.json"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("ReadLDIF(ldifde-org.ldf) differs from %s (run with -update to see):\n%s", golden, got)
	}
}

func TestReadLDIFContent(t *testing.T) {
	s := readFixture(t, "ldifde-org.ldf")
	type mb struct {
		typ      RecipientType
		disabled bool
		hidden   bool
	}
	wantMailboxes := map[string]mb{
		"alice@example.com":       {UserMailbox, false, false},
		"bob@example.com":         {UserMailbox, false, false},
		"support@example.com":     {SharedMailbox, true, true},
		"room.zurich@example.com": {RoomMailbox, true, false},
		"beamer@example.com":      {EquipmentMailbox, true, false},
		"linda@example.com":       {LinkedMailbox, true, false},
	}
	got := map[string]mb{}
	for _, m := range s.Mailboxes {
		got[m.PrimarySMTP] = mb{m.Type, m.Disabled, m.Hidden}
	}
	if !reflect.DeepEqual(got, wantMailboxes) {
		t.Errorf("mailboxes = %v, want %v", got, wantMailboxes)
	}
	alice, ok := s.Mailbox("alice")
	if !ok {
		t.Fatalf("Mailbox(%q) not found", "alice")
	}
	if alice.GUID != "6f9619ff-8b86-d011-b42d-00c04fc964ff" || alice.Department != "R&D" ||
		!reflect.DeepEqual(alice.Aliases, []string{"a.anders@example.com"}) ||
		alice.LegacyExchangeDN != "/o=Example/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=alice" {
		t.Errorf("alice = %+v", alice)
	}
	room, _ := s.Mailbox("room.zurich@example.com")
	if room == nil || room.DN != "CN=Room Zürich,OU=Resources,DC=example,DC=com" || room.DisplayName != "Room Zürich" {
		t.Errorf("room = %+v, want base64 DN and displayName decoded", room)
	}
	var contacts []string
	for _, c := range s.Contacts {
		contacts = append(contacts, c.PrimarySMTP)
	}
	if want := []string{"mia@partner.example", "paul@partner.example"}; !reflect.DeepEqual(contacts, want) {
		t.Errorf("contacts = %v, want %v", contacts, want)
	}
	members := map[string][]string{}
	for _, g := range s.Groups {
		if !g.Dynamic {
			members[g.Name] = g.Members
		}
	}
	wantMembers := map[string][]string{
		// Sales ⊃ EMEA Sales ⊃ Sales: the cycle ends; Carl has no mail.
		"Sales":      {"alice@example.com", "bob@example.com", "paul@partner.example", "room.zurich@example.com"},
		"EMEA Sales": {"alice@example.com", "bob@example.com", "paul@partner.example", "room.zurich@example.com"},
		"All Staff":  {"alice@example.com", "bob@example.com", "paul@partner.example", "room.zurich@example.com", "support@example.com"},
	}
	if !reflect.DeepEqual(members, wantMembers) {
		t.Errorf("group members = %v, want %v", members, wantMembers)
	}
	if g, _ := s.Group("engineers@example.com"); g == nil || !g.Dynamic || g.Members != nil {
		t.Errorf("Group(engineers@example.com) = %+v, want a dynamic group without members", g)
	}
	if g, _ := s.Group("EMEA-Sales"); g == nil || !g.Security || len(g.MemberDNs) != 3 {
		t.Errorf("Group(EMEA-Sales) = %+v, want security group with 3 member DNs", g)
	}
}

func TestReadLDIFVariants(t *testing.T) {
	const plain = "version: 1\n\n# exported\ndn: CN=A,DC=x\nobjectClass: user\nmsExchRecipientTypeDetails: 1\nproxyAddresses: SMTP:a@x\n\n\n"
	tests := []struct {
		name string
		in   []byte
	}{
		{"lf", []byte(plain)},
		{"crlf", []byte(strings.ReplaceAll(plain, "\n", "\r\n"))},
		{"utf-8 bom", append([]byte{0xEF, 0xBB, 0xBF}, plain...)},
		{"utf-16le bom", utf16Bytes(plain, true)},
		{"utf-16be bom", utf16Bytes(plain, false)},
		{"no trailing newline", []byte(strings.TrimRight(plain, "\n"))},
		{"folded comment", []byte("# long\n  comment\n" + plain)},
		{"ranged member kept", []byte(plain[:len(plain)-2] + "\ndn: CN=G,DC=x\nobjectClass: group\nmember;range=0-*: CN=A,DC=x\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ReadLDIF(bytes.NewReader(tt.in))
			if err != nil {
				t.Fatalf("ReadLDIF(%q) = %v", tt.in, err)
			}
			if len(s.Mailboxes) != 1 || s.Mailboxes[0].PrimarySMTP != "a@x" || s.Mailboxes[0].DN != "CN=A,DC=x" {
				t.Errorf("ReadLDIF(%q) mailboxes = %+v, want a@x", tt.in, s.Mailboxes)
			}
			if len(s.Groups) == 1 && !reflect.DeepEqual(s.Groups[0].Members, []string{"a@x"}) {
				t.Errorf("ReadLDIF(%q) group members = %v, want [a@x]", tt.in, s.Groups[0].Members)
			}
		})
	}
}

func utf16Bytes(s string, little bool) []byte {
	var b []byte
	if little {
		b = []byte{0xFF, 0xFE}
	} else {
		b = []byte{0xFE, 0xFF}
	}
	for _, u := range utf16.Encode([]rune(s)) {
		if little {
			b = append(b, byte(u), byte(u>>8))
		} else {
			b = append(b, byte(u>>8), byte(u))
		}
	}
	return b
}

func TestReadLDIFErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		line int
	}{
		{"no dn", "objectClass: user\n", 1},
		{"continuation first", " folded\n", 1},
		{"url value", "dn: CN=A,DC=x\njpegPhoto:< file:///etc/passwd\n", 2},
		{"modify record", "dn: CN=A,DC=x\nchangetype: modify\nadd: mail\nmail: a@x\n-\n", 2},
		{"delete record", "dn: CN=A,DC=x\nchangetype: delete\n", 2},
		{"bad base64", "dn: CN=A,DC=x\nobjectGUID:: %%%%\n", 2},
		{"bad base64 dn", "dn:: ***\n", 1},
		{"no colon", "dn: CN=A,DC=x\nobjectClass\n", 2},
		{"bad attribute name", "dn: CN=A,DC=x\nobject Class: user\n", 2},
		{"two dns", "dn: CN=A,DC=x\ndn: CN=B,DC=x\n", 2},
		{"late version", "dn: CN=A,DC=x\n\nversion: 1\n", 3},
		{"latin-1 value", "dn: CN=A,DC=x\ncn: Z\xfcrich\n", 2},
		{"odd utf-16", "\xff\xfed\x00n\x00:\x00 \x00A\x00\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadLDIF(strings.NewReader(tt.in))
			if tt.line == 0 {
				if err == nil {
					t.Fatalf("ReadLDIF(%q) = nil error, want error", tt.in)
				}
				return
			}
			var se *SyntaxError
			if !errors.As(err, &se) || !errors.Is(err, ErrFormat) {
				t.Fatalf("ReadLDIF(%q) = %v, want *SyntaxError", tt.in, err)
			}
			if se.Line != tt.line {
				t.Errorf("ReadLDIF(%q) line = %d, want %d (%v)", tt.in, se.Line, tt.line, err)
			}
		})
	}
}

func TestReadLDIFBounds(t *testing.T) {
	long := "dn: CN=A,DC=x\ndescription: " + strings.Repeat("x", maxLDIFLine+10) + "\n"
	if _, err := ReadLDIF(strings.NewReader(long)); !errors.Is(err, ErrFormat) {
		t.Errorf("ReadLDIF(%d-byte line) = %v, want ErrFormat", len(long), err)
	}
	var b strings.Builder
	b.WriteString("dn: CN=A,DC=x\ndescription: x\n")
	chunk := strings.Repeat("y", 1<<16)
	for b.Len() < maxLDIFLine+(1<<17) {
		b.WriteString(" " + chunk + "\n")
	}
	if _, err := ReadLDIF(strings.NewReader(b.String())); !errors.Is(err, ErrFormat) {
		t.Errorf("ReadLDIF(%d-byte folded line) = %v, want ErrFormat", b.Len(), err)
	}
	b.Reset()
	b.WriteString("dn: CN=G,DC=x\nobjectClass: group\n")
	line := "member: " + strings.Repeat("z", 1<<20) + "\n"
	for b.Len() < maxLDIFRecord+(2<<20) {
		b.WriteString(line)
	}
	if _, err := ReadLDIF(strings.NewReader(b.String())); !errors.Is(err, ErrFormat) {
		t.Errorf("ReadLDIF(%d-byte record) = %v, want ErrFormat", b.Len(), err)
	}
}

// FuzzReadLDIF checks that ReadLDIF never panics, that it fails only with
// ErrFormat, and that every mailbox it accepts resolves by its own addresses.
func FuzzReadLDIF(f *testing.F) {
	seed, err := os.ReadFile("testdata/ldifde-org.ldf")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte("dn: CN=A,DC=x\nobjectClass: user\nmsExchRecipientTypeDetails: 4\nproxyAddresses: SMTP:a@x\nproxyAddresses: X500:/o=x/cn=a\n"))
	f.Add([]byte("dn: CN=G,DC=x\nobjectClass: group\nmember: CN=G,DC=x\nmember;range=0-*: CN=A,DC=x\n"))
	f.Add(utf16Bytes("dn:: Q049QQ==\nobjectClass: contact\nmail: c@x\n", true))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := ReadLDIF(bytes.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("ReadLDIF = %v, want ErrFormat or nil", err)
			}
			return
		}
		primaries := map[string]bool{}
		for _, m := range s.Mailboxes {
			primaries[m.PrimarySMTP] = true
			if p, ok := s.ResolveSMTP(m.PrimarySMTP); !ok || p == "" {
				t.Errorf("ResolveSMTP(%q) = %q, %v, want a primary address", m.PrimarySMTP, p, ok)
			}
			if m.Type < UserMailbox || m.Type > LinkedMailbox {
				t.Errorf("mailbox %q has type %v", m.PrimarySMTP, m.Type)
			}
		}
		for _, c := range s.Contacts {
			primaries[c.PrimarySMTP] = true
		}
		for _, g := range s.Groups {
			for _, a := range g.Members {
				if !primaries[a] {
					t.Errorf("group %q member %q is no mailbox's or contact's primary address", g.DN, a)
				}
			}
		}
		if all, err := s.Lookup(Selector{}); err != nil || len(all) != len(s.Mailboxes) {
			t.Errorf("Lookup(all) = %d, %v, want %d", len(all), err, len(s.Mailboxes))
		}
		if _, err := json.Marshal(s); err != nil {
			t.Errorf("json.Marshal(snapshot) = %v", err)
		}
	})
}
