// Package winpath maps names to names Windows can store, reversibly, and
// writes long Windows paths in extended-length form. It is pure string
// work with no build tags, so its tests run on every system.
//
// # Names
//
// Windows (NTFS, SMB shares) cannot store a file or folder name that holds
// one of <>:"/\|? and * or a control character (U+0000–U+001F), that ends in
// a dot or a space (Win32 silently drops them), or that is a reserved device
// name: CON, PRN, AUX, NUL, COM1–COM9, LPT1–LPT9 and COM/LPT with ¹ ² ³,
// CONIN$ and CONOUT$, in any case, also followed by spaces or an extension
// ("nul.txt", "Con .eml"). See "Naming Files, Paths, and Namespaces" in the
// Win32 documentation.
//
// [Encode] replaces each such byte with "%" and two upper-case hex digits,
// as URLs do, and "%" itself with "%25". Bytes that are not valid UTF-8 are
// escaped too, since Windows stores names as UTF-16. Everything else is
// kept, so most names do not change. [Decode] is the exact inverse: it
// accepts only what Encode returns.
//
//	Encode(`Re: plan?`) == `Re%3A plan%3F`
//	Encode(`CON.txt`)   == `%43ON.txt`
//	Encode(`Drafts.`)   == `Drafts%2E`
//	Encode(`100%`)      == `100%25`
//
// Encoding can make a name longer than [MaxName]; [Legal] reports that, and
// the caller decides (a reversible mapping cannot also bound the length).
// Windows compares names without regard to case, which no encoding of one
// name can fix: "Inbox" and "INBOX" are still one folder there.
//
// # Long paths
//
// [Extended] writes an absolute path as an extended-length path (\\?\C:\…,
// \\?\UNC\server\share\…), which Win32 passes on unchanged and which may
// be up to 32,767 UTF-16 units long; [FixLong] does so only for paths too
// long for the classic limit. Go's os package already does this for its own
// calls (os.fixLongPath), so these are for paths handed to other programs
// or shown to people.
package winpath

import (
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxName is the longest name, in UTF-16 code units, that NTFS stores.
const MaxName = 255

// MaxShortPath is the length, in UTF-16 code units, from which [FixLong]
// writes a path in extended form: MAX_PATH (260) less the 12 units that
// CreateDirectory keeps free for an 8.3 name, as Go's os package does.
const MaxShortPath = 248

// ErrMalformed is returned by [Decode] for a name that [Encode] cannot have
// written.
var ErrMalformed = errors.New("winpath: not an encoded name")

const hexDigits = "0123456789ABCDEF"

// escaped reports whether Encode escapes the byte c wherever it appears.
func escaped(c byte) bool {
	return c < 0x20 || strings.IndexByte(`<>:"/\|?*%`, c) >= 0
}

// Encode returns a name Windows can store that [Decode] maps back to name.
// name is one path element; "/" and "\" in it are escaped like any other
// forbidden character. Encode("") is "", which is not a name.
func Encode(name string) string {
	var b strings.Builder
	b.Grow(len(name) + 8)
	for i := 0; i < len(name); {
		c := name[i]
		if c < utf8.RuneSelf {
			if escaped(c) {
				escape(&b, c)
			} else {
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(name[i:])
		if r == utf8.RuneError && n == 1 {
			escape(&b, c)
		} else {
			b.WriteString(name[i : i+n])
		}
		i += n
	}
	s := b.String()
	if n := len(s); n > 0 && (s[n-1] == '.' || s[n-1] == ' ') {
		var t strings.Builder
		t.WriteString(s[:n-1])
		escape(&t, s[n-1])
		s = t.String()
	}
	if Reserved(s) {
		// Every reserved name starts with an ASCII letter; escaping it is
		// enough, and the "%" cannot start another reserved name.
		var t strings.Builder
		escape(&t, s[0])
		t.WriteString(s[1:])
		s = t.String()
	}
	return s
}

func escape(b *strings.Builder, c byte) {
	b.WriteByte('%')
	b.WriteByte(hexDigits[c>>4])
	b.WriteByte(hexDigits[c&0xf])
}

// Decode returns the name that [Encode] mapped to enc. It fails with
// [ErrMalformed] unless Encode(name) == enc, so every stored name decodes
// to at most one name and back.
func Decode(enc string) (string, error) {
	if strings.IndexByte(enc, '%') < 0 {
		if Encode(enc) != enc {
			return "", ErrMalformed
		}
		return enc, nil
	}
	b := make([]byte, 0, len(enc))
	for i := 0; i < len(enc); i++ {
		c := enc[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		if i+2 >= len(enc) {
			return "", ErrMalformed
		}
		hi, lo := unhex(enc[i+1]), unhex(enc[i+2])
		if hi < 0 || lo < 0 {
			return "", ErrMalformed
		}
		b = append(b, byte(hi<<4|lo))
		i += 2
	}
	name := string(b)
	if Encode(name) != enc { // an escape Encode would not write, or a missing one
		return "", ErrMalformed
	}
	return name, nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// Legal reports whether Windows can store name, as it is, as one file or
// folder name: not empty, valid UTF-8, no forbidden or control character,
// no trailing dot or space, not a reserved device name, and at most
// [MaxName] UTF-16 code units. For a non-empty name, Encode(name) is legal
// whenever it is not too long.
func Legal(name string) bool {
	if name == "" || !utf8.ValidString(name) || utf16Len(name) > MaxName {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c != '%' && escaped(c) {
			return false
		}
	}
	if c := name[len(name)-1]; c == '.' || c == ' ' {
		return false
	}
	return !Reserved(name)
}

// Reserved reports whether name is a device name that Windows reserves
// (CON, PRN, AUX, NUL, COM1–9, LPT1–9, COM¹²³, LPT¹²³, CONIN$, CONOUT$, in
// any case), alone or followed by spaces, a dot and anything after it.
// Windows 11 lets some names with an extension through ("CON.txt");
// Reserved does not, as older Windows and SMB servers refuse them.
func Reserved(name string) bool {
	base := name
	if i := strings.IndexAny(base, ".:"); i >= 0 {
		base = base[:i]
	}
	base = strings.TrimRight(base, " ")
	switch len(base) {
	case 3:
		switch strings.ToUpper(base) {
		case "CON", "PRN", "AUX", "NUL":
			return true
		}
	case 4, 5: // COM1, LPT9; COM¹ is 5 bytes in UTF-8
		if !strings.EqualFold(base[:3], "COM") && !strings.EqualFold(base[:3], "LPT") {
			return false
		}
		d := base[3:]
		return len(d) == 1 && '1' <= d[0] && d[0] <= '9' || d == "¹" || d == "²" || d == "³"
	case 6, 7:
		return strings.EqualFold(base, "CONIN$") || strings.EqualFold(base, "CONOUT$")
	}
	return false
}

// Extended returns the extended-length form of an absolute Windows path:
// `C:\a\b` becomes `\\?\C:\a\b` and `\\server\share\a` becomes
// `\\?\UNC\server\share\a`. Because Win32 does not normalise extended
// paths, Extended does it first: "/" becomes "\", and empty, "." and ".."
// elements are resolved (".." stops at the drive or share). Paths already
// in \\?\ or \\.\ form are returned as they are, and so are relative and
// drive-relative paths (`a\b`, `\a`, `C:a`), which have no extended form.
// Elements must be legal names (see [Encode]): in extended form Windows
// keeps trailing dots and spaces that it would otherwise drop.
func Extended(path string) string {
	if isExtended(path) {
		return path
	}
	p := strings.ReplaceAll(path, "/", `\`)
	var prefix, rest string
	switch {
	case len(p) >= 3 && isLetter(p[0]) && p[1] == ':' && p[2] == '\\':
		prefix, rest = `\\?\`+p[:2]+`\`, p[3:]
	case strings.HasPrefix(p, `\\`) && !strings.HasPrefix(p, `\\\`):
		server, after, ok := strings.Cut(p[2:], `\`)
		share, tail, _ := strings.Cut(after, `\`)
		if !ok || server == "" || share == "" {
			return path
		}
		prefix, rest = `\\?\UNC\`+server+`\`+share+`\`, tail
	default:
		return path
	}
	var elems []string
	for _, e := range strings.Split(rest, `\`) {
		switch e {
		case "", ".":
		case "..":
			if len(elems) > 0 {
				elems = elems[:len(elems)-1]
			}
		default:
			elems = append(elems, e)
		}
	}
	return prefix + strings.Join(elems, `\`)
}

// FixLong returns [Extended](path) if path is at least [MaxShortPath]
// UTF-16 code units long, and path unchanged otherwise.
func FixLong(path string) string {
	if utf16Len(path) < MaxShortPath {
		return path
	}
	return Extended(path)
}

func isExtended(p string) bool {
	return len(p) >= 4 && (p[0] == '\\' || p[0] == '/') && (p[1] == '\\' || p[1] == '/') &&
		(p[2] == '?' || p[2] == '.') && (p[3] == '\\' || p[3] == '/') || strings.HasPrefix(p, `\??\`)
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// utf16Len returns the length of s in UTF-16 code units, counting each
// invalid byte as one unit (U+FFFD).
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}
