package directory

import (
	"bytes"
	"fmt"
	"testing"
)

// synthOrg writes an ldifde-style export: mailboxes users, groups of 50
// mailboxes each, and every group nested in the one before it (a chain, the
// worst case for per-group expansion), plus a ring closing the chain.
func synthOrg(users, groups int) []byte {
	var b bytes.Buffer
	for i := 0; i < users; i++ {
		fmt.Fprintf(&b, "dn: CN=User %d,OU=Staff,DC=example,DC=com\r\nchangetype: add\r\nobjectClass: user\r\n"+
			"msExchRecipientTypeDetails: 1\r\nlegacyExchangeDN: /o=Example/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=user%d\r\n"+
			"proxyAddresses: SMTP:user%d@example.com\r\nproxyAddresses: smtp:u%d@example.com\r\n\r\n", i, i, i, i)
	}
	for g := 0; g < groups; g++ {
		fmt.Fprintf(&b, "dn: CN=Group %d,OU=Groups,DC=example,DC=com\r\nchangetype: add\r\nobjectClass: group\r\nmail: group%d@example.com\r\n", g, g)
		for k := 0; k < 50; k++ {
			fmt.Fprintf(&b, "member: CN=User %d,OU=Staff,DC=example,DC=com\r\n", (g*50+k)%users)
		}
		fmt.Fprintf(&b, "member: CN=Group %d,OU=Groups,DC=example,DC=com\r\n\r\n", (g+1)%groups)
	}
	return b.Bytes()
}

func BenchmarkReadLDIF(b *testing.B) {
	for _, size := range []struct{ users, groups int }{{1000, 100}, {20000, 400}} {
		in := synthOrg(size.users, size.groups)
		b.Run(fmt.Sprintf("users=%d,groups=%d", size.users, size.groups), func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				s, err := ReadLDIF(bytes.NewReader(in))
				if err != nil {
					b.Fatal(err)
				}
				if len(s.Groups[0].Members) != min(size.users, 50*size.groups) {
					b.Fatalf("group 0 has %d members, want %d", len(s.Groups[0].Members), min(size.users, 50*size.groups))
				}
			}
		})
	}
}
