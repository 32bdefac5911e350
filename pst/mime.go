package pst

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"path"
	"strings"
	"time"
)

// This file rebuilds a message as RFC 5322 bytes ([MS-OXCMAIL] in spirit, readpst in practice).

// Message and attachment property ids used by the MIME rebuild ([MS-OXPROPS]).
const (
	PidTransportHeaders  = 0x007D
	PidClientSubmitTime  = 0x0039
	PidDeliveryTime      = 0x0E06
	PidMessageFlags      = 0x0E07
	PidBody              = 0x1000
	PidRTFCompressed     = 0x1009
	PidHTML              = 0x1013
	PidInternetMessageID = 0x1035
	PidInReplyTo         = 0x1042
	PidSenderName        = 0x0C1A
	PidSenderEmail       = 0x0C1F
	PidSenderSMTP        = 0x5D01
	PidSentReprName      = 0x0042
	PidSentReprEmail     = 0x0065
	PidRecipientType     = 0x0C15
	PidEmailAddress      = 0x3003
	PidSMTPAddress       = 0x39FE
	PidAttachShortName   = 0x3704
	PidAttachMIMETag     = 0x370E
	PidAttachContentID   = 0x3712
	PidFlagStatus        = 0x1090
	PidLastModified      = 0x3008
	PidInternetCodepage  = 0x3FDE
	PidMessageCodepage   = 0x3FFD
)

// maxRTF bounds a decompressed RTF body.
const maxRTF = 64 << 20

// EML returns the message as RFC 5322 bytes: the stored transport headers when present
// (without their Content-* and MIME-Version fields, which describe the body rebuilt
// here), else headers rebuilt from the properties; the text and HTML bodies as
// multipart/alternative; an RTF-only body (PidTagRtfCompressed, no text or HTML) as the
// HTML or text it encapsulates (rtf.go), else as its text and, like readpst, an
// "rtf-body.rtf" attachment; every attachment byte for byte, inline ones
// with their Content-ID, embedded messages as message/rfc822.
func (m *Message) EML() ([]byte, error) { return m.EMLResolving(nil) }

// EMLResolving is EML with resolve (nil: none) mapping the Exchange (X.500) addresses
// of rebuilt headers to SMTP addresses, as [directory.Snapshot.ResolveSMTP] does; an
// address it cannot map is written as an empty group named after the person.
func (m *Message) EMLResolving(resolve func(string) (string, bool)) ([]byte, error) {
	r, _, err := m.EMLStream(resolve)
	b, rerr := io.ReadAll(r)
	if err == nil {
		err = rerr
	}
	return b, err
}

// EMLStream is EMLResolving as a stream: the bytes of attachments left in the file
// (more than one block) are read and base64-encoded as the stream is read, so memory
// holds one block of each, not the attachment. streamed tells whether any is.
func (m *Message) EMLStream(resolve func(string) (string, bool)) (r io.Reader, streamed bool, err error) {
	var w segments
	err = m.write(&w, 0, resolve)
	return w.reader(), len(w.parts) > 0, err
}

// segments collects a message as bytes and, between them, readers of streamed
// attachments.
type segments struct {
	bytes.Buffer
	parts []io.Reader
}

// stream appends r after what was written so far.
func (w *segments) stream(r io.Reader) {
	w.parts = append(w.parts, bytes.NewReader(bytes.Clone(w.Bytes())), r)
	w.Reset()
}

func (w *segments) reader() io.Reader {
	return io.MultiReader(append(w.parts, bytes.NewReader(w.Bytes()))...)
}

func (m *Message) write(w *segments, depth int, resolve func(string) (string, bool)) error {
	if depth > 8 {
		return errors.New("pst: embedded messages nested deeper than 8")
	}
	var firstErr error
	keep := func(e error) {
		if firstErr == nil {
			firstErr = e
		}
	}
	writeHeaders(&w.Buffer, m.headers(resolve))
	text, html := m.body(PidBody, PidMessageCodepage, PidInternetCodepage), m.body(PidHTML, PidInternetCodepage, PidMessageCodepage)
	var extra []Attachment
	if m.RTFOnly() {
		rtf, kind, err := m.rtfBody()
		keep(err)
		switch {
		case err != nil:
		case kind == rtfHTML:
			html = body{rtfDecode(rtf, true), "utf-8"}
		case kind == rtfText:
			text = body{rtfDecode(rtf, false), "utf-8"}
		default: // no faithful HTML: the text, and the RTF as it is
			text = body{rtfDecode(rtf, false), "utf-8"}
			extra = append(extra, Attachment{Props: Props{}, Data: rtf})
		}
	}
	atts := append(append([]Attachment(nil), m.Attachments...), extra...)
	bh, body := bodyPart(text, html)
	if len(atts) == 0 {
		writeMIMEHeader(&w.Buffer, bh)
		w.WriteString("\r\n")
		w.Write(body)
		return firstErr
	}
	mw := multipart.NewWriter(w)
	fmt.Fprintf(w, "Content-Type: multipart/mixed; boundary=%q\r\n\r\n", mw.Boundary())
	pw, _ := mw.CreatePart(bh)
	pw.Write(body)
	for i, a := range atts {
		if a.damaged != nil {
			continue // dropDamaged: listed in the summary, not archived truncated
		}
		h := a.header(i, len(m.Attachments))
		mw.CreatePart(h) // a part's body goes straight to w: written here
		switch {
		case a.Embedded != nil:
			keep(a.Embedded.write(w, depth+1, resolve))
		case a.lazy != 0:
			w.stream(&base64Lines{src: a.reader()})
		default:
			writeBase64(w, a.Data)
		}
	}
	mw.Close()
	return firstErr
}

// header is the MIME header of attachment i of a message with stored attachments
// (the others are the RTF body).
func (a Attachment) header(i, stored int) textproto.MIMEHeader {
	name := a.name(i, stored)
	h := textproto.MIMEHeader{}
	ctype := a.Props.Str(PidAttachMIMETag)
	if a.Embedded != nil {
		ctype = "message/rfc822"
	} else if i >= stored {
		ctype = "application/rtf"
	} else if _, _, err := mime.ParseMediaType(ctype); ctype == "" || err != nil {
		ctype = mime.TypeByExtension(strings.ToLower(path.Ext(name)))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
	}
	disp := "attachment"
	if cid := a.Props.Str(PidAttachContentID); cid != "" && a.Embedded == nil {
		h.Set("Content-ID", "<"+strings.Trim(cid, "<> ")+">")
		disp = "inline"
	}
	switch v := mime.FormatMediaType(ctype, map[string]string{"name": name}); {
	case v != "":
		h.Set("Content-Type", v)
	case mime.FormatMediaType(ctype, nil) != "": // a name FormatMediaType cannot write
		h.Set("Content-Type", mime.FormatMediaType(ctype, nil))
	default:
		h.Set("Content-Type", "application/octet-stream")
	}
	if v := mime.FormatMediaType(disp, map[string]string{"filename": name}); v != "" {
		h.Set("Content-Disposition", v)
	} else { // a name FormatMediaType cannot write (control characters)
		h.Set("Content-Disposition", disp)
	}
	if a.Embedded == nil {
		h.Set("Content-Transfer-Encoding", "base64")
	}
	return h
}

func writeMIMEHeader(w *bytes.Buffer, h textproto.MIMEHeader) {
	for _, k := range []string{"Content-Type", "Content-Transfer-Encoding"} {
		if v := h.Get(k); v != "" {
			w.WriteString(k + ": " + v + "\r\n")
		}
	}
}

// rtfBody decompresses the message's RTF body and says what it encapsulates.
func (m *Message) rtfBody() ([]byte, rtfKind, error) {
	p, ok := m.Props.Get(PidRTFCompressed)
	if !ok {
		return nil, rtfNative, nil
	}
	rtf, err := DecompressRTF(p.Value)
	if err != nil {
		return nil, rtfNative, err
	}
	return rtf, rtfEncapsulation(rtf), nil
}

// RTFUnfaithful tells whether the message's only body is an RTF body that does not
// encapsulate HTML or text: EML writes its extracted text and keeps the RTF as the
// attachment rtf-body.rtf.
func (m *Message) RTFUnfaithful() bool {
	if !m.RTFOnly() {
		return false
	}
	_, kind, err := m.rtfBody()
	return err == nil && kind == rtfNative
}

// RTFOnly tells whether the message's only body is its compressed RTF: EML writes the
// HTML or text it encapsulates, else its text with the RTF as the attachment rtf-body.rtf.
func (m *Message) RTFOnly() bool {
	_, rtf := m.Props.Get(PidRTFCompressed)
	_, text := m.Props.Get(PidBody)
	_, html := m.Props.Get(PidHTML)
	return rtf && !text && !html
}

// name is the attachment's file name: long, short, or made up from its position.
func (a Attachment) name(i, stored int) string {
	if i >= stored {
		return "rtf-body.rtf"
	}
	n := a.Props.Str(PidAttachFilename)
	if n == "" {
		n = a.Props.Str(PidAttachShortName)
	}
	if n == "" && a.Embedded != nil {
		n = subject(a.Embedded.Props)
		if n != "" {
			n += ".eml"
		}
	}
	if n == "" {
		n = fmt.Sprintf("attachment%d", i+1)
	}
	return n
}

// bodyPart returns the header and body of the text and HTML bodies: one of them, or
// both as multipart/alternative.
func bodyPart(text, html body) (textproto.MIMEHeader, []byte) {
	var w bytes.Buffer
	qp := func(w io.Writer, typ string, b body) textproto.MIMEHeader {
		writeQP(w, b.s)
		return textproto.MIMEHeader{"Content-Type": {typ + "; charset=" + b.charset}, "Content-Transfer-Encoding": {"quoted-printable"}}
	}
	switch {
	case text.s != "" && html.s != "":
		mw := multipart.NewWriter(&w)
		for _, p := range []struct {
			typ string
			b   body
		}{{"text/plain", text}, {"text/html", html}} {
			var body bytes.Buffer
			pw, _ := mw.CreatePart(qp(&body, p.typ, p.b))
			pw.Write(body.Bytes())
		}
		mw.Close()
		return textproto.MIMEHeader{"Content-Type": {mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()})}}, w.Bytes()
	case html.s != "":
		return qp(&w, "text/html", html), w.Bytes()
	}
	return qp(&w, "text/plain", text), w.Bytes()
}

func writeQP(w io.Writer, s string) {
	q := quotedprintable.NewWriter(w)
	q.Write([]byte(s))
	q.Close()
	io.WriteString(w, "\r\n")
}

// base64Lines encodes src as base64 in lines of 76 characters, as writeBase64 does,
// reading 57 bytes a line.
type base64Lines struct {
	src io.Reader
	out []byte
	buf bytes.Buffer // reused for every 3,648 bytes read (a new one each allocated 35% of the profile)
	err error
}

func (b *base64Lines) Read(p []byte) (int, error) {
	for len(b.out) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		var in [57 * 64]byte
		n, err := io.ReadFull(b.src, in[:])
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		b.err = err
		b.buf.Reset()
		writeBase64(&b.buf, in[:n])
		b.out = b.buf.Bytes()
	}
	n := copy(p, b.out)
	b.out = b.out[n:]
	return n, nil
}

func writeBase64(w io.Writer, p []byte) {
	enc := base64.StdEncoding
	line := make([]byte, 76)
	for len(p) > 0 {
		n := min(len(p), 57)
		enc.Encode(line, p[:n])
		w.Write(line[:enc.EncodedLen(n)])
		io.WriteString(w, "\r\n")
		p = p[n:]
	}
}

// body is a text or HTML body and the charset of its bytes.
type body struct{ s, charset string }

// body returns the body property id: UTF-8 when stored as PT_UNICODE, else its bytes in
// the charset of the code page cp (or, when that is absent, alt).
func (m *Message) body(id, cp, alt uint16) body {
	p, ok := m.Props.Get(id)
	if !ok {
		return body{}
	}
	if p.Type() == PtUnicode {
		return body{p.String(), "utf-8"}
	}
	c, ok := m.Props.Get(cp)
	if !ok {
		c, _ = m.Props.Get(alt)
	}
	return body{string(trimNUL(p.Value)), codepageCharset(c.Int())}
}

// codepageCharset names the charset of a Windows code page, utf-8 when unknown.
func codepageCharset(cp int64) string {
	switch {
	case cp >= 1250 && cp <= 1258:
		return fmt.Sprintf("windows-%d", cp)
	case cp >= 28591 && cp <= 28599:
		return fmt.Sprintf("iso-8859-%d", cp-28590)
	case cp == 28605:
		return "iso-8859-15"
	}
	names := map[int64]string{20127: "us-ascii", 932: "shift_jis", 936: "gb2312", 949: "ks_c_5601-1987",
		950: "big5", 50220: "iso-2022-jp", 51932: "euc-jp", 20866: "koi8-r", 21866: "koi8-u", 54936: "gb18030"}
	if n, ok := names[cp]; ok {
		return n
	}
	return "utf-8"
}

type header struct{ key, value string }

// headers returns the message's top-level headers, without Content-* and MIME-Version.
func (m *Message) headers(resolve func(string) (string, bool)) []header {
	var hs []header
	if raw := m.Props.Str(PidTransportHeaders); strings.TrimSpace(raw) != "" {
		r := textproto.NewReader(bufio.NewReader(strings.NewReader(strings.TrimLeft(raw, "\r\n") + "\r\n\r\n")))
		for {
			line, err := r.ReadContinuedLine()
			if err != nil || line == "" {
				break
			}
			k, v, ok := strings.Cut(line, ":")
			if !ok || strings.ContainsAny(k, " \t") {
				continue
			}
			lk := strings.ToLower(k)
			if strings.HasPrefix(lk, "content-") || lk == "mime-version" {
				continue
			}
			hs = append(hs, header{k, strings.TrimSpace(v)})
		}
		if len(hs) > 0 {
			return append(hs, header{"MIME-Version", "1.0"})
		}
	}
	ps := m.Props
	date := propTime(ps, PidClientSubmitTime)
	if date.IsZero() {
		date = propTime(ps, PidDeliveryTime)
	}
	if !date.IsZero() {
		hs = append(hs, header{"Date", date.Format(time.RFC1123Z)})
	}
	if from := address(resolve, ps.Str(PidSentReprName), ps.Str(PidSentReprEmail), ""); from != "" {
		hs = append(hs, header{"From", from})
	} else if from := address(resolve, ps.Str(PidSenderName), ps.Str(PidSenderEmail), ps.Str(PidSenderSMTP)); from != "" {
		hs = append(hs, header{"From", from})
	}
	for _, kind := range []struct {
		key string
		typ int64
	}{{"To", 1}, {"Cc", 2}} {
		var list []string
		for _, r := range m.Recipients {
			t, _ := r.Get(PidRecipientType)
			if t.Int()&0xF != kind.typ {
				continue
			}
			if a := address(resolve, r.Str(PidDisplayName), r.Str(PidEmailAddress), r.Str(PidSMTPAddress)); a != "" {
				list = append(list, a)
			}
		}
		if len(list) > 0 {
			hs = append(hs, header{kind.key, strings.Join(list, ", ")})
		}
	}
	hs = append(hs, header{"Subject", mime.QEncoding.Encode("utf-8", subject(ps))})
	if id := strings.TrimSpace(ps.Str(PidInternetMessageID)); id != "" {
		hs = append(hs, header{"Message-ID", id})
	}
	if id := strings.TrimSpace(ps.Str(PidInReplyTo)); id != "" {
		hs = append(hs, header{"In-Reply-To", id})
	}
	return append(hs, header{"MIME-Version", "1.0"})
}

func propTime(ps Props, id uint16) time.Time {
	p, _ := ps.Get(id)
	return p.Time()
}

// address formats a display name and an address: the SMTP one, else email when it is
// SMTP or resolve maps it to SMTP, else an empty group named name ("Name: ;", which
// parses as an address list), else "".
func address(resolve func(string) (string, bool), name, email, smtp string) string {
	if smtp != "" {
		email = smtp
	}
	if !strings.Contains(email, "@") && resolve != nil && email != "" {
		if a, ok := resolve(email); ok {
			email = a
		}
	}
	if strings.Contains(email, "@") {
		return (&mail.Address{Name: name, Address: email}).String()
	}
	if name == "" {
		return ""
	}
	// mail.Address formats the phrase: cut it from a stand-in address.
	phrase, _, _ := strings.Cut((&mail.Address{Name: name, Address: "x@x"}).String(), " <")
	return phrase + ": ;"
}

func writeHeaders(w *bytes.Buffer, hs []header) {
	for _, h := range hs {
		v := strings.Map(func(r rune) rune {
			if r == '\r' || r == '\n' {
				return ' '
			}
			return r
		}, h.value)
		w.WriteString(h.key + ": " + v + "\r\n")
	}
}

// rtfPreload is the dictionary's initial content ([MS-OXRTFCP] 2.1.2.1).
const rtfPreload = "{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx"

// DecompressRTF decompresses a PidTagRtfCompressed value ([MS-OXRTFCP]): LZFu or
// uncompressed (MELA). The output is bounded by the header's RAWSIZE and by 64 MiB.
func DecompressRTF(p []byte) ([]byte, error) {
	if len(p) < 16 {
		return nil, errors.New("pst: compressed RTF shorter than its header")
	}
	comp := int(binary.LittleEndian.Uint32(p))
	raw := int(binary.LittleEndian.Uint32(p[4:]))
	typ := binary.LittleEndian.Uint32(p[8:])
	sum := binary.LittleEndian.Uint32(p[12:])
	if raw < 0 || raw > maxRTF {
		return nil, fmt.Errorf("pst: compressed RTF of %d bytes decompressed", raw)
	}
	data := p[16:]
	if comp >= 12 && comp-12 <= len(data) {
		data = data[:comp-12]
	}
	switch typ {
	case 0x414C454D: // MELA
		return bytes.Clone(data[:min(len(data), raw)]), nil
	case 0x75465A4C: // LZFu
	default:
		return nil, fmt.Errorf("pst: compressed RTF of type 0x%08x", typ)
	}
	if crc(data) != sum {
		return nil, errors.New("pst: compressed RTF CRC mismatch")
	}
	var dict [4096]byte
	copy(dict[:], rtfPreload)
	wp := len(rtfPreload)
	out := make([]byte, 0, raw)
	for i := 0; i < len(data) && len(out) < raw; {
		ctl := data[i]
		i++
		for bit := 0; bit < 8 && i < len(data) && len(out) < raw; bit++ {
			if ctl&(1<<bit) == 0 {
				c := data[i]
				i++
				out = append(out, c)
				dict[wp] = c
				wp = (wp + 1) % 4096
				continue
			}
			if i+1 >= len(data) {
				return out, nil
			}
			ref := int(data[i])<<8 | int(data[i+1])
			i += 2
			off, n := ref>>4, ref&0xF+2
			if off == wp {
				return out, nil
			}
			for k := 0; k < n && len(out) < raw; k++ {
				c := dict[(off+k)%4096]
				out = append(out, c)
				dict[wp] = c
				wp = (wp + 1) % 4096
			}
		}
	}
	return out, nil
}

// subject is PidTagSubject without its prefix marker: a stored subject may begin with
// 0x01 and one character giving the prefix length ([MS-OXCMSG] 2.2.1.46).
func subject(ps Props) string {
	s := ps.Str(PidSubject)
	if r := []rune(s); len(r) >= 2 && r[0] == 1 {
		return string(r[2:])
	}
	return s
}
