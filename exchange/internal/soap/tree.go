package soap

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/iemproject/iem/internal/xmltree"
)

// Node is one element of a parsed response (the project's one XML tree).
// Start and End are byte offsets of the element (start tag to end tag
// inclusive) in the parsed data, so the exact bytes of any element can be
// cut out with [Node.Raw]. Text trims the character data (EWS pads some
// codes with whitespace [V ews.md §3.1 A]); RawText keeps it exactly, for
// values where surrounding space matters, such as a folder DisplayName
// that ends with a space [V ews.md §2.3 imapsync FAQ].
type Node = xmltree.Node

// MaxNodes bounds the elements of a parsed response. A tree costs about
// 250 bytes per element, so a hostile response of tiny elements would
// otherwise take 25 times its size in memory; real responses of an export
// (512 sync changes, 50 items with their attendees) stay far below it.
const MaxNodes = 1 << 20

// ErrTooLarge reports a response over a size or element bound; it is not
// worth retrying.
var ErrTooLarge = errors.New("soap: response too large")

// Parse parses a whole (filtered) response into a tree. Only the text
// before an element's first child is kept: containers keep none of their
// indentation.
func Parse(data []byte) (*Node, error) {
	root, err := xmltree.Parse(bytes.NewReader(data), xmltree.Options{FirstText: true, MaxNodes: MaxNodes})
	if errors.Is(err, xmltree.ErrTooMany) {
		return nil, fmt.Errorf("%w: more than %d elements", ErrTooLarge, MaxNodes)
	}
	if err != nil {
		return nil, fmt.Errorf("soap: parse response: %w", err)
	}
	return root, nil
}
