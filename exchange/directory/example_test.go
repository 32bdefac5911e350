package directory_test

import (
	"fmt"
	"strings"

	"github.com/iemproject/iem/exchange/directory"
)

func ExampleReadLDIF() {
	// Two records as ldifde writes them (shortened).
	const export = `dn: CN=Support,OU=Shared,DC=example,DC=com
changetype: add
objectClass: user
userAccountControl: 514
msExchRecipientTypeDetails: 4
legacyExchangeDN: /o=Example/ou=Exchange Administrative Group (FYDIBOHF23SPDL
 T)/cn=Recipients/cn=support
proxyAddresses: SMTP:support@example.com
proxyAddresses: smtp:help@example.com

dn: CN=Helpdesk,OU=Groups,DC=example,DC=com
changetype: add
objectClass: group
mail: helpdesk@example.com
member: CN=Support,OU=Shared,DC=example,DC=com
`
	s, err := directory.ReadLDIF(strings.NewReader(export))
	if err != nil {
		fmt.Println(err)
		return
	}
	m := s.Mailboxes[0]
	fmt.Println(m.PrimarySMTP, m.Type, "disabled:", m.Disabled)

	// Rewrite an internal (EX) address, as EWS returns for attendees.
	smtp, ok := s.ResolveSMTP("EX:/O=EXAMPLE/OU=EXCHANGE ADMINISTRATIVE GROUP (FYDIBOHF23SPDLT)/CN=RECIPIENTS/CN=SUPPORT")
	fmt.Println(smtp, ok)

	// Select mailboxes the way --group and --mailbox do.
	sel, err := s.Lookup(directory.Selector{Groups: []string{"Helpdesk"}})
	fmt.Println(len(sel), err)
	_, err = s.Lookup(directory.Selector{Mailboxes: []string{"nobody@example.com"}})
	fmt.Println(err)
	// Output:
	// support@example.com shared disabled: true
	// support@example.com true
	// 1 <nil>
	// directory: no mailbox matches "nobody@example.com"
}
