package ewstest

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// xnode is a parsed request element (the emulator's own small parser,
// independent of the client's codec).
type xnode struct {
	local string
	attrs []xml.Attr
	kids  []*xnode
	text  string
}

func parseXML(r io.Reader) (*xnode, error) {
	d := xml.NewDecoder(r)
	root := &xnode{local: "#doc"}
	stack := []*xnode{root}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return root, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &xnode{local: t.Name.Local, attrs: t.Copy().Attr}
			top := stack[len(stack)-1]
			top.kids = append(top.kids, n)
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			top := stack[len(stack)-1]
			top.text += string(t)
		}
	}
}

func (n *xnode) child(local string) *xnode {
	if n == nil {
		return nil
	}
	for _, k := range n.kids {
		if k.local == local {
			return k
		}
	}
	return nil
}

func (n *xnode) path(locals ...string) *xnode {
	for _, l := range locals {
		n = n.child(l)
	}
	return n
}

func (n *xnode) attr(local string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.attrs {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

func (n *xnode) txt() string {
	if n == nil {
		return ""
	}
	return strings.TrimSpace(n.text)
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
