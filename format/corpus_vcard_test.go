package format

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/emersion/go-vcard"
)

var vcardNorm = strings.NewReplacer(`\;`, ";", `\:`, ":")

// vTypes returns a field's types, including vCard 2.1 bare parameters
// ("TEL;HOME:…").
func vTypes(f *vcard.Field) map[string]bool {
	out := map[string]bool{}
	for k, vs := range f.Params {
		if strings.EqualFold(k, "TYPE") {
			for _, v := range vs {
				for _, t := range strings.Split(v, ",") {
					out[strings.ToUpper(t)] = true
				}
			}
		} else if len(vs) == 0 || (len(vs) == 1 && vs[0] == "") {
			out[strings.ToUpper(k)] = true
		}
	}
	return out
}

// phoneKey picks the EWS PhoneNumbers key a client would store a TEL in.
func phoneKey(ty map[string]bool, used map[string]bool) string {
	var cands []string
	switch {
	case ty["FAX"] && ty["HOME"]:
		cands = []string{"HomeFax"}
	case ty["FAX"]:
		cands = []string{"BusinessFax", "OtherFax"}
	case ty["CELL"]:
		cands = []string{"MobilePhone"}
	case ty["PAGER"]:
		cands = []string{"Pager"}
	case ty["CAR"]:
		cands = []string{"CarPhone"}
	case ty["ISDN"]:
		cands = []string{"Isdn"}
	case ty["HOME"]:
		cands = []string{"HomePhone", "HomePhone2"}
	case ty["WORK"]:
		cands = []string{"BusinessPhone", "BusinessPhone2"}
	}
	cands = append(cands, "OtherTelephone", "PrimaryPhone", "CompanyMainPhone", "AssistantPhone", "Callback", "RadioPhone")
	for _, c := range cands {
		if !used[c] {
			used[c] = true
			return c
		}
	}
	return ""
}

// contactXMLFor builds the EWS Contact an Outlook user would have for card;
// reason is non-empty when EWS cannot hold everything (fixed slots).
func contactXMLFor(card vcard.Card, id string) (xmlb []byte, reason string) {
	var b strings.Builder
	b.WriteString(`<t:Contact><t:ItemId Id="` + xmlText(id) + `" ChangeKey="x"/>`)
	el := func(tag, v string) {
		if v != "" {
			b.WriteString("<t:" + tag + ">" + xmlText(v) + "</t:" + tag + ">")
		}
	}
	el("DisplayName", vcardNorm.Replace(card.Value(vcard.FieldFormattedName)))
	if n := card.Name(); n != nil {
		b.WriteString("<t:CompleteName>")
		el("Title", vcardNorm.Replace(n.HonorificPrefix))
		el("FirstName", vcardNorm.Replace(n.GivenName))
		el("MiddleName", vcardNorm.Replace(n.AdditionalName))
		el("LastName", vcardNorm.Replace(n.FamilyName))
		el("Suffix", vcardNorm.Replace(n.HonorificSuffix))
		b.WriteString("</t:CompleteName>")
	}
	el("Nickname", vcardNorm.Replace(card.Value(vcard.FieldNickname)))
	emails := card.Values(vcard.FieldEmail)
	if len(emails) > 3 {
		reason, emails = "more than 3 e-mail addresses (EWS has 3 slots)", emails[:3]
	}
	if len(emails) > 0 {
		b.WriteString("<t:EmailAddresses>")
		for i, e := range emails {
			b.WriteString(`<t:Entry Key="EmailAddress` + string(rune('1'+i)) + `">` + xmlText(e) + "</t:Entry>")
		}
		b.WriteString("</t:EmailAddresses>")
	}
	used := map[string]bool{}
	if tels := card[vcard.FieldTelephone]; len(tels) > 0 {
		b.WriteString("<t:PhoneNumbers>")
		for _, f := range tels {
			k := phoneKey(vTypes(f), used)
			if k == "" {
				reason = "more phones than EWS phone slots"
				continue
			}
			b.WriteString(`<t:Entry Key="` + k + `">` + xmlText(f.Value) + "</t:Entry>")
		}
		b.WriteString("</t:PhoneNumbers>")
	}
	if org := card.Value(vcard.FieldOrganization); org != "" {
		parts := strings.SplitN(org, ";", 2)
		el("CompanyName", vcardNorm.Replace(parts[0]))
		if len(parts) > 1 {
			el("Department", vcardNorm.Replace(parts[1]))
		}
	}
	el("JobTitle", vcardNorm.Replace(card.Value(vcard.FieldTitle)))
	if note := card.Value(vcard.FieldNote); note != "" {
		b.WriteString(`<t:Body BodyType="Text">` + xmlText(vcardNorm.Replace(note)) + "</t:Body>")
	}
	b.WriteString("</t:Contact>")
	return []byte(b.String()), reason
}

func TestCorpusVCard(t *testing.T) {
	root := corporaRoot(t)
	tl := newTally("evolution-data-server vcards")
	for _, p := range corpusFiles(t, root, "usr/libexec/evolution-data-server/installed-tests/vcards", ".vcf") {
		raw, _ := os.ReadFile(p)
		dec := vcard.NewDecoder(bytes.NewReader(raw))
		for {
			card, err := dec.Decode()
			if err == io.EOF {
				break
			}
			if err != nil {
				tl.differ("original not parseable by go-vcard")
				break
			}
			x, reason := contactXMLFor(card, fmt.Sprintf("%s#%d", p, tl.total))
			out, _, err := ContactToVCard(x, nil)
			if err != nil {
				t.Errorf("ContactToVCard(%s) = %v", p, err)
				tl.differ("conversion failed")
				continue
			}
			var buf bytes.Buffer
			WriteVCard(&buf, out)
			tl.keep(fmt.Sprintf("%s#%d.vcf", p, tl.total), buf.Bytes())
			got, err := vcard.NewDecoder(&buf).Decode()
			if err != nil {
				t.Errorf("vcard.Decode(ContactToVCard(%s)) = %v", p, err)
				tl.differ("output not parseable")
				continue
			}
			if d := compareCards(card, got); d != "" {
				t.Errorf("ContactToVCard(%s): %s differs", p, d)
				tl.differ(d + " differs")
				continue
			}
			if reason != "" {
				tl.differ(reason)
				continue
			}
			tl.ok()
		}
	}
	t.Log(tl)
	tl.checkVobject(t)
	if tl.total < 40 {
		t.Errorf("only %d vCards read, want the 40 of the corpus", tl.total)
	}
}

func compareCards(want, got vcard.Card) string {
	fn := vcardNorm.Replace(want.Value(vcard.FieldFormattedName))
	if fn == "" {
		if n := want.Name(); n != nil {
			fn = strings.TrimSpace(n.GivenName + " " + n.FamilyName)
		}
		if fn == "" && len(want.Values(vcard.FieldEmail)) > 0 {
			fn = want.Values(vcard.FieldEmail)[0]
		}
	}
	if g := got.Value(vcard.FieldFormattedName); g != fn {
		return "FN"
	}
	if n := want.Name(); n != nil {
		g := got.Name()
		if g == nil || vcardNorm.Replace(n.FamilyName) != g.FamilyName || vcardNorm.Replace(n.GivenName) != g.GivenName ||
			vcardNorm.Replace(n.AdditionalName) != g.AdditionalName {
			return "N"
		}
	}
	we, ge := want.Values(vcard.FieldEmail), got.Values(vcard.FieldEmail)
	if len(we) > 3 {
		we = we[:3]
	}
	if strings.Join(we, ",") != strings.Join(ge, ",") {
		return "EMAIL"
	}
	wt, gt := want.Values(vcard.FieldTelephone), got.Values(vcard.FieldTelephone)
	sort.Strings(wt)
	sort.Strings(gt)
	if strings.Join(wt, ",") != strings.Join(gt, ",") && len(wt) <= 19 {
		return "TEL"
	}
	for _, k := range []string{vcard.FieldTitle, vcard.FieldNote, vcard.FieldNickname} {
		if vcardNorm.Replace(want.Value(k)) != vcardNorm.Replace(got.Value(k)) {
			return k
		}
	}
	return ""
}
