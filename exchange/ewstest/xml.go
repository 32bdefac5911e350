package ewstest

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"time"

	"github.com/iemproject/iem/internal/xmltree"
)

// parseXML parses a request into the project's XML tree (a strict parse;
// the document node's children are the top-level elements).
func parseXML(r io.Reader) (*xmltree.Node, error) {
	return xmltree.Parse(r, xmltree.Options{})
}

// w is the response writer with XML helpers.
type w struct {
	*bufio.Writer
	illegal bool // inject illegal character references into texts
	// mime, if set, takes a MimeContent source to be encoded later, after
	// the organisation's lock is released; otherwise it is encoded now.
	mime func(io.Reader)
}

// mimeContent writes src base64-encoded, now or later (see w.mime).
func (b *w) mimeContent(src io.Reader) {
	if b.mime != nil {
		b.mime(src)
		return
	}
	enc := base64.NewEncoder(base64.StdEncoding, b)
	io.Copy(enc, src)
	enc.Close()
}

func (b *w) esc(s string) {
	xml.EscapeText(b, []byte(s))
}

// el writes <name>text</name> with escaping.
func (b *w) el(name, text string) {
	b.WriteString("<" + name + ">")
	b.esc(text)
	b.WriteString("</" + name + ">")
}

// dirty writes text that the illegal-characters fault decorates with
// references Go's XML decoder rejects [V ews.md §1.2 VIEWPOINT dodgy_ews_response.xml].
func (b *w) dirty(name, text string) {
	b.WriteString("<" + name + ">")
	b.esc(text)
	if b.illegal {
		b.WriteString("&#x0;&#x1;&#x8;&#xB;&#x1F;&#31;")
	}
	b.WriteString("</" + name + ">")
}

func (b *w) printf(f string, a ...any) { fmt.Fprintf(b, f, a...) }

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func ck(n int) string {
	return "CQAAABYAAAA" + base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("ck%06d", n)))
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
