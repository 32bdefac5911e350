package directory

import (
	"errors"
	"path"
	"strings"
)

// A Selector chooses mailboxes; it is what --mailbox, --mailboxes-from and
// --group are built on. The zero Selector selects every mailbox.
type Selector struct {
	// Mailboxes holds addresses in any form ResolveSMTP accepts, or
	// sAMAccountNames or user principal names; a value with *, ? or [ is a
	// glob pattern (path.Match syntax, case-insensitive) over every SMTP
	// address and alias.
	Mailboxes []string
	// Groups holds groups by SMTP address, name (cn), sAMAccountName or DN;
	// every mailbox in a group, nested groups included, is selected.
	Groups []string
}

// Lookup returns the mailboxes chosen by sel, in Snapshot order, each once.
// Every selector that matches no mailbox (or names no group) yields a
// [*NotFoundError]; they are joined with errors.Join and returned with no
// mailboxes. A group that exists but holds no mailbox is not an error.
func (s *Snapshot) Lookup(sel Selector) ([]*Mailbox, error) {
	if len(sel.Mailboxes) == 0 && len(sel.Groups) == 0 {
		out := make([]*Mailbox, len(s.Mailboxes))
		for i := range s.Mailboxes {
			out[i] = &s.Mailboxes[i]
		}
		return out, nil
	}
	x := s.index()
	chosen := make(map[int]bool)
	var errs []error
	for _, name := range sel.Mailboxes {
		hits := s.matchMailbox(x, name)
		if len(hits) == 0 {
			errs = append(errs, &NotFoundError{Kind: "mailbox", Name: name})
		}
		for _, i := range hits {
			chosen[i] = true
		}
	}
	for _, name := range sel.Groups {
		g, ok := s.findGroup(x, name)
		if !ok {
			errs = append(errs, &NotFoundError{Kind: "group", Name: name})
			continue
		}
		for _, a := range s.Groups[g].Members {
			if i, ok := x.mailbox[strings.ToLower(a)]; ok {
				chosen[i] = true
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var out []*Mailbox
	for i := range s.Mailboxes {
		if chosen[i] {
			out = append(out, &s.Mailboxes[i])
		}
	}
	return out, nil
}

// Mailbox returns the mailbox an address (any form ResolveSMTP accepts),
// sAMAccountName or user principal name names.
func (s *Snapshot) Mailbox(name string) (*Mailbox, bool) {
	if strings.ContainsAny(name, "*?[") {
		return nil, false
	}
	hits := s.matchMailbox(s.index(), name)
	if len(hits) != 1 {
		return nil, false
	}
	return &s.Mailboxes[hits[0]], true
}

// Group returns the group an SMTP address, cn, sAMAccountName or DN names.
func (s *Snapshot) Group(name string) (*Group, bool) {
	i, ok := s.findGroup(s.index(), name)
	if !ok {
		return nil, false
	}
	return &s.Groups[i], true
}

func (s *Snapshot) matchMailbox(x *index, name string) []int {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil
	}
	if strings.ContainsAny(name, "*?[") {
		pat := strings.ToLower(name)
		if _, err := path.Match(pat, ""); err != nil {
			return nil // malformed pattern matches nothing
		}
		var hits []int
		for i, m := range s.Mailboxes {
			for _, a := range append([]string{m.PrimarySMTP}, m.Aliases...) {
				if ok, _ := path.Match(pat, strings.ToLower(a)); ok {
					hits = append(hits, i)
					break
				}
			}
		}
		return hits
	}
	if p, ok := s.ResolveSMTP(name); ok {
		if i, ok := x.mailbox[strings.ToLower(p)]; ok {
			return []int{i}
		}
		return nil // a group's or contact's address
	}
	for i, m := range s.Mailboxes {
		if strings.EqualFold(m.SAMAccountName, name) || strings.EqualFold(m.UserPrincipalName, name) {
			return []int{i}
		}
	}
	return nil
}

func (s *Snapshot) findGroup(x *index, name string) (int, bool) {
	name = strings.TrimSpace(name)
	if name == "" {
		return 0, false
	}
	if i, ok := x.group[strings.ToLower(name)]; ok {
		return i, true
	}
	if i, ok := x.group[normDN(name)]; ok {
		return i, true
	}
	if p, ok := s.ResolveSMTP(name); ok {
		i, ok := x.group[strings.ToLower(p)]
		return i, ok
	}
	return 0, false
}
