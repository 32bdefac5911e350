package icewarpsink

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/iemproject/iem/icewarp"
	"github.com/iemproject/iem/icewarp/dav"
	"github.com/iemproject/iem/internal/retry"
	"github.com/iemproject/iem/replay"
)

// Groupware is replay.Groupware: it writes contacts, events, tasks and notes over CalDAV and
// CardDAV (icewarp.md §3, §6 step 6) through icewarp/dav, whose requests
// go through the one retry loop (429 and 5xx with back-off).
type Groupware struct {
	c *dav.Client
}

// NewGroupware returns the CalDAV/CardDAV writer for --webdav-url. layout
// is the collection path below the URL, with {email}, {user} (the local
// part) and {folder}; "" means IceWarp's "{email}/{folder}/".
func NewGroupware(base, layout, user, password string, topt icewarp.TLSOptions, log *slog.Logger, gate *retry.Gate) (*Groupware, error) {
	tc, err := TLSConfig(topt)
	if err != nil {
		return nil, err
	}
	opt := dav.Options{BaseURL: base, Username: user, Password: password, Logger: log, Retry: retry.Policy{Gate: gate},
		HTTPClient: &http.Client{Timeout: 2 * time.Minute,
			Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: tc, ForceAttemptHTTP2: true}}}
	if layout != "" {
		opt.Layout = func(owner, folder string) string {
			local, _, _ := strings.Cut(owner, "@")
			return strings.NewReplacer("{email}", url.PathEscape(owner), "{user}", url.PathEscape(local),
				"{folder}", url.PathEscape(folder)).Replace(layout)
		}
	}
	c, err := dav.New(opt)
	if err != nil {
		return nil, err
	}
	return &Groupware{c: c}, nil
}

// CheckLayout validates --webdav-layout.
func CheckLayout(s string) error {
	if s == "" {
		return nil
	}
	if !strings.Contains(s, "{folder}") || !strings.HasSuffix(s, "/") || strings.HasPrefix(s, "/") ||
		!strings.Contains(s, "{email}") && !strings.Contains(s, "{user}") {
		return fmt.Errorf("%q: want a relative path ending in \"/\" with {folder} and {email} or {user}", s)
	}
	return nil
}

// davFolder names the collection of a folder path. IceWarp takes ":" in a
// collection name as its GroupWare subfolder separator (icewarp.md §3), so
// the segments are joined with ":" and a ":" or "/" inside a segment
// becomes a look-alike, as imapsink does for mail folder names.
func davFolder(path []string) string {
	seg := make([]string, len(path))
	r := strings.NewReplacer(":", "∶", "/", "∕", "\\", "⧵")
	for i, p := range path {
		seg[i] = r.Replace(p)
		if seg[i] == "" || seg[i] == "." || seg[i] == ".." {
			seg[i] = "_" + seg[i]
		}
	}
	return strings.Join(seg, ":")
}

// EnsureFolder creates the collection for an IceWarp folder type (format.FolderType):
// C an address book, E and T calendars for VEVENT and VTODO, J for
// VJOURNAL, N a plain collection for text/x-vnote items.
func (g *Groupware) EnsureFolder(ctx context.Context, owner string, path []string, typ string) error {
	folder := davFolder(path)
	switch typ {
	case "C":
		return g.c.EnsureAddressBook(ctx, owner, folder)
	case "E":
		return g.c.EnsureCalendar(ctx, owner, folder, []string{"VEVENT"})
	case "T":
		return g.c.EnsureCalendar(ctx, owner, folder, []string{"VTODO"})
	case "J":
		return g.c.EnsureCalendar(ctx, owner, folder, []string{"VJOURNAL"})
	case "N":
		return g.c.EnsureCollection(ctx, owner, folder)
	}
	return fmt.Errorf("folder type %q is not a GroupWare type", typ)
}

// Put stores a resource; refused credentials (401) are replay.ErrCredentials.
func (g *Groupware) Put(ctx context.Context, owner string, path []string, name, contentType string, body []byte) error {
	_, err := g.c.Put(ctx, owner, davFolder(path), name, contentType, body)
	var he *dav.HTTPError
	if errors.As(err, &he) && he.StatusCode == http.StatusUnauthorized {
		return replay.SinkError(replay.ErrCredentials, err)
	}
	return err
}

// ResourceName is dav.ResourceName.
func (g *Groupware) ResourceName(sourceID, contentType string) string {
	return dav.ResourceName(sourceID, contentType)
}

// Delete removes a resource; one that is already gone counts as deleted.
func (g *Groupware) Delete(ctx context.Context, owner string, path []string, name string) error {
	err := g.c.Delete(ctx, owner, davFolder(path), name)
	if errors.Is(err, dav.ErrNotFound) {
		return nil
	}
	return err
}

func (g *Groupware) List(ctx context.Context, owner string, path []string) ([]string, error) {
	res, err := g.c.List(ctx, owner, davFolder(path))
	if err != nil {
		return nil, err
	}
	names := make([]string, len(res))
	for i, r := range res {
		names[i] = r.Name
	}
	return names, nil
}

// TLSConfig mirrors the admin API client's certificate rules (--trust-cert,
// --always-trust) for the WebDAV endpoint, which IceWarp serves from the
// same Control service.
func TLSConfig(o icewarp.TLSOptions) (*tls.Config, error) {
	c := &tls.Config{RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12}
	switch {
	case o.PinSHA256 != "":
		pin, err := hex.DecodeString(strings.ReplaceAll(o.PinSHA256, ":", ""))
		if err != nil || len(pin) != sha256.Size {
			return nil, errors.New("trust-cert: want sha256: and 64 hex digits")
		}
		c.InsecureSkipVerify = true // replaced by the pin check
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("webdav: no server certificate")
			}
			sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if subtle.ConstantTimeCompare(sum[:], pin) != 1 {
				return fmt.Errorf("webdav: server certificate sha256 %x does not match the pin", sum)
			}
			return nil
		}
	case o.InsecureSkipVerify:
		c.InsecureSkipVerify = true
	}
	return c, nil
}
