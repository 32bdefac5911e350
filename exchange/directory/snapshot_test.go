package directory

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

func TestResolveSMTP(t *testing.T) {
	s := readFixture(t, "ldifde-org.ldf")
	const org = "/o=Example/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn="
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{org + "alice", "alice@example.com", true},
		{"EX:" + org + "alice", "alice@example.com", true},
		{"ex:/O=EXAMPLE/OU=EXCHANGE ADMINISTRATIVE GROUP (FYDIBOHF23SPDLT)/CN=RECIPIENTS/CN=ALICE", "alice@example.com", true},
		{"X500:/o=Example/ou=First Administrative Group/cn=Recipients/cn=alice", "alice@example.com", true},
		{"/O=EXAMPLE/OU=FIRST ADMINISTRATIVE GROUP/CN=RECIPIENTS/CN=ALICE", "alice@example.com", true},
		{"A.Anders@Example.com", "alice@example.com", true},
		{"smtp:a.anders@example.com", "alice@example.com", true},
		{" <alice@example.com> ", "alice@example.com", true},
		{"help@example.com", "support@example.com", true},
		{org + "sales", "sales@example.com", true},
		{"EX:" + org + "allengineers", "engineers@example.com", true}, // dynamic distribution group
		{org + "paulpartner", "paul@partner.example", true},
		{"EX:" + org + "mia", "mia@partner.example", true},
		{"mia@example.com", "mia@partner.example", true},
		{org + "nobody", "", false},
		{"stranger@elsewhere.example", "", false},
		{"", "", false},
		{"SIP:alice@example.com", "", false},
	}
	for _, tt := range tests {
		got, ok := s.ResolveSMTP(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ResolveSMTP(%q) = %q, %v, want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	// A Snapshot assembled by hand (no index) resolves the same way.
	hand := &Snapshot{Mailboxes: s.Mailboxes, Groups: s.Groups, Contacts: s.Contacts}
	if got, ok := hand.ResolveSMTP("EX:" + org + "bob"); got != "bob@example.com" || !ok {
		t.Errorf("hand-built ResolveSMTP(%q) = %q, %v, want bob@example.com, true", "EX:"+org+"bob", got, ok)
	}
}

func TestLookup(t *testing.T) {
	s := readFixture(t, "ldifde-org.ldf")
	all := []string{"alice@example.com", "beamer@example.com", "bob@example.com", "linda@example.com", "room.zurich@example.com", "support@example.com"}
	tests := []struct {
		name     string
		sel      Selector
		want     []string
		notFound []string // NotFoundError names, in order
	}{
		{"zero selects all", Selector{}, all, nil},
		{"exact", Selector{Mailboxes: []string{"bob@example.com"}}, []string{"bob@example.com"}, nil},
		{"alias and case", Selector{Mailboxes: []string{"HELP@example.COM"}}, []string{"support@example.com"}, nil},
		{"sAMAccountName", Selector{Mailboxes: []string{"Linda"}}, []string{"linda@example.com"}, nil},
		{"upn", Selector{Mailboxes: []string{"alice@example.com"}}, []string{"alice@example.com"}, nil},
		{"legacy dn", Selector{Mailboxes: []string{"/o=Example/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=beamer"}}, []string{"beamer@example.com"}, nil},
		{"glob", Selector{Mailboxes: []string{"b*@example.com"}}, []string{"beamer@example.com", "bob@example.com"}, nil},
		{"glob on alias", Selector{Mailboxes: []string{"a.*"}}, []string{"alice@example.com"}, nil},
		{"glob class", Selector{Mailboxes: []string{"[lr]*"}}, []string{"linda@example.com", "room.zurich@example.com"}, nil},
		{"group by name", Selector{Groups: []string{"Sales"}}, []string{"alice@example.com", "bob@example.com", "room.zurich@example.com"}, nil},
		{"group by address", Selector{Groups: []string{"EMEA@example.com"}}, []string{"alice@example.com", "bob@example.com", "room.zurich@example.com"}, nil},
		{"group by dn, nested", Selector{Groups: []string{"cn=all staff, ou=groups, dc=example, dc=com"}}, []string{"alice@example.com", "bob@example.com", "room.zurich@example.com", "support@example.com"}, nil},
		{"union, each once", Selector{Mailboxes: []string{"alice@example.com", "a.anders@example.com"}, Groups: []string{"Sales"}}, []string{"alice@example.com", "bob@example.com", "room.zurich@example.com"}, nil},
		{"unknown mailbox", Selector{Mailboxes: []string{"bob@example.com", "nobody@example.com"}}, nil, []string{"nobody@example.com"}},
		{"contact is not a mailbox", Selector{Mailboxes: []string{"paul@partner.example"}}, nil, []string{"paul@partner.example"}},
		{"group address is not a mailbox", Selector{Mailboxes: []string{"sales@example.com"}}, nil, []string{"sales@example.com"}},
		{"empty glob", Selector{Mailboxes: []string{"zz*"}}, nil, []string{"zz*"}},
		{"bad glob", Selector{Mailboxes: []string{"[a"}}, nil, []string{"[a"}},
		{"unknown group", Selector{Groups: []string{"Nope"}, Mailboxes: []string{"x@y"}}, nil, []string{"x@y", "Nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Lookup(tt.sel)
			var names []string
			if err != nil {
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					var nf *NotFoundError
					if !errors.As(e, &nf) || !errors.Is(e, ErrNotFound) {
						t.Fatalf("Lookup(%+v) error %v is not a *NotFoundError", tt.sel, e)
					}
					names = append(names, nf.Name)
				}
			}
			if !reflect.DeepEqual(names, tt.notFound) {
				t.Errorf("Lookup(%+v) not found = %q, want %q", tt.sel, names, tt.notFound)
			}
			var addrs []string
			for _, m := range got {
				addrs = append(addrs, m.PrimarySMTP)
			}
			if !reflect.DeepEqual(addrs, tt.want) {
				t.Errorf("Lookup(%+v) = %q, want %q", tt.sel, addrs, tt.want)
			}
		})
	}
}

func TestFlattenCycle(t *testing.T) {
	// Three groups in a ring, each with one mailbox: every group holds all three.
	var entries []*entry
	for _, n := range []string{"a", "b", "c"} {
		e := &entry{dn: "CN=" + n + ",DC=x"}
		e.add("objectclass", "user")
		e.add("msexchrecipienttypedetails", "1")
		e.add("proxyaddresses", "SMTP:"+n+"@x")
		entries = append(entries, e)
	}
	ring := map[string]string{"G1": "G2", "G2": "G3", "G3": "G1"}
	mb := map[string]string{"G1": "a", "G2": "b", "G3": "c"}
	for g, next := range ring {
		e := &entry{dn: "CN=" + g + ",DC=x"}
		e.add("objectclass", "group")
		e.add("cn", g)
		e.add("member", "cn="+next+",dc=x") // case differs from the DN
		e.add("member", "CN="+mb[g]+",DC=x")
		entries = append(entries, e)
	}
	s := build(entries)
	for _, g := range s.Groups {
		if want := []string{"a@x", "b@x", "c@x"}; !reflect.DeepEqual(g.Members, want) {
			t.Errorf("group %s Members = %v, want %v", g.Name, g.Members, want)
		}
	}
}

// TestFlattenMatchesSearch compares flatten with a plain per-group search on
// random nesting graphs with cycles, self-loops and dangling members.
func TestFlattenMatchesSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 200; round++ {
		nUsers, nGroups := 1+rng.IntN(8), 1+rng.IntN(12)
		var entries []*entry
		for u := 0; u < nUsers; u++ {
			e := &entry{dn: fmt.Sprintf("CN=U%d,DC=x", u)}
			e.add("objectclass", "user")
			e.add("msexchrecipienttypedetails", "1")
			e.add("proxyaddresses", fmt.Sprintf("SMTP:u%d@x", u))
			entries = append(entries, e)
		}
		edges := make([][]int, nGroups)
		direct := make([][]int, nGroups)
		for g := 0; g < nGroups; g++ {
			e := &entry{dn: fmt.Sprintf("CN=G%d,DC=x", g)}
			e.add("objectclass", "group")
			for k := rng.IntN(4); k > 0; k-- {
				h := rng.IntN(nGroups)
				edges[g] = append(edges[g], h)
				e.add("member", fmt.Sprintf("cn=g%d,dc=x", h))
			}
			for k := rng.IntN(3); k > 0; k-- {
				u := rng.IntN(nUsers)
				direct[g] = append(direct[g], u)
				e.add("member", fmt.Sprintf("CN=U%d,DC=x", u))
			}
			e.add("member", "CN=Gone,DC=x")
			entries = append(entries, e)
		}
		s := build(entries)
		for g := 0; g < nGroups; g++ {
			seen := map[int]bool{g: true}
			users := map[string]bool{}
			stack := []int{g}
			for len(stack) > 0 {
				v := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				for _, u := range direct[v] {
					users[fmt.Sprintf("u%d@x", u)] = true
				}
				for _, w := range edges[v] {
					if !seen[w] {
						seen[w] = true
						stack = append(stack, w)
					}
				}
			}
			var want []string
			for u := range users {
				want = append(want, u)
			}
			sortFold(want)
			grp, _ := s.Group(fmt.Sprintf("CN=G%d,DC=x", g))
			if grp == nil || !reflect.DeepEqual(grp.Members, want) {
				t.Fatalf("round %d: group G%d Members = %v, want %v (edges %v, direct %v)", round, g, grp, want, edges, direct)
			}
		}
	}
}
