package directory

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	ok := Options{URL: "ldap://dc1.example.com", BindDN: "admin@example.com", Password: "pw"}
	tests := []struct {
		name   string
		mod    func(*Options)
		fields []string // FieldError.Field of each expected error; nil = valid
	}{
		{"valid", func(o *Options) {}, nil},
		{"ldaps upper-case", func(o *Options) { o.URL = "LDAPS://dc1.example.com:636" }, nil},
		{"mixed-case scheme", func(o *Options) { o.URL = "LdAp://127.0.0.1:3890/" }, nil},
		{"anonymous", func(o *Options) { o.BindDN, o.Password = "", "" }, nil},
		{"starttls", func(o *Options) { o.StartTLS = true }, nil},
		{"base dn", func(o *Options) { o.BaseDN = "DC=example,DC=com" }, nil},
		{"empty url", func(o *Options) { o.URL = "" }, []string{"directory-url"}},
		{"http", func(o *Options) { o.URL = "http://dc1.example.com" }, []string{"directory-url"}},
		{"https", func(o *Options) { o.URL = "https://dc1/" }, []string{"directory-url"}},
		{"ldapi", func(o *Options) { o.URL = "ldapi:///var/run/slapd.sock" }, []string{"directory-url"}},
		{"no scheme", func(o *Options) { o.URL = "dc1.example.com" }, []string{"directory-url"}},
		{"no host", func(o *Options) { o.URL = "ldap://" }, []string{"directory-url"}},
		{"bad port", func(o *Options) { o.URL = "ldap://dc1:99999" }, []string{"directory-url"}},
		{"path", func(o *Options) { o.URL = "ldap://dc1/DC=example,DC=com" }, []string{"directory-url"}},
		{"query", func(o *Options) { o.URL = "ldap://dc1/?cn" }, []string{"directory-url"}},
		{"user info", func(o *Options) { o.URL = "ldap://admin:secret@dc1" }, []string{"directory-url"}},
		{"starttls with ldaps", func(o *Options) { o.URL, o.StartTLS = "ldaps://dc1", true }, []string{"directory-starttls"}},
		{"dn without password", func(o *Options) { o.Password = "" }, []string{"directory-password"}},
		{"password without dn", func(o *Options) { o.BindDN = "" }, []string{"directory-bind-dn"}},
		{"newline in bind dn", func(o *Options) { o.BindDN = "cn=a\ncn=b" }, []string{"directory-bind-dn"}},
		{"bad base dn", func(o *Options) { o.BaseDN = "not a dn" }, []string{"directory-base-dn"}},
		{"negative page size", func(o *Options) { o.PageSize = -1 }, []string{"directory-page-size"}},
		{"two bad fields", func(o *Options) { o.URL, o.PageSize = "ftp://x", -5 }, []string{"directory-url", "directory-page-size"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.mod(&o)
			err := Validate(o)
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("Validate(%q) = %v, want nil", o.URL, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidOption) {
				t.Fatalf("Validate(%q) = %v, want ErrInvalidOption", o.URL, err)
			}
			var got []string
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var fe *FieldError
				if !errors.As(e, &fe) {
					t.Fatalf("Validate(%q) error %v is not a *FieldError", o.URL, e)
				}
				got = append(got, fe.Field)
				if !strings.HasPrefix(fe.Error(), "directory: "+fe.Field) {
					t.Errorf("FieldError.Error() = %q, want prefix %q", fe.Error(), "directory: "+fe.Field)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.fields, ",") {
				t.Errorf("Validate(%q) fields = %v, want %v", o.URL, got, tt.fields)
			}
			if strings.Contains(err.Error(), "secret") || (o.Password != "" && strings.Contains(err.Error(), o.Password)) {
				t.Errorf("Validate(%q) = %v, leaks the password", o.URL, err)
			}
		})
	}
}

// TestReadValidatesFirst checks that a bad option fails before any dial: the
// host does not resolve, so a network attempt would give another error.
func TestReadValidatesFirst(t *testing.T) {
	for _, u := range []string{"http://unresolvable.invalid", "ldap://unresolvable.invalid/x?y"} {
		_, err := Read(context.Background(), Options{URL: u})
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "directory-url" {
			t.Errorf("Read(%q) = %v, want *FieldError for directory-url", u, err)
		}
	}
}

func TestOptionsLogValueHidesPassword(t *testing.T) {
	var b strings.Builder
	log := slog.New(slog.NewTextHandler(&b, nil))
	log.Info("x", "opt", Options{URL: "ldap://dc1", BindDN: "admin", Password: "hunter2"})
	if strings.Contains(b.String(), "hunter2") || !strings.Contains(b.String(), "password_set=true") {
		t.Errorf("logged Options = %q, want password hidden and password_set=true", b.String())
	}
}
