package ewstest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"strings"
	"time"
)

type mimeParams struct {
	from, to *User
	subject  string
	date     time.Time
	variant  int
	msgID    string
}

// buildMIME writes an RFC 5322 message: plain text, multipart/alternative,
// multipart/mixed with a binary attachment, or non-ASCII headers.
func buildMIME(rng *rand.Rand, p mimeParams) []byte {
	var b bytes.Buffer
	w := func(f string, a ...any) { fmt.Fprintf(&b, f+"\r\n", a...) }
	w("From: %s <%s>", mime.QEncoding.Encode("utf-8", p.from.DisplayName), p.from.SMTP)
	if p.to != nil {
		w("To: %s <%s>", mime.QEncoding.Encode("utf-8", p.to.DisplayName), p.to.SMTP)
	}
	w("Subject: %s", mime.QEncoding.Encode("utf-8", p.subject))
	w("Date: %s", p.date.Format(time.RFC1123Z))
	w("Message-ID: %s", p.msgID)
	w("MIME-Version: 1.0")
	text := fmt.Sprintf("Hallo,\r\n\r\nanbei der Stand (%d). Grüße, %s\r\n", rng.IntN(1000), p.from.DisplayName)
	switch p.variant {
	case 1:
		w(`Content-Type: multipart/alternative; boundary="alt-b"`)
		w("")
		w("--alt-b")
		w("Content-Type: text/plain; charset=utf-8")
		w("Content-Transfer-Encoding: 8bit")
		w("")
		b.WriteString(text)
		w("--alt-b")
		w("Content-Type: text/html; charset=utf-8")
		w("")
		w("<html><body><p>%s</p></body></html>", strings.ReplaceAll(text, "\r\n", "<br>"))
		w("--alt-b--")
	case 2:
		w(`Content-Type: multipart/mixed; boundary="mix-b"`)
		w("")
		w("--mix-b")
		w("Content-Type: text/plain; charset=utf-8")
		w("")
		b.WriteString(text)
		w("--mix-b")
		w(`Content-Type: application/pdf; name="Rechnung Nr. 1.pdf"`)
		w(`Content-Disposition: attachment; filename*=utf-8''Rechnung%%20%%C3%%9Cbersicht.pdf`)
		w("Content-Transfer-Encoding: base64")
		w("")
		att := make([]byte, 600+rng.IntN(2000))
		for i := range att {
			att[i] = byte(rng.Uint32())
		}
		enc := base64.StdEncoding.EncodeToString(att)
		for len(enc) > 76 {
			w("%s", enc[:76])
			enc = enc[76:]
		}
		w("%s", enc)
		w("--mix-b--")
	default:
		w("Content-Type: text/plain; charset=utf-8")
		w("Content-Transfer-Encoding: 8bit")
		w("")
		b.WriteString(text)
	}
	return b.Bytes()
}

// LargeMIME returns the MIME content of a message made by
// Org.AddLargeMessage with the same size and seed: a text message of
// exactly size bytes, generated as it is read.
func LargeMIME(size int64, seed uint64) io.Reader {
	hdr := fmt.Sprintf("From: Large <large@example.com>\r\nSubject: Large attachment\r\nMessage-ID: <large.%d@ewstest>\r\n"+
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n", seed)
	return io.LimitReader(io.MultiReader(strings.NewReader(hdr), &lineGen{rng: rand.New(rand.NewPCG(seed, 7))}), size)
}

type lineGen struct {
	rng  *rand.Rand
	buf  [78]byte
	line []byte
}

const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,"

func (g *lineGen) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(g.line) == 0 {
			buf := g.buf[:]
			for i := 0; i < 76; i++ {
				buf[i] = alphabet[g.rng.IntN(len(alphabet))]
			}
			buf[76], buf[77] = '\r', '\n'
			g.line = buf
		}
		c := copy(p[n:], g.line)
		g.line = g.line[c:]
		n += c
	}
	return n, nil
}
