package directory

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// A RecipientType classifies a mailbox, from msExchRecipientTypeDetails.
type RecipientType int

// Mailbox kinds. Values of msExchRecipientTypeDetails [V ews.md §5.1]:
// 1 UserMailbox, 2 LinkedMailbox, 4 SharedMailbox, 8 LegacyMailbox (read as
// a user mailbox), 16 RoomMailbox, 32 EquipmentMailbox.
const (
	UserMailbox RecipientType = iota + 1
	SharedMailbox
	RoomMailbox
	EquipmentMailbox
	LinkedMailbox
)

// String returns "user", "shared", "room", "equipment" or "linked".
func (t RecipientType) String() string {
	switch t {
	case UserMailbox:
		return "user"
	case SharedMailbox:
		return "shared"
	case RoomMailbox:
		return "room"
	case EquipmentMailbox:
		return "equipment"
	case LinkedMailbox:
		return "linked"
	}
	return "recipienttype(" + strconv.Itoa(int(t)) + ")"
}

// MarshalText writes the String form.
func (t RecipientType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads the String form.
func (t *RecipientType) UnmarshalText(b []byte) error {
	for c := UserMailbox; c <= LinkedMailbox; c++ {
		if string(b) == c.String() {
			*t = c
			return nil
		}
	}
	return fmt.Errorf("directory: unknown recipient type %q", b)
}

// msExchRecipientTypeDetails values [V ews.md §5.1, blog.cpolydorou.net].
const (
	rtdUserMailbox      = 1
	rtdLinkedMailbox    = 2
	rtdSharedMailbox    = 4
	rtdLegacyMailbox    = 8
	rtdRoomMailbox      = 16
	rtdEquipmentMailbox = 32
	rtdMailContact      = 64
	rtdMailUser         = 128
)

type userKind int

const (
	notRecipient userKind = iota
	mailboxUser
	mailUser // mail-enabled user without a mailbox: treated as a contact
)

// classify decides what an AD user object is. details is
// msExchRecipientTypeDetails (0 when absent); homeMDB tells whether the
// object has a mailbox database. Disabled accounts are not considered here:
// shared, room and equipment mailboxes are backed by disabled accounts
// [V ews.md §5.2].
func classify(details int64, homeMDB bool) (RecipientType, userKind) {
	switch details {
	case rtdUserMailbox, rtdLegacyMailbox:
		return UserMailbox, mailboxUser
	case rtdLinkedMailbox:
		return LinkedMailbox, mailboxUser
	case rtdSharedMailbox:
		return SharedMailbox, mailboxUser
	case rtdRoomMailbox:
		return RoomMailbox, mailboxUser
	case rtdEquipmentMailbox:
		return EquipmentMailbox, mailboxUser
	case rtdMailUser, rtdMailContact:
		return 0, mailUser
	case 0:
		if homeMDB {
			// Exchange 2003 mailboxes never touched by 2007 tools carry
			// homeMDB but no msExchRecipientTypeDetails.
			return UserMailbox, mailboxUser
		}
	}
	// System, arbitration, discovery, remote and non-mail objects.
	return 0, notRecipient
}

// A Mailbox is a mail-enabled user with a mailbox in the organisation.
type Mailbox struct {
	DN                string        `json:"dn"`
	GUID              string        `json:"guid,omitempty"` // objectGUID, in AD's string form
	SID               string        `json:"sid,omitempty"`  // objectSid, S-1-... form
	SAMAccountName    string        `json:"samAccountName,omitempty"`
	UserPrincipalName string        `json:"userPrincipalName,omitempty"`
	DisplayName       string        `json:"displayName,omitempty"`
	GivenName         string        `json:"givenName,omitempty"`
	Surname           string        `json:"surname,omitempty"`
	PrimarySMTP       string        `json:"primarySmtp"`
	Aliases           []string      `json:"aliases,omitempty"` // other smtp: proxy addresses
	X500              []string      `json:"x500,omitempty"`    // X500: proxy addresses (former legacyExchangeDNs)
	LegacyExchangeDN  string        `json:"legacyExchangeDN,omitempty"`
	MailNickname      string        `json:"mailNickname,omitempty"`
	Type              RecipientType `json:"type"`
	Disabled          bool          `json:"disabled,omitempty"` // userAccountControl ACCOUNTDISABLE (0x2)
	Hidden            bool          `json:"hidden,omitempty"`   // msExchHideFromAddressLists
	Title             string        `json:"title,omitempty"`
	Department        string        `json:"department,omitempty"`
	Company           string        `json:"company,omitempty"`
	Office            string        `json:"office,omitempty"` // physicalDeliveryOfficeName
	Phone             string        `json:"phone,omitempty"`  // telephoneNumber
	Mobile            string        `json:"mobile,omitempty"`
	// FullAccess and SendAs are the mailboxes and groups (primary SMTP,
	// sorted) granted Full Access to this mailbox and Send As on its
	// account, from the security descriptors (grants.go).
	FullAccess []string `json:"fullAccess,omitempty"`
	SendAs     []string `json:"sendAs,omitempty"`
	// GrantsUnread says why a security descriptor of this mailbox did not
	// decode ("nTSecurityDescriptor: ..."): its grants are unknown.
	GrantsUnread []string `json:"grantsUnread,omitempty"`
}

// A Group is an AD group. Mail-enabled groups have a PrimarySMTP; others are
// kept so that --group can name security groups and nesting through them
// resolves.
type Group struct {
	DN               string   `json:"dn"`
	GUID             string   `json:"guid,omitempty"`
	Name             string   `json:"name"` // cn
	SAMAccountName   string   `json:"samAccountName,omitempty"`
	DisplayName      string   `json:"displayName,omitempty"`
	PrimarySMTP      string   `json:"primarySmtp,omitempty"`
	Aliases          []string `json:"aliases,omitempty"`
	X500             []string `json:"x500,omitempty"`
	LegacyExchangeDN string   `json:"legacyExchangeDN,omitempty"`
	Security         bool     `json:"security,omitempty"` // groupType has 0x80000000
	Hidden           bool     `json:"hidden,omitempty"`
	// Dynamic marks a dynamic distribution group
	// (msExchDynamicDistributionList): Exchange evaluates its members from
	// a query when mail arrives, so Members and MemberDNs are empty; its
	// addresses still resolve [V ews.md §5.1].
	Dynamic bool `json:"dynamic,omitempty"`
	// Members are the primary SMTP addresses of every mailbox and contact in
	// the group, nested groups flattened, sorted and without duplicates.
	Members []string `json:"members,omitempty"`
	// MemberDNs are the direct member values as read, including members
	// outside the snapshot (non-mail users, foreign principals).
	MemberDNs []string `json:"memberDNs,omitempty"`
}

// A Contact is a mail contact, or a mail-enabled user without a mailbox
// (msExchRecipientTypeDetails 128), whose address is outside the
// organisation.
type Contact struct {
	DN               string   `json:"dn"`
	GUID             string   `json:"guid,omitempty"`
	Name             string   `json:"name"`
	DisplayName      string   `json:"displayName,omitempty"`
	GivenName        string   `json:"givenName,omitempty"`
	Surname          string   `json:"surname,omitempty"`
	PrimarySMTP      string   `json:"primarySmtp"`
	Aliases          []string `json:"aliases,omitempty"`
	X500             []string `json:"x500,omitempty"`
	LegacyExchangeDN string   `json:"legacyExchangeDN,omitempty"`
	Hidden           bool     `json:"hidden,omitempty"`
	Company          string   `json:"company,omitempty"`
	Phone            string   `json:"phone,omitempty"`
}

// A ProxyAddress is one proxyAddresses value, "TYPE:address". An upper-case
// type prefix ("SMTP:") marks the primary address of that type; lower case
// ("smtp:") a secondary one [I ews.md §5.1].
type ProxyAddress struct {
	Type    string // upper-cased prefix: "SMTP", "X500", "X400", "SIP", ...
	Address string
	Primary bool
}

// ParseProxyAddress splits a proxyAddresses value. It reports false for a
// value without a "type:" prefix or with an empty address.
func ParseProxyAddress(v string) (ProxyAddress, bool) {
	i := strings.IndexByte(v, ':')
	if i <= 0 || i == len(v)-1 {
		return ProxyAddress{}, false
	}
	typ, addr := v[:i], strings.TrimSpace(v[i+1:])
	if addr == "" || strings.ContainsAny(typ, " \t") {
		return ProxyAddress{}, false
	}
	return ProxyAddress{
		Type:    strings.ToUpper(typ),
		Address: addr,
		Primary: typ == strings.ToUpper(typ) && typ != strings.ToLower(typ),
	}, true
}

// addresses is the outcome of reading proxyAddresses and mail.
type addresses struct {
	primary string
	aliases []string
	x500    []string
}

// addressesOf takes the primary SMTP address from the "SMTP:" proxy address,
// else from mail, else from targetAddress; other smtp: values become aliases
// (duplicates, compared case-insensitively, dropped).
func addressesOf(proxies []string, mail, target string) addresses {
	var a addresses
	var smtp []string
	for _, v := range proxies {
		p, ok := ParseProxyAddress(v)
		if !ok {
			continue
		}
		switch p.Type {
		case "SMTP":
			if p.Primary && a.primary == "" {
				a.primary = p.Address
			} else {
				smtp = append(smtp, p.Address)
			}
		case "X500":
			a.x500 = append(a.x500, p.Address)
		}
	}
	if a.primary == "" {
		a.primary = strings.TrimSpace(mail)
	}
	if a.primary == "" {
		if p, ok := ParseProxyAddress(target); ok && p.Type == "SMTP" {
			a.primary = p.Address
		} else if !ok && strings.Contains(target, "@") {
			a.primary = strings.TrimSpace(target)
		}
	}
	if a.primary == "" && len(smtp) > 0 {
		a.primary, smtp = smtp[0], smtp[1:]
	}
	seen := map[string]bool{strings.ToLower(a.primary): true}
	for _, s := range smtp {
		k := strings.ToLower(s)
		if !seen[k] {
			seen[k] = true
			a.aliases = append(a.aliases, s)
		}
	}
	return a
}

// formatGUID renders a 16-byte objectGUID as AD does: the first three
// fields little-endian, the rest in byte order.
func formatGUID(b string) string {
	if len(b) != 16 {
		return ""
	}
	p := []byte(b)
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x",
		binary.LittleEndian.Uint32(p[0:4]), binary.LittleEndian.Uint16(p[4:6]),
		binary.LittleEndian.Uint16(p[6:8]), p[8:10], p[10:16])
}

// normDN returns a comparison key for a DN: parsed, re-encoded and lower-cased,
// so that spacing and hex escapes do not matter.
func normDN(dn string) string {
	if d, err := ldap.ParseDN(dn); err == nil {
		return strings.ToLower(d.String())
	}
	return strings.ToLower(strings.TrimSpace(dn))
}
