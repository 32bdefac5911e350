package format

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

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
