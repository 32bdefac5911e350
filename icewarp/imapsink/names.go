package imapsink

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/iemproject/iem/format"
)

// maxSegmentBytes bounds the modified UTF-7 form of one folder-name segment
// (one directory name on IceWarp and Dovecot, whose file systems allow 255).
const maxSegmentBytes = 200

// FolderName maps a folder path of display names to one IMAP mailbox name
// for a server whose hierarchy delimiter is delim (see the package doc for
// the mapping). The result is UTF-8; go-imap encodes it on the wire.
func FolderName(path []string, delim rune) (string, error) {
	if len(path) == 0 {
		return "", fmt.Errorf("%w: empty path", ErrFolder)
	}
	segs := make([]string, len(path))
	for i, s := range path {
		if i == 0 && strings.EqualFold(s, "INBOX") {
			segs[i] = "INBOX"
			continue
		}
		segs[i] = mapSegment(s, delim)
	}
	if delim == 0 && len(segs) > 1 {
		// A flat server: keep the hierarchy visible in one name.
		return strings.Join(segs, "∕"), nil
	}
	return strings.Join(segs, string(delim)), nil
}

func delimReplacement(delim rune) rune {
	switch delim {
	case '/':
		return '∕' // U+2215 DIVISION SLASH
	case '.':
		return '․' // U+2024 ONE DOT LEADER
	case '\\':
		return '⧵' // U+29F5 REVERSE SOLIDUS OPERATOR
	}
	return '_'
}

func mapSegment(s string, delim rune) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case delim != 0 && r == delim:
			b.WriteRune(delimReplacement(delim))
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			b.WriteByte('_')
		case i == 0 && r == '~':
			b.WriteRune('∼') // U+223C TILDE OPERATOR
		default:
			b.WriteRune(r)
		}
	}
	out := b.String()
	if out == "" {
		out = "_"
	}
	if strings.Trim(out, ".") == "" {
		// "." and ".." are path components to Dovecot (which refuses
		// them) and to IceWarp's mail path: look-alikes keep them one
		// ordinary folder.
		out = strings.ReplaceAll(out, ".", "․") // U+2024 ONE DOT LEADER
	}
	if utf7Len(out) <= maxSegmentBytes {
		return out
	}
	sum := sha256.Sum256([]byte(s))
	suffix := "~" + hex.EncodeToString(sum[:4])
	runes := []rune(out)
	for len(runes) > 0 && utf7Len(string(runes))+len(suffix) > maxSegmentBytes {
		runes = runes[:len(runes)-1]
	}
	return string(runes) + suffix
}

// utf7Len returns the length of s in modified UTF-7 (RFC 3501 §5.1.3), the
// form go-imap puts on the wire.
func utf7Len(s string) int { return len(format.EncodeIMAPUTF7(s)) }
