package format

import (
	"strings"
)

// An AddressResolver maps an Exchange-internal address (a legacyExchangeDN
// such as "/O=FIRST ORGANIZATION/OU=…/CN=RECIPIENTS/CN=SADIE", routing type
// EX, or an X500 proxy) to the primary SMTP address. EWS reports internal
// senders, recipients, organizers and attendees that way [V MSDOCS
// how-to-perform-grouped-searches-by-using-ews-in-exchange.md]. The directory
// package implements it from Active Directory.
//
// ResolveSMTP must be safe for concurrent use. A nil AddressResolver resolves
// nothing.
type AddressResolver interface {
	ResolveSMTP(addr string) (smtp string, ok bool)
}

// A MapResolver is an AddressResolver backed by a map whose keys are
// compared case-insensitively (legacyExchangeDNs are case-insensitive).
type MapResolver map[string]string

// ResolveSMTP implements AddressResolver.
func (m MapResolver) ResolveSMTP(addr string) (string, bool) {
	if s, ok := m[addr]; ok {
		return s, true
	}
	for k, v := range m {
		if strings.EqualFold(k, addr) {
			return v, true
		}
	}
	return "", false
}

// mailbox is an EWS EmailAddressType (Mailbox, or the Mailbox inside an
// Attendee, Organizer, From, Member…) reduced to what the formats carry.
type mailbox struct {
	Name    string
	Addr    string // SMTP address when known, else the raw address
	Raw     string // EmailAddress as sent by Exchange
	Routing string
	SMTP    bool // Addr is an SMTP address
}

// parseMailbox reads <Name/><EmailAddress/><RoutingType/> from m, resolving
// EX/X500 addresses through dir.
func parseMailbox(m *node, dir AddressResolver) (mailbox, bool) {
	if m == nil {
		return mailbox{}, false
	}
	mb := mailbox{
		Name:    m.Text("Name"),
		Raw:     m.Text("EmailAddress"),
		Routing: m.Text("RoutingType"),
	}
	if mb.Name == "" && mb.Raw == "" {
		return mb, false
	}
	mb.Addr = mb.Raw
	internal := strings.EqualFold(mb.Routing, "EX") || strings.EqualFold(mb.Routing, "X500") ||
		strings.HasPrefix(mb.Raw, "/") || hasPrefixFold(mb.Raw, "x500:") || hasPrefixFold(mb.Raw, "ex:")
	if internal {
		key := mb.Raw
		if i := strings.IndexByte(key, ':'); i > 0 && i < 5 {
			key = key[i+1:]
		}
		if dir != nil {
			if s, ok := dir.ResolveSMTP(key); ok {
				mb.Addr, mb.SMTP = s, true
				return mb, true
			}
			if s, ok := dir.ResolveSMTP(mb.Raw); ok {
				mb.Addr, mb.SMTP = s, true
				return mb, true
			}
		}
		return mb, true
	}
	if hasPrefixFold(mb.Addr, "smtp:") {
		mb.Addr = mb.Addr[5:]
	}
	mb.SMTP = strings.Contains(mb.Addr, "@")
	return mb, true
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// resolveRaw resolves a bare address string (DL member, permission grantee).
func resolveRaw(addr, routing string, dir AddressResolver) (string, bool) {
	m := &node{Local: "Mailbox"}
	for _, kv := range [][2]string{{"EmailAddress", addr}, {"RoutingType", routing}} {
		c := &node{Local: kv[0]}
		c.CharData = append(c.CharData, kv[1]...)
		m.Children = append(m.Children, c)
	}
	mb, _ := parseMailbox(m, dir)
	return mb.Addr, mb.SMTP
}
