package icewarp

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseCaseInsensitive(t *testing.T) {
	// Response items echo "TPropertyString" where requests send lower case
	// [V NET Responses/GetAccountProperties.xml].
	doc := `<iq type="result" sid="201604181336290003"><query xmlns="admin:iq:rpc"><Result><item><apiproperty><propname>U_Name</propname></apiproperty>
<propertyval><classname>TPropertyString</classname><val> Test </val></propertyval><propertyright>2</propertyright></item></Result></query></iq>`
	n, err := parse(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if got := n.Child("query").Child("result").Child("item").Text("propertyval", "val"); got != "Test" {
		t.Errorf("value = %q, want Test", got)
	}
	if got := n.Attr("SID"); got != "201604181336290003" {
		t.Errorf("attr(SID) = %q", got)
	}
}

func TestEncodeRedacts(t *testing.T) {
	n := el("commandparams", leaf("email", "a<b>&c"), secretLeaf("password", "pw&1"), property("u_password", "pw2"), property("u_name", "N"))
	var plain, red bytes.Buffer
	n.Encode(&plain, false)
	n.Encode(&red, true)
	if !strings.Contains(plain.String(), "<password>pw&amp;1</password>") || !strings.Contains(plain.String(), "<val>pw2</val>") {
		t.Errorf("encode = %s, want escaped secrets", plain.String())
	}
	if strings.Contains(red.String(), "pw") || !strings.Contains(red.String(), "<val>N</val>") || !strings.Contains(red.String(), "a&lt;b&gt;&amp;c") {
		t.Errorf("redacted encode = %s", red.String())
	}
}

// FuzzParse checks that any response body either parses or fails with
// errXML, never panics, and that what parses re-encodes to a document that
// parses to the same tree shape.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`<iq type="error"><query><error uid="iq_root_tag_invalid"/></query></iq>`,
		`<iq type="result" sid="1"><query xmlns="admin:iq:rpc"><result>1</result></query></iq>`,
		`<iq><query><result><item><name>a&amp;b</name></item></result></query></iq>`,
		`<a><b>`, `</a>`, ``, `<?xml version="1.0"?><x/>`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parse(strings.NewReader(s))
		if err != nil {
			return
		}
		var b bytes.Buffer
		n.Encode(&b, false)
		m, err := parse(&b)
		if err != nil {
			t.Fatalf("re-parse of %q (from %q): %v", b.String(), s, err)
		}
		if shape(n) != shape(m) {
			t.Fatalf("shape changed: %q vs %q", shape(n), shape(m))
		}
	})
}

func shape(n *node) string {
	var b strings.Builder
	b.WriteString("<" + n.Local + ">")
	for _, c := range n.Children {
		b.WriteString(shape(c))
	}
	b.WriteString("</>")
	return b.String()
}
