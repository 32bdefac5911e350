package ewstest

import (
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/iemproject/iem/exchange/directory"
)

// WriteLDIF writes the organisation's directory as ldifde exports it:
// users with mail, proxyAddresses (SMTP: primary, smtp: aliases, X500:),
// legacyExchangeDN, homeMDB and msExchRecipientTypeDetails (shared and
// room mailboxes on disabled accounts, userAccountControl 514), and the
// distribution group with member DNs [V ews.md §5.1, §5.2]; objectSid,
// and the two descriptors the Full Access and Send As grants live in
// (descriptors below), base64 as ldifde writes every binary value
// (RFC 2849 "::"; an export that lists them with -l [inferred]).
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
	bin := func(k string, v []byte) {
		fmt.Fprintf(&b, "%s:: %s\r\n", k, base64.StdEncoding.EncodeToString(v))
	}
	sid := func(s string) []byte {
		v, err := directory.EncodeSID(s)
		if err != nil {
			panic(err) // the org's SIDs are generated well-formed
		}
		return v
	}
	bySMTP := map[string]string{}
	for _, u := range o.Users {
		bySMTP[strings.ToLower(u.SMTP)] = u.SID
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
		if u.SID != "" {
			bin("objectSid", sid(u.SID))
			mbx, nt := descriptors(u, bySMTP)
			bin("msExchMailboxSecurityDescriptor", mbx)
			bin("nTSecurityDescriptor", nt)
		}
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
		if g.SID != "" {
			bin("objectSid", sid(g.SID))
		}
		for _, m := range g.Members {
			attr("member", dn(m))
		}
		b.WriteString("\r\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// descriptors returns u's msExchMailboxSecurityDescriptor and
// nTSecurityDescriptor in self-relative form [MS-DTYP 2.4.6] with the
// entries a real mailbox carries besides its grants:
//   - the mailbox descriptor: Exchange's default "O:PSG:PSD:(A;CI;CCRC;;;PS)"
//     (SELF: Full Access and read permission, as the directory package's
//     MailboxRightFullAccess cites), then one (A;CI;CC;;;grantee) per
//     Full Access grant (Add-MailboxPermission's default inheritance
//     "All" as container-inherit [inferred]);
//   - the account descriptor: owner and group Domain Admins (RID 512),
//     Domain Admins' full control and SELF's Send As from the user class's
//     default descriptor (the latter is "(OA;;CR;ab721a54-...;;PS)"
//     [MS-DTYP 2.4.4.3 object ACE]), an Enterprise Admins (RID 519) ACE
//     inherited from the domain head, and one (OA;;CR;Send-As;;grantee)
//     per Send As grant.
//
// Grantees outside the org have no SID and are left out.
func descriptors(u *User, bySMTP map[string]string) (mbx, nt []byte) {
	dom := u.SID[:strings.LastIndexByte(u.SID, '-')]
	const full = 0xf01ff // every standard and DS right: what "GA" maps to
	m := &directory.SecurityDescriptor{Owner: "S-1-5-10", Group: "S-1-5-10", DACL: []directory.ACE{
		{Type: directory.AceAccessAllowed, Flags: 0x02, Mask: directory.MailboxRightFullAccess | 0x20000, SID: "S-1-5-10"}}}
	for _, a := range u.FullAccess {
		if s := bySMTP[strings.ToLower(a)]; s != "" {
			m.DACL = append(m.DACL, directory.ACE{Type: directory.AceAccessAllowed, Flags: 0x02, Mask: directory.MailboxRightFullAccess, SID: s})
		}
	}
	n := &directory.SecurityDescriptor{Owner: dom + "-512", Group: dom + "-512", DACL: []directory.ACE{
		{Type: directory.AceAccessAllowed, Mask: full, SID: dom + "-512"},
		{Type: directory.AceAccessAllowedObject, Mask: directory.RightControlAccess, ObjectType: directory.ExtendedRightSendAs, SID: "S-1-5-10"}}}
	for _, a := range u.SendAs {
		if s := bySMTP[strings.ToLower(a)]; s != "" {
			n.DACL = append(n.DACL, directory.ACE{Type: directory.AceAccessAllowedObject, Mask: directory.RightControlAccess, ObjectType: directory.ExtendedRightSendAs, SID: s})
		}
	}
	n.DACL = append(n.DACL, directory.ACE{Type: directory.AceAccessAllowed, Flags: directory.AceInherited | 0x02, Mask: full, SID: dom + "-519"})
	mbx, err := m.Marshal()
	if err == nil {
		nt, err = n.Marshal()
	}
	if err != nil {
		panic(err) // SIDs and the GUID above are well-formed
	}
	return mbx, nt
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
