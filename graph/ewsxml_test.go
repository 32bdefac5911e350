package graph

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/iemproject/iem/format"
)

// TestContactVCard: a Graph contact's JSON fields reach the vCard through
// format.ContactToVCard.
func TestContactVCard(t *testing.T) {
	var c contact
	err := json.Unmarshal([]byte(`{"id":"AAMk-a_b=","displayName":"Dana Swope","givenName":"Dana","surname":"Swope",
		"companyName":"Contoso & Co","jobTitle":"Lead","birthday":"1980-05-04T00:00:00Z","categories":["VIP"],
		"emailAddresses":[{"name":"Dana","address":"danas@contoso.com"}],"businessPhones":["+1 555 0100"],"mobilePhone":"+1 555 0101",
		"businessAddress":{"street":"1 Main St","city":"Redmond","postalCode":"98052"},"personalNotes":"likes <tea>"}`), &c)
	if err != nil {
		t.Fatal(err)
	}
	card, _, err := format.ContactToVCard(c.ewsXML(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := format.WriteVCard(&b, card); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"FN:Dana Swope", "N:Swope;Dana", "ORG:Contoso & Co", "TITLE:Lead", "BDAY:1980-05-04",
		"CATEGORIES:VIP", "danas@contoso.com", "+1 555 0100", "+1 555 0101", "1 Main St", "NOTE:likes <tea>"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("vCard lacks %q:\n%s", want, b.String())
		}
	}
}
