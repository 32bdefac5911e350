package format

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEncodeIMAPUTF7(t *testing.T) {
	tests := []struct{ in, want string }{
		{"INBOX", "INBOX"},
		// RFC 3501 §5.1.3 example.
		{"~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
		{"&", "&-"},
		{"Éléments envoyés", "&AMk-l&AOk-ments envoy&AOk-s"},
		{"a.b\\c ~d ", "a.b\\c ~d "},
		{"😀", "&2D3eAA-"},
		{"", ""},
		{"Tom & Jerry", "Tom &- Jerry"},
		{"\x00\t", "&AAAACQ-"},
		// Cases formerly tested in icewarp/mailpath and icewarp/imapsink.
		{"Sent Items", "Sent Items"},
		{"A&B", "A&-B"},
		{"台北", "&U,BTFw-"},    // RFC 3501 §5.1.3 example
		{"日本語", "&ZeVnLIqe-"}, // RFC 3501 §5.1.3 example
		{"Gelöschte Elemente", "Gel&APY-schte Elemente"},
		{"Odesláno", "Odesl&AOE-no"}, // icewarp.md §1.7 (imapsync regextrans2 "Odeslan&AOk-" for é)
		{"Koš", "Ko&AWE-"},
		{"Entwürfe", "Entw&APw-rfe"},
		{"tab\there", "tab&AAk-here"},
		{"bad\uFFFDutf8", "bad&,,0-utf8"}, // U+FFFD, as invalid UTF-8 in an archived name becomes
	}
	for _, tt := range tests {
		if got := EncodeIMAPUTF7(tt.in); got != tt.want {
			t.Errorf("EncodeIMAPUTF7(%q) = %q, want %q", tt.in, got, tt.want)
		}
		back, err := DecodeIMAPUTF7(tt.want)
		if err != nil || back != tt.in {
			t.Errorf("DecodeIMAPUTF7(%q) = %q, %v, want %q", tt.want, back, err, tt.in)
		}
	}
}

func TestDecodeIMAPUTF7Invalid(t *testing.T) {
	for _, in := range []string{
		"&",           // unterminated
		"&AGE",        // unterminated
		"&AGE-",       // encodes "a": printable ASCII must be literal
		"&Jjo-&Jjo-",  // adjacent shifts
		"&2D0-",       // unpaired high surrogate
		"&Jjo!-",      // bad base64
		"caf\xc3\xa9", // raw 8-bit
		"&AOl-",       // non-zero padding bits
		// Cases formerly tested in icewarp/mailpath.
		"Gelöschte",      // raw UTF-8
		"&U,BTFw",        // unterminated
		"&AEE-",          // encodes printable "A"
		"&U,BTFw-&ZeVn-", // adjacent runs
		"&U,BTF-",        // odd byte count
		"&3gA-",          // unpaired low surrogate
		"&2D3YPQ-",       // high surrogate followed by another high one
		"a\x01b",         // control character
	} {
		if got, err := DecodeIMAPUTF7(in); !errors.Is(err, ErrInvalidName) {
			t.Errorf("DecodeIMAPUTF7(%q) = %q, %v, want ErrInvalidName", in, got, err)
		}
	}
}

func TestIceWarpDirName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Sent Items", "Sent Items"},
		{"Projects.", "enc~50726f6a656374732e"},     // ends with "." [V fix_imapindex.sh]
		{"a...b", "enc~612e2e2e62"},                 // "..." [V icewarp.md §1.3]
		{"star*", "enc~737461722a"},                 // "*"
		{"~hidden", "enc~7e68696464656e"},           // leading "~" [I]
		{" lead", "enc~206c656164"},                 // leading space [I]
		{"Ünïcode", "&ANw-n&AO8-code"},              // plain UTF-7
		{"back\\slash", "enc~6261636b5c736c617368"}, // "\" [I]
	}
	for _, tt := range tests {
		if got := IceWarpDirName(tt.in); got != tt.want {
			t.Errorf("IceWarpDirName(%q) = %q, want %q", tt.in, got, tt.want)
		}
		back, err := ParseIceWarpDirName(tt.want)
		if err != nil || back != tt.in {
			t.Errorf("ParseIceWarpDirName(%q) = %q, %v, want %q", tt.want, back, err, tt.in)
		}
	}
}

// TestFolderNamesRoundTrip covers the awkward names the issue lists.
func TestFolderNamesRoundTrip(t *testing.T) {
	names := []string{"a/b", "a.b.", ".", "..", "back\\slash", "  both  ", "~tilde", "Éléments envoyés",
		"日本語フォルダ", "emoji 📁 & more", strings.Repeat("x", 300), strings.Repeat("é", 200), "*", "&-&"}
	for _, n := range names {
		u := EncodeIMAPUTF7(n)
		if got, err := DecodeIMAPUTF7(u); err != nil || got != n {
			t.Errorf("DecodeIMAPUTF7(EncodeIMAPUTF7(%q)) = %q, %v", n, got, err)
		}
		d := IceWarpDirName(n)
		if got, err := ParseIceWarpDirName(d); err != nil || got != n {
			t.Errorf("ParseIceWarpDirName(IceWarpDirName(%q)) = %q, %v", n, got, err)
		}
		if strings.ContainsAny(d, "/\x00") {
			t.Errorf("IceWarpDirName(%q) = %q, contains a path separator", n, d)
		}
	}
}

func FuzzIMAPUTF7(f *testing.F) {
	for _, s := range []string{"INBOX", "&-", "&U,BTFw-", "Éléments", "a/b", "&2D3eAA-", "&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if utf8.ValidString(s) {
			u := EncodeIMAPUTF7(s)
			got, err := DecodeIMAPUTF7(u)
			if err != nil || got != s {
				t.Fatalf("DecodeIMAPUTF7(EncodeIMAPUTF7(%q)) = %q, %v", s, got, err)
			}
			d := IceWarpDirName(s)
			if got, err := ParseIceWarpDirName(d); err != nil || got != s {
				t.Fatalf("ParseIceWarpDirName(IceWarpDirName(%q)) = %q, %v", s, got, err)
			}
		}
		// Anything the decoder accepts has exactly one encoding.
		if dec, err := DecodeIMAPUTF7(s); err == nil {
			if re := EncodeIMAPUTF7(dec); re != s {
				t.Fatalf("EncodeIMAPUTF7(DecodeIMAPUTF7(%q)) = %q", s, re)
			}
		}
		// Any directory name IceWarp might hold decodes to a name whose
		// own directory name decodes the same way.
		if name, err := ParseIceWarpDirName(s); err == nil {
			if again, err := ParseIceWarpDirName(IceWarpDirName(name)); err != nil || again != name {
				t.Fatalf("ParseIceWarpDirName(IceWarpDirName(%q)) = %q, %v", name, again, err)
			}
		}
	})
}

// TestEncodeIMAPUTF7InvalidUTF8 pins what the mail-path and IMAP sinks rely
// on: invalid UTF-8 in an archived name is encoded as U+FFFD.
func TestEncodeIMAPUTF7InvalidUTF8(t *testing.T) {
	if got, want := EncodeIMAPUTF7("bad\xffutf8"), "bad&,,0-utf8"; got != want {
		t.Errorf("EncodeIMAPUTF7(invalid UTF-8) = %q, want %q", got, want)
	}
}

// Category keywords (keyword.go) use the same coder with more runes shifted.
func TestCategoryKeyword(t *testing.T) {
	tests := []struct{ name, kw string }{
		{"", ""},
		{"Red Category", "Red_Category"},
		{"Projekt Ä", "Projekt_&AMQ-"},
		{"Follow-up", "Follow-up"},
		{"a_b", "a&AF8-b"},
		{"R&D", "R&-D"},
		{"(x) {y} %z* \"q\" \\ ]", "&ACg-x&ACk-_&AHs-y}_&ACU-z&ACo-_&ACI-q&ACI-_&AFw-_&AF0-"},
		{"tab\there", "tab&AAk-here"},
		{"日本語", "&ZeVnLIqe-"},
		{"😀 ok", "&2D3eAA-_ok"},
		{"$Label1", "$Label1"},
	}
	for _, tt := range tests {
		kw := CategoryKeyword(tt.name)
		if kw != tt.kw {
			t.Errorf("CategoryKeyword(%q) = %q, want %q", tt.name, kw, tt.kw)
		}
		if !isAtom(kw) && kw != "" {
			t.Errorf("CategoryKeyword(%q) = %q is not an atom", tt.name, kw)
		}
		if back, err := KeywordCategory(kw); err != nil || back != tt.name {
			t.Errorf("KeywordCategory(%q) = %q, %v, want %q", kw, back, err, tt.name)
		}
	}
	// Random names round-trip and give atoms.
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("ab _&-$()%*{}\"\\]\t\x00ÄöЖ日😀")
	for range 2000 {
		r := make([]rune, rng.IntN(12))
		for i := range r {
			r[i] = alphabet[rng.IntN(len(alphabet))]
		}
		name := string(r)
		kw := CategoryKeyword(name)
		if name != "" && !isAtom(kw) {
			t.Fatalf("CategoryKeyword(%q) = %q is not an atom", name, kw)
		}
		if back, err := KeywordCategory(kw); err != nil || back != name {
			t.Fatalf("KeywordCategory(CategoryKeyword(%q)) = %q, %v", name, back, err)
		}
	}
}

// isAtom reports whether s is an RFC 3501 atom.
func isAtom(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return false
		}
	}
	return s != ""
}

// TestKeywordCategoryRejects: keywords CategoryKeyword cannot have written
// (so that each category has exactly one keyword).
func TestKeywordCategoryRejects(t *testing.T) {
	for _, kw := range []string{"a b", "&AGE-", "&AF8", "Ä", "a(b", "&AMQ-&AMQ-", "&ZeV-"} {
		if got, err := KeywordCategory(kw); !errors.Is(err, ErrInvalidName) {
			t.Errorf("KeywordCategory(%q) = %q, %v, want ErrInvalidName", kw, got, err)
		}
	}
}

func TestMailKeywords(t *testing.T) {
	long := strings.Repeat("Ä", 10) // 10 UTF-16 units: 29 bytes of modified UTF-7
	longer := strings.Repeat("Ä", 20)
	kws, tooLong := MailKeywords(`["Red Category","Projekt Ä","","Red Category","Follow-up","` + long + `","` + longer + `"]`)
	want := []string{"Follow-up", "Projekt_&AMQ-", "Red_Category", CategoryKeyword(long)}
	slices.Sort(want)
	if !slices.Equal(kws, want) || !slices.Equal(tooLong, []string{longer}) {
		t.Errorf("MailKeywords = %q, %q, want %q, %q", kws, tooLong, want, []string{longer})
	}
	for _, attr := range []string{"", "null", "{}", `"Red"`, "[1]"} {
		if kws, tooLong := MailKeywords(attr); kws != nil || tooLong != nil {
			t.Errorf("MailKeywords(%q) = %q, %q, want none", attr, kws, tooLong)
		}
	}
}
