package soap

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

func TestFilter(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<b>bad &#x1; char</b>", "<b>bad  char</b>"},
		{"&#0;&#x0;&#X1F;&#31;&#x8;&#xB;&#xC;&#xFFFE;&#xD800;", ""},
		{"&#x9;&#xA;&#xD;&#x20;&#xE000;&#x10000;", "&#x9;&#xA;&#xD;&#x20;&#xE000;&#x10000;"},
		{"a&amp;b &lt; &#60; &", "a&amp;b &lt; &#60; &"},
		{"raw\x00\x01\x08\x0b\x1f\ttab\r\n", "raw\ttab\r\n"},
		{"&#x1", "&#x1"}, // unterminated: left alone
		{"&#x000000001;&#000000065;", "&#000000065;"},    // leading zeros
		{"&#1234567890123456;x", "&#1234567890123456;x"}, // longer than maxRef
		{strings.Repeat("&", 40) + "#x1;", strings.Repeat("&", 39)},
	}
	for _, tt := range tests {
		for _, chunked := range []bool{false, true} {
			var r io.Reader = strings.NewReader(tt.in)
			if chunked {
				r = iotest.OneByteReader(r)
			}
			got, err := io.ReadAll(NewFilter(r))
			if err != nil || string(got) != tt.want {
				t.Errorf("filter(%q, chunked %t) = %q, %v; want %q", tt.in, chunked, got, err, tt.want)
			}
		}
	}
}

func TestScannerMIME(t *testing.T) {
	payload := []byte("From: a@example.com\r\nSubject: Grüße\r\n\r\n" + strings.Repeat("line of text\r\n", 500))
	enc := base64.StdEncoding.EncodeToString(payload)
	// Exchange may break base64 into lines written as references.
	var broken strings.Builder
	for i := 0; i < len(enc); i += 76 {
		broken.WriteString(enc[i:min(i+76, len(enc))])
		broken.WriteString("&#xD;&#xA;\n")
	}
	doc := func(content string) string {
		return `<?xml version="1.0"?><s:Envelope><s:Body><m:Items><t:Message><t:MimeContent CharacterSet="UTF-8">` +
			content + `</t:MimeContent><t:ItemId Id="a&amp;b"/></t:Message></m:Items></s:Body></s:Envelope>`
	}
	tests := []struct {
		name    string
		doc     string
		want    []byte
		wantErr error
	}{
		{"plain", doc(enc), payload, nil},
		{"line-broken", doc(broken.String()), payload, nil},
		{"truncated marker", doc(enc[:1000] + "=== Truncated Data ==="), nil, ErrTruncated},
		{"cut off", doc(enc)[:300], nil, ErrTruncated},
		{"garbage after padding", doc("QQ==QQ=="), nil, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := NewScanner(iotest.HalfReader(strings.NewReader(tt.doc)), 1<<10)
			for {
				tok, err := sc.Next()
				if err != nil {
					t.Fatalf("Next before MimeContent: %v", err)
				}
				if tok.Kind == StartTag && tok.Local == "MimeContent" {
					if tok.Attrs["CharacterSet"] != "UTF-8" {
						t.Errorf("attrs = %v", tok.Attrs)
					}
					break
				}
			}
			got, err := io.ReadAll(sc.MIME())
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("MIME error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Fatalf("MIME = %d bytes, %v; want %d bytes", len(got), err, len(tt.want))
			}
			// The scanner continues after the element.
			tok, err := sc.Next()
			if err != nil || tok.Local != "ItemId" || tok.Attrs["Id"] != "a&b" || !tok.SelfClosing {
				t.Errorf("after MIME: %+v, %v; want <ItemId Id=a&b/>", tok, err)
			}
		})
	}
}

func TestParseRaw(t *testing.T) {
	data := []byte(`<?xml version="1.0"?><a xmlns:t="urn:t"><t:b x="1">text <!-- c --></t:b><t:c/></a>`)
	root, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	b := root.Path("a", "b")
	if got := string(b.Raw(data)); got != `<t:b x="1">text <!-- c --></t:b>` {
		t.Errorf("Raw(b) = %q", got)
	}
	if got := string(root.Path("a", "c").Raw(data)); got != `<t:c/>` {
		t.Errorf("Raw(c) = %q", got)
	}
	if b.Attr("x") != "1" || b.Text() != "text" || b.RawText() != "text " {
		t.Errorf("b = attr %q text %q raw %q", b.Attr("x"), b.Text(), b.RawText())
	}
	for _, bad := range []string{`<a><b></a>`, `<a>`, `<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>`} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}

func TestEnvelope(t *testing.T) {
	for _, tt := range []struct {
		h    Header
		want string
	}{
		{Header{Version: "Exchange2016", Impersonate: "a&b@example.com"}, `<t:SmtpAddress>a&amp;b@example.com</t:SmtpAddress>`},
		{Header{Version: "Exchange2007_SP1", Impersonate: "a@example.com", PrimarySmtp: true}, `<t:PrimarySmtpAddress>a@example.com</t:PrimarySmtpAddress>`},
	} {
		env := Envelope(tt.h, []byte("<m:X/>"))
		if _, err := Parse(env); err != nil {
			t.Errorf("Envelope is not XML: %v", err)
		}
		if !bytes.Contains(env, []byte(tt.want)) || !bytes.Contains(env, []byte(`Version="`+tt.h.Version+`"`)) {
			t.Errorf("Envelope = %s, want %s", env, tt.want)
		}
	}
}

// TestSamplesParse: the ews.md wire samples (shared with the exchange
// package's tests and fuzz seeds) parse after filtering.
func TestSamplesParse(t *testing.T) {
	files, err := filepath.Glob("testdata/samples/*.xml")
	if err != nil || len(files) < 10 {
		t.Fatalf("samples: %v, %d files", err, len(files))
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		clean, _ := io.ReadAll(NewFilter(bytes.NewReader(data)))
		root, err := Parse(clean)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if root.Path("Envelope", "Body") == nil {
			t.Errorf("%s: no Envelope/Body", name)
		}
	}
}
