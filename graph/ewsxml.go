package graph

import (
	"bytes"
	"encoding/xml"
	"strings"
)

// This file maps Graph's JSON contact to the EWS item XML that package
// format's converters read, so contacts become vCards through the one
// converter the EWS Source uses (format.ContactToVCard), not a second
// vCard writer. Graph has no vCard export: the card is built from the JSON
// fields [graph.md §5]; the field names beyond givenName, fileAs and
// birthday are from the contact resource page [I: Microsoft Learn
// resources/contact].

// object is a Graph JSON object (a contact, an event) as decoded; the
// tables below say which fields reach the EWS XML.
type object map[string]any

// str returns the string field k ("" when absent or not a string).
func (c object) str(k string) string { v, _ := c[k].(string); return v }

// strs returns the string elements of the array field k.
func (c object) strs(k string) []string {
	a, _ := c[k].([]any)
	var out []string
	for _, v := range a {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// obj returns the object field k, or the object element i of array k.
func (c object) obj(k string, i ...int) object {
	v := c[k]
	if a, ok := v.([]any); ok && len(i) > 0 {
		if i[0] >= len(a) {
			return nil
		}
		v = a[i[0]]
	}
	m, _ := v.(map[string]any)
	return m
}

// contactFields maps Graph contact fields to the EWS Contact elements
// format.ContactToVCard reads, as {EWS element, Graph field} [I:
// Microsoft Learn resources/contact for the names beyond givenName,
// fileAs and birthday].
var contactFields = [][2]string{{"LastModifiedTime", "lastModifiedDateTime"}, {"FileAs", "fileAs"},
	{"DisplayName", "displayName"}, {"CompanyName", "companyName"}, {"AssistantName", "assistantName"},
	{"Birthday", "birthday"}, {"BusinessHomePage", "businessHomePage"}, {"Department", "department"},
	{"JobTitle", "jobTitle"}, {"Manager", "manager"}, {"Profession", "profession"}, {"SpouseName", "spouseName"}}

// completeNameFields are the CompleteName children, likewise.
var completeNameFields = [][2]string{{"Title", "title"}, {"FirstName", "givenName"}, {"MiddleName", "middleName"},
	{"LastName", "surname"}, {"Suffix", "generation"}, {"Nickname", "nickName"}}

// addressFields are the children of a PhysicalAddresses entry, from
// Graph's physicalAddress [I].
var addressFields = [][2]string{{"Street", "street"}, {"City", "city"}, {"State", "state"},
	{"CountryOrRegion", "countryOrRegion"}, {"PostalCode", "postalCode"}}

// ewsItemID turns a Graph (REST, URL-safe base64) id back into the EWS
// form of the same id, so a contact keeps the UID the EWS Source gives it
// [I: the two forms differ only in the base64 alphabet].
func ewsItemID(id string) string { return strings.NewReplacer("-", "+", "_", "/").Replace(id) }

// xmlBuilder writes the elements of an EWS item; empty values are left out.
type xmlBuilder struct{ bytes.Buffer }

func (b *xmlBuilder) open(name string, attrs ...string) {
	b.WriteString("<" + name)
	for i := 0; i+1 < len(attrs); i += 2 {
		b.WriteString(" " + attrs[i] + `="`)
		xml.EscapeText(b, []byte(attrs[i+1]))
		b.WriteString(`"`)
	}
	b.WriteString(">")
}

// itemID writes the EWS ItemId of Graph id id.
func (b *xmlBuilder) itemID(id string) {
	b.WriteString(`<ItemId Id="`)
	xml.EscapeText(b, []byte(ewsItemID(id)))
	b.WriteString(`"/>`)
}

func (b *xmlBuilder) close(name string) { b.WriteString("</" + name + ">") }

// text writes <name attrs>v</name> unless v is empty.
func (b *xmlBuilder) text(name, v string, attrs ...string) {
	if v == "" {
		return
	}
	b.open(name, attrs...)
	xml.EscapeText(b, []byte(v))
	b.close(name)
}

// entries writes <name><Entry Key=k>v</Entry>…</name> for the non-empty values.
func (b *xmlBuilder) entries(name string, kv [][2]string) {
	started := false
	for _, e := range kv {
		if e[1] == "" {
			continue
		}
		if !started {
			b.open(name)
			started = true
		}
		b.text("Entry", e[1], "Key", e[0])
	}
	if started {
		b.close(name)
	}
}

// nth returns s[i] or "".
func nth(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return ""
}

// fields writes the elements of table from m's string fields.
func (b *xmlBuilder) fields(m object, table [][2]string) {
	for _, f := range table {
		b.text(f[0], m.str(f[1]))
	}
}

// ewsXML renders the contact as the EWS Contact element format reads
// (wire shape in format.ContactToVCard's comment).
func (c object) ewsXML() []byte {
	var b xmlBuilder
	b.open("Contact")
	b.itemID(c.str("id"))
	if cats := c.strs("categories"); len(cats) > 0 {
		b.open("Categories")
		for _, cat := range cats {
			b.text("String", cat)
		}
		b.close("Categories")
	}
	b.text("Body", c.str("personalNotes"), "BodyType", "Text")
	b.fields(c, contactFields)
	b.open("CompleteName")
	b.fields(c, completeNameFields)
	b.close("CompleteName")
	var mails [][2]string
	for i := 0; i < 3; i++ {
		mails = append(mails, [2]string{"EmailAddress" + string(rune('1'+i)), c.obj("emailAddresses", i).str("address")})
	}
	b.entries("EmailAddresses", mails)
	started := false
	for _, a := range [][2]string{{"Business", "businessAddress"}, {"Home", "homeAddress"}, {"Other", "otherAddress"}} {
		pa := c.obj(a[1])
		if len(pa) == 0 {
			continue
		}
		if !started {
			b.open("PhysicalAddresses")
			started = true
		}
		b.open("Entry", "Key", a[0])
		b.fields(pa, addressFields)
		b.close("Entry")
	}
	if started {
		b.close("PhysicalAddresses")
	}
	bp, hp := c.strs("businessPhones"), c.strs("homePhones")
	b.entries("PhoneNumbers", [][2]string{{"BusinessPhone", nth(bp, 0)}, {"BusinessPhone2", nth(bp, 1)},
		{"HomePhone", nth(hp, 0)}, {"HomePhone2", nth(hp, 1)}, {"MobilePhone", c.str("mobilePhone")}})
	b.close("Contact")
	return b.Bytes()
}
