package soap

import (
	"bytes"
	"encoding/base64"
	"io"
	"math/rand/v2"
	"testing"
)

// BenchmarkMIMEDecode measures the streaming path a GetItem response's
// MimeContent takes (filter, scanner, base64 decode) against the baseline
// of decoding the same base64 text in one call with encoding/base64, in the
// same run. The payload is a 4 MB message whose body is random bytes in
// base64 lines, as attachments are.
func BenchmarkMIMEDecode(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	raw := make([]byte, 3<<20)
	for i := range raw {
		raw[i] = byte(rng.Uint32())
	}
	var msg bytes.Buffer
	msg.WriteString("Subject: x\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(raw)
	for len(enc) > 76 {
		msg.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	msg.WriteString(enc + "\r\n")
	mime := base64.StdEncoding.EncodeToString(msg.Bytes())
	resp := []byte(`<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>` +
		`<m:GetItemResponse><m:ResponseMessages><m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>` +
		`<m:Items><t:Message><t:MimeContent CharacterSet="UTF-8">` + mime + `</t:MimeContent><t:ItemId Id="AAA=" ChangeKey="CQA="/>` +
		`</t:Message></m:Items></m:GetItemResponseMessage></m:ResponseMessages></m:GetItemResponse></s:Body></s:Envelope>`)
	out := make([]byte, 0, msg.Len())

	b.Run("scanner", func(b *testing.B) {
		b.SetBytes(int64(len(resp)))
		for b.Loop() {
			sc := NewScanner(NewFilter(bytes.NewReader(resp)), 1<<20)
			for {
				tok, err := sc.Next()
				if err != nil {
					b.Fatal(err)
				}
				if tok.Kind == StartTag && tok.Local == "MimeContent" {
					break
				}
			}
			n, err := io.Copy(io.Discard, sc.MIME())
			if err != nil || n != int64(msg.Len()) {
				b.Fatalf("decoded %d of %d bytes: %v", n, msg.Len(), err)
			}
		}
	})
	b.Run("baseline-base64.Decode", func(b *testing.B) {
		b.SetBytes(int64(len(resp)))
		for b.Loop() {
			n, err := base64.StdEncoding.Decode(out[:cap(out)], []byte(mime))
			if err != nil || n != msg.Len() {
				b.Fatal(err)
			}
		}
	})
}
