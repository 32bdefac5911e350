package imapsink

import (
	"crypto/tls"
	"io"
	"log/slog"

	"github.com/iemproject/iem/internal/retry"
)

// TLSMode says how the connection is secured.
type TLSMode int

const (
	TLSNone     TLSMode = iota // plain text (loopback tests only)
	TLSStartTLS                // STARTTLS (RFC 3501 §6.2.1) after connecting
	TLSImplicit                // TLS from the first byte (port 993)
)

// AuthzMode says how the administrator logs in on behalf of the mailbox owner.
type AuthzMode int

const (
	// AuthzPlain is AUTHENTICATE PLAIN with authzid=mailbox,
	// authcid=AdminUser (RFC 4616), as IceWarp does (icewarp.md §4 [MS]).
	AuthzPlain AuthzMode = iota
	// AuthzMasterUser is LOGIN "<mailbox><sep><AdminUser>", Dovecot's
	// master-user form (testbed.md §1c); sep is Options.MasterSeparator.
	AuthzMasterUser
	// AuthzNone logs in as AdminUser itself (a mailbox's own credentials).
	AuthzNone
)

// Options configure [Dial]. The zero value of each field means its default.
type Options struct {
	// Addr is host:port of the IMAP server.
	Addr string
	// TLS selects plain, STARTTLS or implicit TLS; TLSConfig is used for
	// both TLS modes (nil: defaults, ServerName from Addr).
	TLS       TLSMode
	TLSConfig *tls.Config
	// AdminUser and AdminPassword authenticate; see AuthzMode.
	AdminUser, AdminPassword string
	AuthzMode                AuthzMode
	// MasterSeparator joins mailbox and admin for AuthzMasterUser
	// (default "*").
	MasterSeparator string
	// Connections is the number of IMAP connections per mailbox (default 4:
	// APPEND is bound by the server's per-message work, which parallel
	// connections overlap; see BenchmarkAppend).
	Connections int
	// Window is the number of APPEND commands in flight per connection in
	// AppendBatch (default 16).
	Window int
	// NoMultiAppend makes AppendBatch send every message with go-imap's
	// APPEND even when the server offers LITERAL+ and MULTIAPPEND.
	NoMultiAppend bool
	// Logger receives retries and reconnects (nil: discard). Secrets are
	// never logged.
	Logger *slog.Logger
	// DebugWriter, if set, receives the raw protocol of every connection.
	// Authentication exchanges are replaced by "[authentication redacted]".
	// Message bodies do appear in it.
	DebugWriter io.Writer
	// Retry is the policy for transient failures (broken connections,
	// [UNAVAILABLE], [INUSE], [LIMIT] answers).
	Retry retry.Policy
}

func (o *Options) connections() int {
	if o.Connections <= 0 {
		return 4
	}
	return o.Connections
}

func (o *Options) window() int {
	if o.Window <= 0 {
		return 16
	}
	return o.Window
}
