package soap

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
)

// ErrTruncated reports a response that ended early or carried the literal
// "=== Truncated Data ===" that Exchange appends when a response is cut
// off [V ews.md §2.7 how-to-export-items-by-using-ews-in-exchange.md].
var ErrTruncated = errors.New("soap: truncated response")

// TruncatedMarker is the literal Exchange writes into cut-off responses.
const TruncatedMarker = "=== Truncated Data ==="

// Kind is the kind of a scanned token.
type Kind int

// Token kinds.
const (
	StartTag Kind = iota + 1
	EndTag
	Text
)

// Token is one piece of a scanned response. For a self-closing element the
// scanner returns a StartTag with SelfClosing set and no EndTag.
type Token struct {
	Kind        Kind
	Local       string
	Attrs       map[string]string
	SelfClosing bool
	Text        string
}

// Scanner tokenises a response without ever holding more than one tag or
// one bounded text run in memory; MimeContent text is decoded by [Scanner.MIME].
type Scanner struct {
	r       *bufio.Reader
	maxText int
}

// NewScanner returns a scanner over r (which should already be filtered).
// Text runs longer than maxText bytes fail, except through MIME.
func NewScanner(r io.Reader, maxText int) *Scanner {
	return &Scanner{r: bufio.NewReaderSize(r, 64*1024), maxText: maxText}
}

const maxTag = 64 * 1024

func eofToTruncated(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return ErrTruncated
	}
	return err
}

// Next returns the next tag or non-blank text. At the clean end of input it
// returns io.EOF.
func (s *Scanner) Next() (Token, error) {
	for {
		b, err := s.r.ReadByte()
		if err != nil {
			return Token{}, err
		}
		if b != '<' {
			s.r.UnreadByte()
			txt, err := s.readText()
			if err != nil {
				return Token{}, err
			}
			if strings.Contains(txt, TruncatedMarker) {
				return Token{}, ErrTruncated
			}
			if t := strings.TrimSpace(txt); t != "" {
				return Token{Kind: Text, Text: t}, nil
			}
			continue
		}
		raw, err := s.readTag()
		if err != nil {
			return Token{}, eofToTruncated(err)
		}
		switch {
		case strings.HasPrefix(raw, "?"), strings.HasPrefix(raw, "!"):
			continue // declaration or comment
		case strings.HasPrefix(raw, "/"):
			return Token{Kind: EndTag, Local: localName(strings.TrimSpace(raw[1:]))}, nil
		}
		return parseStart(raw)
	}
}

func (s *Scanner) readText() (string, error) {
	var b strings.Builder
	for {
		chunk, err := s.r.ReadSlice('<')
		if err == nil {
			chunk = chunk[:len(chunk)-1]
			s.r.UnreadByte()
		}
		if b.Len()+len(chunk) > s.maxText {
			return "", fmt.Errorf("%w: text longer than %d bytes", ErrTooLarge, s.maxText)
		}
		b.Write(chunk)
		switch err {
		case nil:
			return unescape(b.String()), nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			if strings.Contains(b.String(), TruncatedMarker) {
				return "", ErrTruncated
			}
			if strings.TrimSpace(b.String()) == "" {
				return "", io.EOF
			}
			return "", ErrTruncated
		default:
			return "", err
		}
	}
}

// readTag reads up to the closing '>' of a tag whose '<' was consumed,
// honouring quotes and comments.
func (s *Scanner) readTag() (string, error) {
	var b []byte
	var quote byte
	for {
		c, err := s.r.ReadByte()
		if err != nil {
			return "", err
		}
		if len(b) > maxTag {
			return "", fmt.Errorf("%w: tag longer than %d bytes", ErrTooLarge, maxTag)
		}
		if quote != 0 {
			if c == quote {
				quote = 0
			}
			b = append(b, c)
			continue
		}
		if c == '>' {
			if bytes.HasPrefix(b, []byte("!--")) && !bytes.HasSuffix(b, []byte("--")) {
				b = append(b, c)
				continue
			}
			return string(b), nil
		}
		if (c == '"' || c == '\'') && !bytes.HasPrefix(b, []byte("!--")) {
			quote = c
		}
		b = append(b, c)
	}
}

func localName(n string) string {
	if i := strings.IndexByte(n, ':'); i >= 0 {
		return n[i+1:]
	}
	return n
}

func parseStart(raw string) (Token, error) {
	t := Token{Kind: StartTag}
	if strings.HasSuffix(raw, "/") {
		t.SelfClosing = true
		raw = raw[:len(raw)-1]
	}
	i := strings.IndexAny(raw, " \t\r\n")
	if i < 0 {
		t.Local = localName(raw)
		return t, nil
	}
	t.Local = localName(raw[:i])
	rest := raw[i:]
	for {
		rest = strings.TrimLeft(rest, " \t\r\n")
		if rest == "" {
			return t, nil
		}
		eq := strings.IndexByte(rest, '=')
		if eq < 0 {
			return t, fmt.Errorf("soap: malformed attribute in <%s>", t.Local)
		}
		name := strings.TrimSpace(rest[:eq])
		rest = strings.TrimLeft(rest[eq+1:], " \t\r\n")
		if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
			return t, fmt.Errorf("soap: unquoted attribute in <%s>", t.Local)
		}
		q := rest[0]
		end := strings.IndexByte(rest[1:], q)
		if end < 0 {
			return t, fmt.Errorf("soap: unterminated attribute in <%s>", t.Local)
		}
		if t.Attrs == nil {
			t.Attrs = make(map[string]string)
		}
		if !strings.HasPrefix(name, "xmlns") {
			t.Attrs[localName(name)] = unescape(rest[1 : 1+end])
		}
		rest = rest[2+end:]
	}
}

func unescape(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '&')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i:]
		j := strings.IndexByte(s, ';')
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		ent := s[1:j]
		s = s[j+1:]
		switch ent {
		case "amp":
			b.WriteByte('&')
		case "lt":
			b.WriteByte('<')
		case "gt":
			b.WriteByte('>')
		case "quot":
			b.WriteByte('"')
		case "apos":
			b.WriteByte('\'')
		default:
			if strings.HasPrefix(ent, "#x") || strings.HasPrefix(ent, "#X") {
				if v, err := strconv.ParseUint(ent[2:], 16, 32); err == nil {
					b.WriteRune(rune(v))
				}
			} else if strings.HasPrefix(ent, "#") {
				if v, err := strconv.ParseUint(ent[1:], 10, 32); err == nil {
					b.WriteRune(rune(v))
				}
			}
		}
	}
}

// MIME returns a reader of the base64-decoded text of the element whose
// StartTag was just returned. Reading it to io.EOF also consumes the end
// tag. A response that ends early or carries the truncation marker yields
// ErrTruncated; data after base64 padding is treated as truncation too,
// since a well-formed MimeContent can hold nothing there.
func (s *Scanner) MIME() io.Reader {
	return &mimeReader{raw: &b64Text{s: s}, s: s}
}

// mimeReader decodes the alphabet bytes b64Text yields in whole quanta
// with base64.StdEncoding.Decode, straight into the caller's buffer where
// it is large enough. (base64.NewDecoder would filter newlines again, byte
// by byte, and decode in small steps; b64Text has already removed them.)
type mimeReader struct {
	raw     *b64Text
	s       *Scanner
	in      []byte // undecoded alphabet bytes; in[:0] keeps the array
	out     []byte // decoded bytes not yet returned (small reads only)
	rawDone bool
	err     error
}

// mimeBuffers keeps the 64 KiB input buffers of finished mimeReaders: a
// fresh one per item was most of an export's allocation churn.
var mimeBuffers sync.Pool

// release hands the input buffer back once the reader is done.
func (m *mimeReader) release() {
	if m.in != nil {
		b := m.in[:0]
		mimeBuffers.Put(&b)
		m.in = nil
	}
}

// mimeChunk is how many alphabet bytes are decoded per step (a multiple of 4).
const mimeChunk = 64 << 10

func (m *mimeReader) Read(p []byte) (int, error) {
	if len(m.out) > 0 {
		n := copy(p, m.out)
		m.out = m.out[n:]
		return n, nil
	}
	if m.err != nil {
		m.release()
		return 0, m.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if m.in == nil {
		if b, ok := mimeBuffers.Get().(*[]byte); ok {
			m.in = (*b)[:0]
		} else {
			m.in = make([]byte, 0, mimeChunk)
		}
	}
	for {
		if !m.rawDone && len(m.in) < cap(m.in) {
			n, err := m.raw.Read(m.in[len(m.in):cap(m.in)])
			m.in = m.in[:len(m.in)+n]
			if err == io.EOF {
				m.rawDone = true
			} else if err != nil {
				m.err = err
				return 0, err
			}
		}
		q := len(m.in) &^ 3
		if m.rawDone && q != len(m.in) {
			m.err = fmt.Errorf("%w: base64 text ends inside a quantum", ErrTruncated)
			return 0, m.err
		}
		if q == 0 {
			if m.rawDone {
				err := m.finish()
				m.release()
				return 0, err
			}
			continue
		}
		dst := p
		if len(p) < 3 {
			dst = make([]byte, 3)
		}
		q = min(q, len(dst)/3*4)
		n, err := base64.StdEncoding.Decode(dst, m.in[:q])
		if err != nil {
			m.err = fmt.Errorf("%w: %v", ErrTruncated, err)
			return 0, m.err
		}
		m.in = m.in[:copy(m.in, m.in[q:])]
		if len(p) < 3 {
			k := copy(p, dst[:n])
			m.out = dst[k:n]
			n = k
		}
		if n > 0 {
			return n, nil
		}
	}
}

// finish consumes the end tag once the text is decoded.
func (m *mimeReader) finish() error {
	tok, err := m.s.Next()
	switch {
	case err != nil:
		m.err = eofToTruncated(err)
	case tok.Kind != EndTag:
		m.err = fmt.Errorf("soap: unexpected <%s> in MimeContent", tok.Local)
	default:
		m.err = io.EOF
	}
	return m.err
}

// b64Text yields the base64 alphabet bytes of a text run, stopping before
// '<' and skipping whitespace and character references.
type b64Text struct {
	s      *Scanner
	padded bool
	eof    bool
	err    error
}

func (t *b64Text) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && !t.eof && t.err == nil {
		if t.s.r.Buffered() == 0 {
			if _, err := t.s.r.Peek(1); err != nil {
				t.err = eofToTruncated(err)
				break
			}
		}
		chunk, _ := t.s.r.Peek(t.s.r.Buffered())
		i := 0
	scan:
		for i < len(chunk) && n < len(p) {
			c := chunk[i]
			if !t.padded && b64Alphabet[c] {
				// Fast path: copy a run of base64 characters at once
				// (the bulk of a MimeContent).
				j, lim := i+1, min(len(chunk), i+len(p)-n)
				for j+8 <= lim && plainB64(binary.LittleEndian.Uint64(chunk[j:])) {
					j += 8
				}
				for j < lim && b64Alphabet[chunk[j]] {
					j++
				}
				n += copy(p[n:], chunk[i:j])
				i = j
				continue
			}
			switch {
			case c == '<':
				t.eof = true
				break scan
			case c == ' ' || c == '\t' || c == '\r' || c == '\n':
				i++
			case c == '&':
				// A character reference (line breaks written as &#xD;&#xA;).
				j := bytes.IndexByte(chunk[i:], ';')
				if j >= 0 {
					i += j + 1
					continue
				}
				if i > 0 {
					break scan
				}
				if _, err := t.s.r.ReadSlice(';'); err != nil {
					t.err = eofToTruncated(err)
				}
				chunk = nil
				break scan
			case c == '=':
				t.padded = true
				p[n] = c
				n++
				i++
			case t.padded || !isB64(c):
				t.err = ErrTruncated
				break scan
			default:
				p[n] = c
				n++
				i++
			}
		}
		if chunk != nil {
			t.s.r.Discard(i)
		}
	}
	if n > 0 {
		return n, nil
	}
	if t.err != nil {
		return 0, t.err
	}
	return 0, io.EOF
}

func isB64(c byte) bool { return b64Alphabet[c] }

// plainB64 reports whether the eight bytes of x can be copied without a
// look at each: none is below '+' (whitespace, '&'), above 'z', '<' or
// '='. It may pass other non-alphabet bytes in that range (",", ":",
// "[" ...); base64.StdEncoding.Decode rejects those later.
func plainB64(x uint64) bool {
	return !hasLess(x, '+') && !hasMore(x, 'z') && !hasByte(x, '<') && !hasByte(x, '=')
}

// b64Alphabet marks the characters of the standard base64 alphabet
// (without the padding '=').
var b64Alphabet = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") {
		t[c] = true
	}
	return t
}()
