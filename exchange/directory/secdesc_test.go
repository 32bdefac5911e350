package directory

import (
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

const (
	domSID  = "S-1-5-21-1004336348-1177238915-682003330"
	ownerS  = domSID + "-1105"
	aliceS  = domSID + "-1106"
	groupS  = domSID + "-1107"
	adminsS = "S-1-5-32-544"
)

func mustMarshal(t testing.TB, sd *SecurityDescriptor) []byte {
	t.Helper()
	b, err := sd.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A hand-built descriptor, laid out as LDP prints AD's own ([MS-DTYP]
// 2.4.6: revision 1, control 0x8004, DACL at offset 20; an object ACE
// with ObjectType present is 4+4+4+16+SID bytes).
func TestParseSecurityDescriptorBytes(t *testing.T) {
	sid, _ := EncodeSID(aliceS)
	guid, _ := parseGUID(ExtendedRightSendAs)
	ace := append([]byte{AceAccessAllowedObject, 0, byte(4 + 8 + 16 + len(sid)), 0, 0, 1, 0, 0, 1, 0, 0, 0}, guid...)
	ace = append(ace, sid...)
	acl := append([]byte{4, 0, byte(8 + len(ace)), 0, 1, 0, 0, 0}, ace...)
	b := append([]byte{1, 0, 0x04, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0}, acl...)
	sd, err := ParseSecurityDescriptor(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []ACE{{Type: AceAccessAllowedObject, Mask: RightControlAccess, ObjectType: ExtendedRightSendAs, SID: aliceS}}
	if !reflect.DeepEqual(sd.DACL, want) {
		t.Fatalf("DACL = %+v, want %+v", sd.DACL, want)
	}
	if got := mustMarshal(t, sd); string(got) != string(b) {
		t.Errorf("Marshal = %x\nwant      %x", got, b)
	}
	if g := sd.explicitGrantees(RightControlAccess, ExtendedRightSendAs); !reflect.DeepEqual(g, []string{aliceS}) {
		t.Errorf("Send As grantees = %v", g)
	}
}

func TestExplicitGrantees(t *testing.T) {
	sd := &SecurityDescriptor{Owner: ownerS, Group: adminsS, DACL: []ACE{
		{Type: AceAccessAllowed, Mask: 0x1 | 0x20000, SID: "S-1-5-10"},                                               // SELF: default
		{Type: AceAccessAllowed, Mask: 0x1, SID: aliceS},                                                             // explicit Full Access
		{Type: AceAccessAllowed, Mask: 0x1, SID: adminsS, Flags: AceInherited},                                       // from the database
		{Type: AceAccessAllowed, Mask: 0x20000, SID: groupS},                                                         // read permission only
		{Type: AceAccessAllowed, Mask: 0x1, SID: ownerS, Flags: AceInheritOnly},                                      // not on the object
		{Type: AceAccessDenied, Mask: 0x1, SID: groupS},                                                              // deny without allow
		{Type: AceAccessAllowed, Mask: 0x1, SID: aliceS},                                                             // duplicate
		{Type: AceAccessAllowedObject, Mask: 0x100, SID: groupS, ObjectType: "ab721a53-1e2f-11d0-9819-00aa0040529b"}, // change password
	}}
	b := mustMarshal(t, sd)
	back, err := ParseSecurityDescriptor(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.DACL, sd.DACL) {
		t.Fatalf("round trip:\n%+v\n%+v", back.DACL, sd.DACL)
	}
	if back.Owner != ownerS || back.Group != adminsS {
		t.Errorf("owner, group = %s, %s; want %s, %s", back.Owner, back.Group, ownerS, adminsS)
	}
	if g := back.explicitGrantees(MailboxRightFullAccess, ""); !reflect.DeepEqual(g, []string{aliceS}) {
		t.Errorf("Full Access grantees = %v, want [alice]", g)
	}
	if g := back.explicitGrantees(RightControlAccess, ExtendedRightSendAs); g != nil {
		t.Errorf("Send As grantees = %v, want none (change password is another right)", g)
	}
	denied := &SecurityDescriptor{DACL: []ACE{
		{Type: AceAccessDenied, Mask: 0x1, SID: aliceS},
		{Type: AceAccessAllowed, Mask: 0x1, SID: aliceS},
	}}
	if g := denied.explicitGrantees(MailboxRightFullAccess, ""); g != nil {
		t.Errorf("denied grantee kept: %v", g)
	}
}

func TestParseSecurityDescriptorErrors(t *testing.T) {
	good := mustMarshal(t, &SecurityDescriptor{DACL: []ACE{{Type: AceAccessAllowed, Mask: 1, SID: aliceS}}})
	cases := map[string][]byte{
		"short":        good[:10],
		"revision":     append([]byte{2}, good[1:]...),
		"absolute":     append(append([]byte{}, good[:2]...), append([]byte{0x04, 0x00}, good[4:]...)...),
		"dacl offset":  append(append([]byte{}, good[:16]...), append([]byte{0xff, 0, 0, 0}, good[20:]...)...),
		"truncated":    good[:len(good)-3],
		"ace overflow": append(append([]byte{}, good[:30]...), append([]byte{0xff, 0x00}, good[32:]...)...),
	}
	for name, b := range cases {
		if _, err := ParseSecurityDescriptor(b); !errors.Is(err, ErrSecurityDescriptor) {
			t.Errorf("%s: err = %v, want ErrSecurityDescriptor", name, err)
		}
	}
	if sd, err := ParseSecurityDescriptor(append(append([]byte{}, good[:2]...), 0x00, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)); err != nil || len(sd.DACL) != 0 {
		t.Errorf("no DACL: %v, %v", sd, err)
	}
}

func FuzzParseSecurityDescriptor(f *testing.F) {
	f.Add(mustMarshal(f, &SecurityDescriptor{DACL: []ACE{{Type: AceAccessAllowed, Mask: 1, SID: aliceS}}}))
	f.Add(mustMarshal(f, &SecurityDescriptor{DACL: []ACE{{Type: AceAccessAllowedObject, Mask: 0x100, SID: aliceS, ObjectType: ExtendedRightSendAs}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		sd, err := ParseSecurityDescriptor(b)
		if err != nil {
			if !errors.Is(err, ErrSecurityDescriptor) {
				t.Fatalf("error %v does not wrap ErrSecurityDescriptor", err)
			}
			return
		}
		// What decodes re-encodes and decodes to the same ACEs.
		out, err := sd.Marshal()
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", sd.DACL, err)
		}
		back, err := ParseSecurityDescriptor(out)
		if err != nil || !reflect.DeepEqual(back.DACL, sd.DACL) {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, back, sd.DACL)
		}
	})
}

// The grants reach the snapshot from an ldifde export: objectSid,
// nTSecurityDescriptor and msExchMailboxSecurityDescriptor are base64
// values there.
func TestLDIFGrants(t *testing.T) {
	b64 := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
	sid := func(s string) string { v, _ := EncodeSID(s); return b64(v) }
	ownerMbx := mustMarshal(t, &SecurityDescriptor{DACL: []ACE{
		{Type: AceAccessAllowed, Mask: 0x1 | 0x20000, SID: "S-1-5-10"},
		{Type: AceAccessAllowed, Mask: 0x1, SID: aliceS},
		{Type: AceAccessAllowed, Mask: 0x1, SID: groupS},
		{Type: AceAccessAllowed, Mask: 0x1, SID: domSID + "-9999"}, // not in the directory
	}})
	ownerNT := mustMarshal(t, &SecurityDescriptor{DACL: []ACE{
		{Type: AceAccessAllowedObject, Mask: 0x100, SID: "S-1-5-10", ObjectType: ExtendedRightSendAs},
		{Type: AceAccessAllowedObject, Mask: 0x100, SID: aliceS, ObjectType: ExtendedRightSendAs},
		{Type: AceAccessAllowedObject, Mask: 0x100, SID: groupS, ObjectType: ExtendedRightSendAs, Flags: AceInherited},
	}})
	user := func(cn, mail, s string, extra ...string) string {
		return fmt.Sprintf("dn: CN=%s,CN=Users,DC=ex,DC=test\nobjectClass: user\nmail: %s\nproxyAddresses: SMTP:%s\n"+
			"homeMDB: CN=DB,DC=ex,DC=test\nmsExchRecipientTypeDetails: 1\nobjectSid:: %s\n%s\n", cn, mail, mail, sid(s), strings.Join(extra, ""))
	}
	ldif := user("Owner", "owner@ex.test", ownerS,
		"nTSecurityDescriptor:: "+b64(ownerNT)+"\n", "msExchMailboxSecurityDescriptor:: "+b64(ownerMbx)+"\n") +
		user("Alice", "alice@ex.test", aliceS) +
		user("Broken", "broken@ex.test", domSID+"-1200", "msExchMailboxSecurityDescriptor:: "+b64([]byte{1, 0, 4})+"\n") +
		"dn: CN=Team,CN=Users,DC=ex,DC=test\nobjectClass: group\nmail: team@ex.test\nproxyAddresses: SMTP:team@ex.test\ngroupType: 8\nobjectSid:: " + sid(groupS) + "\n\n"
	s, err := ReadLDIF(strings.NewReader(ldif))
	if err != nil {
		t.Fatal(err)
	}
	m, ok := s.Mailbox("owner@ex.test")
	if !ok {
		t.Fatal("no owner")
	}
	if m.SID != ownerS {
		t.Errorf("SID = %q", m.SID)
	}
	if want := []string{"alice@ex.test", "team@ex.test"}; !reflect.DeepEqual(m.FullAccess, want) {
		t.Errorf("FullAccess = %v, want %v", m.FullAccess, want)
	}
	if want := []string{"alice@ex.test"}; !reflect.DeepEqual(m.SendAs, want) {
		t.Errorf("SendAs = %v, want %v (SELF and the inherited ACE left out)", m.SendAs, want)
	}
	if a, _ := s.Mailbox("alice@ex.test"); a.FullAccess != nil || a.SendAs != nil || a.GrantsUnread != nil {
		t.Errorf("alice has grants: %+v", a)
	}
	if b, _ := s.Mailbox("broken@ex.test"); len(b.GrantsUnread) != 1 || !strings.HasPrefix(b.GrantsUnread[0], "msexchmailboxsecuritydescriptor: ") {
		t.Errorf("broken GrantsUnread = %v", b.GrantsUnread)
	}
}
