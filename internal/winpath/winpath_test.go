package winpath

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

var encodeTests = []struct {
	name, in, want string
}{
	{"plain", "Inbox", "Inbox"},
	{"unicode", "Posteingang ✉ 受信", "Posteingang ✉ 受信"},
	{"leading space and dot kept", " .hidden", " .hidden"},
	{"inner dots kept", "a...b", "a...b"},
	{"colon and question mark", "Re: plan?", "Re%3A plan%3F"},
	{"every forbidden character", `<>:"/\|?*`, "%3C%3E%3A%22%2F%5C%7C%3F%2A"},
	{"percent", "100%", "100%25"},
	{"percent before hex", "%41", "%2541"},
	{"control characters", "a\x00b\tc\x1f", "a%00b%09c%1F"},
	{"DEL is legal", "a\x7f", "a\x7f"},
	{"trailing dot", "Drafts.", "Drafts%2E"},
	{"trailing space", "Drafts ", "Drafts%20"},
	{"only the last dot or space", "a. .", "a. %2E"},
	{"dot", ".", "%2E"},
	{"dot dot", "..", ".%2E"},
	{"space", " ", "%20"},
	{"CON", "CON", "%43ON"},
	{"con lower case", "con", "%63on"},
	{"reserved with extension", "nul.txt", "%6Eul.txt"},
	{"reserved with two extensions", "Aux.tar.gz", "%41ux.tar.gz"},
	{"reserved with spaces before extension", "PRN  .eml", "%50RN  .eml"},
	{"reserved with trailing dot", "NUL..", "%4EUL.%2E"},
	{"reserved then trailing space", "CON ", "CON%20"},
	{"COM1", "COM1", "%43OM1"},
	{"lpt9 lower", "lpt9.log", "%6Cpt9.log"},
	{"COM superscript", "COM¹", "%43OM¹"},
	{"LPT superscript with extension", "lpt³.x", "%6Cpt³.x"},
	{"CONIN$", "conin$", "%63onin$"},
	{"CONOUT$", "CONOUT$.txt", "%43ONOUT$.txt"},
	{"COM0 is not reserved", "COM0", "COM0"},
	{"COM10 is not reserved", "COM10", "COM10"},
	{"CONSOLE is not reserved", "CONSOLE", "CONSOLE"},
	{"reserved only as the whole base", "xCON", "xCON"},
	{"reserved name with colon", "CON:x", "CON%3Ax"},
	{"invalid UTF-8", "a\xffb\xc3", "a%FFb%C3"},
	{"surrogate half as UTF-8", "\xed\xa0\x80", "%ED%A0%80"},
}

func TestEncode(t *testing.T) {
	for _, tt := range encodeTests {
		t.Run(tt.name, func(t *testing.T) {
			got := Encode(tt.in)
			if got != tt.want {
				t.Errorf("Encode(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if !Legal(got) {
				t.Errorf("Legal(%q) = false, want true", got)
			}
			back, err := Decode(got)
			if err != nil || back != tt.in {
				t.Errorf("Decode(%q) = %q, %v, want %q", got, back, err, tt.in)
			}
		})
	}
}

func TestDecodeMalformed(t *testing.T) {
	for _, enc := range []string{
		"%", "%4", "a%", "%4e", // short or lower-case escape
		"%41", "%2e.", "%2Ea", // escapes Encode does not write
		"a:b", "CON", "x.", "a ", // unescaped characters Encode escapes
		"a\xff", "100%2", "%ZZ",
	} {
		if got, err := Decode(enc); !errors.Is(err, ErrMalformed) {
			t.Errorf("Decode(%q) = %q, %v, want ErrMalformed", enc, got, err)
		}
	}
}

func TestLegal(t *testing.T) {
	long := strings.Repeat("a", MaxName)
	for _, tt := range []struct {
		name string
		want bool
	}{
		{"Inbox", true},
		{"100%", true},
		{" lead", true},
		{long, true},
		{long + "a", false},
		{strings.Repeat("受", MaxName), true}, // one UTF-16 unit each
		{strings.Repeat("😀", MaxName/2+1), false}, // two units each
		{"", false},
		{"a?", false},
		{"a\x01", false},
		{"a.", false},
		{"a ", false},
		{"nul", false},
		{"Com7.txt", false},
		{"a\xff", false},
	} {
		if got := Legal(tt.name); got != tt.want {
			t.Errorf("Legal(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestExtended(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`C:\Program Files\IceWarp\mail\example.com\john`, `\\?\C:\Program Files\IceWarp\mail\example.com\john`},
		{`C:\Program Files\IceWarp\mail\`, `\\?\C:\Program Files\IceWarp\mail`},
		{`c:/iem/archive/./round-1/../x`, `\\?\c:\iem\archive\x`},
		{`D:\`, `\\?\D:\`},
		{`D:\..\..\a`, `\\?\D:\a`},
		{`\\server\share\migration`, `\\?\UNC\server\share\migration`},
		{`\\server\share`, `\\?\UNC\server\share\`},
		{`\\server\share\a\..\..\b`, `\\?\UNC\server\share\b`},
		{`//server/share/migration/`, `\\?\UNC\server\share\migration`},
		{`\\?\C:\already`, `\\?\C:\already`},
		{`\\?\UNC\server\share\x`, `\\?\UNC\server\share\x`},
		{`\\.\pipe\x`, `\\.\pipe\x`},
		{`\\server`, `\\server`}, // no share
		{`\\\x\y`, `\\\x\y`},     // not UNC
		{`relative\path`, `relative\path`},
		{`\rooted`, `\rooted`}, // drive-relative
		{`C:drive-relative`, `C:drive-relative`},
		{``, ``},
	} {
		if got := Extended(tt.in); got != tt.want {
			t.Errorf("Extended(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFixLong(t *testing.T) {
	root := `C:\Program Files\IceWarp\mail\example.com\john\`
	short := root + strings.Repeat("x", MaxShortPath-1-len(root))
	if got := FixLong(short); got != short {
		t.Errorf("FixLong(%d units) = %q, want it unchanged", len(short), got)
	}
	long := short + "x"
	if got, want := FixLong(long), `\\?\`+long; got != want {
		t.Errorf("FixLong(%d units) = %q, want %q", len(long), got, want)
	}
	unc := `\\server\share\migration\` + strings.Repeat(`folder\`, 40) + "round-0001-part-001.iem"
	if got, want := FixLong(unc), `\\?\UNC\server\share\migration\`+unc[len(`\\server\share\migration\`):]; got != want {
		t.Errorf("FixLong(UNC) = %q, want %q", got, want)
	}
	if rel := strings.Repeat(`a\`, 200); FixLong(rel) != rel {
		t.Errorf("FixLong(relative) changed the path")
	}
}

// FuzzRoundTrip checks, for any string, that Encode gives a name Windows
// can store (unless it is too long) that decodes back to the input, and,
// for any string Decode accepts, that Encode gives it back.
func FuzzRoundTrip(f *testing.F) {
	for _, tt := range encodeTests {
		f.Add(tt.in)
		f.Add(tt.want)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if s != "" {
			enc := Encode(s)
			if !Legal(enc) && utf16Len(enc) <= MaxName {
				t.Fatalf("Legal(Encode(%q)) = false for %q", s, enc)
			}
			if !utf8.ValidString(enc) {
				t.Fatalf("Encode(%q) = %q, not UTF-8", s, enc)
			}
			got, err := Decode(enc)
			if err != nil || got != s {
				t.Fatalf("Decode(Encode(%q)) = %q, %v", s, got, err)
			}
			if Legal(s) && strings.IndexByte(s, '%') < 0 && enc != s {
				t.Fatalf("Encode(%q) = %q, want a legal name without %% unchanged", s, enc)
			}
		}
		if name, err := Decode(s); err == nil && Encode(name) != s {
			t.Fatalf("Encode(Decode(%q)) = %q", s, Encode(name))
		}
	})
}
