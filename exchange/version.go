package exchange

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/iemproject/iem/exchange/internal/soap"
)

// Version is an EWS schema version, sent as RequestServerVersion.
type Version int

// Versions [V ews.md §1.1 requestserverversion.md; EXLIB version.py for
// Exchange2016]. VersionAuto means "detect from ServerVersionInfo".
const (
	VersionAuto Version = iota
	Exchange2007SP1
	Exchange2010
	Exchange2010SP1
	Exchange2010SP2
	Exchange2013
	Exchange2013SP1
	Exchange2016
)

var versionNames = [...]string{"", "Exchange2007_SP1", "Exchange2010", "Exchange2010_SP1", "Exchange2010_SP2", "Exchange2013", "Exchange2013_SP1", "Exchange2016"}

// String returns the RequestServerVersion value, e.g. "Exchange2007_SP1".
func (v Version) String() string {
	if v < 0 || int(v) >= len(versionNames) {
		panic(fmt.Sprintf("exchange: unknown Version %d", int(v)))
	}
	if v == VersionAuto {
		return "auto"
	}
	return versionNames[v]
}

// ParseVersion parses a RequestServerVersion value or "auto".
func ParseVersion(s string) (Version, error) {
	if s == "" || s == "auto" {
		return VersionAuto, nil
	}
	for i, n := range versionNames {
		if i > 0 && n == s {
			return Version(i), nil
		}
	}
	return 0, &FieldError{Field: "ews-version", Value: s, Err: fmt.Errorf("unknown version")}
}

// ServerInfo is the server's ServerVersionInfo header.
type ServerInfo struct {
	Major, Minor, MajorBuild, MinorBuild int
	// Version is the Version attribute, absent on 2007 and 2010 SP2,
	// "V2_x"/"V2016_10_10" on 2013+ [V ews.md §1.1 table].
	Version string
}

func (s ServerInfo) String() string {
	return fmt.Sprintf("%d.%d.%d.%d", s.Major, s.Minor, s.MajorBuild, s.MinorBuild)
}

// Request returns the RequestServerVersion to use with this server,
// mapped from the build number [V ews.md §1.1 table; EXLIB version.py].
func (s ServerInfo) Request() Version {
	switch {
	case s.Major <= 8:
		return Exchange2007SP1
	case s.Major == 14 && s.Minor == 0:
		return Exchange2010
	case s.Major == 14 && s.Minor == 1:
		return Exchange2010SP1
	case s.Major == 14:
		return Exchange2010SP2
	case s.Major == 15 && s.Minor == 0 && s.MajorBuild >= 847:
		return Exchange2013SP1
	case s.Major == 15 && s.Minor == 0:
		return Exchange2013
	}
	return Exchange2016
}

func (c *Client) noteServer(n *soap.Node) {
	if n == nil {
		return
	}
	atoi := func(k string) int { v, _ := strconv.Atoi(n.Attr(k)); return v }
	si := ServerInfo{Major: atoi("MajorVersion"), Minor: atoi("MinorVersion"), MajorBuild: atoi("MajorBuildNumber"), MinorBuild: atoi("MinorBuildNumber"), Version: n.Attr("Version")}
	if si.Major == 0 {
		return
	}
	c.mu.Lock()
	if c.server == nil {
		c.server = &si
	}
	c.mu.Unlock()
}

// ServerVersion returns the server's version, asking the server once
// (a GetFolder of msgfolderroot sent as Exchange2007_SP1, which every
// supported server accepts; only the ServerVersionInfo header is used).
func (c *Client) ServerVersion(ctx context.Context) (ServerInfo, error) {
	c.mu.Lock()
	s := c.server
	c.mu.Unlock()
	if s != nil {
		return *s, nil
	}
	build := func(h soap.Header) []byte {
		h.Version = Exchange2007SP1.String()
		return soap.Envelope(h, []byte(`<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>`+
			`<m:FolderIds><t:DistinguishedFolderId Id="msgfolderroot"/></m:FolderIds></m:GetFolder>`))
	}
	err := c.call(ctx, "GetFolder", soap.Header{}, build, func(resp *http.Response) error {
		if err := checkStatus(resp); err != nil {
			return err
		}
		body, err := io.ReadAll(io.LimitReader(soap.NewFilter(resp.Body), 1<<20))
		if err != nil {
			return err
		}
		c.debugResponse(resp, body)
		if bytes.HasSuffix(bytes.TrimSpace(body), []byte(soap.TruncatedMarker)) {
			return ErrTruncated
		}
		root, err := soap.Parse(body)
		if err != nil {
			if resp.StatusCode != http.StatusOK {
				return &HTTPError{Status: resp.StatusCode}
			}
			return fmt.Errorf("%w: %v", ErrTruncated, err)
		}
		// A fault (ServerBusy on the very first request) carries no
		// ServerVersionInfo: hand it to the retry loop.
		if f := root.Path("Envelope", "Body", "Fault"); f != nil {
			return parseFault(f)
		}
		c.noteServer(root.Path("Envelope", "Header", "ServerVersionInfo"))
		return nil
	})
	c.mu.Lock()
	s = c.server
	c.mu.Unlock()
	if s != nil {
		return *s, nil
	}
	if err == nil {
		err = fmt.Errorf("exchange: server sent no ServerVersionInfo")
	}
	return ServerInfo{}, err
}

// RequestVersion returns the RequestServerVersion the client sends:
// Options.Version, or the one detected from the server.
func (c *Client) RequestVersion(ctx context.Context) (Version, error) {
	if c.version != VersionAuto {
		return c.version, nil
	}
	s, err := c.ServerVersion(ctx)
	if err != nil {
		return 0, err
	}
	return s.Request(), nil
}

// prepare returns the SOAP header for an operation on mailbox ("" = the
// admin account, no impersonation) and the schema version in use.
func (c *Client) prepare(ctx context.Context, mailbox string) (soap.Header, Version, error) {
	v, err := c.RequestVersion(ctx)
	if err != nil {
		return soap.Header{}, 0, err
	}
	return soap.Header{Version: v.String(), Impersonate: mailbox, PrimarySmtp: v == Exchange2007SP1}, v, nil
}
