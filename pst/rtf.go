package pst

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file turns a decompressed RTF body into what a mail client shows. Outlook
// stores HTML mail it received as RTF encapsulating the HTML (\fromhtml1, [MS-OXRTFEX]
// 2.1.3: the HTML is the text of {\*\htmltag…} groups and the text outside
// \htmlrtf…\htmlrtf0 runs) and plain-text mail as RTF encapsulating the text
// (\fromtext, [MS-OXRTFEX] 2.1.2); both de-encapsulate exactly. Any other RTF (written
// in Outlook's or Word's editor) has no faithful HTML: only its text is extracted, and
// the RTF itself is kept as the attachment rtf-body.rtf. [I: the group and control
// word rules are from MS-OXRTFEX as remembered, checked on the hand-made vectors of
// rtf_test.go; no public PST here has an RTF-only body.]

// rtfKind says what an RTF body encapsulates.
type rtfKind int

const (
	rtfNative rtfKind = iota // not encapsulated: text extraction only
	rtfHTML                  // \fromhtml1
	rtfText                  // \fromtext
)

// rtfEncapsulation reads the kind from the header (before the first group after
// \rtf1's own: the control words \fromhtml1 / \fromtext appear there).
func rtfEncapsulation(rtf []byte) rtfKind {
	head := rtf[:min(len(rtf), 1024)]
	if i := bytes.Index(head, []byte(`\fonttbl`)); i >= 0 {
		head = head[:i]
	}
	switch {
	case bytes.Contains(head, []byte(`\fromhtml1`)):
		return rtfHTML
	case bytes.Contains(head, []byte(`\fromtext`)):
		return rtfText
	}
	return rtfNative
}

// rtfSkipped are destinations whose text is not body text.
var rtfSkipped = map[string]bool{"fonttbl": true, "colortbl": true, "stylesheet": true, "info": true, "pict": true,
	"header": true, "footer": true, "headerl": true, "headerr": true, "footerl": true, "footerr": true,
	"object": true, "listtable": true, "listoverridetable": true, "rsidtbl": true, "generator": true, "xmlnstbl": true,
	"mmathPr": true, "themedata": true, "colorschememapping": true, "latentstyles": true, "datastore": true}

// cp1252 maps the bytes 0x80–0x9F of Windows-1252 (the others are Latin-1).
var cp1252 = []rune("€\ufffd‚ƒ„…†‡ˆ‰Š‹Œ\ufffdŽ\ufffd\ufffd‘’“”•–—˜™š›œ\ufffdžŸ")

// rtfDecode returns the body an RTF document encapsulates (html: the HTML of a
// \fromhtml1 document; else its text) as UTF-8. Bytes of \'hh escapes are read in
// Windows-1252 (\ansicpg1252, what Outlook writes for western mail); in other code
// pages, non-ASCII bytes become U+FFFD unless a \uN names the character, which
// Outlook writes for them [I].
func rtfDecode(rtf []byte, html bool) string {
	type group struct {
		skip, htmltag, htmlrtf bool
		uc                     int
	}
	var out strings.Builder
	st := []group{{uc: 1}}
	cur := func() *group { return &st[len(st)-1] }
	pendingSkip := 0 // fallback characters still to drop after a \uN
	cp := 1252
	emit := func(s string) {
		g := cur()
		if g.skip || (html && g.htmlrtf && !g.htmltag) {
			return
		}
		if pendingSkip > 0 {
			pendingSkip--
			return
		}
		out.WriteString(s)
	}
	emitByte := func(b byte) {
		switch {
		case b < 0x80:
			emit(string(rune(b)))
		case cp == 1252 && b < 0xA0:
			emit(string(cp1252[b-0x80]))
		case cp == 1252 || cp == 28591:
			emit(string(rune(b)))
		default:
			emit("\ufffd")
		}
	}
	for i := 0; i < len(rtf); i++ {
		c := rtf[i]
		switch c {
		case '{':
			g := *cur()
			st = append(st, g)
			if len(st) > 256 {
				return out.String()
			}
			if strings.HasPrefix(string(rtf[i+1:min(i+3, len(rtf))]), `\*`) {
				// {\* dest}: ignorable unless it is \htmltag (kept in HTML mode).
				w0 := i + 3
				for w0 < len(rtf) && (rtf[w0] == '\\' || rtf[w0] == ' ' || rtf[w0] == '\r' || rtf[w0] == '\n') {
					w0++
				}
				j := w0
				for j < len(rtf) && (rtf[j] >= 'a' && rtf[j] <= 'z' || rtf[j] >= 'A' && rtf[j] <= 'Z') {
					j++
				}
				word := string(rtf[w0:j])
				if html && (word == "htmltag" || word == "mhtmltag") {
					cur().htmltag = true
					cur().skip = word == "mhtmltag" // \mhtmltag repeats a rewritten \htmltag
				} else {
					cur().skip = true
				}
			}
		case '}':
			if len(st) > 1 {
				st = st[:len(st)-1]
			}
		case '\r', '\n':
		case '\\':
			if i+1 >= len(rtf) {
				break
			}
			n := rtf[i+1]
			switch {
			case n == '\\' || n == '{' || n == '}':
				emit(string(rune(n)))
				i++
			case n == '\'':
				if i+3 < len(rtf) {
					if v, err := strconv.ParseUint(string(rtf[i+2:i+4]), 16, 8); err == nil {
						emitByte(byte(v))
					}
				}
				i += 3
			case n == '~':
				emit("\u00a0")
				i++
			case n == '_':
				emit("\u2011")
				i++
			case n >= 'a' && n <= 'z' || n >= 'A' && n <= 'Z':
				j := i + 1
				for j < len(rtf) && (rtf[j] >= 'a' && rtf[j] <= 'z' || rtf[j] >= 'A' && rtf[j] <= 'Z') {
					j++
				}
				word := string(rtf[i+1 : j])
				k := j
				if k < len(rtf) && rtf[k] == '-' {
					k++
				}
				for k < len(rtf) && rtf[k] >= '0' && rtf[k] <= '9' && k-j < 10 {
					k++
				}
				arg, hasArg := 0, k > j
				if hasArg {
					arg, _ = strconv.Atoi(string(rtf[j:k]))
				}
				if k < len(rtf) && rtf[k] == ' ' {
					k++
				}
				i = k - 1
				g := cur()
				switch word {
				case "par", "line":
					emit("\r\n")
				case "tab":
					emit("\t")
				case "u":
					r := rune(arg)
					if r < 0 {
						r += 65536
					}
					if !utf8.ValidRune(r) {
						r = utf8.RuneError
					}
					emit(string(r))
					pendingSkip = g.uc
				case "uc":
					g.uc = arg
				case "ansicpg":
					cp = arg
				case "htmlrtf":
					g.htmlrtf = !hasArg || arg != 0
				default:
					if rtfSkipped[word] {
						g.skip = true
					}
				}
				continue
			default:
				i++
			}
			continue
		default:
			emit(string(rune(c)))
		}
	}
	return out.String()
}
