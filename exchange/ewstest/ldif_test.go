package ewstest_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/iemproject/iem/exchange/directory"
	"github.com/iemproject/iem/exchange/ewstest"
)

// TestLDIFGrants reads the generated org's LDIF with the directory
// package: the second user's Full Access on the shared mailbox and Send
// As on the first user resolve to his address, and nothing else is
// granted (SELF, Domain Admins' full control and the inherited
// Enterprise Admins entry are not grants).
func TestLDIFGrants(t *testing.T) {
	org := ewstest.Generate(1, ewstest.OrgOptions{})
	var ldif bytes.Buffer
	if err := org.WriteLDIF(&ldif); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"objectSid:: ", "msExchMailboxSecurityDescriptor:: ", "nTSecurityDescriptor:: "} {
		if !strings.Contains(ldif.String(), "\r\n"+a) {
			t.Errorf("LDIF has no %q line", a)
		}
	}
	snap, err := directory.ReadLDIF(&ldif)
	if err != nil {
		t.Fatal(err)
	}
	bob := org.Users[1].SMTP
	for _, u := range org.Users {
		m, ok := snap.Mailbox(u.SMTP)
		if !ok {
			t.Fatalf("%s not in the snapshot", u.SMTP)
		}
		if m.SID != u.SID || m.GrantsUnread != nil {
			t.Errorf("%s: SID %q unread %v, want %q", u.SMTP, m.SID, m.GrantsUnread, u.SID)
		}
		var full, send []string
		switch u.SMTP {
		case "info@example.com":
			full = []string{bob}
		case org.Users[0].SMTP:
			send = []string{bob}
		}
		if !reflect.DeepEqual(m.FullAccess, full) || !reflect.DeepEqual(m.SendAs, send) {
			t.Errorf("%s: Full Access %v, Send As %v; want %v, %v", u.SMTP, m.FullAccess, m.SendAs, full, send)
		}
	}
}
