package format

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-vcard"
)

// Contacts are written as vCard 3.0 (RFC 2426), not 4.0: Exchange 2007 has
// no contact MIME at all and newer Exchange itself emits 3.0 (ews.md §4.1
// sample, "VERSION:3.0" [V OfficeDev/ews-managed-api#25]); CardDAV servers
// must accept 3.0 (RFC 6352 §6.2.2) while 4.0 support is optional; and
// IceWarp's GroupWare AddvCard is fed vCards from its own WebClient import of
// 3.0 files (icewarp.md §3, [I] for the version). 3.0 lacks a few 4.0
// properties; they travel as the X- names common clients read (listed at each
// field below).
const vcardVersion = "3.0"

// ContactToVCard builds a vCard 3.0 from an EWS Contact item's properties
// (Exchange 2007 cannot produce contact MIME [V MSDOCS
// getitem-operation-contact.md: ErrorUnsupportedMimeConversion]). Wire shape
// [V MSDOCS getitem-operation-contact.md]:
//
//	<t:Contact><t:DisplayName>Tanja Plate</t:DisplayName>
//	  <t:CompleteName><t:FirstName>Tanja</t:FirstName><t:LastName>Plate</t:LastName>…</t:CompleteName>
//	  <t:EmailAddresses><t:Entry Key="EmailAddress1">tplate@example.com</t:Entry></t:EmailAddresses>
//	  <t:PhysicalAddresses><t:Entry Key="Business"><t:Street>…</t:Street>…</t:Entry></t:PhysicalAddresses>
//	  <t:PhoneNumbers><t:Entry Key="BusinessPhone">5625550199</t:Entry></t:PhoneNumbers>…
//
// The photo is taken from a FileAttachment marked IsContactPhoto (or named
// ContactPicture.jpg, as Outlook names it [I]) whose Content the caller
// fetched with GetAttachment and spliced into the item. Field values in the
// returned card are unescaped text; structured values (N, ADR, ORG) separate
// components with ";". Write it with [WriteVCard].
func ContactToVCard(itemXML []byte, dir AddressResolver) (vcard.Card, Report, error) {
	var rep Report
	n, err := parseItem(itemXML, "Contact")
	if err != nil {
		return nil, rep, err
	}
	c := newCard(n)

	cn := n.Child("CompleteName")
	family := first(cn.Text("LastName"), n.Text("Surname"))
	given := first(cn.Text("FirstName"), n.Text("GivenName"))
	middle := first(cn.Text("MiddleName"), n.Text("MiddleName"))
	prefix := cn.Text("Title")
	suffix := first(cn.Text("Suffix"), n.Text("Generation"))
	addStructured(c, vcard.FieldName, nil, family, given, middle, prefix, suffix)

	var emails []string
	for _, key := range []string{"EmailAddress1", "EmailAddress2", "EmailAddress3"} {
		e := entry(n.Child("EmailAddresses"), key)
		if e == nil {
			continue
		}
		addr := strings.TrimSpace(e.RawText())
		if addr == "" {
			continue
		}
		if a, ok := resolveRaw(addr, "", dir); ok {
			addr = a
		} else if !strings.Contains(addr, "@") {
			rep.add("EmailAddresses/"+key, "address %q not resolvable to smtp; kept as is", addr)
		}
		emails = append(emails, addr)
		p := vcard.Params{vcard.ParamType: {"INTERNET"}}
		if len(emails) == 1 {
			p.Add(vcard.ParamType, "PREF")
		}
		c.Add(vcard.FieldEmail, &vcard.Field{Value: addr, Params: p})
	}

	fn := first(n.Text("DisplayName"), cn.Text("FullName"), strings.TrimSpace(given+" "+family),
		n.Text("FileAs"), n.Text("CompanyName"))
	if fn == "" && len(emails) > 0 {
		fn = emails[0]
	}
	c.SetValue(vcard.FieldFormattedName, fn)
	if v := first(n.Text("Nickname"), cn.Text("Nickname")); v != "" {
		c.SetValue(vcard.FieldNickname, v)
	}
	if v := n.Text("FileAs"); v != "" {
		c.SetValue("SORT-STRING", v)
	}

	for _, e := range n.Path("PhoneNumbers").All("Entry") {
		v := strings.TrimSpace(e.RawText())
		if v == "" {
			continue
		}
		key := e.Attr("Key")
		types, ok := phoneTypes[key]
		if !ok {
			types = []string{"VOICE"}
			rep.add("PhoneNumbers/"+key, "unknown phone kind; written as voice")
		}
		c.Add(vcard.FieldTelephone, &vcard.Field{Value: v, Params: vcard.Params{vcard.ParamType: types}})
	}

	prefAddr := n.Text("PostalAddressIndex")
	for _, e := range n.Path("PhysicalAddresses").All("Entry") {
		key := e.Attr("Key")
		types, ok := addressTypes[key]
		if !ok {
			types = []string{"POSTAL"}
		}
		street, city, state := e.Text("Street"), e.Text("City"), e.Text("State")
		country, zip := first(e.Text("CountryOrRegion"), e.Text("Country")), e.Text("PostalCode")
		if street+city+state+country+zip == "" {
			continue
		}
		if key == prefAddr {
			types = append(append([]string(nil), types...), "PREF")
		}
		addStructured(c, vcard.FieldAddress, vcard.Params{vcard.ParamType: types}, "", "", street, city, state, zip, country)
	}

	if org, dept := n.Text("CompanyName"), n.Text("Department"); org != "" || dept != "" {
		if dept != "" {
			addStructured(c, vcard.FieldOrganization, nil, org, dept)
		} else {
			addStructured(c, vcard.FieldOrganization, nil, org)
		}
	}
	setIf(c, vcard.FieldTitle, n.Text("JobTitle"))
	setIf(c, vcard.FieldRole, n.Text("Profession"))
	if t, err := parseXSDateTime(n.Text("Birthday")); err == nil {
		c.SetValue(vcard.FieldBirthday, calendarDay(t))
	}
	if t, err := parseXSDateTime(n.Text("WeddingAnniversary")); err == nil {
		// vCard 3.0 has no ANNIVERSARY; X-ANNIVERSARY is what Evolution and
		// KAddressBook read [I].
		c.SetValue("X-ANNIVERSARY", calendarDay(t))
	}
	setIf(c, vcard.FieldURL, n.Text("BusinessHomePage"))
	// X- names as Evolution writes them [I].
	setIf(c, "X-ASSISTANT", n.Text("AssistantName"))
	setIf(c, "X-MANAGER", n.Text("Manager"))
	setIf(c, "X-SPOUSE", n.Text("SpouseName"))
	for _, key := range []string{"ImAddress1", "ImAddress2", "ImAddress3"} {
		e := entry(n.Child("ImAddresses"), key)
		v := strings.TrimSpace(e.RawText())
		if v == "" {
			continue
		}
		// IMPP (RFC 4770, defined for vCard 3.0) needs a URI; bare
		// Outlook IM addresses keep Exchange's own X-MS-IMADDRESS
		// [V ews.md §4.1 Exchange vCard sample].
		if i := strings.IndexByte(v, ':'); i > 0 && !strings.ContainsAny(v[:i], " @") {
			c.Add(vcard.FieldIMPP, &vcard.Field{Value: v})
		} else {
			c.Add("X-MS-IMADDRESS", &vcard.Field{Value: v})
		}
	}
	for _, f := range []string{"Children", "Companies", "OfficeLocation", "Mileage", "Hobbies"} {
		if n.Has(f) && (n.Text(f) != "" || len(n.Child(f).Elems()) > 0) {
			rep.add(f, "no vcard equivalent; not written")
		}
	}
	if note := itemBody(n, &rep); note != "" {
		c.SetValue(vcard.FieldNote, note)
	}
	photo := false
	for _, a := range n.Path("Attachments").All("FileAttachment") {
		if !a.Bool("IsContactPhoto") && !strings.EqualFold(a.Text("Name"), "ContactPicture.jpg") {
			continue
		}
		content := a.Text("Content")
		if content == "" {
			continue
		}
		if _, err := base64.StdEncoding.DecodeString(content); err != nil {
			return nil, rep, fmt.Errorf("%w: contact photo: %v", ErrMalformed, err)
		}
		typ := "JPEG"
		if ct := strings.ToLower(a.Text("ContentType")); strings.HasPrefix(ct, "image/") {
			typ = strings.ToUpper(strings.TrimPrefix(ct, "image/"))
		}
		c.Set(vcard.FieldPhoto, &vcard.Field{Value: content, Params: vcard.Params{"ENCODING": {"b"}, vcard.ParamType: {typ}}})
		photo = true
		break
	}
	if !photo && n.Bool("HasPicture") {
		rep.add("HasPicture", "contact photo content not in the item xml")
	}
	return c, rep, nil
}

// DistributionListToVCard builds a group vCard from an EWS DistributionList
// (private DL in a contacts folder). Members come from <t:Members><t:Member>
// <t:Mailbox>… (Exchange 2010+ schema [I]); on Exchange 2007 the caller
// appends the ExpandDL result (<m:DLExpansion><t:Mailbox>… [V MSDOCS
// expanddl-operation.md]) inside the item, and it is read instead.
//
// IceWarp's handling of group vCards is not documented. The card carries the
// group both ways clients know: KIND:group + MEMBER:mailto:… (RFC 6350
// names, as DavMail writes them into 3.0 cards [V ews.md §4.2]) and Apple's
// X-ADDRESSBOOKSERVER-KIND / X-ADDRESSBOOKSERVER-MEMBER.
func DistributionListToVCard(itemXML []byte, dir AddressResolver) (vcard.Card, Report, error) {
	var rep Report
	n, err := parseItem(itemXML, "DistributionList")
	if err != nil {
		return nil, rep, err
	}
	c := newCard(n)
	name := first(n.Text("DisplayName"), n.Text("FileAs"), n.Text("Subject"))
	c.SetValue(vcard.FieldFormattedName, name)
	addStructured(c, vcard.FieldName, nil, name, "", "", "", "")
	c.SetValue(vcard.FieldKind, "group")
	c.SetValue("X-ADDRESSBOOKSERVER-KIND", "group")
	var boxes []*node
	for _, m := range n.Path("Members").All("Member") {
		boxes = append(boxes, m.Child("Mailbox"))
	}
	if exp := findDeep(n, "DLExpansion"); exp != nil && len(boxes) == 0 {
		boxes = exp.All("Mailbox")
	}
	for _, b := range boxes {
		mb, ok := parseMailbox(b, dir)
		if !ok {
			continue
		}
		if !mb.SMTP {
			rep.add("Members", "member %q has no smtp address; not written", first(mb.Name, mb.Raw))
			continue
		}
		v := "mailto:" + mb.Addr
		c.Add(vcard.FieldMember, &vcard.Field{Value: v})
		c.Add("X-ADDRESSBOOKSERVER-MEMBER", &vcard.Field{Value: v})
	}
	if note := itemBody(n, &rep); note != "" {
		c.SetValue(vcard.FieldNote, note)
	}
	return c, rep, nil
}

var phoneTypes = map[string][]string{
	// EWS PhoneNumberKey values [V MSDOCS entry-phonenumber.md, I for the list]
	// mapped to RFC 2426 §3.3.1 TEL types; kinds 3.0 lacks get X- types.
	"BusinessPhone":    {"WORK", "VOICE"},
	"BusinessPhone2":   {"WORK", "VOICE"},
	"BusinessFax":      {"WORK", "FAX"},
	"HomePhone":        {"HOME", "VOICE"},
	"HomePhone2":       {"HOME", "VOICE"},
	"HomeFax":          {"HOME", "FAX"},
	"MobilePhone":      {"CELL", "VOICE"},
	"CarPhone":         {"CAR", "VOICE"},
	"Pager":            {"PAGER"},
	"Isdn":             {"ISDN"},
	"OtherFax":         {"FAX"},
	"OtherTelephone":   {"VOICE"},
	"PrimaryPhone":     {"PREF", "VOICE"},
	"CompanyMainPhone": {"WORK", "X-COMPANY-MAIN"},
	"AssistantPhone":   {"X-ASSISTANT"},
	"Callback":         {"X-CALLBACK"},
	"RadioPhone":       {"X-RADIO"},
	"Telex":            {"X-TELEX"},
	"TtyTddPhone":      {"X-TTYTDD"},
}

var addressTypes = map[string][]string{
	"Business": {"WORK"},
	"Home":     {"HOME"},
	"Other":    {"POSTAL"},
}

func newCard(n *node) vcard.Card {
	c := make(vcard.Card)
	c.SetValue(vcard.FieldVersion, vcardVersion)
	c.SetValue(vcard.FieldProductID, "-//iem//format//EN")
	c.SetValue(vcard.FieldUID, itemUID(n))
	if t, err := parseXSDateTime(n.Text("LastModifiedTime")); err == nil {
		c.SetValue(vcard.FieldRevision, t.UTC().Format("20060102T150405Z"))
	}
	for _, cat := range n.Texts("Categories", "String") {
		c.Add(vcard.FieldCategories, &vcard.Field{Value: cat})
	}
	switch n.Text("Sensitivity") {
	case "Private", "Personal":
		c.SetValue("CLASS", "PRIVATE")
	case "Confidential":
		c.SetValue("CLASS", "CONFIDENTIAL")
	}
	return c
}

// itemUID derives a stable UID for items that have none of their own
// (contacts, lists, tasks, notes) from the EWS ItemId. ItemIds change when
// an item moves between folders [V ews.md §2.2]; callers that track moves
// replace the UID.
func itemUID(n *node) string {
	id := n.Child("ItemId").Attr("Id")
	if id == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(id))
	return "iem-" + hex.EncodeToString(sum[:16])
}

// calendarDay turns a date Exchange stores as local midnight converted to
// UTC (a birthday) back into its calendar day: the nearest UTC midnight is
// the right day for every zone within ±12 h [I].
func calendarDay(t time.Time) string {
	return t.UTC().Add(12 * time.Hour).Truncate(24 * time.Hour).Format("2006-01-02")
}

func entry(parent *node, key string) *node {
	for _, e := range parent.All("Entry") {
		if e.Attr("Key") == key {
			return e
		}
	}
	return nil
}

func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func setIf(c vcard.Card, k, v string) {
	if v != "" {
		c.SetValue(k, v)
	}
}

// addStructured stores a structured value; ";" cannot occur inside a
// component of this representation and becomes ",".
func addStructured(c vcard.Card, k string, p vcard.Params, comps ...string) {
	for i := range comps {
		comps[i] = strings.ReplaceAll(comps[i], ";", ",")
	}
	c.Add(k, &vcard.Field{Value: strings.Join(comps, ";"), Params: p})
}

var (
	tagRE     = regexp.MustCompile(`(?s)<[^>]*>`)
	skipRE    = regexp.MustCompile(`(?is)<(script|style|head)[^>]*>.*?</(script|style|head)>`)
	newlineRE = regexp.MustCompile(`(?i)<br\s*/?>|</p>|</div>`)
)

// itemBody returns the item's body as plain text; an HTML body is reduced
// to its text and the loss reported.
func itemBody(n *node, rep *Report) string {
	b := n.Child("Body")
	if b == nil {
		return ""
	}
	s := strings.ReplaceAll(b.RawText(), "\r\n", "\n")
	if strings.EqualFold(b.Attr("BodyType"), "HTML") {
		s = htmlToText(s)
		if strings.TrimSpace(s) != "" {
			rep.add("Body", "html body reduced to text")
		}
	}
	return strings.TrimRight(s, "\n")
}

func htmlToText(s string) string {
	s = skipRE.ReplaceAllString(s, "")
	s = newlineRE.ReplaceAllString(s, "\n")
	s = tagRE.ReplaceAllString(s, "")
	r := strings.NewReplacer("&nbsp;", " ", "&lt;", "<", "&gt;", ">", "&quot;", `"`, "&#39;", "'", "&amp;", "&")
	return strings.TrimSpace(r.Replace(s))
}

// Properties whose values are written without text escaping: URIs, binary,
// dates (RFC 2426 value types uri, binary, date, date-time).
var rawProps = map[string]bool{
	vcard.FieldPhoto: true, vcard.FieldURL: true, vcard.FieldMember: true, "X-ADDRESSBOOKSERVER-MEMBER": true,
	vcard.FieldIMPP: true, vcard.FieldBirthday: true, vcard.FieldRevision: true, "X-ANNIVERSARY": true,
	vcard.FieldVersion: true,
}

// Structured properties: components separated by ";" are kept, other
// specials escaped inside each component.
var structuredProps = map[string]bool{vcard.FieldName: true, vcard.FieldAddress: true, vcard.FieldOrganization: true}

// WriteVCard writes c as an RFC 2426 vCard: CRLF line ends, lines folded at
// 75 octets without splitting a UTF-8 sequence, text values escaped
// (\\, \;, \, and \n). Properties come in a fixed order (VERSION, FN, N,
// then by name, values in insertion order) so the output is deterministic.
// It is used instead of go-vcard's Encoder, which neither folds nor escapes
// ";" in text and escapes "," in structured values.
func WriteVCard(w io.Writer, c vcard.Card) error {
	var b bytes.Buffer
	b.WriteString("BEGIN:VCARD\r\n")
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	rank := map[string]int{vcard.FieldVersion: -3, vcard.FieldFormattedName: -2, vcard.FieldName: -1}
	sort.Slice(keys, func(i, j int) bool {
		ri, rj := rank[keys[i]], rank[keys[j]]
		if ri != rj {
			return ri < rj
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		for _, f := range c[k] {
			var line strings.Builder
			if f.Group != "" {
				line.WriteString(f.Group + ".")
			}
			line.WriteString(k)
			pk := make([]string, 0, len(f.Params))
			for p := range f.Params {
				pk = append(pk, p)
			}
			sort.Strings(pk)
			for _, p := range pk {
				vals := f.Params[p]
				if len(vals) == 0 {
					continue
				}
				line.WriteString(";" + p + "=")
				for i, v := range vals {
					if i > 0 {
						line.WriteByte(',')
					}
					line.WriteString(paramValue(v))
				}
			}
			line.WriteByte(':')
			switch {
			case rawProps[k]:
				line.WriteString(strings.NewReplacer("\r", "", "\n", "").Replace(f.Value))
			case structuredProps[k]:
				comps := strings.Split(f.Value, ";")
				for i := range comps {
					comps[i] = escapeText(comps[i], false)
				}
				line.WriteString(strings.Join(comps, ";"))
			default:
				line.WriteString(escapeText(f.Value, true))
			}
			writeFolded(&b, line.String())
		}
	}
	b.WriteString("END:VCARD\r\n")
	_, err := w.Write(b.Bytes())
	return err
}

func escapeText(s string, semicolon bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case ',':
			b.WriteString(`\,`)
		case ';':
			if semicolon {
				b.WriteString(`\;`)
			} else {
				b.WriteByte(c)
			}
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				continue
			}
			b.WriteString(`\n`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func paramValue(v string) string {
	v = strings.NewReplacer("\r", "", "\n", " ", `"`, "'").Replace(v)
	if strings.ContainsAny(v, ";:,") {
		return `"` + v + `"`
	}
	return v
}

// writeFolded writes one content line folded at 75 octets (RFC 2426 §2.6,
// RFC 5545 §3.1), never inside a UTF-8 sequence.
func writeFolded(b *bytes.Buffer, line string) {
	const max = 75
	width := max
	for len(line) > width {
		cut := width
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		b.WriteString(line[:cut])
		b.WriteString("\r\n ")
		line = line[cut:]
		width = max - 1
	}
	b.WriteString(line)
	b.WriteString("\r\n")
}
