package directory

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// fakeAD is a minimal LDAP server (RFC 4511: bind, search, unbind) that
// ranges the member attribute on its own, as Active Directory does above
// MaxValRange: a plain request for member gets "member;range=0-1499", and
// "member;range=1500-*" gets the next slice, the last one named with "*"
// [V ews.md §5.3, learn attribute-range-retrieval]. Samba ranges only when
// asked (testbed.md §1b), so this server covers the unasked case.
type fakeAD struct {
	maxValRange int
	group       string   // DN of the one group
	members     []string // its member DNs
	users       []string // user DNs, each a mailbox "uN@x"
	badRange    bool     // answer range requests with a wrong low bound
	bindCode    int64    // result code of every bind

	mu       sync.Mutex
	requests []string // attribute lists of base-scope searches
}

func (f *fakeAD) serve(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go f.conn(c)
		}
	}()
	return "ldap://" + l.Addr().String()
}

func (f *fakeAD) conn(c net.Conn) {
	defer c.Close()
	for {
		p, err := ber.ReadPacket(c)
		if err != nil || len(p.Children) < 2 {
			return
		}
		id := p.Children[0].Value.(int64)
		op := p.Children[1]
		switch op.Tag {
		case 0: // BindRequest
			c.Write(message(id, result(1, f.bindCode)).Bytes())
		case 2: // UnbindRequest
			return
		case 3: // SearchRequest
			base := string(op.Children[0].Data.Bytes())
			scope := op.Children[1].Value.(int64)
			var attrs []string
			for _, a := range op.Children[7].Children {
				attrs = append(attrs, string(a.Data.Bytes()))
			}
			for _, e := range f.search(base, scope, attrs) {
				c.Write(message(id, e).Bytes())
			}
			c.Write(message(id, result(5, 0)).Bytes())
		default:
			return
		}
	}
}

func (f *fakeAD) search(base string, scope int64, attrs []string) []*ber.Packet {
	if scope == 0 && base == "" { // RootDSE
		return []*ber.Packet{searchEntry("", map[string][]string{"defaultNamingContext": {"DC=x"}})}
	}
	if scope == 0 { // range retrieval on one object
		f.mu.Lock()
		f.requests = append(f.requests, strings.Join(attrs, ","))
		f.mu.Unlock()
		if base != f.group || len(attrs) != 1 {
			return nil
		}
		name, lo, _, ok := parseRange(attrs[0])
		if !ok || name != "member" {
			return nil
		}
		if lo >= len(f.members) {
			return []*ber.Packet{searchEntry(base, nil)} // AD: nothing past the end
		}
		if f.badRange {
			lo++
		}
		return []*ber.Packet{searchEntry(base, f.slice(lo))}
	}
	var out []*ber.Packet
	for i, u := range f.users {
		out = append(out, searchEntry(u, map[string][]string{
			"objectClass": {"top", "user"}, "msExchRecipientTypeDetails": {"1"},
			"proxyAddresses": {fmt.Sprintf("SMTP:u%d@x", i)},
		}))
	}
	g := f.slice(0)
	g["objectClass"] = []string{"top", "group"}
	g["mail"] = []string{"big@x"}
	return append(out, searchEntry(f.group, g))
}

// slice returns member values from lo, at most maxValRange, under AD's
// ranged attribute name.
func (f *fakeAD) slice(lo int) map[string][]string {
	hi := min(lo+f.maxValRange, len(f.members))
	name := fmt.Sprintf("member;range=%d-%d", lo, hi-1)
	if hi == len(f.members) {
		if lo == 0 {
			name = "member" // small enough: not ranged
		} else {
			name = fmt.Sprintf("member;range=%d-*", lo)
		}
	}
	return map[string][]string{name: f.members[lo:hi]}
}

func message(id int64, op *ber.Packet) *ber.Packet {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAPMessage")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, "messageID"))
	p.AppendChild(op)
	return p
}

func result(tag ber.Tag, code int64) *ber.Packet {
	p := ber.Encode(ber.ClassApplication, ber.TypeConstructed, tag, nil, "LDAPResult")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, code, "resultCode"))
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "matchedDN"))
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "diagnosticMessage"))
	return p
}

func searchEntry(dn string, attrs map[string][]string) *ber.Packet {
	p := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 4, nil, "SearchResultEntry")
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, "objectName"))
	list := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "attributes")
	for name, vals := range attrs {
		a := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "attribute")
		a.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, name, "type"))
		set := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "vals")
		for _, v := range vals {
			set.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, v, "value"))
		}
		a.AppendChild(set)
		list.AppendChild(a)
	}
	p.AppendChild(list)
	return p
}

func newFakeAD(users, maxValRange int) *fakeAD {
	f := &fakeAD{maxValRange: maxValRange, group: "CN=Big,DC=x"}
	for i := 0; i < users; i++ {
		dn := "CN=U" + strconv.Itoa(i) + ",DC=x"
		f.users = append(f.users, dn)
		f.members = append(f.members, dn)
	}
	return f
}

func TestUnaskedRangeRetrieval(t *testing.T) {
	tests := []struct {
		users, maxValRange int
		wantRequests       []string
	}{
		{3200, 1500, []string{"member;range=1500-*", "member;range=3000-*"}},
		{3000, 1500, []string{"member;range=1500-*"}},
		{1500, 1500, nil}, // exactly MaxValRange: one plain member attribute
		{10, 3, []string{"member;range=3-*", "member;range=6-*", "member;range=9-*"}},
	}
	for _, tt := range tests {
		f := newFakeAD(tt.users, tt.maxValRange)
		url := f.serve(t)
		s, err := Read(context.Background(), Options{URL: url, BindDN: "cn=admin", Password: "pw"})
		if err != nil {
			t.Fatalf("Read(fake AD, %d members) = %v", tt.users, err)
		}
		g, ok := s.Group("big@x")
		if !ok || len(g.MemberDNs) != tt.users || len(g.Members) != tt.users {
			t.Fatalf("Read(fake AD, %d members): group = %d DNs, %d members, want %d", tt.users, len(g.MemberDNs), len(g.Members), tt.users)
		}
		for i, dn := range g.MemberDNs {
			if dn != f.members[i] {
				t.Fatalf("Read(fake AD, %d members): MemberDNs[%d] = %q, want %q (order kept)", tt.users, i, dn, f.members[i])
			}
		}
		var got []string
		for _, r := range f.requests {
			if r != "defaultNamingContext" {
				got = append(got, r)
			}
		}
		if strings.Join(got, " ") != strings.Join(tt.wantRequests, " ") {
			t.Errorf("Read(fake AD, %d members) range requests = %q, want %q", tt.users, got, tt.wantRequests)
		}
	}
}

func TestRangeRetrievalMismatch(t *testing.T) {
	f := newFakeAD(3200, 1500)
	f.badRange = true
	_, err := Read(context.Background(), Options{URL: f.serve(t)})
	if !errors.Is(err, ErrProtocol) {
		t.Fatalf("Read(server answering the wrong range) = %v, want ErrProtocol", err)
	}
}

// TestBindNeedsTLS checks the hint for AD's "strongerAuthRequired" (8),
// which signing-enforcing domain controllers give simple binds in clear text.
func TestBindNeedsTLS(t *testing.T) {
	f := newFakeAD(1, 1500)
	f.bindCode = ldap.LDAPResultStrongAuthRequired
	_, err := Read(context.Background(), Options{URL: f.serve(t), BindDN: "admin@x", Password: "pw"})
	var le *ldap.Error
	if !errors.As(err, &le) || le.ResultCode != ldap.LDAPResultStrongAuthRequired {
		t.Fatalf("Read(bind refused with code 8) = %v, want *ldap.Error code 8", err)
	}
	if !strings.Contains(err.Error(), "use ldaps:// or starttls") {
		t.Errorf("Read(bind refused with code 8) = %q, want a hint to use tls", err)
	}
}
