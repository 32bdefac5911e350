package format

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/iemproject/iem/internal/xmltree"
)

// maxDepth bounds element nesting in an item; real EWS items nest fewer than
// 12 levels (recurrence inside a time zone inside an item).
const maxDepth = 64

// A node is one element of an EWS item (the project's one XML tree), keyed
// by its local name only: the exchange client cuts items out of a GetItem
// response, so namespace declarations may be missing and prefixes vary by
// server version (ews.md §1: "parse by namespace URI + local name only").
// Namespace declarations are left out of its attributes.
type node = xmltree.Node

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
		if root.Local == w {
			return root, nil
		}
	}
	return nil, &ItemKindError{Want: want, Got: root.Local}
}

func parseTree(b []byte) (*node, error) {
	// Entities beyond the XML five never occur in EWS; CharsetReader is not
	// set, so a non-UTF-8 declaration is reported as malformed.
	doc, err := xmltree.Parse(bytes.NewReader(stripIllegalCharRefs(b)),
		xmltree.Options{DropNamespaceDecls: true, OneRoot: true, MaxDepth: maxDepth})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	root := doc.Root()
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

// errNoValue reports an absent element to time parsers.
var errNoValue = errors.New("no value")

// parseXSDateTime parses an xs:dateTime. EWS always writes a zone (Z or
// an offset) in responses [V MSDOCS time-zones-and-ews-in-exchange.md]; a
// value without one is taken as UTC.
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
