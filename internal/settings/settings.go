// Package settings validates the settings of iem-export and iem-import,
// whichever way they come (command-line flags, a config file applied to
// them, a form), so that every front end checks a field by the same rules
// and names it in the same words: each error is a *cliutil.UsageError
// naming the setting (exit 2).
package settings

import (
	"errors"
	"os"
	"strings"

	"filippo.io/age"

	"github.com/iemproject/iem/exchange"
	"github.com/iemproject/iem/exchange/directory"
	"github.com/iemproject/iem/internal/cliutil"
)

// Values are settings by their long flag names; *cli.Context is one.
type Values interface {
	String(name string) string
	Bool(name string) bool
	Int(name string) int
	Int64(name string) int64
	StringSlice(name string) []string
}

// EWS reads the Exchange Web Services settings (ews-url, admin-user,
// password-file or IEM_EWS_PASSWORD, auth, trust-cert, always-trust,
// legacy-tls, exchange-version) and checks them without I/O.
func EWS(v Values) (exchange.Options, error) {
	u, err := cliutil.CheckURL("ews-url", v.String("ews-url"), "https")
	if err != nil {
		return exchange.Options{}, err
	}
	if v.String("admin-user") == "" {
		return exchange.Options{}, cliutil.Usagef("admin-user", "required: the account that impersonates the mailboxes")
	}
	pw, err := cliutil.Secret("password-file", v.String("password-file"), "IEM_EWS_PASSWORD")
	if err != nil {
		return exchange.Options{}, err
	}
	opt := exchange.Options{URL: u.String(), Username: v.String("admin-user"), Password: pw,
		TrustCert: v.String("trust-cert"), AlwaysTrust: v.Bool("always-trust"), LegacyTLS: v.Bool("legacy-tls")}
	switch strings.ToLower(v.String("auth")) {
	case "basic":
		opt.Auth = exchange.AuthBasic
	case "ntlm":
		opt.Auth = exchange.AuthNTLM
	default:
		return opt, cliutil.Usagef("auth", "%q is not basic or ntlm", v.String("auth"))
	}
	if s := v.String("exchange-version"); s != "" {
		ver, err := exchange.ParseVersion(s)
		if err != nil {
			return opt, cliutil.Usagef("exchange-version", "%v", err)
		}
		opt.Version = ver
	}
	if _, err := exchange.New(opt); err != nil { // checks the trust options without I/O
		var fe *exchange.FieldError
		if errors.As(err, &fe) {
			return opt, cliutil.Usagef(fe.Field, "%v", fe.Err)
		}
		return opt, err
	}
	return opt, nil
}

// Directory reads where the directory comes from: Active Directory over
// LDAP (directory-url, -bind-dn, -password-file or IEM_LDAP_PASSWORD,
// -base, -starttls), or an ldifde export (directory-file). One of the two
// is required.
func Directory(v Values) (opt *directory.Options, file string, err error) {
	switch {
	case v.String("directory-file") != "" && v.String("directory-url") != "":
		return nil, "", cliutil.Usagef("directory-file", "give either --directory-file or --directory-url, not both")
	case v.String("directory-file") != "":
		file = v.String("directory-file")
		if _, err := os.Stat(file); err != nil {
			return nil, "", cliutil.Usagef("directory-file", "%v", err)
		}
		return nil, file, nil
	case v.String("directory-url") == "":
		return nil, "", cliutil.Usagef("directory-url", "required: the Active Directory (ldap:// or ldaps://), or --directory-file")
	}
	du, err := cliutil.CheckURL("directory-url", v.String("directory-url"), "ldap", "ldaps")
	if err != nil {
		return nil, "", err
	}
	pw, err := cliutil.Secret("directory-password-file", v.String("directory-password-file"), "IEM_LDAP_PASSWORD")
	if err != nil {
		return nil, "", err
	}
	opt = &directory.Options{URL: du.String(), BindDN: v.String("directory-bind-dn"), Password: pw,
		BaseDN: v.String("directory-base"), StartTLS: v.Bool("directory-starttls")}
	if err := directory.Validate(*opt); err != nil {
		var fe *directory.FieldError
		if errors.As(err, &fe) {
			return nil, "", cliutil.Usagef(fe.Field, "%s", fe.Reason)
		}
		return nil, "", err
	}
	return opt, "", nil
}

// ArchiveKeys reads the keys of an encrypted archive: the age recipients
// it is written to (encrypt-to) and the identities that read it
// (identity); a passphrase (passphrase-file) is both.
func ArchiveKeys(v Values) ([]age.Recipient, []age.Identity, error) {
	rs, err := cliutil.Recipients(v.StringSlice("encrypt-to"))
	if err != nil {
		return nil, nil, err
	}
	ids, err := cliutil.Identities(v.StringSlice("identity"))
	if err != nil {
		return nil, nil, err
	}
	if p := v.String("passphrase-file"); p != "" {
		r, id, err := cliutil.Passphrase(p)
		if err != nil {
			return nil, nil, err
		}
		rs, ids = append(rs, r), append(ids, id)
	}
	return rs, ids, nil
}
