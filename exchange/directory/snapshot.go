package directory

import (
	"sort"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"
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
	// Mailbox permissions (grants.go): the account's SID, the Send-As
	// extended right on the user object and Full Access in the mailbox
	// descriptor.
	"objectSid", "nTSecurityDescriptor", "msExchMailboxSecurityDescriptor",
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
		case oc["msexchdynamicdistributionlist"]:
			g := groupOf(e)
			g.Dynamic, g.MemberDNs = true, nil
			s.Groups = append(s.Groups, g)
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
	s.resolveGrants(entries)
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
		SID:               FormatSID(e.get("objectsid")),
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
		Name:             commonName(e),
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

// commonName is cn, else the value of the DN's first RDN (exports
// trimmed to a few attributes often leave cn out).
func commonName(e *entry) string {
	if cn := e.get("cn"); cn != "" {
		return cn
	}
	if d, err := ldap.ParseDN(e.dn); err == nil && len(d.RDNs) > 0 && len(d.RDNs[0].Attributes) > 0 {
		return d.RDNs[0].Attributes[0].Value
	}
	return ""
}

func groupOf(e *entry) Group {
	a := addressesOf(e.attrs["proxyaddresses"], e.get("mail"), "")
	return Group{
		DN:               e.dn,
		GUID:             formatGUID(e.get("objectguid")),
		Name:             commonName(e),
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
// mailbox and contact members, recursively through nested groups. Groups
// that nest each other (a cycle) form one strongly connected component and
// share one member set; components are expanded once each, successors
// first (Tarjan's algorithm), so the cost is linear in the member lists
// plus the output.
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
	n := len(s.Groups)
	direct := make([][]string, n) // leaf members' addresses
	nested := make([][]int, n)    // member groups
	for i, g := range s.Groups {
		for _, dn := range g.MemberDNs {
			k := normDN(dn)
			if a, ok := smtp[k]; ok {
				direct[i] = append(direct[i], a)
			} else if j, ok := groups[k]; ok {
				nested[i] = append(nested[i], j)
			}
		}
	}
	comp := tarjan(n, nested)
	sets := make([][]string, len(comp.members))
	for c, gs := range comp.members { // successors come first
		seen := map[string]bool{}
		var list []string
		add := func(a string) {
			if k := strings.ToLower(a); !seen[k] {
				seen[k] = true
				list = append(list, a)
			}
		}
		for _, g := range gs {
			for _, a := range direct[g] {
				add(a)
			}
			for _, h := range nested[g] {
				if d := comp.of[h]; d != c {
					for _, a := range sets[d] {
						add(a)
					}
				}
			}
		}
		sortFold(list)
		sets[c] = list
	}
	for i := range s.Groups {
		s.Groups[i].Members = append([]string{}, sets[comp.of[i]]...)
		if len(s.Groups[i].Members) == 0 {
			s.Groups[i].Members = nil
		}
	}
}

// sccs is the outcome of tarjan: the components in reverse topological
// order (every component after all components it reaches) and each node's
// component.
type sccs struct {
	members [][]int
	of      []int
}

// tarjan finds the strongly connected components of a graph of n nodes,
// iteratively, so deep nesting cannot overflow the stack.
func tarjan(n int, edges [][]int) sccs {
	const unvisited = -1
	index := make([]int, n)
	low := make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = unvisited
	}
	out := sccs{of: make([]int, n)}
	var stack []int
	type frame struct{ v, next int }
	next := 0
	for root := 0; root < n; root++ {
		if index[root] != unvisited {
			continue
		}
		call := []frame{{root, 0}}
		index[root], low[root] = next, next
		next++
		stack = append(stack, root)
		onStack[root] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			if f.next < len(edges[f.v]) {
				w := edges[f.v][f.next]
				f.next++
				if index[w] == unvisited {
					index[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					call = append(call, frame{w, 0})
				} else if onStack[w] && index[w] < low[f.v] {
					low[f.v] = index[w]
				}
				continue
			}
			v := f.v
			call = call[:len(call)-1]
			if len(call) > 0 {
				if u := call[len(call)-1].v; low[v] < low[u] {
					low[u] = low[v]
				}
			}
			if low[v] == index[v] {
				c := len(out.members)
				var comp []int
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					out.of[w] = c
					comp = append(comp, w)
					if w == v {
						break
					}
				}
				out.members = append(out.members, comp)
			}
		}
	}
	return out
}

// sortFold sorts addresses case-insensitively, then bytewise.
func sortFold(list []string) {
	keys := make(map[string]string, len(list))
	for _, a := range list {
		keys[a] = strings.ToLower(a)
	}
	sort.Slice(list, func(i, j int) bool {
		ki, kj := keys[list[i]], keys[list[j]]
		if ki != kj {
			return ki < kj
		}
		return list[i] < list[j]
	})
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
