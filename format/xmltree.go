package format

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// maxDepth bounds element nesting in an item; real EWS items nest fewer than
// 12 levels (recurrence inside a time zone inside an item).
const maxDepth = 64

// A node is one element of an EWS item, keyed by its local name only: the
// exchange client cuts items out of a GetItem response, so namespace
// declarations may be missing and prefixes vary by server version (ews.md §1:
// "parse by namespace URI + local name only").
type node struct {
	name  string
	attrs map[string]string
	text  strings.Builder
	kids  []*node
}

// parseItem decodes itemXML into a tree and checks that the root element's
// local name is one of want (any name when want is empty).
func parseItem(itemXML []byte, want ...string) (*node, error) {
	root, err := parseTree(itemXML)
	if err != nil {
		return nil, err
	}
	if len(want) == 0 {
		return root, nil
	}
	for _, w := range want {
		if root.name == w {
			return root, nil
		}
	}
	return nil, &ItemKindError{Want: want, Got: root.name}
}

func parseTree(b []byte) (*node, error) {
	d := xml.NewDecoder(bytes.NewReader(stripIllegalCharRefs(b)))
	d.Strict = true
	// Entities beyond the XML five never occur in EWS; CharsetReader is not
	// set, so a non-UTF-8 declaration is reported as malformed.
	var stack []*node
	var root *node
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxDepth {
				return nil, fmt.Errorf("%w: nesting deeper than %d", ErrMalformed, maxDepth)
			}
			n := &node{name: t.Name.Local}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue
				}
				if n.attrs == nil {
					n.attrs = make(map[string]string, len(t.Attr))
				}
				n.attrs[a.Name.Local] = a.Value
			}
			if len(stack) == 0 {
				if root != nil {
					return nil, fmt.Errorf("%w: more than one root element", ErrMalformed)
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, fmt.Errorf("%w: text outside the root element", ErrMalformed)
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("%w: no element", ErrMalformed)
	}
	return root, nil
}

// stripIllegalCharRefs drops character references to code points XML 1.0
// forbids (&#x1; …). Exchange emits them in bodies [V VIEWPOINT
// dodgy_ews_response.xml] and encoding/xml rejects them [V GOSRC]; EXLIB
// strips them the same way [V EXLIB util.py].
func stripIllegalCharRefs(b []byte) []byte {
	if !bytes.Contains(b, []byte("&#")) {
		return b
	}
	var out []byte
	last := 0
	for i := 0; i < len(b)-2; i++ {
		if b[i] != '&' || b[i+1] != '#' {
			continue
		}
		j := i + 2
		base := 10
		if j < len(b) && (b[j] == 'x' || b[j] == 'X') {
			base = 16
			j++
		}
		k := j
		for k < len(b) && k-j < 8 && isDigit(b[k], base) {
			k++
		}
		if k == j || k >= len(b) || b[k] != ';' {
			continue
		}
		v, err := strconv.ParseUint(string(b[j:k]), base, 32)
		if err == nil && legalXMLChar(rune(v)) {
			continue
		}
		out = append(out, b[last:i]...)
		last = k + 1
		i = k
	}
	if out == nil {
		return b
	}
	return append(out, b[last:]...)
}

func isDigit(c byte, base int) bool {
	switch {
	case c >= '0' && c <= '9':
		return true
	case base == 16 && (c|0x20) >= 'a' && (c|0x20) <= 'f':
		return true
	}
	return false
}

func legalXMLChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD ||
		(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}

// child returns the first child called name, or nil. A nil receiver is allowed.
func (n *node) child(name string) *node {
	if n == nil {
		return nil
	}
	for _, k := range n.kids {
		if k.name == name {
			return k
		}
	}
	return nil
}

// all returns the children called name.
func (n *node) all(name string) []*node {
	if n == nil {
		return nil
	}
	var out []*node
	for _, k := range n.kids {
		if k.name == name {
			out = append(out, k)
		}
	}
	return out
}

// at follows a path of child names.
func (n *node) at(path ...string) *node {
	for _, p := range path {
		n = n.child(p)
	}
	return n
}

// str returns the trimmed text at path ("" when absent).
func (n *node) str(path ...string) string {
	m := n.at(path...)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(m.text.String())
}

// raw returns the untrimmed text at path.
func (n *node) raw(path ...string) string {
	m := n.at(path...)
	if m == nil {
		return ""
	}
	return m.text.String()
}

func (n *node) attr(name string) string {
	if n == nil {
		return ""
	}
	return n.attrs[name]
}

// has reports whether the element at path exists.
func (n *node) has(path ...string) bool { return n.at(path...) != nil }

// boolean parses an xs:boolean at path; absent or invalid is false.
func (n *node) boolean(path ...string) bool {
	s := n.str(path...)
	return s == "true" || s == "1"
}

// integer parses an xs:int at path; ok is false when absent or invalid.
func (n *node) integer(path ...string) (int64, bool) {
	v, err := strconv.ParseInt(n.str(path...), 10, 64)
	return v, err == nil
}

// strings returns the trimmed texts of all path[len-1] children under path[:len-1],
// e.g. n.strs("Categories", "String").
func (n *node) strs(path ...string) []string {
	parent := n.at(path[:len(path)-1]...)
	var out []string
	for _, k := range parent.all(path[len(path)-1]) {
		if s := strings.TrimSpace(k.text.String()); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// errNoValue reports an absent element to time parsers.
var errNoValue = errors.New("no value")

// dateTime parses an xs:dateTime at path. EWS always writes a zone (Z or an
// offset) in responses [V MSDOCS time-zones-and-ews-in-exchange.md]; a value
// without one is taken as UTC.
func (n *node) dateTime(path ...string) (time.Time, error) {
	return parseXSDateTime(n.str(path...))
}

func parseXSDateTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errNoValue
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: bad xs:dateTime %q", ErrMalformed, s)
}

// parseXSDate parses an xs:date that may carry a zone suffix
// ("2050-05-20-05:00", "2050-05-20Z"); EWS recurrence ranges use that form
// [V PYEX GET_RECURRING_MASTER_WEEKLY_EVENT]. The zone is dropped: the value
// names a calendar day.
func parseXSDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errNoValue
	}
	if len(s) < 10 {
		return time.Time{}, fmt.Errorf("%w: bad xs:date %q", ErrMalformed, s)
	}
	t, err := time.Parse("2006-01-02", s[:10])
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: bad xs:date %q", ErrMalformed, s)
	}
	return t, nil
}

// elems returns the child elements (nil-safe).
func (n *node) elems() []*node {
	if n == nil {
		return nil
	}
	return n.kids
}
