package dav

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
)

func xmlText(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// EnsureCalendar creates the calendar collection owner/folder with
// MKCALENDAR (RFC 4791 §5.3.1), restricted to the given components
// ("VEVENT", "VTODO", "VJOURNAL"; none: the server's default). An existing
// calendar is left alone.
func (c *Client) EnsureCalendar(ctx context.Context, owner, folder string, components []string) error {
	var comps strings.Builder
	if len(components) > 0 {
		comps.WriteString("<C:supported-calendar-component-set>")
		for _, comp := range components {
			fmt.Fprintf(&comps, `<C:comp name="%s"/>`, xmlText(comp))
		}
		comps.WriteString("</C:supported-calendar-component-set>")
	}
	// Body shape: RFC 4791 §5.3.1.2 example.
	body := `<?xml version="1.0" encoding="utf-8"?>` +
		`<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>` +
		`<D:displayname>` + xmlText(folder) + `</D:displayname>` + comps.String() +
		`</D:prop></D:set></C:mkcalendar>`
	return c.mkcol(ctx, "MKCALENDAR", owner, folder, body, "calendar")
}

// EnsureAddressBook creates the address book owner/folder with an extended
// MKCOL (RFC 5689 §3, RFC 6352 §6.3.1). An existing one is left alone.
func (c *Client) EnsureAddressBook(ctx context.Context, owner, folder string) error {
	// Body shape: RFC 6352 §6.3.1.1 example.
	body := `<?xml version="1.0" encoding="utf-8"?>` +
		`<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>` +
		`<D:resourcetype><D:collection/><C:addressbook/></D:resourcetype>` +
		`<D:displayname>` + xmlText(folder) + `</D:displayname>` +
		`</D:prop></D:set></D:mkcol>`
	return c.mkcol(ctx, "MKCOL", owner, folder, body, "addressbook")
}

// EnsureCollection creates a plain WebDAV collection owner/folder with
// MKCOL (RFC 4918 §9.3), e.g. for IceWarp note folders, which hold
// text/x-vnote items (icewarp.md §3). An existing collection is left alone.
func (c *Client) EnsureCollection(ctx context.Context, owner, folder string) error {
	return c.mkcol(ctx, "MKCOL", owner, folder, "", "collection")
}

func (c *Client) mkcol(ctx context.Context, method, owner, folder, body, kind string) error {
	u := c.collection(owner, folder)
	var hdr http.Header
	if body != "" {
		hdr = http.Header{"Content-Type": {`application/xml; charset="utf-8"`}}
	}
	_, _, err := c.do(ctx, method, u, hdr, []byte(body), http.StatusCreated, http.StatusOK, http.StatusNoContent)
	var he *HTTPError
	if err == nil || !errors.As(err, &he) {
		return err
	}
	switch he.StatusCode {
	case http.StatusMethodNotAllowed, http.StatusConflict, http.StatusForbidden:
		// RFC 4918 §9.3.1: 405 when the resource exists. Radicale and
		// others answer 409 or 403; check what is there.
		types, perr := c.resourceTypes(ctx, u)
		if perr != nil {
			return err
		}
		if types[kind] {
			return nil
		}
		return fmt.Errorf("%w: %s is not a %s (%v)", ErrNotDAV, u.Redacted(), kind, err)
	}
	return err
}

// multistatus is the PROPFIND answer (RFC 4918 §14.16).
type multistatus struct {
	Responses []struct {
		Href     string `xml:"DAV: href"`
		Propstat []struct {
			Status string `xml:"DAV: status"`
			Prop   struct {
				ETag         string `xml:"DAV: getetag"`
				ContentType  string `xml:"DAV: getcontenttype"`
				ResourceType struct {
					Types []xml.Name `xml:",any"`
				} `xml:"DAV: resourcetype"`
			} `xml:"DAV: prop"`
		} `xml:"DAV: propstat"`
	} `xml:"DAV: response"`
}

const propfindBody = `<?xml version="1.0" encoding="utf-8"?>` +
	`<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:getetag/><D:getcontenttype/></D:prop></D:propfind>`

func (c *Client) propfind(ctx context.Context, u *url.URL, depth string) (*multistatus, error) {
	hdr := http.Header{"Content-Type": {`application/xml; charset="utf-8"`}, "Depth": {depth}}
	_, data, err := c.do(ctx, "PROPFIND", u, hdr, []byte(propfindBody), http.StatusMultiStatus)
	if err != nil {
		return nil, err
	}
	var ms multistatus
	if err := xml.Unmarshal(data, &ms); err != nil {
		return nil, fmt.Errorf("dav: PROPFIND %s: %w", u.Redacted(), err)
	}
	return &ms, nil
}

func (c *Client) resourceTypes(ctx context.Context, u *url.URL) (map[string]bool, error) {
	ms, err := c.propfind(ctx, u, "0")
	if err != nil {
		return nil, err
	}
	types := map[string]bool{}
	for _, r := range ms.Responses {
		for _, ps := range r.Propstat {
			for _, t := range ps.Prop.ResourceType.Types {
				types[t.Local] = true
			}
		}
	}
	return types, nil
}

// Resource is one item of a collection.
type Resource struct {
	Name        string // resource name (last path segment, unescaped)
	ETag        string
	ContentType string
}

// List returns the items of a collection (PROPFIND Depth: 1, RFC 4918
// §9.1), without the collection itself and without sub-collections.
func (c *Client) List(ctx context.Context, owner, folder string) ([]Resource, error) {
	u := c.collection(owner, folder)
	ms, err := c.propfind(ctx, u, "1")
	if err != nil {
		return nil, err
	}
	var out []Resource
	for _, r := range ms.Responses {
		href, err := url.Parse(strings.TrimSpace(r.Href))
		if err != nil {
			continue
		}
		p := href.Path
		if strings.HasSuffix(p, "/") || strings.TrimSuffix(p, "/") == strings.TrimSuffix(u.Path, "/") {
			continue
		}
		res := Resource{Name: path.Base(p)}
		collection := false
		for _, ps := range r.Propstat {
			if !strings.Contains(ps.Status, " 200") {
				continue
			}
			if ps.Prop.ETag != "" {
				res.ETag = ps.Prop.ETag
			}
			if ps.Prop.ContentType != "" {
				res.ContentType = ps.Prop.ContentType
			}
			for _, t := range ps.Prop.ResourceType.Types {
				if t.Local == "collection" {
					collection = true
				}
			}
		}
		if !collection {
			out = append(out, res)
		}
	}
	return out, nil
}
