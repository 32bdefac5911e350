package directory

import (
	"sort"
	"strconv"
	"strings"
)

// attrs lists the attributes read from each object [I ews.md §5.1]. Names are
// compared case-insensitively; an LDIF reader keeps only these.
var attrs = []string{
	"objectClass", "objectGUID", "cn", "sAMAccountName", "userPrincipalName",
	"displayName", "givenName", "sn", "mail", "proxyAddresses", "targetAddress",
	"legacyExchangeDN", "mailNickname", "homeMDB", "msExchRecipientTypeDetails",
	"msExchHideFromAddressLists", "userAccountControl", "groupType", "member",
	"title", "department", "company", "physicalDeliveryOfficeName",
	"telephoneNumber", "mobile",
}

var wanted = func() map[string]bool {
	m := make(map[string]bool, len(attrs))
	for _, a := range attrs {
		m[strings.ToLower(a)] = true
	}
	return m
}()

// An entry is one directory object as read, before classification.
// Attribute names are lower case without options (";range=…", ";binary").
type entry struct {
	dn    string
	attrs map[string][]string
}

func (e *entry) add(name, value string) {
	if e.attrs == nil {
		e.attrs = make(map[string][]string)
	}
	e.attrs[name] = append(e.attrs[name], value)
}

func (e *entry) get(name string) string {
	if v := e.attrs[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (e *entry) has(name string) bool { return len(e.attrs[name]) > 0 }

func (e *entry) int(name string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(e.get(name)), 10, 64)
	return n
}

func (e *entry) bool(name string) bool { return strings.EqualFold(e.get(name), "TRUE") }

func (e *entry) classes() map[string]bool {
	m := make(map[string]bool)
	for _, c := range e.attrs["objectclass"] {
		m[strings.ToLower(c)] = true
	}
	return m
}

// A Snapshot is the recipients of one directory, sorted by DN. Its methods
// are safe for concurrent use as long as nobody modifies it.
type Snapshot struct {
	Mailboxes []Mailbox `json:"mailboxes"`
	Groups    []Group   `json:"groups"`
	Contacts  []Contact `json:"contacts"`

	idx *index
}

// index holds the lookup maps, built once by build.
type index struct {
	addr    map[string]string // lower-case address form → primary SMTP
	mailbox map[string]int    // lower-case primary SMTP → Mailboxes index
	group   map[string]int    // lower-case SMTP, name, sAMAccountName, DN → Groups index
}

// build classifies entries into a Snapshot, flattens group membership and
// indexes addresses.
func build(entries []*entry) *Snapshot {
	s := &Snapshot{}
	for _, e := range entries {
		oc := e.classes()
		switch {
		case oc["group"]:
			s.Groups = append(s.Groups, groupOf(e))
		case oc["contact"]:
			if c, ok := contactOf(e); ok {
				s.Contacts = append(s.Contacts, c)
			}
		case oc["user"] && !oc["computer"]:
			t, kind := classify(e.int("msexchrecipienttypedetails"), e.has("homemdb"))
			switch kind {
			case mailboxUser:
				if m, ok := mailboxOf(e, t); ok {
					s.Mailboxes = append(s.Mailboxes, m)
				}
			case mailUser:
				if c, ok := contactOf(e); ok {
					s.Contacts = append(s.Contacts, c)
				}
			}
		}
	}
	sort.SliceStable(s.Mailboxes, func(i, j int) bool { return lessFold(s.Mailboxes[i].DN, s.Mailboxes[j].DN) })
	sort.SliceStable(s.Groups, func(i, j int) bool { return lessFold(s.Groups[i].DN, s.Groups[j].DN) })
	sort.SliceStable(s.Contacts, func(i, j int) bool { return lessFold(s.Contacts[i].DN, s.Contacts[j].DN) })
	s.flatten()
	s.idx = s.makeIndex()
	return s
}

// lessFold orders strings case-insensitively, then bytewise.
func lessFold(a, b string) bool {
	la, lb := strings.ToLower(a), strings.ToLower(b)
	if la != lb {
		return la < lb
	}
	return a < b
}

func mailboxOf(e *entry, t RecipientType) (Mailbox, bool) {
	a := addressesOf(e.attrs["proxyaddresses"], e.get("mail"), "")
	if a.primary == "" {
		return Mailbox{}, false
	}
	return Mailbox{
		DN:                e.dn,
		GUID:              formatGUID(e.get("objectguid")),
		SAMAccountName:    e.get("samaccountname"),
		UserPrincipalName: e.get("userprincipalname"),
		DisplayName:       e.get("displayname"),
		GivenName:         e.get("givenname"),
		Surname:           e.get("sn"),
		PrimarySMTP:       a.primary,
		Aliases:           a.aliases,
		X500:              a.x500,
		LegacyExchangeDN:  e.get("legacyexchangedn"),
		MailNickname:      e.get("mailnickname"),
		Type:              t,
		Disabled:          e.int("useraccountcontrol")&0x2 != 0,
		Hidden:            e.bool("msexchhidefromaddresslists"),
		Title:             e.get("title"),
		Department:        e.get("department"),
		Company:           e.get("company"),
		Office:            e.get("physicaldeliveryofficename"),
		Phone:             e.get("telephonenumber"),
		Mobile:            e.get("mobile"),
	}, true
}

func contactOf(e *entry) (Contact, bool) {
	a := addressesOf(e.attrs["proxyaddresses"], e.get("mail"), e.get("targetaddress"))
	if a.primary == "" {
		return Contact{}, false
	}
	return Contact{
		DN:               e.dn,
		GUID:             formatGUID(e.get("objectguid")),
		Name:             e.get("cn"),
		DisplayName:      e.get("displayname"),
		GivenName:        e.get("givenname"),
		Surname:          e.get("sn"),
		PrimarySMTP:      a.primary,
		Aliases:          a.aliases,
		X500:             a.x500,
		LegacyExchangeDN: e.get("legacyexchangedn"),
		Hidden:           e.bool("msexchhidefromaddresslists"),
		Company:          e.get("company"),
		Phone:            e.get("telephonenumber"),
	}, true
}

func groupOf(e *entry) Group {
	a := addressesOf(e.attrs["proxyaddresses"], e.get("mail"), "")
	name := e.get("cn")
	if name == "" {
		name = e.get("samaccountname")
	}
	return Group{
		DN:               e.dn,
		GUID:             formatGUID(e.get("objectguid")),
		Name:             name,
		SAMAccountName:   e.get("samaccountname"),
		DisplayName:      e.get("displayname"),
		PrimarySMTP:      a.primary,
		Aliases:          a.aliases,
		X500:             a.x500,
		LegacyExchangeDN: e.get("legacyexchangedn"),
		Security:         uint32(e.int("grouptype"))&0x80000000 != 0,
		Hidden:           e.bool("msexchhidefromaddresslists"),
		MemberDNs:        append([]string(nil), e.attrs["member"]...),
	}
}

// flatten fills every group's Members: the primary SMTP addresses of its
// mailbox and contact members, recursively through nested groups. Cycles are
// cut by remembering the groups already expanded.
func (s *Snapshot) flatten() {
	smtp := make(map[string]string, len(s.Mailboxes)+len(s.Contacts))
	for _, m := range s.Mailboxes {
		smtp[normDN(m.DN)] = m.PrimarySMTP
	}
	for _, c := range s.Contacts {
		smtp[normDN(c.DN)] = c.PrimarySMTP
	}
	groups := make(map[string]int, len(s.Groups))
	for i, g := range s.Groups {
		groups[normDN(g.DN)] = i
	}
	// Normalise each member DN once.
	members := make([][]string, len(s.Groups))
	for i, g := range s.Groups {
		members[i] = make([]string, len(g.MemberDNs))
		for j, dn := range g.MemberDNs {
			members[i][j] = normDN(dn)
		}
	}
	for i := range s.Groups {
		seen := map[int]bool{i: true}
		out := map[string]string{}
		stack := []int{i}
		for len(stack) > 0 {
			g := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, dn := range members[g] {
				if a, ok := smtp[dn]; ok {
					out[strings.ToLower(a)] = a
				} else if n, ok := groups[dn]; ok && !seen[n] {
					seen[n] = true
					stack = append(stack, n)
				}
			}
		}
		list := make([]string, 0, len(out))
		for _, a := range out {
			list = append(list, a)
		}
		sort.Slice(list, func(a, b int) bool { return lessFold(list[a], list[b]) })
		s.Groups[i].Members = list
	}
}

// makeIndex builds the address map. When two objects claim the same
// address, mailboxes win over groups, groups over contacts, and within a
// kind the first in DN order.
func (s *Snapshot) makeIndex() *index {
	x := &index{
		addr:    make(map[string]string),
		mailbox: make(map[string]int, len(s.Mailboxes)),
		group:   make(map[string]int, len(s.Groups)),
	}
	put := func(primary, legacy string, aliases, x500 []string) {
		if primary == "" {
			return
		}
		for _, k := range []string{primary, legacy} {
			if k = strings.ToLower(k); k != "" {
				if _, dup := x.addr[k]; !dup {
					x.addr[k] = primary
				}
			}
		}
		for _, list := range [][]string{aliases, x500} {
			for _, k := range list {
				if k = strings.ToLower(k); k != "" {
					if _, dup := x.addr[k]; !dup {
						x.addr[k] = primary
					}
				}
			}
		}
	}
	for i, m := range s.Mailboxes {
		put(m.PrimarySMTP, m.LegacyExchangeDN, m.Aliases, m.X500)
		if k := strings.ToLower(m.PrimarySMTP); k != "" {
			if _, dup := x.mailbox[k]; !dup {
				x.mailbox[k] = i
			}
		}
	}
	for i, g := range s.Groups {
		put(g.PrimarySMTP, g.LegacyExchangeDN, g.Aliases, g.X500)
		for _, k := range []string{g.PrimarySMTP, g.Name, g.SAMAccountName, normDN(g.DN)} {
			if k = strings.ToLower(k); k != "" {
				if _, dup := x.group[k]; !dup {
					x.group[k] = i
				}
			}
		}
	}
	for _, c := range s.Contacts {
		put(c.PrimarySMTP, c.LegacyExchangeDN, c.Aliases, c.X500)
	}
	return x
}

func (s *Snapshot) index() *index {
	if s.idx != nil {
		return s.idx
	}
	return s.makeIndex() // a Snapshot built by hand: index on every call
}

// ResolveSMTP maps an address Exchange may use for a recipient of this
// directory to its primary SMTP address. It accepts, case-insensitively, a
// legacyExchangeDN ("/o=First Organization/ou=…/cn=Recipients/cn=alice"),
// the same with an "EX:" or "X500:" prefix, an X500 proxy address, and any
// SMTP address or alias with or without "SMTP:". The second result is false
// when the address belongs to no mailbox, group or contact.
func (s *Snapshot) ResolveSMTP(addr string) (string, bool) {
	x := s.index()
	a := strings.TrimSpace(addr)
	if p, ok := x.addr[strings.ToLower(a)]; ok {
		return p, true
	}
	if i := strings.IndexByte(a, ':'); i > 0 {
		switch strings.ToUpper(a[:i]) {
		case "EX", "X500", "SMTP":
			a = strings.TrimSpace(a[i+1:])
			if p, ok := x.addr[strings.ToLower(a)]; ok {
				return p, true
			}
		}
	}
	if t := strings.TrimSuffix(strings.TrimPrefix(a, "<"), ">"); t != a {
		p, ok := x.addr[strings.ToLower(t)]
		return p, ok
	}
	return "", false
}
