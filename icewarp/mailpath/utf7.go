package mailpath

import (
	"encoding/base64"
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// mutf7 is the modified BASE64 alphabet of RFC 3501 §5.1.3: "," instead of "/", no padding.
var mutf7 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").WithPadding(base64.NoPadding)

// EncodeUTF7 returns the IMAP modified UTF-7 form (RFC 3501 §5.1.3) of a
// UTF-8 string: printable US-ASCII except "&" stands for itself, "&" becomes
// "&-", and every other run of characters is UTF-16BE in modified BASE64
// between "&" and "-". IceWarp names folder directories this way
// (icewarp.md §1.3, [V SS22 localpop.php encode]). s must be valid UTF-8.
func EncodeUTF7(s string) string {
	var b strings.Builder
	var run []uint16
	flush := func() {
		if len(run) == 0 {
			return
		}
		buf := make([]byte, 2*len(run))
		for i, u := range run {
			buf[2*i], buf[2*i+1] = byte(u>>8), byte(u)
		}
		b.WriteByte('&')
		b.WriteString(mutf7.EncodeToString(buf))
		b.WriteByte('-')
		run = run[:0]
	}
	for _, r := range s {
		switch {
		case r == '&':
			flush()
			b.WriteString("&-")
		case r >= 0x20 && r <= 0x7e:
			flush()
			b.WriteRune(r)
		default:
			run = utf16.AppendRune(run, r)
		}
	}
	flush()
	return b.String()
}

// errUTF7 reports a string that is not canonical modified UTF-7.
var errUTF7 = errors.New("mailpath: not modified UTF-7")

// DecodeUTF7 is the inverse of [EncodeUTF7]. It rejects input that
// EncodeUTF7 would never produce (raw non-ASCII, bad BASE64, empty or
// adjacent shifted runs, encoded printable ASCII), so decode followed by
// encode always gives the input back.
func DecodeUTF7(s string) (string, error) {
	var b strings.Builder
	lastShift := -2
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return "", errUTF7
		}
		if c != '&' {
			b.WriteByte(c)
			i++
			continue
		}
		end := strings.IndexByte(s[i+1:], '-')
		if end < 0 {
			return "", errUTF7
		}
		enc := s[i+1 : i+1+end]
		next := i + 1 + end + 1
		if enc == "" {
			b.WriteByte('&')
			i = next
			continue
		}
		if lastShift == i {
			return "", errUTF7 // two adjacent runs: the encoder merges them
		}
		raw, err := mutf7.DecodeString(enc)
		if err != nil || len(raw)%2 != 0 || mutf7.EncodeToString(raw) != enc {
			return "", errUTF7
		}
		units := make([]uint16, len(raw)/2)
		for j := range units {
			units[j] = uint16(raw[2*j])<<8 | uint16(raw[2*j+1])
		}
		for j := 0; j < len(units); j++ {
			r := rune(units[j])
			if utf16.IsSurrogate(r) {
				// Only a high+low pair is valid; U+FFFD itself (which
				// EncodeUTF7 writes for it) is an ordinary character.
				if j+1 == len(units) {
					return "", errUTF7
				}
				if r = utf16.DecodeRune(r, rune(units[j+1])); r == utf8.RuneError {
					return "", errUTF7
				}
				j++
			}
			if r >= 0x20 && r <= 0x7e {
				return "", errUTF7
			}
			b.WriteRune(r)
		}
		lastShift = next
		i = next
	}
	return b.String(), nil
}
