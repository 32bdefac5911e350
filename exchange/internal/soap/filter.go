// Package soap is the SOAP 1.1 codec of the EWS client: it builds request
// envelopes, filters XML-1.0-illegal characters out of response streams,
// parses small responses into a tree that remembers byte offsets, and scans
// large GetItem responses token by token so that MimeContent can be decoded
// while it streams.
//
// Elements are matched by local name only: Exchange 2007 answers with
// default-namespace bodies and 2010+ with m:/t: prefixes, so prefixes must
// never be relied on [V ews.md §1 "Prefix styles differ by version"].
package soap

import (
	"bytes"
	"encoding/binary"
	"io"
)

// NewFilter returns a reader that removes character references to
// XML-1.0-illegal characters (such as &#x1;) and raw control bytes from r.
// Go's encoding/xml rejects them, and Exchange emits them in bodies
// [V ews.md §1.2 VIEWPOINT dodgy_ews_response.xml; EXLIB util.py].
func NewFilter(r io.Reader) io.Reader {
	return &filter{r: r, in: make([]byte, 32*1024)}
}

type filter struct {
	r     io.Reader
	in    []byte
	carry []byte // undecided bytes kept from the previous read
	out   []byte // filtered bytes not yet returned
	buf   []byte // backing array of out, reused for every chunk
	err   error
}

// maxRef is longer than any character reference worth looking at
// ("&#x0000001F;" is 12 bytes).
const maxRef = 16

func (f *filter) Read(p []byte) (int, error) {
	for len(f.out) == 0 {
		if f.err != nil {
			if len(f.carry) > 0 {
				f.out, f.carry = filterChunk(nil, f.carry, true)
				continue
			}
			return 0, f.err
		}
		n, err := f.r.Read(f.in)
		f.err = err
		data := f.in[:n]
		if len(f.carry) > 0 {
			data = append(f.carry, data...)
			f.carry = nil
		}
		var rest []byte
		// Reuse one output buffer: out is sliced forward as it is read,
		// so out[:0] would have lost its capacity and every chunk of a
		// 150 MB MimeContent would allocate anew.
		f.out, rest = filterChunk(f.buf[:0], data, err != nil)
		f.buf = f.out
		if len(rest) > 0 {
			f.carry = append([]byte(nil), rest...)
		}
	}
	n := copy(p, f.out)
	f.out = f.out[n:]
	return n, nil
}

// filterChunk appends data to dst with illegal references and control bytes
// removed. Unless final, a possibly incomplete reference at the end is
// returned as rest.
func filterChunk(dst, data []byte, final bool) (out, rest []byte) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '&')
		seg := data
		if i >= 0 {
			seg = data[:i]
		}
		dst = appendLegal(dst, seg)
		if i < 0 {
			return dst, nil
		}
		data = data[i:]
		end := bytes.IndexByte(data[:min(len(data), maxRef)], ';')
		if end < 0 {
			if !final && len(data) < maxRef {
				return dst, data
			}
			dst = append(dst, '&')
			data = data[1:]
			continue
		}
		ref := data[:end+1]
		if cp, ok := charRef(ref); ok && !legalChar(cp) {
			data = data[end+1:]
			continue
		}
		dst = append(dst, '&')
		data = data[1:]
	}
	return dst, nil
}

func appendLegal(dst, seg []byte) []byte {
	start, i := 0, 0
	for i < len(seg) {
		// Skip eight bytes at a time while none is a control byte: the
		// bulk of a response (MimeContent) has none.
		if i+8 <= len(seg) && !hasLess(binary.LittleEndian.Uint64(seg[i:]), 0x20) {
			i += 8
			continue
		}
		if b := seg[i]; b < 0x20 && b != '\t' && b != '\n' && b != '\r' {
			dst = append(dst, seg[start:i]...)
			start = i + 1
		}
		i++
	}
	return append(dst, seg[start:]...)
}

// SWAR byte tests on a little-endian word ("Bit Twiddling Hacks",
// "Determine if a word has a byte less than n"), exact for n <= 128.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// hasLess reports whether any byte of x is less than n.
func hasLess(x uint64, n byte) bool { return (x-ones*uint64(n))&^x&highs != 0 }

// hasMore reports whether any byte of x is greater than n.
func hasMore(x uint64, n byte) bool { return ((x+ones*uint64(127-n))|x)&highs != 0 }

// hasByte reports whether any byte of x equals c.
func hasByte(x uint64, c byte) bool { return hasLess(x^(ones*uint64(c)), 1) }

// charRef parses "&#123;" or "&#x1F;".
func charRef(ref []byte) (rune, bool) {
	if len(ref) < 4 || ref[1] != '#' {
		return 0, false
	}
	body := ref[2 : len(ref)-1]
	base := 10
	if len(body) > 0 && (body[0] == 'x' || body[0] == 'X') {
		base = 16
		body = body[1:]
	}
	// Leading zeros do not change the character ("&#x000000001;" is
	// U+0001, which encoding/xml rejects all the same).
	for len(body) > 1 && body[0] == '0' {
		body = body[1:]
	}
	if len(body) == 0 || len(body) > 8 {
		return 0, false
	}
	var v rune
	for _, c := range body {
		var d rune
		switch {
		case c >= '0' && c <= '9':
			d = rune(c - '0')
		case base == 16 && c >= 'a' && c <= 'f':
			d = rune(c-'a') + 10
		case base == 16 && c >= 'A' && c <= 'F':
			d = rune(c-'A') + 10
		default:
			return 0, false
		}
		v = v*rune(base) + d
	}
	return v, true
}

// legalChar reports whether XML 1.0 §2.2 allows cp.
func legalChar(cp rune) bool {
	switch {
	case cp == 0x9 || cp == 0xA || cp == 0xD:
		return true
	case cp >= 0x20 && cp <= 0xD7FF:
		return true
	case cp >= 0xE000 && cp <= 0xFFFD:
		return true
	case cp >= 0x10000 && cp <= 0x10FFFF:
		return true
	}
	return false
}
