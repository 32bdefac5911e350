package soap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Node is one element of a parsed response. Start and End are byte offsets
// of the element (start tag to end tag inclusive) in the parsed data, so
// the exact bytes of any element can be cut out with [Node.Raw].
type Node struct {
	Space, Local string
	Attrs        []xml.Attr
	Children     []*Node
	text         []byte
	Start, End   int64
}

// Text returns the element's character data with surrounding space trimmed
// (EWS pads some codes with whitespace [V ews.md §3.1 A]).
func (n *Node) Text() string {
	if n == nil {
		return ""
	}
	return strings.TrimSpace(string(n.text))
}

// RawText returns the element's character data exactly, untrimmed: for
// values where surrounding space matters, such as a folder DisplayName
// that ends with a space [V ews.md §2.3 imapsync FAQ].
func (n *Node) RawText() string {
	if n == nil {
		return ""
	}
	return string(n.text)
}

// Attr returns the value of the attribute with the given local name.
func (n *Node) Attr(local string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attrs {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// Child returns the first child with the given local name, or nil.
func (n *Node) Child(local string) *Node {
	if n == nil {
		return nil
	}
	for _, c := range n.Children {
		if c.Local == local {
			return c
		}
	}
	return nil
}

// Path follows Child through the given local names.
func (n *Node) Path(locals ...string) *Node {
	for _, l := range locals {
		n = n.Child(l)
	}
	return n
}

// All returns the children with the given local name.
func (n *Node) All(local string) []*Node {
	if n == nil {
		return nil
	}
	var out []*Node
	for _, c := range n.Children {
		if c.Local == local {
			out = append(out, c)
		}
	}
	return out
}

// Raw returns a copy of the element's bytes from data.
func (n *Node) Raw(data []byte) []byte {
	return bytes.Clone(data[n.Start:n.End])
}

// MaxNodes bounds the elements of a parsed response. A tree costs about
// 250 bytes per element, so a hostile response of tiny elements would
// otherwise take 25 times its size in memory; real responses of an export
// (512 sync changes, 50 items with their attendees) stay far below it.
const MaxNodes = 1 << 20

// ErrTooLarge reports a response over a size or element bound; it is not
// worth retrying.
var ErrTooLarge = errors.New("soap: response too large")

// Parse parses a whole (filtered) response into a tree.
func Parse(data []byte) (*Node, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	root := &Node{Local: "#document"}
	stack := []*Node{root}
	nodes := 0
	for {
		off := d.InputOffset()
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("soap: parse response: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if nodes++; nodes > MaxNodes {
				return nil, fmt.Errorf("%w: more than %d elements", ErrTooLarge, MaxNodes)
			}
			n := &Node{Space: t.Name.Space, Local: t.Name.Local, Attrs: t.Copy().Attr, Start: off}
			top := stack[len(stack)-1]
			top.Children = append(top.Children, n)
			stack = append(stack, n)
		case xml.EndElement:
			n := stack[len(stack)-1]
			n.End = d.InputOffset()
			stack = stack[:len(stack)-1]
		case xml.CharData:
			top := stack[len(stack)-1]
			if len(top.Children) == 0 {
				top.text = append(top.text, t...)
			}
		}
	}
	if len(stack) != 1 {
		return nil, fmt.Errorf("soap: parse response: %w", io.ErrUnexpectedEOF)
	}
	return root, nil
}
