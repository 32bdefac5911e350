package pst

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/iemproject/iem/export"
)

// Hand-made RTF bodies ([MS-OXRTFEX] shapes): HTML encapsulated with \fromhtml1, text
// with \fromtext, and RTF written in an editor.
const (
	rtfHTMLBody = `{\rtf1\ansi\ansicpg1252\fromhtml1 \deff0{\fonttbl{\f0\fswiss Arial;}}` +
		`{\*\htmltag19 <html>}{\*\htmltag34 <head>}{\*\htmltag2 \par }{\*\htmltag41 </head>}{\*\htmltag50 <body>}` +
		`\htmlrtf {\htmlrtf0 Hello \'e9t\'e9 {\*\htmltag84 <b>}\htmlrtf {\b \htmlrtf0 bold\htmlrtf }\htmlrtf0 ` +
		`{\*\htmltag92 </b>}\uc1\u8364\'80 a \{x\} end\htmlrtf }\htmlrtf0 {\*\htmltag58 </body>}{\*\htmltag27 </html>}}`
	rtfTextBody   = `{\rtf1\ansi\ansicpg1252\fromtext \deff0{\fonttbl{\f0\fmodern Courier New;}}\f0\fs20 Dear all,\par 50\'80 each.\par}`
	rtfNativeBody = `{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Arial;}}{\colortbl;\red0\green0\blue0;}` +
		`{\*\generator Riched20;}\pard Line one\par Line {\b two}\tab x\par}`
)

func TestRTFDecode(t *testing.T) {
	for _, c := range []struct {
		rtf  string
		kind rtfKind
		want string
	}{
		{rtfHTMLBody, rtfHTML, "<html><head>\r\n</head><body>Hello été <b>bold</b>€ a {x} end</body></html>"},
		{rtfTextBody, rtfText, "Dear all,\r\n50€ each.\r\n"},
		{rtfNativeBody, rtfNative, "Line one\r\nLine two\tx\r\n"},
	} {
		if k := rtfEncapsulation([]byte(c.rtf)); k != c.kind {
			t.Errorf("kind %d, want %d: %s", k, c.kind, c.rtf)
		}
		if got := rtfDecode([]byte(c.rtf), c.kind == rtfHTML); got != c.want {
			t.Errorf("decoded %q, want %q", got, c.want)
		}
	}
}

// rtfMessage is a message whose only body is rtf, stored uncompressed ("MELA",
// [MS-OXRTFCP] 2.1.3.1.1).
func rtfMessage(rtf string) *Message {
	b := make([]byte, 16, 16+len(rtf))
	binary.LittleEndian.PutUint32(b, uint32(len(rtf)+12))
	binary.LittleEndian.PutUint32(b[4:], uint32(len(rtf)))
	copy(b[8:], "MELA")
	b = append(b, rtf...)
	tag := uint32(PidRTFCompressed)<<16 | PtBinary
	return &Message{Props: Props{tag: {Tag: tag, Value: b}}}
}

// TestRTFOnlyEML: encapsulated HTML becomes the HTML body with no attachment and no
// rebuilt mark; editor RTF becomes the text body with the RTF kept as rtf-body.rtf and
// the item recorded as rebuilt under the reason the summary counts.
func TestRTFOnlyEML(t *testing.T) {
	src := &Source{address: "user@example.com"}
	sf := &sourceFile{names: map[namedKey]uint16{}}
	for _, c := range []struct {
		rtf      string
		want     []string
		rebuilt  bool
		attached bool
	}{
		{rtfHTMLBody, []string{"Content-Type: text/html; charset=utf-8", "<b>bold</b>"}, false, false},
		{rtfTextBody, []string{"Content-Type: text/plain; charset=utf-8", "Dear all,"}, false, false},
		{rtfNativeBody, []string{"Content-Type: text/plain; charset=utf-8", "Line two\tx", "rtf-body.rtf"}, true, true},
	} {
		m := rtfMessage(c.rtf)
		cont, err := src.convert(sf, "pst:f:1", export.KindMail, m, nil)
		if err != nil {
			t.Fatal(err)
		}
		eml := string(cont.Data)
		for _, w := range c.want {
			if !strings.Contains(eml, w) {
				t.Errorf("EML lacks %q:\n%s", w, eml)
			}
		}
		if got := strings.Contains(eml, "rtf-body.rtf"); got != c.attached {
			t.Errorf("rtf-body.rtf attached %v, want %v", got, c.attached)
		}
		if cont.Rebuilt != c.rebuilt {
			t.Errorf("rebuilt %v (%v), want %v", cont.Rebuilt, cont.RebuiltWhy, c.rebuilt)
		}
		if c.rebuilt && cont.RebuiltWhy != error(errRTFOnly) {
			t.Errorf("rebuilt because %v", cont.RebuiltWhy)
		}
	}
}
