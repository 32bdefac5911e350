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

// emailAddress is Graph's emailAddress type.
type emailAddress struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

// physicalAddress is Graph's physicalAddress type [I].
type physicalAddress struct {
	Street          string `json:"street"`
	City            string `json:"city"`
	State           string `json:"state"`
	CountryOrRegion string `json:"countryOrRegion"`
	PostalCode      string `json:"postalCode"`
}

// contact is the part of a Graph contact the vCard carries [I].
type contact struct {
	ID                   string           `json:"id"`
	ETag                 string           `json:"@odata.etag"`
	Removed              any              `json:"@removed"`
	LastModifiedDateTime string           `json:"lastModifiedDateTime"`
	Categories           []string         `json:"categories"`
	DisplayName          string           `json:"displayName"`
	GivenName            string           `json:"givenName"`
	MiddleName           string           `json:"middleName"`
	Surname              string           `json:"surname"`
	Title                string           `json:"title"`
	Generation           string           `json:"generation"`
	NickName             string           `json:"nickName"`
	FileAs               string           `json:"fileAs"`
	CompanyName          string           `json:"companyName"`
	Department           string           `json:"department"`
	JobTitle             string           `json:"jobTitle"`
	Profession           string           `json:"profession"`
	Birthday             string           `json:"birthday"`
	BusinessHomePage     string           `json:"businessHomePage"`
	AssistantName        string           `json:"assistantName"`
	Manager              string           `json:"manager"`
	SpouseName           string           `json:"spouseName"`
	PersonalNotes        string           `json:"personalNotes"`
	EmailAddresses       []emailAddress   `json:"emailAddresses"`
	BusinessPhones       []string         `json:"businessPhones"`
	HomePhones           []string         `json:"homePhones"`
	MobilePhone          string           `json:"mobilePhone"`
	BusinessAddress      *physicalAddress `json:"businessAddress"`
	HomeAddress          *physicalAddress `json:"homeAddress"`
	OtherAddress         *physicalAddress `json:"otherAddress"`
}

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

// ewsXML renders the contact as the EWS Contact element format reads
// (wire shape in format.ContactToVCard's comment).
func (c *contact) ewsXML() []byte {
	var b xmlBuilder
	b.open("Contact")
	b.WriteString(`<ItemId Id="`)
	xml.EscapeText(&b, []byte(ewsItemID(c.ID)))
	b.WriteString(`"/>`)
	b.text("LastModifiedTime", c.LastModifiedDateTime)
	if len(c.Categories) > 0 {
		b.open("Categories")
		for _, cat := range c.Categories {
			b.text("String", cat)
		}
		b.close("Categories")
	}
	b.text("Body", c.PersonalNotes, "BodyType", "Text")
	b.text("FileAs", c.FileAs)
	b.text("DisplayName", c.DisplayName)
	b.open("CompleteName")
	b.text("Title", c.Title)
	b.text("FirstName", c.GivenName)
	b.text("MiddleName", c.MiddleName)
	b.text("LastName", c.Surname)
	b.text("Suffix", c.Generation)
	b.text("Nickname", c.NickName)
	b.close("CompleteName")
	b.text("CompanyName", c.CompanyName)
	var mails [][2]string
	for i, e := range c.EmailAddresses {
		if i < 3 {
			mails = append(mails, [2]string{"EmailAddress" + string(rune('1'+i)), e.Address})
		}
	}
	b.entries("EmailAddresses", mails)
	started := false
	for _, a := range []struct {
		key string
		pa  *physicalAddress
	}{{"Business", c.BusinessAddress}, {"Home", c.HomeAddress}, {"Other", c.OtherAddress}} {
		if a.pa == nil || *a.pa == (physicalAddress{}) {
			continue
		}
		if !started {
			b.open("PhysicalAddresses")
			started = true
		}
		b.open("Entry", "Key", a.key)
		b.text("Street", a.pa.Street)
		b.text("City", a.pa.City)
		b.text("State", a.pa.State)
		b.text("CountryOrRegion", a.pa.CountryOrRegion)
		b.text("PostalCode", a.pa.PostalCode)
		b.close("Entry")
	}
	if started {
		b.close("PhysicalAddresses")
	}
	b.entries("PhoneNumbers", [][2]string{{"BusinessPhone", nth(c.BusinessPhones, 0)}, {"BusinessPhone2", nth(c.BusinessPhones, 1)},
		{"HomePhone", nth(c.HomePhones, 0)}, {"HomePhone2", nth(c.HomePhones, 1)}, {"MobilePhone", c.MobilePhone}})
	b.text("AssistantName", c.AssistantName)
	b.text("Birthday", c.Birthday)
	b.text("BusinessHomePage", c.BusinessHomePage)
	b.text("Department", c.Department)
	b.text("JobTitle", c.JobTitle)
	b.text("Manager", c.Manager)
	b.text("Profession", c.Profession)
	b.text("SpouseName", c.SpouseName)
	b.close("Contact")
	return b.Bytes()
}
