package format

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"strings"
	"testing"
	"time"

	gomail "github.com/emersion/go-message/mail"
)

// emlFields are the properties EWS reports for a message, taken from a real
// message so RebuildMessage can be checked against it.
type emlFields struct {
	subject, messageID string
	from, to, cc       []string
	date               time.Time
	body               string // text/plain single-part body, decoded; "" if none
	hasBody            bool
}

func xmlText(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// xmlClean is what survives an XML round trip: EscapeText turns characters
// XML cannot hold into U+FFFD.
func xmlClean(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	var out string
	xml.Unmarshal([]byte("<a>"+b.String()+"</a>"), &out)
	return out
}

func addrStrings(h mail.Header, key string) ([]string, error) {
	if h.Get(key) == "" {
		return nil, nil
	}
	l, err := h.AddressList(key)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, a := range l {
		out = append(out, strings.ToLower(a.Address))
	}
	return out, nil
}

// fieldsOf reads a real message; reason is non-empty when the message cannot
// serve as a reference (net/mail rejects it).
func fieldsOf(raw []byte) (f emlFields, reason string) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return f, "original not parseable by net/mail"
	}
	dec := new(mimeDecoder)
	f.subject = dec.header(msg.Header.Get("Subject"))
	f.messageID = strings.TrimSpace(msg.Header.Get("Message-Id"))
	if f.from, err = addrStrings(msg.Header, "From"); err != nil {
		return f, "original From not parseable by net/mail"
	}
	if f.to, err = addrStrings(msg.Header, "To"); err != nil {
		return f, "original To not parseable by net/mail"
	}
	if f.cc, err = addrStrings(msg.Header, "Cc"); err != nil {
		return f, "original Cc not parseable by net/mail"
	}
	if f.date, err = msg.Header.Date(); err != nil {
		// EWS always reports a DateTimeSent/Received; parts and
		// fragments in the corpora lack one. Use a fixed instant.
		f.date = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	}
	ct, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if msg.Header.Get("Content-Type") == "" {
		ct, params, err = "text/plain", map[string]string{}, nil
	}
	cs := strings.ToLower(params["charset"])
	if err == nil && ct == "text/plain" && (cs == "" || cs == "us-ascii" || cs == "utf-8") {
		var r io.Reader = msg.Body
		switch strings.ToLower(strings.TrimSpace(msg.Header.Get("Content-Transfer-Encoding"))) {
		case "quoted-printable":
			r = quotedprintable.NewReader(r)
		case "base64":
			r = base64.NewDecoder(base64.StdEncoding, r)
		}
		if b, err := io.ReadAll(r); err == nil {
			f.body, f.hasBody = string(b), true
		}
	}
	return f, ""
}

func mailboxXML(tag string, addrs []string) string {
	if len(addrs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("<t:" + tag + ">")
	for _, a := range addrs {
		b.WriteString("<t:Mailbox><t:EmailAddress>" + xmlText(a) + "</t:EmailAddress><t:RoutingType>SMTP</t:RoutingType></t:Mailbox>")
	}
	b.WriteString("</t:" + tag + ">")
	return b.String()
}

// itemXMLFor builds the <t:Message> GetItem would return without MimeContent.
func itemXMLFor(f emlFields) []byte {
	var b strings.Builder
	b.WriteString(`<t:Message><t:ItemId Id="corpus" ChangeKey="x"/><t:ItemClass>IPM.Note</t:ItemClass>`)
	b.WriteString("<t:Subject>" + xmlText(f.subject) + "</t:Subject>")
	if f.hasBody {
		b.WriteString(`<t:Body BodyType="Text">` + xmlText(f.body) + "</t:Body>")
	}
	b.WriteString("<t:DateTimeSent>" + f.date.UTC().Format(time.RFC3339) + "</t:DateTimeSent>")
	if len(f.from) > 0 {
		b.WriteString("<t:From>" + strings.TrimSuffix(strings.TrimPrefix(mailboxXML("X", f.from[:1]), "<t:X>"), "</t:X>") + "</t:From>")
	}
	b.WriteString(mailboxXML("ToRecipients", f.to))
	b.WriteString(mailboxXML("CcRecipients", f.cc))
	if f.messageID != "" {
		b.WriteString("<t:InternetMessageId>" + xmlText(f.messageID) + "</t:InternetMessageId>")
	}
	b.WriteString("</t:Message>")
	return []byte(b.String())
}

// TestCorpusRebuild: for every corpus message net/mail can read, the
// properties EWS would report are fed to RebuildMessage and the rebuilt
// message, parsed by net/mail and go-message, must carry the same subject,
// sender, recipients, date, Message-ID and plain-text body.
func TestCorpusRebuild(t *testing.T) {
	root := corporaRoot(t)
	for _, c := range []struct{ name, dir string }{
		{"enmime", "usr/share/gocode/src/github.com/jhillyerd/enmime/testdata"},
		{"flufl.bounce", "usr/lib/python3/dist-packages/flufl/bounce/tests/data"},
	} {
		tl := newTally(c.name + " rebuild from properties")
		for _, p := range corpusFiles(t, root, c.dir, "") {
			raw, _ := os.ReadFile(p)
			if len(raw) == 0 || strings.HasSuffix(p, ".py") || strings.HasSuffix(p, ".png") {
				continue
			}
			f, why := fieldsOf(raw)
			if why != "" {
				tl.differ("not a reference: " + why)
				continue
			}
			var out bytes.Buffer
			if _, err := RebuildMessage(itemXMLFor(f), nil, &out); err != nil {
				t.Errorf("RebuildMessage(%s) = %v", p, err)
				tl.differ("rebuild failed")
				continue
			}
			g, why := fieldsOf(out.Bytes())
			if why != "" {
				t.Errorf("RebuildMessage(%s): %s\n%s", p, why, out.Bytes())
				tl.differ("rebuilt message invalid")
				continue
			}
			if diff := compareEML(f, g, out.Bytes()); diff != "" {
				if !strings.Contains(diff, "(") {
					t.Errorf("RebuildMessage(%s): %s differs: want %+v\ngot %+v", p, diff, f, g)
				}
				tl.differ(diff + " differs")
				continue
			}
			tl.ok()
		}
		t.Log(tl)
		if tl.exact < tl.total*3/4 {
			t.Errorf("%s: only %d of %d rebuilt exactly", c.name, tl.exact, tl.total)
		}
	}
}

func compareEML(want, got emlFields, rebuilt []byte) string {
	eq := func(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }
	switch {
	case xmlClean(want.subject) != got.subject:
		if strings.Join(strings.Fields(xmlClean(want.subject)), " ") == strings.Join(strings.Fields(got.subject), " ") {
			return "subject (folding whitespace normalized)"
		}
		return "subject"
	case len(want.from) > 0 && !eq(want.from[:1], got.from):
		// EWS From holds one mailbox; only the first author travels.
		return "from"
	case !eq(want.to, got.to):
		return "to"
	case !eq(want.cc, got.cc):
		return "cc"
	case !want.date.Equal(got.date):
		return "date"
	case want.messageID != "" && want.messageID != got.messageID:
		if "<"+strings.Trim(want.messageID, "<>")+">" == got.messageID {
			return "message-id (not in RFC 5322 <…> form; bracketed)"
		}
		return "message-id"
	}
	if want.hasBody {
		mr, err := gomail.CreateReader(bytes.NewReader(rebuilt))
		if err != nil {
			return "body"
		}
		p, err := mr.NextPart()
		if err != nil {
			return "body"
		}
		b, _ := io.ReadAll(p.Body)
		norm := func(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }
		if norm(string(b)) != norm(xmlClean(want.body)) {
			return "body"
		}
	}
	return ""
}
