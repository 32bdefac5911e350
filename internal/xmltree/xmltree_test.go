package xmltree

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseOptions(t *testing.T) {
	const doc = `<a xmlns="urn:x" xmlns:t="urn:t" Id="1"> x <t:B k="v">b</t:B> y </a>`
	tests := []struct {
		name  string
		o     Options
		text  string // RawText of <a>
		nattr int
	}{
		{"default", Options{}, " x  y ", 3},
		{"first text", Options{FirstText: true}, " x ", 3},
		{"drop xmlns", Options{DropNamespaceDecls: true}, " x  y ", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Parse(strings.NewReader(doc), tt.o)
			if err != nil {
				t.Fatal(err)
			}
			a := n.Root()
			if got := a.RawText(); got != tt.text {
				t.Errorf("RawText = %q, want %q", got, tt.text)
			}
			if len(a.Attrs) != tt.nattr {
				t.Errorf("%d attributes, want %d", len(a.Attrs), tt.nattr)
			}
			if got := a.Attr("Id"); got != "1" {
				t.Errorf("Attr(Id) = %q", got)
			}
			b := a.Child("B")
			if got := string(b.Raw([]byte(doc))); got != `<t:B k="v">b</t:B>` {
				t.Errorf("Raw = %q", got)
			}
			if b.Space != "urn:t" || n.Text("a", "B") != "b" || a.Child("b") != nil {
				t.Errorf("B = %+v", b)
			}
		})
	}
}

func TestFold(t *testing.T) {
	n, err := Parse(strings.NewReader(`<IQ TYPE="x"><Result>1</Result></IQ>`), Options{Fold: true})
	if err != nil {
		t.Fatal(err)
	}
	if n.Text("iq", "result") != "1" || n.Root().Attr("type") != "x" {
		t.Errorf("case-insensitive lookups failed")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		doc  string
		o    Options
		want string
	}{
		{`<a/><b/>`, Options{OneRoot: true}, "more than one root element"},
		{`<a/>x`, Options{OneRoot: true}, "text outside the root element"},
		{`<a><a><a/></a></a>`, Options{MaxDepth: 2}, "nesting deeper than 2"},
		{`<a><a/><a/></a>`, Options{MaxNodes: 2}, "too many elements: more than 2 elements"},
	}
	for _, tt := range tests {
		if _, err := Parse(strings.NewReader(tt.doc), tt.o); err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%q) = %v, want %q", tt.doc, err, tt.want)
		}
	}
	// The decoder itself rejects these, even when Lax.
	for _, doc := range []string{`<a><b>`, `</a>`} {
		if _, err := Parse(strings.NewReader(doc), Options{Lax: true}); err == nil {
			t.Errorf("Parse(%q) = nil error", doc)
		}
	}
}

func TestEncode(t *testing.T) {
	n := &Node{Local: "a", Attrs: nil, Children: []*Node{
		{Local: "p", CharData: []byte("s<e")}, {Local: "e"}, {Local: "s", CharData: []byte("pw"), Secret: true}}}
	for _, tt := range []struct {
		redact bool
		want   string
	}{
		{false, `<a><p>s&lt;e</p><e/><s>pw</s></a>`},
		{true, `<a><p>s&lt;e</p><e/><s>[redacted]</s></a>`},
	} {
		var b bytes.Buffer
		n.Encode(&b, tt.redact)
		if b.String() != tt.want {
			t.Errorf("Encode(%v) = %s, want %s", tt.redact, b.String(), tt.want)
		}
	}
}
