package directory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Search filters [I ews.md §5.2]. homeMDB marks a mailbox on every Exchange
// version; msExchRecipientTypeDetails (2007+) also catches mail users, and
// lets a directory without homeMDB in its schema still be read. Disabled
// accounts are deliberately not filtered out.
const (
	mailboxFilter   = "(&(objectCategory=person)(objectClass=user)(|(homeMDB=*)(msExchRecipientTypeDetails=*)))"
	groupFilter     = "(objectClass=group)"
	contactFilter   = "(&(objectClass=contact)(|(mail=*)(proxyAddresses=*)))"
	dynamicFilter   = "(objectClass=msExchDynamicDistributionList)"
	recipientFilter = "(|" + mailboxFilter + groupFilter + contactFilter + dynamicFilter + ")"
)

// requestTimeout bounds one LDAP request; cancelling ctx ends it sooner.
const requestTimeout = 2 * time.Minute

// maxRangeRounds bounds range retrieval of one attribute: 10 million values
// at AD's 1,500 per round.
const maxRangeRounds = 10_000_000 / 1500

// Read connects to the directory described by opt, binds, and reads every
// mailbox, group and mail contact under the base DN. opt is checked with
// [Validate] before any network I/O. Cancelling ctx closes the connection.
func Read(ctx context.Context, opt Options) (*Snapshot, error) {
	return read(ctx, opt, recipientFilter)
}

// Find is Read restricted to the recipients that carry one of addrs, as
// primary or secondary SMTP address, X500 address or legacyExchangeDN; for
// checking a few addresses without reading a whole directory. Groups in the
// result list MemberDNs, but Members only resolves members that are
// themselves in the result.
func Find(ctx context.Context, opt Options, addrs ...string) (*Snapshot, error) {
	if err := Validate(opt); err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return build(nil), nil
	}
	var b strings.Builder
	b.WriteString("(&" + recipientFilter + "(|")
	for _, a := range addrs {
		b.WriteString(AddressFilter(a))
	}
	b.WriteString("))")
	return read(ctx, opt, b.String())
}

// AddressFilter returns an LDAP filter (RFC 4515) matching the objects that
// carry addr as mail, SMTP or X500 proxy address or legacyExchangeDN. An
// "SMTP:", "X500:" or "EX:" prefix is removed first. The value is escaped
// with ldap.EscapeFilter, so "*", "(", ")", "\" and NUL match literally.
func AddressFilter(addr string) string {
	a := strings.TrimSpace(addr)
	if i := strings.IndexByte(a, ':'); i > 0 {
		switch strings.ToUpper(a[:i]) {
		case "EX", "X500", "SMTP":
			a = strings.TrimSpace(a[i+1:])
		}
	}
	v := ldap.EscapeFilter(a)
	return "(|(mail=" + v + ")(proxyAddresses=smtp:" + v + ")(proxyAddresses=x500:" + v + ")(legacyExchangeDN=" + v + "))"
}

func read(ctx context.Context, opt Options, filter string) (*Snapshot, error) {
	if err := Validate(opt); err != nil {
		return nil, err
	}
	u, _ := parseURL(opt.URL) // checked by Validate
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &reader{opt: opt, log: log}
	conn, err := dial(ctx, u, opt)
	if err != nil {
		return nil, ctxErr(ctx, fmt.Errorf("directory: connect %s: %w", u.Host, err))
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	r.conn = conn

	if opt.StartTLS {
		cfg, verr := keepVerifyError(tlsConfig(opt, u))
		if err := conn.StartTLS(cfg); err != nil {
			if *verr != nil {
				err = *verr // go-ldap flattens the handshake error to text
			}
			return nil, ctxErr(ctx, fmt.Errorf("directory: starttls %s: %w", u.Host, err))
		}
	}
	if opt.BindDN != "" {
		// One bind, never repeated: each refused simple bind is a failed
		// logon that brings the account closer to lockout.
		if err := conn.Bind(opt.BindDN, opt.Password); err != nil {
			if ldap.IsErrorWithCode(err, ldap.LDAPResultStrongAuthRequired) && u.Scheme == "ldap" && !opt.StartTLS {
				// Domain controllers that require LDAP signing refuse simple
				// binds in clear text [V ews.md §5.3, ldapwiki "LDAP Signing"].
				return nil, fmt.Errorf("directory: bind as %s: the server requires tls for simple binds: use ldaps:// or starttls: %w", bindForm(opt.BindDN), err)
			}
			if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
				return nil, ctxErr(ctx, fmt.Errorf("directory: bind as %s: the directory refused the credentials (LDAP result 49, invalidCredentials%s); not retried: %w",
					bindForm(opt.BindDN), adReason(err), err))
			}
			return nil, ctxErr(ctx, fmt.Errorf("directory: bind as %s: %w", bindForm(opt.BindDN), err))
		}
	}
	base := opt.BaseDN
	if base == "" {
		if base, err = r.defaultNamingContext(); err != nil {
			return nil, ctxErr(ctx, err)
		}
	}
	entries, err := r.search(ctx, base, filter)
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	return build(entries), nil
}

// bindForm describes a simple-bind name and the form AD reads it in:
// `distinguished name "CN=svc,OU=IT,DC=example,DC=com"`, `user principal
// name "svc@example.com"` or `down-level name "EXAMPLE\svc"`. The
// password never goes with it.
func bindForm(dn string) string {
	q := strconv.Quote(dn)
	if !strings.ContainsRune(dn, '"') && strconv.CanBackquote(dn) {
		q = `"` + dn + `"` // keep a backslash readable
	}
	switch {
	case strings.Contains(dn, "="):
		return "distinguished name " + q
	case strings.Contains(dn, `\`):
		return "down-level name " + q
	case strings.Contains(dn, "@"):
		return "user principal name " + q
	}
	return "name " + q + " (neither a DN, a user principal name nor DOMAIN\\user)"
}

// adSubcodes are the "data" codes of Active Directory's diagnostic message
// for result 49 ("80090308: LdapErr: ... AcceptSecurityContext error, data
// 52e, v4563") [learn ldap-bind error codes, ldapwiki "Common Active
// Directory Bind Errors"].
var adSubcodes = map[string]string{
	"525": "no such user",
	"52e": "wrong password or user",
	"530": "logon not permitted at this time",
	"531": "logon not permitted from this workstation",
	"532": "password expired",
	"533": "account disabled",
	"701": "account expired",
	"773": "the user must reset the password",
	"775": "account locked out",
}

// adReason returns ": <reason>" for the AD subcode in err's diagnostic
// message, or "".
func adReason(err error) string {
	var le *ldap.Error
	if !errors.As(err, &le) || le.Err == nil {
		return ""
	}
	_, rest, ok := strings.Cut(le.Err.Error(), "data ")
	if !ok {
		return ""
	}
	code, _, _ := strings.Cut(rest, ",")
	if r, ok := adSubcodes[strings.ToLower(strings.TrimSpace(code))]; ok {
		return ": " + r
	}
	return ""
}

// ctxErr prefers the context's error when it caused err.
func ctxErr(ctx context.Context, err error) error {
	if ce := ctx.Err(); ce != nil {
		return fmt.Errorf("directory: %w", ce)
	}
	return err
}

func dial(ctx context.Context, u *url.URL, opt Options) (*ldap.Conn, error) {
	port := u.Port()
	if port == "" {
		port = "389"
		if u.Scheme == "ldaps" {
			port = "636"
		}
	}
	d := net.Dialer{Timeout: 30 * time.Second}
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return nil, err
	}
	isTLS := u.Scheme == "ldaps"
	if isTLS {
		tc := tls.Client(c, tlsConfig(opt, u))
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, err
		}
		c = tc
	}
	conn := ldap.NewConn(c, isTLS)
	conn.Start()
	conn.SetTimeout(requestTimeout)
	return conn, nil
}

func tlsConfig(opt Options, u *url.URL) *tls.Config {
	var c *tls.Config
	if opt.TLSConfig != nil {
		c = opt.TLSConfig.Clone()
	} else {
		c = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if c.ServerName == "" {
		c.ServerName = u.Hostname()
	}
	return c
}

// keepVerifyError returns a copy of c that verifies the server certificate
// itself, as crypto/tls would, and remembers a failure as a
// *tls.CertificateVerificationError. go-ldap's StartTLS reports handshake
// failures as text only; this keeps them typed for errors.As.
func keepVerifyError(c *tls.Config) (*tls.Config, *error) {
	verr := new(error)
	if c.InsecureSkipVerify {
		return c, verr
	}
	c = c.Clone()
	user := c.VerifyConnection
	c.InsecureSkipVerify = true // verification moves into VerifyConnection
	c.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			*verr = errors.New("directory: server sent no certificate")
			return *verr
		}
		inter := x509.NewCertPool()
		for _, cert := range cs.PeerCertificates[1:] {
			inter.AddCert(cert)
		}
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
			DNSName:       cs.ServerName,
			Roots:         c.RootCAs,
			Intermediates: inter,
		})
		if err != nil {
			*verr = &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
			return *verr
		}
		if user != nil {
			return user(cs)
		}
		return nil
	}
	return c, verr
}

type reader struct {
	opt  Options
	log  *slog.Logger
	conn *ldap.Conn
}

func (r *reader) defaultNamingContext() (string, error) {
	req := ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"defaultNamingContext"}, nil)
	res, err := r.conn.Search(req)
	if err != nil {
		return "", fmt.Errorf("directory: read rootdse: %w", err)
	}
	for _, e := range res.Entries {
		if v := e.GetAttributeValue("defaultNamingContext"); v != "" {
			return v, nil
		}
	}
	return "", errors.New("directory: rootdse has no defaultNamingContext: set the base dn")
}

// sdFlags is the LDAP_SERVER_SD_FLAGS_OID control (1.2.840.113556.1.4.801)
// asking for owner, group and DACL (7) but not the SACL: without it AD
// returns nTSecurityDescriptor only to readers with SeSecurityPrivilege,
// since the SACL is part of the default answer [MS-ADTS 3.1.1.3.4.1.11,
// INFERRED from its description; value is BER SEQUENCE { INTEGER 7 }].
var sdFlags = ldap.NewControlString("1.2.840.113556.1.4.801", false, "\x30\x03\x02\x01\x07")

// search runs one paged subtree search (RFC 2696) and completes ranged
// member values.
func (r *reader) search(ctx context.Context, base, filter string) ([]*entry, error) {
	want := make([]string, 0, len(attrs))
	for _, a := range attrs {
		if a == "member" && r.opt.rangeStep > 0 {
			a = fmt.Sprintf("member;range=0-%d", r.opt.rangeStep-1)
		}
		want = append(want, a)
	}
	size := r.opt.PageSize
	if size == 0 {
		size = DefaultPageSize
	}
	paging := ldap.NewControlPaging(uint32(size))
	var out []*entry
	for page := 1; ; page++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			filter, want, []ldap.Control{paging, sdFlags})
		res, err := r.conn.Search(req)
		if err != nil {
			return nil, fmt.Errorf("directory: search %s page %d: %w", base, page, err)
		}
		r.log.Debug("directory page read", "page", page, "entries", len(res.Entries), "referrals", len(res.Referrals))
		for _, le := range res.Entries {
			e, err := r.convert(le)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		c, _ := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
		if c == nil || len(c.Cookie) == 0 {
			return out, nil
		}
		paging.SetCookie(c.Cookie)
	}
}

// convert copies an LDAP entry, fetching the rest of any ranged attribute.
func (r *reader) convert(le *ldap.Entry) (*entry, error) {
	e := &entry{dn: le.DN}
	for _, a := range le.Attributes {
		name, lo, hi, ranged := parseRange(a.Name)
		if ranged && lo != 0 {
			return nil, fmt.Errorf("%w: %s: %s starts at %d, want 0", ErrProtocol, le.DN, a.Name, lo)
		}
		for _, v := range a.ByteValues {
			e.add(name, string(v))
		}
		if ranged && hi >= 0 {
			if err := r.rest(e, name, hi+1); err != nil {
				return nil, err
			}
		}
	}
	return e, nil
}

// rest asks for name;range=next-* (or next-(next+step-1)) on e's DN until
// the server answers with a range ending in "*" [V ews.md §5.3, learn
// searching-using-range-retrieval].
func (r *reader) rest(e *entry, name string, next int) error {
	for round := 0; round < maxRangeRounds; round++ {
		ask := fmt.Sprintf("%s;range=%d-*", name, next)
		if s := r.opt.rangeStep; s > 0 {
			ask = fmt.Sprintf("%s;range=%d-%d", name, next, next+s-1)
		}
		req := ldap.NewSearchRequest(e.dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", []string{ask}, nil)
		res, err := r.conn.Search(req)
		if err != nil {
			return fmt.Errorf("directory: range retrieval %s of %s: %w", ask, e.dn, err)
		}
		r.log.Debug("directory range read", "dn", e.dn, "range", ask)
		var got *ldap.EntryAttribute
		for _, le := range res.Entries {
			for _, a := range le.Attributes {
				if n, _, _, ok := parseRange(a.Name); ok && n == name {
					got = a
				}
			}
		}
		if got == nil {
			return nil // AD answers nothing when asked past the last value
		}
		_, lo, hi, _ := parseRange(got.Name)
		if lo != next {
			return fmt.Errorf("%w: range retrieval of %s: asked %s, got %s", ErrProtocol, e.dn, ask, got.Name)
		}
		for _, v := range got.ByteValues {
			e.add(name, string(v))
		}
		if hi < 0 {
			return nil
		}
		if hi < lo {
			return fmt.Errorf("%w: range retrieval of %s: bad range %s", ErrProtocol, e.dn, got.Name)
		}
		next = hi + 1
	}
	return fmt.Errorf("%w: range retrieval of %s: more than %d rounds", ErrProtocol, e.dn, maxRangeRounds)
}

// parseRange splits "member;range=0-1499" into ("member", 0, 1499, true) and
// "member;range=1500-*" into ("member", 1500, -1, true). Other options are
// dropped; the name is lower-cased.
func parseRange(attr string) (name string, lo, hi int, ranged bool) {
	parts := strings.Split(attr, ";")
	name = strings.ToLower(parts[0])
	for _, p := range parts[1:] {
		v, ok := strings.CutPrefix(strings.ToLower(p), "range=")
		if !ok {
			continue
		}
		a, b, ok := strings.Cut(v, "-")
		if !ok {
			continue
		}
		l, err := strconv.Atoi(a)
		if err != nil || l < 0 {
			continue
		}
		h := -1
		if b != "*" {
			if h, err = strconv.Atoi(b); err != nil || h < 0 {
				continue
			}
		}
		return name, l, h, true
	}
	return name, 0, 0, false
}
