package imapsink

import (
	"encoding/base64"
	"strings"
	"unicode/utf16"
)

// mutf7 is the modified base64 of RFC 3501 §5.1.3 ("," for "/", no padding).
var mutf7 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").WithPadding(base64.NoPadding)

// encodeMailbox returns s in modified UTF-7 (RFC 3501 §5.1.3), the form
// go-imap puts on the wire; the raw MULTIAPPEND path needs it too.
func encodeMailbox(s string) string {
	var b strings.Builder
	var run []rune
	flush := func() {
		if len(run) == 0 {
			return
		}
		u := utf16.Encode(run)
		buf := make([]byte, 2*len(u))
		for i, c := range u {
			buf[2*i], buf[2*i+1] = byte(c>>8), byte(c)
		}
		b.WriteByte('&')
		b.WriteString(mutf7.EncodeToString(buf))
		b.WriteByte('-')
		run = run[:0]
	}
	for _, r := range s {
		if r >= 0x20 && r <= 0x7e {
			flush()
			if r == '&' {
				b.WriteString("&-")
			} else {
				b.WriteRune(r)
			}
			continue
		}
		run = append(run, r)
	}
	flush()
	return b.String()
}

// utf7Len returns the length of s in modified UTF-7.
func utf7Len(s string) int { return len(encodeMailbox(s)) }
