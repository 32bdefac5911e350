package directory

import (
	"reflect"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		details int64
		homeMDB bool
		typ     RecipientType
		kind    userKind
	}{
		{1, true, UserMailbox, mailboxUser},
		{2, true, LinkedMailbox, mailboxUser},
		{4, true, SharedMailbox, mailboxUser},
		{4, false, SharedMailbox, mailboxUser}, // schema without homeMDB (Samba test bed)
		{8, true, UserMailbox, mailboxUser},    // LegacyMailbox
		{16, true, RoomMailbox, mailboxUser},
		{32, true, EquipmentMailbox, mailboxUser},
		{0, true, UserMailbox, mailboxUser}, // Exchange 2003 mailbox
		{0, false, 0, notRecipient},
		{64, false, 0, mailUser},
		{128, false, 0, mailUser},
		{256, false, 0, notRecipient},     // MailUniversalDistributionGroup on a user?
		{8192, true, 0, notRecipient},     // SystemAttendantMailbox
		{16384, true, 0, notRecipient},    // SystemMailbox
		{8388608, true, 0, notRecipient},  // ArbitrationMailbox
		{65536, false, 0, notRecipient},   // User
		{1 << 31, false, 0, notRecipient}, // RemoteUserMailbox
	}
	for _, tt := range tests {
		typ, kind := classify(tt.details, tt.homeMDB)
		if typ != tt.typ || kind != tt.kind {
			t.Errorf("classify(%d, %v) = %v, %v, want %v, %v", tt.details, tt.homeMDB, typ, kind, tt.typ, tt.kind)
		}
	}
}

func TestRecipientTypeText(t *testing.T) {
	for c := UserMailbox; c <= LinkedMailbox; c++ {
		b, _ := c.MarshalText()
		var back RecipientType
		if err := back.UnmarshalText(b); err != nil || back != c {
			t.Errorf("UnmarshalText(%q) = %v, %v, want %v", b, back, err, c)
		}
	}
	var r RecipientType
	if err := r.UnmarshalText([]byte("mailuser")); err == nil {
		t.Errorf("UnmarshalText(%q) = nil error, want error", "mailuser")
	}
}

func TestParseProxyAddress(t *testing.T) {
	tests := []struct {
		in   string
		want ProxyAddress
		ok   bool
	}{
		{"SMTP:alice@example.com", ProxyAddress{"SMTP", "alice@example.com", true}, true},
		{"smtp:a.anders@example.com", ProxyAddress{"SMTP", "a.anders@example.com", false}, true},
		{"Smtp:x@example.com", ProxyAddress{"SMTP", "x@example.com", false}, true},
		{"X500:/o=Example/ou=First Administrative Group/cn=Recipients/cn=alice", ProxyAddress{"X500", "/o=Example/ou=First Administrative Group/cn=Recipients/cn=alice", true}, true},
		{"x400:c=US;a= ;p=Example;o=Exchange;s=Anders;g=Alice;", ProxyAddress{"X400", "c=US;a= ;p=Example;o=Exchange;s=Anders;g=Alice;", false}, true},
		{"SIP:alice@example.com", ProxyAddress{"SIP", "alice@example.com", true}, true},
		{"EUM:1234;phone-context=dp.example.com", ProxyAddress{"EUM", "1234;phone-context=dp.example.com", true}, true},
		{"alice@example.com", ProxyAddress{}, false},
		{"SMTP:", ProxyAddress{}, false},
		{":x@y", ProxyAddress{}, false},
		{"SM TP:x@y", ProxyAddress{}, false},
		{"SMTP:   ", ProxyAddress{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseProxyAddress(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseProxyAddress(%q) = %+v, %v, want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestAddressesOf(t *testing.T) {
	tests := []struct {
		name         string
		proxies      []string
		mail, target string
		want         addresses
	}{
		{"primary from proxy", []string{"smtp:b@x", "SMTP:a@x", "X500:/o=X/cn=a", "SIP:a@x"}, "mail@x", "",
			addresses{"a@x", []string{"b@x"}, []string{"/o=X/cn=a"}}},
		{"mail when no SMTP:", []string{"smtp:b@x"}, "a@x", "", addresses{"a@x", []string{"b@x"}, nil}},
		{"alias equal to primary dropped", []string{"SMTP:A@x", "smtp:a@X", "smtp:b@x", "smtp:B@X"}, "", "",
			addresses{"A@x", []string{"b@x"}, nil}},
		{"second SMTP: becomes alias", []string{"SMTP:a@x", "SMTP:c@x"}, "", "", addresses{"a@x", []string{"c@x"}, nil}},
		{"target address", nil, "", "SMTP:ext@partner", addresses{"ext@partner", nil, nil}},
		{"bare target address", nil, "", "ext@partner", addresses{"ext@partner", nil, nil}},
		{"first smtp: when nothing else", []string{"smtp:b@x", "smtp:c@x"}, "", "", addresses{"b@x", []string{"c@x"}, nil}},
		{"none", []string{"X500:/o=X/cn=a"}, "", "", addresses{"", nil, []string{"/o=X/cn=a"}}},
	}
	for _, tt := range tests {
		got := addressesOf(tt.proxies, tt.mail, tt.target)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: addressesOf(%q, %q, %q) = %+v, want %+v", tt.name, tt.proxies, tt.mail, tt.target, got, tt.want)
		}
	}
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		in     string
		name   string
		lo, hi int
		ranged bool
	}{
		{"member", "member", 0, 0, false},
		{"member;range=0-1499", "member", 0, 1499, true},
		{"Member;Range=1500-*", "member", 1500, -1, true},
		{"member;range=1500-2999", "member", 1500, 2999, true},
		{"userCertificate;binary", "usercertificate", 0, 0, false},
		{"member;range=x-1", "member", 0, 0, false},
		{"member;range=1", "member", 0, 0, false},
		{"member;range=-1-5", "member", 0, 0, false},
	}
	for _, tt := range tests {
		name, lo, hi, ranged := parseRange(tt.in)
		if name != tt.name || lo != tt.lo || hi != tt.hi || ranged != tt.ranged {
			t.Errorf("parseRange(%q) = %q, %d, %d, %v, want %q, %d, %d, %v", tt.in, name, lo, hi, ranged, tt.name, tt.lo, tt.hi, tt.ranged)
		}
	}
}

func TestFormatGUID(t *testing.T) {
	// {6F9619FF-8B86-D011-B42D-00C04FC964FF} stored little-endian.
	raw := string([]byte{0xff, 0x19, 0x96, 0x6f, 0x86, 0x8b, 0x11, 0xd0, 0xb4, 0x2d, 0x00, 0xc0, 0x4f, 0xc9, 0x64, 0xff})
	if got, want := formatGUID(raw), "6f9619ff-8b86-d011-b42d-00c04fc964ff"; got != want {
		t.Errorf("formatGUID(%x) = %q, want %q", raw, got, want)
	}
	if got := formatGUID("short"); got != "" {
		t.Errorf("formatGUID(%q) = %q, want empty", "short", got)
	}
}

func TestAddressFilter(t *testing.T) {
	tests := []struct{ in, want string }{
		{"alice@example.com", "(|(mail=alice@example.com)(proxyAddresses=smtp:alice@example.com)(proxyAddresses=x500:alice@example.com)(legacyExchangeDN=alice@example.com))"},
		{"SMTP:alice@example.com", "(|(mail=alice@example.com)(proxyAddresses=smtp:alice@example.com)(proxyAddresses=x500:alice@example.com)(legacyExchangeDN=alice@example.com))"},
		{"*", `(|(mail=\2a)(proxyAddresses=smtp:\2a)(proxyAddresses=x500:\2a)(legacyExchangeDN=\2a))`},
		{`a*b(c)\d@x`, `(|(mail=a\2ab\28c\29\5cd@x)(proxyAddresses=smtp:a\2ab\28c\29\5cd@x)(proxyAddresses=x500:a\2ab\28c\29\5cd@x)(legacyExchangeDN=a\2ab\28c\29\5cd@x))`},
		{"x)(objectClass=*", `(|(mail=x\29\28objectClass=\2a)(proxyAddresses=smtp:x\29\28objectClass=\2a)(proxyAddresses=x500:x\29\28objectClass=\2a)(legacyExchangeDN=x\29\28objectClass=\2a))`},
		{"EX:/o=Org/cn=Recipients/cn=alice", "(|(mail=/o=Org/cn=Recipients/cn=alice)(proxyAddresses=smtp:/o=Org/cn=Recipients/cn=alice)(proxyAddresses=x500:/o=Org/cn=Recipients/cn=alice)(legacyExchangeDN=/o=Org/cn=Recipients/cn=alice))"},
		{"nul\x00", `(|(mail=nul\00)(proxyAddresses=smtp:nul\00)(proxyAddresses=x500:nul\00)(legacyExchangeDN=nul\00))`},
	}
	for _, tt := range tests {
		got := AddressFilter(tt.in)
		if got != tt.want {
			t.Errorf("AddressFilter(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.Count(got, "(") != strings.Count(got, ")") {
			t.Errorf("AddressFilter(%q) = %q: unbalanced parentheses", tt.in, got)
		}
	}
}
