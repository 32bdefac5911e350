package ewstest

import (
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// WriteLDIF writes the organisation's directory as ldifde exports it:
// users with mail, proxyAddresses (SMTP: primary, smtp: aliases, X500:),
// legacyExchangeDN, homeMDB and msExchRecipientTypeDetails (shared and
// room mailboxes on disabled accounts, userAccountControl 514), and the
// distribution group with member DNs [V ews.md §5.1, §5.2].
func (o *Org) WriteLDIF(w io.Writer) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	base := "DC=" + strings.ReplaceAll(o.Domain, ".", ",DC=")
	db := "CN=Mailbox Database 01,CN=Databases,CN=Exchange Administrative Group (FYDIBOHF23SPDLT),CN=Administrative Groups,CN=First Organization,CN=Microsoft Exchange,CN=Services,CN=Configuration," + base
	dn := func(u *User) string { return "CN=" + escapeDN(u.DisplayName) + ",CN=Users," + base }
	var b strings.Builder
	attr := func(k, v string) {
		if needsBase64(v) {
			fmt.Fprintf(&b, "%s:: %s\r\n", k, base64.StdEncoding.EncodeToString([]byte(v)))
			return
		}
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	for _, u := range o.Users {
		attr("dn", dn(u))
		b.WriteString("changetype: add\r\n")
		for _, oc := range []string{"top", "person", "organizationalPerson", "user"} {
			attr("objectClass", oc)
		}
		attr("cn", u.DisplayName)
		attr("displayName", u.DisplayName)
		attr("sAMAccountName", u.Name)
		attr("userPrincipalName", u.Name+"@"+o.Domain)
		attr("mail", u.SMTP)
		attr("mailNickname", u.Name)
		attr("proxyAddresses", "SMTP:"+u.SMTP)
		for _, a := range u.Aliases {
			attr("proxyAddresses", "smtp:"+a)
		}
		attr("proxyAddresses", "X500:"+u.LegacyDN+"-OLD")
		attr("legacyExchangeDN", u.LegacyDN)
		attr("homeMDB", db)
		attr("msExchRecipientTypeDetails", fmt.Sprint(int(u.Type)))
		uac := 512
		if u.Disabled {
			uac = 514
		}
		attr("userAccountControl", fmt.Sprint(uac))
		b.WriteString("\r\n")
	}
	for _, g := range o.Groups {
		attr("dn", "CN="+escapeDN(g.DisplayName)+",CN=Users,"+base)
		b.WriteString("changetype: add\r\n")
		attr("objectClass", "top")
		attr("objectClass", "group")
		attr("cn", g.DisplayName)
		attr("displayName", g.DisplayName)
		attr("sAMAccountName", g.Name)
		attr("mail", g.SMTP)
		attr("proxyAddresses", "SMTP:"+g.SMTP)
		attr("legacyExchangeDN", g.LegacyDN)
		attr("groupType", "8")
		attr("msExchRecipientTypeDetails", "256")
		for _, m := range g.Members {
			attr("member", dn(m))
		}
		b.WriteString("\r\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func escapeDN(s string) string {
	r := strings.NewReplacer(",", `\,`, "+", `\+`, `"`, `\"`, `\`, `\\`, "<", `\<`, ">", `\>`, ";", `\;`, "=", `\=`)
	return r.Replace(s)
}

// needsBase64 follows RFC 2849: non-ASCII, or a leading space, colon or '<'.
func needsBase64(v string) bool {
	if v == "" {
		return false
	}
	if v[0] == ' ' || v[0] == ':' || v[0] == '<' || strings.HasSuffix(v, " ") {
		return true
	}
	for i := 0; i < len(v); i++ {
		if v[i] >= 0x80 || v[i] == '\r' || v[i] == '\n' || v[i] == 0 {
			return true
		}
	}
	return !utf8.ValidString(v)
}
