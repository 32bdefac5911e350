package directory

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Limits on hostile LDIF. A logical line is one attribute value after
// unfolding; ldifde writes a thumbnailPhoto (at most 100 KB in AD) as one.
const (
	maxLDIFLine   = 8 << 20  // bytes in one unfolded line
	maxLDIFRecord = 64 << 20 // bytes of retained values in one record
)

// ReadLDIF reads an LDIF export of Active Directory (RFC 2849), as written by
// ldifde: records separated by blank lines, each starting with "dn:", an
// optional "changetype: add", one "name: value" line per value (repeated for
// multi-valued attributes), base64 values after "::", long lines folded onto
// continuation lines that begin with one space, CRLF or LF line ends, and
// "#" comments. A UTF-8 byte-order mark is skipped; UTF-16 input (ldifde -u)
// with a byte-order mark is decoded.
//
// Records with another changetype, and values given by URL (":<"), are
// refused with a [*SyntaxError]: ReadLDIF never opens files. Lines and
// records are bounded (8 MiB and 64 MiB), so hostile input cannot make it
// allocate much more than its own size.
func ReadLDIF(r io.Reader) (*Snapshot, error) {
	br, err := decodeBOM(r)
	if err != nil {
		return nil, fmt.Errorf("directory: read ldif: %w", err)
	}
	p := &ldifParser{r: br}
	entries, err := p.parse()
	if err != nil {
		return nil, err
	}
	return build(entries), nil
}

type ldifParser struct {
	r    *bufio.Reader
	line int // physical lines read so far

	// one physical line of look-ahead
	next    []byte
	hasNext bool
	nextErr error
}

func (p *ldifParser) fail(line int, format string, a ...any) error {
	return &SyntaxError{Line: line, Msg: fmt.Sprintf(format, a...)}
}

// physical returns the next physical line without its line end.
func (p *ldifParser) physical() ([]byte, error) {
	if p.hasNext {
		p.hasNext = false
		return p.next, p.nextErr
	}
	var buf []byte
	for {
		chunk, err := p.r.ReadSlice('\n')
		if len(buf)+len(chunk) > maxLDIFLine+2 {
			return nil, p.fail(p.line+1, "line longer than %d bytes", maxLDIFLine)
		}
		buf = append(buf, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && len(buf) == 0 {
			return nil, io.EOF
		}
		if errors.Is(err, errOddUTF16) {
			return nil, p.fail(p.line+1, "%v", err)
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("directory: read ldif: %w", err)
		}
		p.line++
		buf = bytes.TrimSuffix(buf, []byte("\n"))
		buf = bytes.TrimSuffix(buf, []byte("\r"))
		return buf, nil
	}
}

func (p *ldifParser) unread(b []byte, err error) {
	p.next, p.nextErr, p.hasNext = b, err, true
}

// logical returns the next unfolded line and the number of its first
// physical line. An empty line ends a record.
func (p *ldifParser) logical() ([]byte, int, error) {
	first, err := p.physical()
	if err != nil {
		return nil, 0, err
	}
	start := p.line
	if len(first) == 0 {
		return first, start, nil
	}
	if first[0] == ' ' {
		return nil, start, p.fail(start, "continuation line without a line to continue")
	}
	line := first
	for {
		b, err := p.physical()
		if err == io.EOF {
			return line, start, nil
		}
		if err != nil {
			return nil, start, err
		}
		if len(b) == 0 || b[0] != ' ' {
			p.unread(b, nil)
			return line, start, nil
		}
		if len(line)+len(b)-1 > maxLDIFLine {
			return nil, start, p.fail(start, "unfolded line longer than %d bytes", maxLDIFLine)
		}
		line = append(line, b[1:]...) // physical lines are fresh copies
	}
}

func (p *ldifParser) parse() ([]*entry, error) {
	var (
		entries []*entry
		cur     *entry
		size    int
		records int
	)
	flush := func() {
		if cur != nil {
			entries = append(entries, cur)
			cur = nil
			size = 0
		}
	}
	for {
		raw, n, err := p.logical()
		if err == io.EOF {
			flush()
			return entries, nil
		}
		if err != nil {
			return nil, err
		}
		if len(raw) == 0 {
			flush()
			continue
		}
		if raw[0] == '#' {
			continue
		}
		name, value, err := p.attr(raw, n)
		if err != nil {
			return nil, err
		}
		if cur == nil {
			switch name {
			case "version":
				if records == 0 && value == "1" {
					continue
				}
				return nil, p.fail(n, "unexpected version line")
			case "dn":
				records++
				cur = &entry{dn: value}
				continue
			default:
				return nil, p.fail(n, "record does not start with dn:")
			}
		}
		switch name {
		case "dn":
			return nil, p.fail(n, "second dn: in one record (missing blank line?)")
		case "changetype":
			if !strings.EqualFold(value, "add") {
				return nil, p.fail(n, "changetype %q not supported: only exports (add records) are read", value)
			}
			continue
		case "-":
			return nil, p.fail(n, "modify separator outside a modify record")
		}
		if !wanted[name] {
			continue
		}
		size += len(value)
		if size > maxLDIFRecord {
			return nil, p.fail(n, "record longer than %d bytes", maxLDIFRecord)
		}
		cur.add(name, value)
	}
}

// attr splits "name[;options]: value", "name:: base64" and refuses
// "name:< url". The name is returned lower-cased without options.
func (p *ldifParser) attr(raw []byte, n int) (string, string, error) {
	if len(raw) == 1 && raw[0] == '-' {
		return "-", "", nil
	}
	i := bytes.IndexByte(raw, ':')
	if i <= 0 {
		return "", "", p.fail(n, "missing colon after attribute name")
	}
	name := string(raw[:i])
	opts := ""
	if j := strings.IndexByte(name, ';'); j >= 0 {
		name, opts = name[:j], name[j:] // "member;range=0-1499", "userCertificate;binary"
	}
	for _, c := range []byte(name) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return "", "", p.fail(n, "bad character %q in attribute name", c)
		}
	}
	for _, c := range []byte(opts) {
		if c <= ' ' || c >= 0x7f {
			return "", "", p.fail(n, "bad character %q in attribute options", c)
		}
	}
	if name == "" {
		return "", "", p.fail(n, "empty attribute name")
	}
	name = strings.ToLower(name)
	rest := raw[i+1:]
	switch {
	case len(rest) > 0 && rest[0] == ':':
		enc := bytes.TrimSpace(rest[1:])
		dec := make([]byte, base64.StdEncoding.DecodedLen(len(enc)))
		m, err := base64.StdEncoding.Decode(dec, enc)
		if err != nil {
			return "", "", p.fail(n, "bad base64 value of %s", name)
		}
		return name, string(dec[:m]), nil
	case len(rest) > 0 && rest[0] == '<':
		return "", "", p.fail(n, "value of %s given by url: not supported", name)
	default:
		v := bytes.TrimLeft(rest, " ")
		if !utf8.Valid(v) {
			return "", "", p.fail(n, "value of %s is not utf-8 (base64 it with ::)", name)
		}
		return name, string(v), nil
	}
}

// decodeBOM skips a UTF-8 byte-order mark and decodes UTF-16 input marked
// with one (ldifde -u writes UTF-16LE).
func decodeBOM(r io.Reader) (*bufio.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	b, err := br.Peek(3)
	if err != nil && err != io.EOF {
		return nil, err
	}
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		br.Discard(3)
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		br.Discard(2)
		return bufio.NewReaderSize(&utf16Reader{r: br, little: true}, 64<<10), nil
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		br.Discard(2)
		return bufio.NewReaderSize(&utf16Reader{r: br}, 64<<10), nil
	}
	return br, nil
}

// utf16Reader turns a UTF-16 stream into UTF-8.
type utf16Reader struct {
	r      *bufio.Reader
	little bool
	out    []byte
	err    error
}

var errOddUTF16 = errors.New("odd number of bytes in utf-16 input")

func (u *utf16Reader) unit() (uint16, error) {
	var b [2]byte
	if _, err := io.ReadFull(u.r, b[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			return 0, errOddUTF16
		}
		return 0, err
	}
	if u.little {
		return uint16(b[0]) | uint16(b[1])<<8, nil
	}
	return uint16(b[1]) | uint16(b[0])<<8, nil
}

func (u *utf16Reader) Read(p []byte) (int, error) {
	for len(u.out) < len(p) && u.err == nil {
		c, err := u.unit()
		if err != nil {
			u.err = err
			break
		}
		r := rune(c)
		if utf16.IsSurrogate(r) {
			c2, err := u.unit()
			if err != nil {
				u.err = err
				r = utf8.RuneError
			} else {
				r = utf16.DecodeRune(r, rune(c2))
			}
		}
		u.out = utf8.AppendRune(u.out, r)
	}
	n := copy(p, u.out)
	u.out = u.out[n:]
	if n == 0 && u.err != nil {
		return 0, u.err
	}
	return n, nil
}
