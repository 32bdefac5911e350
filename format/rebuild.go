package format

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"strings"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
)

// RebuiltHeader marks a message made by RebuildMessage; its value says why.
const RebuiltHeader = "X-IEM-Rebuilt"

// unresolvedDomain is the RFC 2606 reserved domain used for internal
// addresses the directory could not map to SMTP.
const unresolvedDomain = "unresolved.invalid"

// RebuildMessage writes a minimal, valid RFC 5322 message built from the
// item's properties, for items whose MimeContent Exchange cannot produce
// (ErrorMimeContentConversionFailed, ErrorItemCorrupt [V MSDOCS
// responsecode.md]). The idea follows DavMail, which rebuilds "contentclass,
// message-id, from, to, cc, subject, date, body" [V DAVMAIL
// EwsExchangeSession.getContent].
//
// The message carries an X-IEM-Rebuilt header so nothing passes for the
// original. Internal (EX / legacyExchangeDN) addresses are rewritten to SMTP
// through dir; unresolved ones are encapsulated as
// IMCEAEX-…@unresolved.invalid and reported. Attachments are included when the
// item XML carries their Content (a FileAttachment fetched with GetAttachment
// and spliced in by the caller); otherwise their names are listed in the
// report. Output is deterministic: the same XML gives the same bytes.
func RebuildMessage(itemXML []byte, dir AddressResolver, w io.Writer) (Report, error) {
	var rep Report
	n, err := parseItem(itemXML, mailItems...)
	if err != nil {
		return rep, err
	}
	if strings.HasPrefix(n.Local, "Meeting") {
		rep.add(n.Local, "meeting message rebuilt as a plain message; its invitation is not attached")
	}
	var h mail.Header
	h.Set(RebuiltHeader, "mime content unavailable; rebuilt from ews item properties")

	date, err := parseXSDateTime(n.Text("DateTimeSent"))
	if err != nil {
		date, err = parseXSDateTime(n.Text("DateTimeReceived"))
	}
	if err != nil {
		date, err = parseXSDateTime(n.Text("DateTimeCreated"))
	}
	if err != nil {
		date = time.Unix(0, 0).UTC()
		rep.add("DateTimeSent", "no date on the item; used 1970-01-01")
	}
	h.SetDate(date.UTC())

	addrs := func(field string, mbs []*node) []*mail.Address {
		var out []*mail.Address
		for _, m := range mbs {
			mb, ok := parseMailbox(m, dir)
			if !ok {
				continue
			}
			out = append(out, rfcAddress(mb, field, &rep))
		}
		return out
	}
	from := addrs("From", []*node{n.Path("From", "Mailbox")})
	if len(from) == 0 {
		from = addrs("Sender", []*node{n.Path("Sender", "Mailbox")})
	}
	if len(from) == 0 {
		from = []*mail.Address{{Address: "unknown@" + unresolvedDomain}}
		rep.add("From", "no sender on the item")
	}
	h.SetAddressList("From", from)
	if s := addrs("Sender", []*node{n.Path("Sender", "Mailbox")}); len(s) == 1 && s[0].Address != from[0].Address {
		h.SetAddressList("Sender", s)
	}
	for _, f := range [][2]string{{"To", "ToRecipients"}, {"Cc", "CcRecipients"}, {"Bcc", "BccRecipients"}} {
		if l := addrs(f[1], n.Path(f[1]).All("Mailbox")); len(l) > 0 {
			h.SetAddressList(f[0], l)
		}
	}
	if l := addrs("ReplyTo", n.Path("ReplyTo").All("Mailbox")); len(l) > 0 {
		h.SetAddressList("Reply-To", l)
	}
	h.SetSubject(n.Text("Subject"))

	id := strings.Trim(n.Text("InternetMessageId"), "<>")
	if id == "" {
		sum := sha256.Sum256(itemXML)
		id = hex.EncodeToString(sum[:12]) + "@rebuilt.iem.invalid"
		rep.add("InternetMessageId", "absent; generated %s", id)
	}
	h.SetMessageID(id)
	if v := strings.Trim(n.Text("InReplyTo"), "<> "); v != "" {
		h.SetMsgIDList("In-Reply-To", []string{v})
	}
	if v := n.Text("References"); v != "" {
		var ids []string
		for _, f := range strings.Fields(v) {
			if f = strings.Trim(f, "<>"); f != "" {
				ids = append(ids, f)
			}
		}
		h.SetMsgIDList("References", ids)
	}
	switch n.Text("Importance") {
	case "High":
		h.Set("Importance", "high")
		h.Set("X-Priority", "1")
	case "Low":
		h.Set("Importance", "low")
		h.Set("X-Priority", "5")
	}
	if c := n.Texts("Categories", "String"); len(c) > 0 {
		h.Set("Keywords", strings.Join(c, ", "))
	}
	if ic := n.Text("ItemClass"); ic != "" {
		h.Set("X-IEM-ItemClass", ic)
	}

	bodyType := "text/plain"
	body := n.Child("Body")
	if strings.EqualFold(body.Attr("BodyType"), "HTML") {
		bodyType = "text/html"
	}
	text := n.RawText("Body")
	if strings.EqualFold(body.Attr("IsTruncated"), "true") {
		rep.add("Body", "exchange truncated the body")
	}

	type att struct {
		name, ctype string
		data        []byte
	}
	var atts []att
	for _, a := range n.Path("Attachments").Elems() {
		name := a.Text("Name")
		if a.Local != "FileAttachment" {
			rep.add("Attachments", "item attachment %q not embedded", name)
			continue
		}
		c := a.Text("Content")
		if c == "" {
			rep.add("Attachments", "attachment %q content not in the item xml", name)
			continue
		}
		data, err := base64.StdEncoding.DecodeString(c)
		if err != nil {
			return rep, fmt.Errorf("%w: attachment %q: %v", ErrMalformed, name, err)
		}
		ct := a.Text("ContentType")
		if ct == "" {
			ct = "application/octet-stream"
		}
		atts = append(atts, att{name, ct, data})
	}

	sum := sha256.Sum256(itemXML)
	boundary := "iem-" + hex.EncodeToString(sum[:10])
	if len(atts) == 0 {
		h.SetContentType(bodyType, map[string]string{"charset": "utf-8"})
		h.Set("Content-Transfer-Encoding", "quoted-printable")
		mw, err := message.CreateWriter(w, inOrder(h.Header))
		if err != nil {
			return rep, fmt.Errorf("format: rebuild message: %w", err)
		}
		if _, err := io.WriteString(mw, text); err != nil {
			return rep, fmt.Errorf("format: rebuild message: %w", err)
		}
		return rep, mw.Close()
	}
	h.SetContentType("multipart/mixed", map[string]string{"boundary": boundary})
	mw, err := message.CreateWriter(w, inOrder(h.Header))
	if err != nil {
		return rep, fmt.Errorf("format: rebuild message: %w", err)
	}
	var bh message.Header
	bh.SetContentType(bodyType, map[string]string{"charset": "utf-8"})
	bh.Set("Content-Transfer-Encoding", "quoted-printable")
	pw, err := mw.CreatePart(bh)
	if err != nil {
		return rep, fmt.Errorf("format: rebuild message: %w", err)
	}
	if _, err := io.WriteString(pw, text); err != nil {
		return rep, fmt.Errorf("format: rebuild message: %w", err)
	}
	pw.Close()
	for _, a := range atts {
		var ah message.Header
		ah.SetContentType(a.ctype, nil)
		ah.Set("Content-Transfer-Encoding", "base64")
		ah.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.name}))
		pw, err := mw.CreatePart(ah)
		if err != nil {
			return rep, fmt.Errorf("format: rebuild message: %w", err)
		}
		if _, err := pw.Write(a.data); err != nil {
			return rep, fmt.Errorf("format: rebuild message: %w", err)
		}
		pw.Close()
	}
	return rep, mw.Close()
}

// rfcAddress turns a mailbox into an RFC 5322 address, encapsulating an
// unresolved internal address the way Exchange does (IMCEAEX-…) [I].
func rfcAddress(mb mailbox, field string, rep *Report) *mail.Address {
	if mb.SMTP {
		return &mail.Address{Name: mb.Name, Address: mb.Addr}
	}
	rep.add(field, "address %q not resolvable to smtp", mb.Raw)
	return &mail.Address{Name: mb.Name, Address: imceaex(mb.Raw) + "@" + unresolvedDomain}
}

// imceaex encapsulates an X.500 DN as an atom: "/" → "_", other specials
// as "+XX" hex.
func imceaex(dn string) string {
	var b strings.Builder
	b.WriteString("IMCEAEX-")
	for i := 0; i < len(dn); i++ {
		c := dn[i]
		switch {
		case c == '/':
			b.WriteByte('_')
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.' && i > 0 && i < len(dn)-1 && dn[i-1] != '.':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "+%02X", c)
		}
	}
	if b.Len() == len("IMCEAEX-") {
		b.WriteString("empty")
	}
	return b.String()
}

// inOrder returns h with its fields in the order they were set: go-message
// keeps the newest field first, which would print X-IEM-Rebuilt last and the
// MIME fields first.
func inOrder(h message.Header) message.Header {
	var out message.Header
	f := h.Fields()
	for f.Next() {
		raw, err := f.Raw()
		if err != nil {
			out.Add(f.Key(), f.Value())
			continue
		}
		out.AddRaw(raw)
	}
	return out
}
