package icewarp

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// node is a small XML element tree, used both to build requests and to read
// responses, whose element names the server may capitalise differently
// (icewarp.md §2.3: requests send "tpropertystring", responses echo
// "TPropertyString").
type node struct {
	name     string
	attrs    []xml.Attr
	text     string
	children []*node
	secret   bool // text is redacted in debug output
}

func el(name string, children ...*node) *node { return &node{name: name, children: children} }

func leaf(name, text string) *node { return &node{name: name, text: text} }

func secretLeaf(name, text string) *node { return &node{name: name, text: text, secret: true} }

// child returns the first child with the given name (case-insensitive).
func (n *node) child(name string) *node {
	if n == nil {
		return nil
	}
	for _, c := range n.children {
		if strings.EqualFold(c.name, name) {
			return c
		}
	}
	return nil
}

// all returns all children with the given name.
func (n *node) all(name string) []*node {
	if n == nil {
		return nil
	}
	var out []*node
	for _, c := range n.children {
		if strings.EqualFold(c.name, name) {
			out = append(out, c)
		}
	}
	return out
}

// value returns the trimmed text of a path of children, or "".
func (n *node) value(path ...string) string {
	for _, p := range path {
		n = n.child(p)
	}
	if n == nil {
		return ""
	}
	return strings.TrimSpace(n.text)
}

func (n *node) attr(name string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.attrs {
		if strings.EqualFold(a.Name.Local, name) {
			return a.Value
		}
	}
	return ""
}

// encode writes n as XML; redact replaces secret text with "[redacted]".
func (n *node) encode(b *bytes.Buffer, redact bool) {
	b.WriteByte('<')
	b.WriteString(n.name)
	for _, a := range n.attrs {
		b.WriteByte(' ')
		b.WriteString(a.Name.Local)
		b.WriteString(`="`)
		xml.EscapeText(b, []byte(a.Value))
		b.WriteByte('"')
	}
	if n.text == "" && len(n.children) == 0 {
		b.WriteString("/>")
		return
	}
	b.WriteByte('>')
	if n.secret && redact {
		b.WriteString("[redacted]")
	} else {
		xml.EscapeText(b, []byte(n.text))
	}
	for _, c := range n.children {
		c.encode(b, redact)
	}
	b.WriteString("</")
	b.WriteString(n.name)
	b.WriteByte('>')
}

// maxResponse bounds a response body; folder lists and account lists of a
// large domain stay well below it.
const maxResponse = 64 << 20

var errXML = errors.New("icewarp: malformed response")

// parse reads one XML document into a tree.
func parse(r io.Reader) (*node, error) {
	dec := xml.NewDecoder(io.LimitReader(r, maxResponse))
	dec.Strict = false
	var stack []*node
	var root *node
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errXML, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &node{name: t.Name.Local, attrs: t.Attr}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else if root == nil {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, errXML
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(t)
			}
		}
	}
	if root == nil || len(stack) != 0 {
		return nil, fmt.Errorf("%w: no complete root element", errXML)
	}
	return root, nil
}

// property builds a request property item [V NET CreateAccount.xml]:
//
//	<item><apiproperty><propname>u_alias</propname></apiproperty>
//	<propertyval><classname>tpropertystring</classname><val>tester</val></propertyval>
//	<propertyright>2</propertyright></item>
func property(name, val string) *node {
	v := leaf("val", val)
	if isSecretProp(name) {
		v.secret = true
	}
	return el("item",
		el("apiproperty", leaf("propname", name)),
		el("propertyval", leaf("classname", "tpropertystring"), v),
		leaf("propertyright", "2"))
}

func isSecretProp(name string) bool {
	n := strings.ToLower(name)
	return strings.Contains(n, "password") || strings.Contains(n, "pass")
}
