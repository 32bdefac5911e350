package icewarp

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// A Domain is one item of getdomainsinfolist [V NET GetDomainsInfoList.xml]:
//
//	<item><name>testing.co.uk</name><desc/><domaintype>0</domaintype><accountcount>-5</accountcount></item>
type Domain struct {
	Name         string
	Description  string
	Type         int // D_Type: 0 standard, 2 alias, … (icewarp.md §2.4)
	AccountCount int
}

// Domains lists the server's domains.
func (a *Admin) Domains(ctx context.Context) ([]Domain, error) {
	return a.domains(ctx, "")
}

func (a *Admin) domains(ctx context.Context, mask string) ([]Domain, error) {
	var out []Domain
	// [V NET GetDomainsInfoList.xml request]: filter{namemask,typemask}, offset, count (0 = all).
	err := a.list(ctx, "getdomainsinfolist", mask, func(offset int) *node {
		return el("commandparams",
			el("filter", leaf("namemask", mask), leaf("typemask", "0")),
			leaf("offset", strconv.Itoa(offset)),
			leaf("count", "0"))
	}, func(it *node) {
		d := Domain{Name: it.Text("name"), Description: it.Text("desc")}
		d.Type, _ = strconv.Atoi(it.Text("domaintype"))
		d.AccountCount, _ = strconv.Atoi(it.Text("accountcount"))
		out = append(out, d)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// EnsureDomain creates the domain unless it exists and reports whether it
// created it ("createdomain" with domainstr [V NET CreateDomain.xml]).
func (a *Admin) EnsureDomain(ctx context.Context, name string) (created bool, err error) {
	if name == "" || strings.ContainsAny(name, "@/\\ \t") {
		return false, fmt.Errorf("icewarp: ensure domain: invalid name %q", name)
	}
	exists := func() (bool, error) {
		ds, err := a.domains(ctx, name)
		if err != nil {
			return false, err
		}
		for _, d := range ds {
			if strings.EqualFold(d.Name, name) {
				return true, nil
			}
		}
		return false, nil
	}
	if ok, err := exists(); err != nil || ok {
		return false, err
	}
	cerr := a.callOK(ctx, "createdomain", name, el("commandparams", leaf("domainstr", name), el("domainproperties")))
	if cerr != nil {
		// A retried create may have succeeded the first time.
		if ok, err := exists(); err == nil && ok {
			return false, nil
		}
		return false, cerr
	}
	return true, nil
}
