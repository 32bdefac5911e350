package format

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/emersion/go-vcard"
)

func TestContactGolden(t *testing.T) {
	for _, name := range []string{"contact-msdocs", "contact-full"} {
		t.Run(name, func(t *testing.T) {
			c, rep, err := ContactToVCard(readTestdata(t, name+".xml"), testDir)
			if err != nil {
				t.Fatalf("ContactToVCard(%s) = %v", name, err)
			}
			var b bytes.Buffer
			if err := WriteVCard(&b, c); err != nil {
				t.Fatal(err)
			}
			golden(t, name+".vcf", b.Bytes())
			golden(t, name+".vcf.report", []byte(lossFields(rep)))
			checkVCardParses(t, b.Bytes())
		})
	}
}

// checkVCardParses decodes with go-vcard (an independent parser) and checks
// line lengths.
func checkVCardParses(t *testing.T, b []byte) vcard.Card {
	t.Helper()
	card, err := vcard.NewDecoder(bytes.NewReader(b)).Decode()
	if err != nil {
		t.Fatalf("vcard.Decode(output) = %v\n%s", err, b)
	}
	for _, l := range strings.Split(string(b), "\r\n") {
		if len(l) > 75 {
			t.Errorf("line longer than 75 octets: %q", l)
		}
	}
	if card.Value(vcard.FieldVersion) != "3.0" || card.Value(vcard.FieldFormattedName) == "" {
		t.Errorf("vcard.Decode(output): VERSION=%q FN=%q, want 3.0 and a name", card.Value(vcard.FieldVersion), card.Value(vcard.FieldFormattedName))
	}
	return card
}

func TestContactFields(t *testing.T) {
	c, rep, err := ContactToVCard(readTestdata(t, "contact-full.xml"), testDir)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	WriteVCard(&b, c)
	got := checkVCardParses(t, b.Bytes())
	tests := []struct{ field, want string }{
		{vcard.FieldFormattedName, "Dr. Hans Müller-Lüdenscheidt Jr."},
		{vcard.FieldName, "Müller-Lüdenscheidt;Hans;Peter;Dr.;Jr."},
		{vcard.FieldNickname, "Hansi"},
		{vcard.FieldBirthday, "1970-05-20"},
		{"X-ANNIVERSARY", "1995-06-01"},
		{vcard.FieldTitle, "Head of R&D"},
		{vcard.FieldRole, "Engineer"},
		{vcard.FieldURL, "http://acme.example/hans?a=1,b=2"},
		{"CLASS", "PRIVATE"},
		{vcard.FieldOrganization, "Acme, Söhne GmbH;R&D"},
	}
	for _, tt := range tests {
		if v := got.Value(tt.field); v != tt.want {
			t.Errorf("ContactToVCard: %s = %q, want %q", tt.field, v, tt.want)
		}
	}
	if n := len(got[vcard.FieldTelephone]); n != 19 {
		t.Errorf("ContactToVCard: %d TEL, want 19 (every EWS phone kind)", n)
	}
	if e := got.Values(vcard.FieldEmail); len(e) != 3 || e[1] != "hans.mueller@contoso.com" {
		t.Errorf("ContactToVCard: EMAIL = %q, want 3 with the EX address resolved", e)
	}
	if a := got[vcard.FieldAddress]; len(a) != 3 {
		t.Errorf("ContactToVCard: %d ADR, want 3", len(a))
	}
	if cats := got.Values(vcard.FieldCategories); len(cats) != 2 || cats[1] != "VIP, Gold" {
		t.Errorf("ContactToVCard: CATEGORIES = %q, want [Business, VIP, Gold]", cats)
	}
	if p := got.Get(vcard.FieldPhoto); p == nil || !strings.HasPrefix(p.Value, "/9j/") {
		t.Errorf("ContactToVCard: PHOTO missing")
	}
	if !strings.Contains(b.String(), `NOTE:Met at CeBIT\; likes "long" notes\,\nwith commas\; semicolons \\ back`) {
		t.Errorf("ContactToVCard: NOTE not escaped per RFC 2426:\n%s", b.String())
	}
	if im := got.Values(vcard.FieldIMPP); len(im) != 1 || im[0] != "sip:hans@acme.example" {
		t.Errorf("ContactToVCard: IMPP = %q", im)
	}
	if !rep.OK() {
		t.Errorf("ContactToVCard report = %v, want no losses", rep.Losses)
	}
}

func TestDistributionList(t *testing.T) {
	c, rep, err := DistributionListToVCard(readTestdata(t, "distributionlist.xml"), testDir)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	WriteVCard(&b, c)
	golden(t, "distributionlist.vcf", b.Bytes())
	got := checkVCardParses(t, b.Bytes())
	if got.Value(vcard.FieldKind) != "group" {
		t.Errorf("DistributionListToVCard: KIND = %q, want group", got.Value(vcard.FieldKind))
	}
	want := []string{"mailto:sadie@contoso.com", "mailto:hans.mueller@contoso.com"}
	if m := got.Values(vcard.FieldMember); strings.Join(m, " ") != strings.Join(want, " ") {
		t.Errorf("DistributionListToVCard: MEMBER = %q, want %q", m, want)
	}
	if len(rep.Losses) != 1 || !strings.Contains(rep.Losses[0].Reason, "Gone Person") {
		t.Errorf("DistributionListToVCard report = %v, want the unresolved member", rep.Losses)
	}
}

func TestVCardWrongItem(t *testing.T) {
	var ke *ItemKindError
	if _, _, err := ContactToVCard([]byte("<t:Task/>"), nil); !errors.As(err, &ke) {
		t.Errorf("ContactToVCard(<Task>) = %v, want *ItemKindError", err)
	}
	if _, _, err := ContactToVCard([]byte("<t:Contact>"), nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("ContactToVCard(truncated) = %v, want ErrMalformed", err)
	}
}

func FuzzContactToVCard(f *testing.F) {
	for _, n := range []string{"contact-msdocs.xml", "contact-full.xml", "distributionlist.xml"} {
		f.Add(readTestdata(f, n))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, conv := range []func([]byte, AddressResolver) (vcard.Card, Report, error){ContactToVCard, DistributionListToVCard} {
			c, _, err := conv(b, testDir)
			if err != nil {
				continue
			}
			var out bytes.Buffer
			if err := WriteVCard(&out, c); err != nil {
				t.Fatal(err)
			}
			if _, err := vcard.NewDecoder(&out).Decode(); err != nil {
				t.Fatalf("vcard.Decode(WriteVCard(…)) = %v", err)
			}
		}
	})
}

// TestDistributionListExpandDL: on Exchange 2007 the members come from
// ExpandDL, whose <m:DLExpansion> the client appends to the item
// [V MSDOCS expanddl-operation.md response shape].
func TestDistributionListExpandDL(t *testing.T) {
	x := []byte(`<t:DistributionList><t:ItemId Id="dl07"/><t:DisplayName>Friends</t:DisplayName>
	<m:DLExpansion TotalItemsInView="2" IncludesLastItemInRange="true">
	  <t:Mailbox><t:Name>Dan Park</t:Name><t:EmailAddress>dpark@exampledomain.com</t:EmailAddress><t:RoutingType>SMTP</t:RoutingType><t:MailboxType>Mailbox</t:MailboxType></t:Mailbox>
	  <t:Mailbox><t:Name>Hans</t:Name><t:EmailAddress>/O=FIRST ORGANIZATION/OU=EXCHANGE ADMINISTRATIVE GROUP (FYDIBOHF23SPDLT)/CN=RECIPIENTS/CN=HMUELLER</t:EmailAddress><t:RoutingType>EX</t:RoutingType></t:Mailbox>
	</m:DLExpansion></t:DistributionList>`)
	c, rep, err := DistributionListToVCard(x, testDir)
	if err != nil || !rep.OK() {
		t.Fatalf("DistributionListToVCard = %v, %v", err, rep.Losses)
	}
	want := "mailto:dpark@exampledomain.com mailto:hans.mueller@contoso.com"
	if got := strings.Join(c.Values(vcard.FieldMember), " "); got != want {
		t.Errorf("MEMBER = %q, want %q", got, want)
	}
}
