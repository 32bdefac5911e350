package directory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/iemproject/iem/internal/testbed"
)

// The Samba AD domain is provisioned once per test binary (about 10 s) and
// stopped by TestMain.
var (
	sambaOnce sync.Once
	sambaSrv  *testbed.Samba
	sambaErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if sambaSrv != nil {
		if err := sambaSrv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	os.Exit(code)
}

const bulkMembers = 1600 // more than AD's MaxValRange of 1,500

// sambaSchema extends Samba's AD schema with the two Exchange attributes the
// reader needs that Samba lacks. Samba already has proxyAddresses and
// legacyExchangeDN (testbed.md §1b). homeMDB is not added: its OID was not
// verified, and the reader classifies by msExchRecipientTypeDetails alone.
const sambaSchema = `
# OID and syntax as OpenChange added them to Samba [NET github openchange
# migration "AddRecipientAttributes"]; oMSyntax 65 = large integer.
dn: CN=ms-Exch-Recipient-Type-Details,CN=Schema,CN=Configuration,DC=example,DC=test
objectClass: top
objectClass: attributeSchema
cn: ms-Exch-Recipient-Type-Details
attributeID: 1.2.840.113556.1.4.7000.102.50855
attributeSyntax: 2.5.5.16
oMSyntax: 65
isSingleValued: TRUE
searchFlags: 1
lDAPDisplayName: msExchRecipientTypeDetails

# As in testbed.md §1b.
dn: CN=ms-Exch-Mail-Nickname,CN=Schema,CN=Configuration,DC=example,DC=test
objectClass: top
objectClass: attributeSchema
cn: ms-Exch-Mail-Nickname
attributeID: 1.2.840.113556.1.2.447
lDAPDisplayName: mailNickname
attributeSyntax: 2.5.5.12
oMSyntax: 64
isSingleValued: TRUE
searchFlags: 1
`

const sambaSchemaClass = `
dn: CN=Mail-Recipient,CN=Schema,CN=Configuration,DC=example,DC=test
changetype: modify
add: mayContain
mayContain: msExchRecipientTypeDetails
mayContain: mailNickname
-
`

// sambaCycle closes the nesting cycle Sales ⊃ EMEA Sales ⊃ Sales.
const sambaCycle = `
dn: CN=Sales,OU=Groups,DC=example,DC=test
changetype: modify
add: member
member: CN=EMEA Sales,OU=Groups,DC=example,DC=test
-
`

const legacyOrg = "/o=Example/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn="

func sambaData() string {
	const base = "DC=example,DC=test"
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	for _, ou := range []string{"Staff", "Resources", "Contacts", "Groups", "Bulk"} {
		w("dn: OU=%s,%s\nobjectClass: organizationalUnit\n\n", ou, base)
	}
	user := func(cn, ou, sam string, uac, details int, proxies ...string) {
		w("dn: CN=%s,OU=%s,%s\nobjectClass: user\nsAMAccountName: %s\nuserAccountControl: %d\n", cn, ou, base, sam, uac)
		w("displayName: %s\nlegacyExchangeDN: %s%s\nmailNickname: %s\n", cn, legacyOrg, sam, sam)
		if details > 0 {
			w("msExchRecipientTypeDetails: %d\n", details)
		}
		for _, p := range proxies {
			w("proxyAddresses: %s\n", p)
		}
		w("\n")
	}
	// 544 = NORMAL_ACCOUNT|PASSWD_NOTREQD (enabled); 514 = NORMAL_ACCOUNT|ACCOUNTDISABLE.
	user("Alice Anders", "Staff", "alice", 544, 1, "SMTP:alice@example.test", "smtp:a.anders@example.test",
		"X500:/o=Old Org/ou=First Administrative Group/cn=Recipients/cn=alice")
	user("Bob Brown", "Staff", "bob", 544, 1, "SMTP:bob@example.test")
	user("Support", "Resources", "support", 514, 4, "SMTP:support@example.test", "smtp:help@example.test")
	user("Room 1", "Resources", "room1", 514, 16, "SMTP:room1@example.test")
	user("Beamer", "Resources", "beamer", 514, 32, "SMTP:beamer@example.test")
	user("Linda Linked", "Staff", "linda", 514, 2, "SMTP:linda@example.test")
	user("Mia External", "Staff", "mia", 544, 128, "SMTP:mia@partner.test", "smtp:mia@example.test")
	user("Carl NoMail", "Staff", "carl", 544, 0)
	w("dn: CN=Paul Partner,OU=Contacts,%s\nobjectClass: contact\nmail: paul@partner.test\nproxyAddresses: SMTP:paul@partner.test\nlegacyExchangeDN: %spaul\n\n", base, legacyOrg)
	// Filter metacharacters in a real value: only an escaped filter finds it.
	w("dn: CN=Weird,OU=Contacts,%s\nobjectClass: contact\nmail: we*ird(x)\\y@partner.test\nproxyAddresses: SMTP:we*ird(x)\\y@partner.test\n\n", base)
	group := func(cn string, groupType int32, mail string, members ...string) {
		w("dn: CN=%s,OU=Groups,%s\nobjectClass: group\nsAMAccountName: %s\ngroupType: %d\n", cn, base, strings.ReplaceAll(cn, " ", ""), groupType)
		if mail != "" {
			w("mail: %s\nproxyAddresses: SMTP:%s\nlegacyExchangeDN: %s%s\n", mail, mail, legacyOrg, strings.ReplaceAll(cn, " ", ""))
		}
		for _, m := range members {
			w("member: %s,%s\n", m, base)
		}
		w("\n")
	}
	// Sales gets EMEA Sales as a member in sambaCycle: members must exist.
	group("Sales", 8, "sales@example.test", "CN=Alice Anders,OU=Staff", "CN=Paul Partner,OU=Contacts", "CN=Carl NoMail,OU=Staff")
	group("EMEA Sales", -2147483640, "emea@example.test", "CN=Bob Brown,OU=Staff", "CN=Room 1,OU=Resources", "CN=Sales,OU=Groups")
	group("All Staff", -2147483646, "", "CN=Sales,OU=Groups", "CN=Support,OU=Resources")
	for i := 0; i < bulkMembers; i++ {
		w("dn: CN=Bulk %04d,OU=Bulk,%s\nobjectClass: contact\nmail: bulk%04d@ext.test\nproxyAddresses: SMTP:bulk%04d@ext.test\n\n", i, base, i, i)
	}
	w("dn: CN=Big,OU=Groups,%s\nobjectClass: group\nsAMAccountName: Big\ngroupType: 8\nmail: big@example.test\nproxyAddresses: SMTP:big@example.test\n", base)
	w("member: CN=Alice Anders,OU=Staff,%s\n", base)
	for i := 0; i < bulkMembers; i++ {
		w("member: CN=Bulk %04d,OU=Bulk,%s\n", i, base)
	}
	return b.String()
}

// samba returns the shared test domain, starting it on first use.
func samba(t *testing.T) *testbed.Samba {
	t.Helper()
	for _, b := range []string{"samba", "samba-tool", "ldbadd", "ldbmodify"} {
		testbed.Need(t, b)
	}
	if os.Geteuid() != 0 {
		if testbed.InCI() {
			t.Fatal("samba needs root (CI=true)")
		}
		t.Skip("samba needs root for ports 389/636/88")
	}
	sambaOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		sambaSrv, sambaErr = testbed.StartSamba(ctx, testbed.SambaOptions{
			Setup: []string{sambaSchema, sambaSchemaClass, sambaData(), sambaCycle},
			Logf:  t.Logf,
		})
	})
	if sambaErr != nil {
		t.Fatalf("StartSamba: %v", sambaErr)
	}
	return sambaSrv
}

func sambaOptions(s *testbed.Samba) Options {
	return Options{URL: s.URL, BindDN: s.BindDN, Password: s.Password}
}

// countHandler counts log records by message.
type countHandler struct {
	mu sync.Mutex
	n  map[string]int
}

func (h *countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == nil {
		h.n = map[string]int{}
	}
	h.n[r.Message]++
	return nil
}
func (h *countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countHandler) WithGroup(string) slog.Handler      { return h }
func (h *countHandler) count(msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[msg]
}

func TestSambaRead(t *testing.T) {
	srv := samba(t)
	logs := &countHandler{}
	opt := sambaOptions(srv)
	opt.PageSize = 200 // 1,600 contacts: at least 9 pages
	opt.Logger = slog.New(logs)
	s, err := Read(context.Background(), opt) // BaseDN from the RootDSE
	if err != nil {
		t.Fatalf("Read(%s) = %v", srv.URL, err)
	}
	if pages := logs.count("directory page read"); pages < bulkMembers/200 {
		t.Errorf("Read used %d pages of 200, want at least %d", pages, bulkMembers/200)
	}
	type mb struct {
		Type     RecipientType
		Disabled bool
	}
	got := map[string]mb{}
	for _, m := range s.Mailboxes {
		got[m.PrimarySMTP] = mb{m.Type, m.Disabled}
		if m.GUID == "" || m.DN == "" {
			t.Errorf("mailbox %s: GUID %q, DN %q, want both", m.PrimarySMTP, m.GUID, m.DN)
		}
	}
	want := map[string]mb{
		"alice@example.test":   {UserMailbox, false},
		"bob@example.test":     {UserMailbox, false},
		"support@example.test": {SharedMailbox, true}, // disabled account kept
		"room1@example.test":   {RoomMailbox, true},
		"beamer@example.test":  {EquipmentMailbox, true},
		"linda@example.test":   {LinkedMailbox, true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Read mailboxes = %v, want %v", got, want)
	}
	if n, want := len(s.Contacts), bulkMembers+3; n != want { // Paul, Weird, Mia (mail user)
		t.Errorf("Read contacts = %d, want %d", n, want)
	}
	alice, ok := s.Mailbox("alice")
	if !ok || !reflect.DeepEqual(alice.Aliases, []string{"a.anders@example.test"}) || alice.MailNickname != "alice" {
		t.Errorf("Mailbox(alice) = %+v, %v", alice, ok)
	}
	for in, want := range map[string]string{
		"EX:" + legacyOrg + "alice":                                            "alice@example.test",
		strings.ToUpper(legacyOrg + "support"):                                 "support@example.test",
		"X500:/o=Old Org/ou=First Administrative Group/cn=Recipients/cn=alice": "alice@example.test",
		"help@example.test":                                                    "support@example.test",
		legacyOrg + "paul":                                                     "paul@partner.test",
		legacyOrg + "EMEASales":                                                "emea@example.test",
		"mia@example.test":                                                     "mia@partner.test",
	} {
		if got, ok := s.ResolveSMTP(in); got != want || !ok {
			t.Errorf("ResolveSMTP(%q) = %q, %v, want %q, true", in, got, ok, want)
		}
	}
	members := func(name string) []string {
		g, ok := s.Group(name)
		if !ok {
			t.Fatalf("Group(%q) not found", name)
		}
		return g.Members
	}
	if got, want := members("Sales"), []string{"alice@example.test", "bob@example.test", "paul@partner.test", "room1@example.test"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Sales members = %v, want %v", got, want)
	}
	if got, want := members("AllStaff"), []string{"alice@example.test", "bob@example.test", "paul@partner.test", "room1@example.test", "support@example.test"}; !reflect.DeepEqual(got, want) {
		t.Errorf("All Staff members = %v, want %v", got, want)
	}
	if g, _ := s.Group("EMEA Sales"); g == nil || !g.Security {
		t.Errorf("Group(EMEA Sales) = %+v, want a security group", g)
	}
	if got := members("big@example.test"); len(got) != bulkMembers+1 {
		t.Errorf("Big members = %d, want %d", len(got), bulkMembers+1)
	}
	sel, err := s.Lookup(Selector{Groups: []string{"All Staff"}, Mailboxes: []string{"l*"}})
	if err != nil || len(sel) != 5 {
		t.Errorf("Lookup(group All Staff, l*) = %d mailboxes, %v, want 5", len(sel), err)
	}
}

// TestSambaRangeRetrieval makes the reader ask for member in ranges, as AD
// forces it to above MaxValRange; Samba ranges only when asked (testbed.md
// §1b). Every step must give the same members as one plain read.
func TestSambaRangeRetrieval(t *testing.T) {
	srv := samba(t)
	plain, err := Read(context.Background(), sambaOptions(srv))
	if err != nil {
		t.Fatalf("Read = %v", err)
	}
	bigDNs := func(s *Snapshot) []string {
		g, ok := s.Group("Big")
		if !ok {
			t.Fatal("Group(Big) not found")
		}
		dns := append([]string(nil), g.MemberDNs...)
		sort.Strings(dns)
		return dns
	}
	want := bigDNs(plain)
	if len(want) != bulkMembers+1 {
		t.Fatalf("plain read: Big has %d member DNs, want %d", len(want), bulkMembers+1)
	}
	for _, step := range []int{1500, 1000, 2, 7} {
		t.Run(fmt.Sprint(step), func(t *testing.T) {
			logs := &countHandler{}
			opt := sambaOptions(srv)
			opt.rangeStep = step
			opt.Logger = slog.New(logs)
			s, err := Read(context.Background(), opt)
			if err != nil {
				t.Fatalf("Read(rangeStep %d) = %v", step, err)
			}
			if got := bigDNs(s); !reflect.DeepEqual(got, want) {
				t.Errorf("Read(rangeStep %d): Big has %d member DNs, want the %d of a plain read", step, len(got), len(want))
			}
			if rounds, min := logs.count("directory range read"), bulkMembers/step; rounds < min {
				t.Errorf("Read(rangeStep %d) made %d range requests, want at least %d", step, rounds, min)
			}
			for _, g := range plain.Groups {
				r, _ := s.Group(g.DN)
				if r == nil || !reflect.DeepEqual(r.Members, g.Members) {
					t.Errorf("Read(rangeStep %d): group %s members differ from a plain read", step, g.Name)
				}
			}
		})
	}
}

func TestSambaTLS(t *testing.T) {
	srv := samba(t)
	pem, err := os.ReadFile(srv.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	trusted := &tls.Config{RootCAs: roots}
	tests := []struct {
		name     string
		url      string
		starttls bool
		cfg      *tls.Config
		wantErr  bool
	}{
		{"ldaps", srv.LDAPSURL, false, trusted, false},
		{"ldaps upper-case scheme", strings.Replace(srv.LDAPSURL, "ldaps", "LDAPS", 1), false, trusted, false},
		{"starttls", srv.URL, true, trusted, false},
		{"ldaps untrusted", srv.LDAPSURL, false, nil, true},
		{"starttls untrusted", srv.URL, true, nil, true},
		{"ldaps wrong name", srv.LDAPSURL, false, &tls.Config{RootCAs: roots, ServerName: "other.example.test"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := sambaOptions(srv)
			opt.URL, opt.StartTLS, opt.TLSConfig = tt.url, tt.starttls, tt.cfg
			opt.BaseDN = "OU=Staff," + srv.BaseDN
			s, err := Read(context.Background(), opt)
			if tt.wantErr {
				var verr *tls.CertificateVerificationError
				var herr x509.HostnameError
				if !errors.As(err, &verr) && !errors.As(err, &herr) {
					t.Errorf("Read(%s, starttls=%v) = %v, want a certificate error", tt.url, tt.starttls, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Read(%s, starttls=%v) = %v", tt.url, tt.starttls, err)
			}
			if len(s.Mailboxes) != 3 { // alice, bob, linda under OU=Staff
				t.Errorf("Read(%s, base OU=Staff) = %d mailboxes, want 3", tt.url, len(s.Mailboxes))
			}
		})
	}
}

func TestSambaFindEscapes(t *testing.T) {
	srv := samba(t)
	tests := []struct {
		addrs []string
		want  []string // primary SMTP of mailboxes and contacts found
	}{
		{[]string{`we*ird(x)\y@partner.test`}, []string{`we*ird(x)\y@partner.test`}},
		{[]string{"*@partner.test"}, nil},   // a wildcard only if unescaped
		{[]string{"*"}, nil},                // likewise
		{[]string{"x)(objectClass=*"}, nil}, // no filter injection
		{[]string{"HELP@example.test"}, []string{"support@example.test"}},
		{[]string{"EX:" + legacyOrg + "alice", "X500:/o=Old Org/ou=First Administrative Group/cn=Recipients/cn=alice"}, []string{"alice@example.test"}},
		{[]string{"bob@example.test", "paul@partner.test"}, []string{"bob@example.test", "paul@partner.test"}},
	}
	for _, tt := range tests {
		s, err := Find(context.Background(), sambaOptions(srv), tt.addrs...)
		if err != nil {
			t.Errorf("Find(%q) = %v", tt.addrs, err)
			continue
		}
		var got []string
		for _, m := range s.Mailboxes {
			got = append(got, m.PrimarySMTP)
		}
		for _, c := range s.Contacts {
			got = append(got, c.PrimarySMTP)
		}
		sort.Strings(got)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Find(%q) = %q, want %q", tt.addrs, got, tt.want)
		}
	}
}

func TestSambaBadBind(t *testing.T) {
	srv := samba(t)
	opt := sambaOptions(srv)
	opt.Password = "Wrong-Pa55word"
	_, err := Read(context.Background(), opt)
	var le *ldap.Error
	if !errors.As(err, &le) || le.ResultCode != ldap.LDAPResultInvalidCredentials {
		t.Fatalf("Read(wrong password) = %v, want ldap.Error code %d", err, ldap.LDAPResultInvalidCredentials)
	}
	if strings.Contains(err.Error(), opt.Password) {
		t.Errorf("Read(wrong password) = %q, leaks the password", err)
	}
}

func TestSambaCancel(t *testing.T) {
	srv := samba(t)
	ctx, cancel := context.WithCancel(context.Background())
	var once atomic.Bool
	opt := sambaOptions(srv)
	opt.PageSize = 50
	opt.Logger = slog.New(cancelHandler{func() {
		if once.CompareAndSwap(false, true) {
			cancel() // after the first page
		}
	}})
	_, err := Read(ctx, opt)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Read(cancelled after a page) = %v, want context.Canceled", err)
	}
}

type cancelHandler struct{ f func() }

func (h cancelHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h cancelHandler) Handle(context.Context, slog.Record) error {
	h.f()
	return nil
}
func (h cancelHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h cancelHandler) WithGroup(string) slog.Handler      { return h }

// TestSambaLDIFMatchesLDAP exports the domain with OpenLDAP's ldapsearch, a
// third-party LDIF writer (folded at 76 columns, base64 for binary values),
// and checks that ReadLDIF of the export equals Read over LDAP.
func TestSambaLDIFMatchesLDAP(t *testing.T) {
	srv := samba(t)
	bin := testbed.Need(t, "ldapsearch")
	live, err := Read(context.Background(), sambaOptions(srv))
	if err != nil {
		t.Fatalf("Read = %v", err)
	}
	args := append([]string{"-x", "-LLL", "-o", "ldif-wrap=76", "-E", "pr=500/noprompt",
		"-H", srv.URL, "-D", srv.BindDN, "-y", pwFile(t, srv.Password), "-b", srv.BaseDN, recipientFilter}, attrs...)
	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		t.Fatalf("ldapsearch: %v", err)
	}
	offline, err := ReadLDIF(strings.NewReader(string(out)))
	if err != nil {
		t.Fatalf("ReadLDIF(ldapsearch output) = %v", err)
	}
	if !reflect.DeepEqual(live.Mailboxes, offline.Mailboxes) {
		t.Errorf("ReadLDIF mailboxes differ from Read:\n%+v\n%+v", offline.Mailboxes, live.Mailboxes)
	}
	if !reflect.DeepEqual(live.Groups, offline.Groups) {
		t.Errorf("ReadLDIF groups differ from Read (%d vs %d)", len(offline.Groups), len(live.Groups))
	}
	if !reflect.DeepEqual(live.Contacts, offline.Contacts) {
		t.Errorf("ReadLDIF contacts differ from Read (%d vs %d)", len(offline.Contacts), len(live.Contacts))
	}
}

func pwFile(t *testing.T, pw string) string {
	f := t.TempDir() + "/pw"
	if err := os.WriteFile(f, []byte(pw), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestSambaSendAs writes a real Send-As grant into Samba AD: Bob's SID in
// an object ACE for the Send-As extended right, added over LDAP to
// Alice's nTSecurityDescriptor DACL (modify under the SD_FLAGS control
// with DACL_SECURITY_INFORMATION, so owner, group and SACL stay as they
// are). Samba's own reading (samba-tool dsacl get, SDDL) is the oracle
// that the ACE is there; Read must then resolve it to bob@example.test.
// Full Access is not tested here: msExchMailboxSecurityDescriptor is an
// Exchange schema attribute Samba lacks, and its OID was not verified to
// add it (as homeMDB above); the LDIF tests cover it.
func TestSambaSendAs(t *testing.T) {
	srv := samba(t)
	ctx := context.Background()
	before, err := Read(ctx, sambaOptions(srv))
	if err != nil {
		t.Fatal(err)
	}
	alice, _ := before.Mailbox("alice@example.test")
	bob, _ := before.Mailbox("bob@example.test")
	if alice == nil || bob == nil || bob.SID == "" || !strings.HasPrefix(bob.SID, "S-1-5-21-") {
		t.Fatalf("alice %+v, bob %+v: want both, bob with a domain SID", alice, bob)
	}
	if alice.SendAs != nil || alice.GrantsUnread != nil {
		t.Fatalf("default descriptor: alice Send As %v, unread %v; want none (SELF's default Send-As is no grant)", alice.SendAs, alice.GrantsUnread)
	}

	conn, err := ldap.DialURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() }) // after the restore below (cleanups run last-in first-out)
	if err := conn.Bind(srv.BindDN, srv.Password); err != nil {
		t.Fatal(err)
	}
	// SD_FLAGS 4 = DACL_SECURITY_INFORMATION [MS-ADTS 3.1.1.3.4.1.11 (the
	// LDAP_SERVER_SD_FLAGS_OID control), inferred section number].
	daclOnly := ldap.NewControlString("1.2.840.113556.1.4.801", true, "\x30\x03\x02\x01\x04")
	res, err := conn.Search(ldap.NewSearchRequest(alice.DN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"nTSecurityDescriptor"}, []ldap.Control{daclOnly}))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("read alice's descriptor: %v", err)
	}
	orig := res.Entries[0].GetRawAttributeValue("nTSecurityDescriptor")
	one, err := (&SecurityDescriptor{DACL: []ACE{{Type: AceAccessAllowedObject, Mask: RightControlAccess,
		ObjectType: ExtendedRightSendAs, SID: bob.SID}}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	sd, err := appendACE(orig, one[20+8:]) // the one ACE after header and ACL header
	if err != nil {
		t.Fatal(err)
	}
	write := func(v []byte) error {
		m := ldap.NewModifyRequest(alice.DN, []ldap.Control{daclOnly})
		m.Replace("nTSecurityDescriptor", []string{string(v)})
		return conn.Modify(m)
	}
	if err := write(sd); err != nil {
		t.Fatalf("modify nTSecurityDescriptor: %v", err)
	}
	t.Cleanup(func() {
		if err := write(orig); err != nil {
			t.Errorf("restore alice's descriptor: %v", err)
		}
	})

	// Oracle: Samba's SDDL of the stored descriptor, read from sam.ldb
	// (Samba's own database, beside the running server) by samba-tool.
	tool := testbed.Need(t, "samba-tool")
	out, err := exec.Command(tool, "dsacl", "get", "--objectdn="+alice.DN, "--configfile="+srv.Conf,
		"-H", filepath.Join(srv.Dir, "dc", "private", "sam.ldb")).CombinedOutput()
	if ace := "(OA;;CR;" + ExtendedRightSendAs + ";;" + bob.SID + ")"; err != nil || !strings.Contains(string(out), ace) {
		t.Fatalf("samba-tool dsacl get: %v; want %s in\n%s", err, ace, out)
	}

	after, err := Read(ctx, sambaOptions(srv))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := after.Mailbox("alice@example.test")
	if !reflect.DeepEqual(a.SendAs, []string{"bob@example.test"}) || a.GrantsUnread != nil {
		t.Errorf("alice Send As %v (unread %v), want [bob@example.test]", a.SendAs, a.GrantsUnread)
	}
	if b, _ := after.Mailbox("bob@example.test"); b.SendAs != nil {
		t.Errorf("bob Send As %v, want none", b.SendAs)
	}
}

// appendACE adds one encoded ACE at the end of a self-relative
// descriptor's DACL [MS-DTYP 2.4.5 ACL: AclSize and AceCount], moving the
// parts stored after it and their header offsets.
func appendACE(sd, ace []byte) ([]byte, error) {
	if len(sd) < 20 {
		return nil, ErrSecurityDescriptor
	}
	off := int(binary.LittleEndian.Uint32(sd[16:]))
	if off == 0 || off+8 > len(sd) {
		return nil, fmt.Errorf("%w: no DACL", ErrSecurityDescriptor)
	}
	size := int(binary.LittleEndian.Uint16(sd[off+2:]))
	end := off + size
	if end > len(sd) {
		return nil, ErrSecurityDescriptor
	}
	out := append(append(append([]byte{}, sd[:end]...), ace...), sd[end:]...)
	binary.LittleEndian.PutUint16(out[off+2:], uint16(size+len(ace)))
	binary.LittleEndian.PutUint16(out[off+4:], binary.LittleEndian.Uint16(sd[off+4:])+1)
	for i := 4; i < 20; i += 4 { // owner, group, SACL, DACL offsets
		if o := int(binary.LittleEndian.Uint32(out[i:])); o >= end {
			binary.LittleEndian.PutUint32(out[i:], uint32(o+len(ace)))
		}
	}
	return out, nil
}
