package icewarp

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/iemproject/iem/internal/xmltree"
)

// node is the project's XML element tree, used both to build requests and
// to read responses, whose element names the server may capitalise
// differently (icewarp.md §2.3: requests send "tpropertystring", responses
// echo "TPropertyString"): lookups are case-insensitive (Fold). Secret
// text is redacted in debug output.
type node = xmltree.Node

func el(name string, children ...*node) *node {
	return &node{Local: name, Children: children, Fold: true}
}

func leaf(name, text string) *node { return &node{Local: name, CharData: []byte(text), Fold: true} }

func secretLeaf(name, text string) *node {
	n := leaf(name, text)
	n.Secret = true
	return n
}

// maxResponse bounds a response body; folder lists and account lists of a
// large domain stay well below it.
const maxResponse = 64 << 20

var errXML = errors.New("icewarp: malformed response")

// parse reads one XML document (leniently) into a tree and returns its
// root element.
func parse(r io.Reader) (*node, error) {
	doc, err := xmltree.Parse(io.LimitReader(r, maxResponse), xmltree.Options{Lax: true, Fold: true})
	switch {
	case errors.Is(err, xmltree.ErrUnbalanced):
		return nil, errXML
	case err == io.ErrUnexpectedEOF:
		return nil, fmt.Errorf("%w: no complete root element", errXML)
	case err != nil:
		return nil, fmt.Errorf("%w: %v", errXML, err)
	}
	root := doc.Root()
	if root == nil {
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
		v.Secret = true
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
