package directory

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// DefaultPageSize is the paged-results page size used when Options.PageSize
// is zero. Active Directory caps pages at MaxPageSize, 1,000 by default
// [V learn ldap-paged-result-oid-string].
const DefaultPageSize = 500

// Options configures [Read] and [Find]. The zero value of every field except
// URL means its default.
type Options struct {
	// URL is the server, "ldap://host[:port]" or "ldaps://host[:port]"; the
	// scheme is case-insensitive. No path, query or user info is accepted.
	URL string
	// BindDN is the simple-bind name: a DN, or what AD also accepts, a
	// user principal name ("admin@example.com") or "DOMAIN\user". Empty means
	// an anonymous connection.
	BindDN string
	// Password goes with BindDN. It is never logged or put in an error.
	Password string
	// BaseDN is the search base; empty means the server's RootDSE
	// defaultNamingContext.
	BaseDN string
	// StartTLS upgrades an ldap:// connection before binding. It is refused
	// with ldaps://, which is TLS from the start.
	StartTLS bool
	// TLSConfig is used for ldaps:// and StartTLS; nil means the system roots
	// with the URL's host as server name.
	TLSConfig *tls.Config
	// PageSize is the paged-results page size; 0 means DefaultPageSize.
	PageSize int
	// Logger receives debug lines about pages, ranges and referrals; nil
	// discards them.
	Logger *slog.Logger

	// rangeStep, when positive, asks for member values in explicit ranges of
	// this size from the first search on. Active Directory ranges on its own
	// at MaxValRange; Samba only when asked, so tests set this.
	rangeStep int
}

// LogValue keeps the password out of logs when Options is logged.
func (o Options) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("url", o.URL),
		slog.String("bind_dn", o.BindDN),
		slog.Bool("password_set", o.Password != ""),
		slog.String("base_dn", o.BaseDN),
		slog.Bool("starttls", o.StartTLS),
		slog.Int("page_size", o.PageSize),
	)
}

// Validate checks opt without any network I/O. It returns nil, or one
// [*FieldError] per invalid field, joined with errors.Join.
func Validate(opt Options) error {
	var errs []error
	bad := func(field, value, reason string) {
		errs = append(errs, &FieldError{Field: field, Value: value, Reason: reason})
	}
	u, err := parseURL(opt.URL)
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			errs = append(errs, fe)
		}
	}
	if opt.StartTLS && u != nil && u.Scheme == "ldaps" {
		bad("directory-starttls", "", "cannot be combined with an ldaps:// url")
	}
	if opt.BindDN != "" && opt.Password == "" {
		bad("directory-password", "", "required with a bind dn")
	}
	if opt.BindDN == "" && opt.Password != "" {
		bad("directory-bind-dn", "", "required with a password")
	}
	if strings.ContainsAny(opt.BindDN, "\x00\r\n") {
		bad("directory-bind-dn", opt.BindDN, "contains a control character")
	}
	if opt.BaseDN != "" {
		if _, err := ldap.ParseDN(opt.BaseDN); err != nil {
			bad("directory-base-dn", opt.BaseDN, "not a distinguished name")
		}
	}
	if opt.PageSize < 0 {
		bad("directory-page-size", "", "must not be negative")
	}
	return errors.Join(errs...)
}

// parseURL checks the directory URL and returns it with a lowercase scheme.
func parseURL(raw string) (*url.URL, error) {
	bad := func(value, reason string) error {
		if strings.Contains(value, "@") {
			value = "" // may hold user info with a password
		}
		return &FieldError{Field: "directory-url", Value: value, Reason: reason}
	}
	if raw == "" {
		return nil, bad("", "required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, bad(raw, "not a url")
	}
	switch strings.ToLower(u.Scheme) {
	case "ldap", "ldaps":
		u.Scheme = strings.ToLower(u.Scheme)
	case "":
		return nil, bad(raw, "missing scheme: use ldap:// or ldaps://")
	default:
		return nil, bad(raw, "scheme must be ldap or ldaps")
	}
	if u.User != nil {
		return nil, &FieldError{Field: "directory-url", Reason: "must not carry user info: use the bind dn and password options"}
	}
	if u.Hostname() == "" {
		return nil, bad(raw, "missing host")
	}
	if p := u.Port(); p != "" {
		if _, err := net.LookupPort("tcp", p); err != nil {
			return nil, bad(raw, "bad port")
		}
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, bad(raw, "must not have a path or query: set the base dn option instead")
	}
	return u, nil
}
