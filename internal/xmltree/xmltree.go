// Package xmltree is the project's one small XML element tree: the EWS
// client's response codec (exchange/internal/soap), the EWS item
// conversions (format), the EWS emulator's request parser
// (exchange/ewstest) and the IceWarp API client (icewarp) all parse into
// it. Elements are keyed by local name only; what each user needs beyond
// that (case-insensitive names, a depth or element bound, one root) is an
// [Options] field.
package xmltree

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Node is one element. The document itself is a Node too (Local
// "#document"), whose Children are the top-level elements. Start and End
// are byte offsets of the element (start tag to end tag inclusive) in the
// parsed input, so the exact bytes of any element can be cut out with
// [Node.Raw].
type Node struct {
	Space, Local string
	Attrs        []xml.Attr
	Children     []*Node
	// CharData is the element's character data, untrimmed.
	CharData   []byte
	Start, End int64
	// Fold makes the lookups among this element's children and attributes
	// case-insensitive.
	Fold bool
	// Secret text is written as "[redacted]" by Encode with redact set.
	Secret bool
}

// Options says how Parse reads a document; the zero value is a strict
// parse with no bounds.
type Options struct {
	// Lax parses HTML-ish input (xml.Decoder.Strict false).
	Lax bool
	// Fold sets Node.Fold on every element.
	Fold bool
	// FirstText keeps only the character data before an element's first
	// child (containers keep none of their indentation).
	FirstText bool
	// DropNamespaceDecls leaves xmlns attributes out of Node.Attrs.
	DropNamespaceDecls bool
	// OneRoot rejects a second top-level element and non-space text outside
	// the root element.
	OneRoot bool
	// MaxNodes bounds the elements (ErrTooMany); 0 is no bound.
	MaxNodes int
	// MaxDepth bounds element nesting; 0 is no bound.
	MaxDepth int
}

var (
	// ErrTooMany reports a document over Options.MaxNodes elements.
	ErrTooMany = errors.New("too many elements")
	// ErrUnbalanced reports an end tag without its start tag (possible
	// only in a Lax parse).
	ErrUnbalanced = errors.New("unbalanced end element")
)

// Parse reads one XML document into a tree and returns the document node.
// A document that ends inside an element is io.ErrUnexpectedEOF; a
// document without any element is not an error (the document node then
// has no children).
func Parse(r io.Reader, o Options) (*Node, error) {
	d := xml.NewDecoder(r)
	d.Strict = !o.Lax
	doc := &Node{Local: "#document", Fold: o.Fold}
	stack := []*Node{doc}
	nodes := 0
	for {
		off := d.InputOffset()
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if nodes++; o.MaxNodes > 0 && nodes > o.MaxNodes {
				return nil, fmt.Errorf("%w: more than %d elements", ErrTooMany, o.MaxNodes)
			}
			if o.MaxDepth > 0 && len(stack) > o.MaxDepth {
				return nil, fmt.Errorf("nesting deeper than %d", o.MaxDepth)
			}
			n := &Node{Space: t.Name.Space, Local: t.Name.Local, Start: off, Fold: o.Fold}
			for _, a := range t.Attr {
				if o.DropNamespaceDecls && (a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns")) {
					continue
				}
				n.Attrs = append(n.Attrs, a)
			}
			top := stack[len(stack)-1]
			if o.OneRoot && top == doc && len(doc.Children) > 0 {
				return nil, errors.New("more than one root element")
			}
			top.Children = append(top.Children, n)
			stack = append(stack, n)
		case xml.EndElement:
			if len(stack) == 1 {
				return nil, ErrUnbalanced
			}
			stack[len(stack)-1].End = d.InputOffset()
			stack = stack[:len(stack)-1]
		case xml.CharData:
			top := stack[len(stack)-1]
			if top == doc && o.OneRoot && len(bytes.TrimSpace(t)) > 0 {
				return nil, errors.New("text outside the root element")
			}
			if !o.FirstText || len(top.Children) == 0 {
				top.CharData = append(top.CharData, t...)
			}
		}
	}
	if len(stack) != 1 {
		return nil, io.ErrUnexpectedEOF
	}
	return doc, nil
}

// Root returns the first top-level element of a document node, or nil.
func (n *Node) Root() *Node {
	if n == nil || len(n.Children) == 0 {
		return nil
	}
	return n.Children[0]
}

func (n *Node) is(a, b string) bool {
	if n.Fold {
		return strings.EqualFold(a, b)
	}
	return a == b
}

// Child returns the first child with the given local name, or nil. A nil
// receiver is allowed, as for all lookups.
func (n *Node) Child(local string) *Node {
	if n == nil {
		return nil
	}
	for _, c := range n.Children {
		if n.is(c.Local, local) {
			return c
		}
	}
	return nil
}

// All returns the children with the given local name.
func (n *Node) All(local string) []*Node {
	if n == nil {
		return nil
	}
	var out []*Node
	for _, c := range n.Children {
		if n.is(c.Local, local) {
			out = append(out, c)
		}
	}
	return out
}

// Path follows Child through the given local names.
func (n *Node) Path(locals ...string) *Node {
	for _, l := range locals {
		n = n.Child(l)
	}
	return n
}

// Has reports whether the element at path exists.
func (n *Node) Has(path ...string) bool { return n.Path(path...) != nil }

// Elems returns the child elements.
func (n *Node) Elems() []*Node {
	if n == nil {
		return nil
	}
	return n.Children
}

// Attr returns the value of the first attribute with the given local name.
func (n *Node) Attr(local string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attrs {
		if n.is(a.Name.Local, local) {
			return a.Value
		}
	}
	return ""
}

// Text returns the character data of the element at path with
// surrounding space trimmed ("" when absent).
func (n *Node) Text(path ...string) string {
	return strings.TrimSpace(n.RawText(path...))
}

// RawText returns the character data of the element at path exactly,
// untrimmed: for values where surrounding space matters, such as a folder
// name that ends with a space.
func (n *Node) RawText(path ...string) string {
	m := n.Path(path...)
	if m == nil {
		return ""
	}
	return string(m.CharData)
}

// Texts returns the trimmed, non-empty texts of all path[len-1] children
// of the element at path[:len-1], e.g. n.Texts("Categories", "String").
func (n *Node) Texts(path ...string) []string {
	parent := n.Path(path[:len(path)-1]...)
	var out []string
	for _, k := range parent.All(path[len(path)-1]) {
		if s := strings.TrimSpace(string(k.CharData)); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Bool parses an xs:boolean at path; absent or invalid is false.
func (n *Node) Bool(path ...string) bool {
	s := n.Text(path...)
	return s == "true" || s == "1"
}

// Int parses an xs:int at path; ok is false when absent or invalid.
func (n *Node) Int(path ...string) (v int64, ok bool) {
	v, err := strconv.ParseInt(n.Text(path...), 10, 64)
	return v, err == nil
}

// Raw returns a copy of the element's bytes from data, the parsed input.
func (n *Node) Raw(data []byte) []byte {
	return bytes.Clone(data[n.Start:n.End])
}

// Encode writes n as XML, with its local names only; redact replaces
// Secret text with "[redacted]". An element without text or children is
// written as an empty-element tag.
func (n *Node) Encode(b *bytes.Buffer, redact bool) {
	b.WriteByte('<')
	b.WriteString(n.Local)
	for _, a := range n.Attrs {
		b.WriteByte(' ')
		b.WriteString(a.Name.Local)
		b.WriteString(`="`)
		xml.EscapeText(b, []byte(a.Value))
		b.WriteByte('"')
	}
	if len(n.CharData) == 0 && len(n.Children) == 0 {
		b.WriteString("/>")
		return
	}
	b.WriteByte('>')
	if n.Secret && redact {
		b.WriteString("[redacted]")
	} else {
		xml.EscapeText(b, n.CharData)
	}
	for _, c := range n.Children {
		c.Encode(b, redact)
	}
	b.WriteString("</")
	b.WriteString(n.Local)
	b.WriteByte('>')
}
