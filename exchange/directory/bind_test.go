package directory

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// refusingDC answers every bind with invalidCredentials (49) and AD's
// diagnostic message carrying subcode data, and counts the binds.
func refusingDC(t *testing.T, data string) (string, *atomic.Int32) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	binds := new(atomic.Int32)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				for {
					p, err := ber.ReadPacket(c)
					if err != nil || len(p.Children) < 2 || p.Children[1].Tag != 0 {
						return
					}
					binds.Add(1)
					r := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 1, nil, "BindResponse")
					r.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(ldap.LDAPResultInvalidCredentials), "resultCode"))
					r.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "matchedDN"))
					r.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString,
						"80090308: LdapErr: DSID-0C09042F, comment: AcceptSecurityContext error, data "+data+", v4563\x00", "diagnosticMessage"))
					c.Write(message(p.Children[0].Value.(int64), r).Bytes())
				}
			}()
		}
	}()
	return "ldap://" + l.Addr().String(), binds
}

// TestRefusedBindOnce: a bind with wrong credentials is sent once, never
// retried; the error keeps LDAP result 49 for errors.As and names the
// bind name's form and AD's reason, never the password.
func TestRefusedBindOnce(t *testing.T) {
	const password = "Wr0ng-Bind-Pa55"
	for _, c := range []struct{ dn, form, data, reason string }{
		{"CN=svc-iem,OU=Service,DC=example,DC=com", `bind as distinguished name "CN=svc-iem,OU=Service,DC=example,DC=com"`, "52e", "wrong password or user"},
		{"svc-iem@example.com", `bind as user principal name "svc-iem@example.com"`, "52e", "wrong password or user"},
		{`EXAMPLE\svc-iem`, `bind as down-level name "EXAMPLE\svc-iem"`, "775", "account locked out"},
	} {
		url, binds := refusingDC(t, c.data)
		_, err := Read(context.Background(), Options{URL: url, BindDN: c.dn, Password: password})
		if !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			t.Fatalf("Read(%s) = %v, want LDAP result 49", c.dn, err)
		}
		msg := err.Error()
		for _, want := range []string{c.form, "refused the credentials (LDAP result 49, invalidCredentials: " + c.reason + "); not retried"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%q lacks %q", msg, want)
			}
		}
		if strings.Contains(msg, password) || strings.Contains(msg, "Pa55") {
			t.Errorf("%q shows the password", msg)
		}
		if n := binds.Load(); n != 1 {
			t.Errorf("Read(%s) sent %d binds, want 1", c.dn, n)
		}
	}
}

func TestBindForm(t *testing.T) {
	for in, want := range map[string]string{
		"CN=a,DC=x":   `distinguished name "CN=a,DC=x"`,
		"a@x.com":     `user principal name "a@x.com"`,
		`X\a`:         `down-level name "X\a"`,
		"svc":         `name "svc" (neither a DN, a user principal name nor DOMAIN\user)`,
		"CN=\"q\",DC": `distinguished name "CN=\"q\",DC"`,
	} {
		if got := bindForm(in); got != want {
			t.Errorf("bindForm(%q) = %q, want %q", in, got, want)
		}
	}
}
