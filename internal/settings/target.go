package settings

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/iemproject/iem/icewarp"
	"github.com/iemproject/iem/icewarp/imapsink"
	"github.com/iemproject/iem/icewarp/mailpath"
	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/replay"
	"github.com/iemproject/iem/replay/icewarpsink"
)

// Target is the validated form of iem-import's settings: the archive,
// the IceWarp target (admin API, IMAP or the mail path, WebDAV) and the
// run's choices.
type Target struct {
	API                icewarp.Options
	IMAP               imapsink.Options
	WebDAV             string
	DAVLayout          string
	MailOwner          *mailpath.Owner
	ServerID           string
	DomainMap          map[string]string
	Mode               string
	MailPath           string
	Jobs               int
	Ledger             string
	PublicFoldersGroup string
	IceWarpNames       bool
	// ArchiveMailbox is --archive-mailbox, checked (replay.Options.ArchiveMailbox).
	ArchiveMailbox string
	LogLevel       string
	LogFormat      string
	ArchiveDir     string
}

// ImportTarget reads iem-import's settings and checks every field before
// any network call.
func ImportTarget(c Values) (*Target, error) {
	t := &Target{Jobs: c.Int("jobs"), PublicFoldersGroup: c.String("public-folders-group"), IceWarpNames: c.Bool("icewarp-folder-names"),
		LogLevel: c.String("log-level"), LogFormat: c.String("log-format")}
	if _, err := cliutil.Logger(io.Discard, t.LogLevel, t.LogFormat); err != nil {
		return nil, err
	}
	var err error
	if t.ArchiveMailbox, err = ArchiveMailbox(c); err != nil {
		return nil, err
	}
	dirs := c.StringSlice("archive")
	if len(dirs) == 0 {
		return nil, cliutil.Usagef("archive", "required")
	}
	for _, d := range dirs {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			return nil, cliutil.Usagef("archive", "%s is not a folder", d)
		}
	}
	t.ArchiveDir = dirs[0]
	host := c.String("host")
	api := c.String("api-url")
	if api == "" {
		if host == "" {
			return nil, cliutil.Usagef("host", "required (or give --api-url, --imap-addr and --webdav-url)")
		}
		api = "https://" + net.JoinHostPort(host, "32001") + "/icewarpapi/"
	}
	u, err := cliutil.CheckURL("api-url", api, "https", "http")
	if err != nil {
		return nil, err
	}
	if c.String("admin-user") == "" {
		return nil, cliutil.Usagef("admin-user", "required: an IceWarp administrator")
	}
	pw, err := cliutil.Secret("password-file", c.String("password-file"), "IEM_ICEWARP_PASSWORD")
	if err != nil {
		return nil, err
	}
	t.API = icewarp.Options{URL: u.String(), Username: c.String("admin-user"), Password: pw,
		TLS: icewarp.TLSOptions{PinSHA256: strings.TrimPrefix(c.String("trust-cert"), "sha256:"), InsecureSkipVerify: c.Bool("always-trust")}}
	if _, err := icewarp.New(t.API); err != nil {
		var fe *icewarp.FieldError
		if errors.As(err, &fe) {
			return nil, cliutil.Usagef(fe.Field, "%s", fe.Error())
		}
		return nil, err
	}
	if t.DomainMap, err = cliutil.DomainMap(c.StringSlice("domain-map")); err != nil {
		return nil, err
	}
	imapAddr := c.String("imap-addr")
	if imapAddr == "" {
		if host == "" {
			return nil, cliutil.Usagef("imap-addr", "required when --host is not given")
		}
		imapAddr = net.JoinHostPort(host, "993")
	}
	if _, _, err := net.SplitHostPort(imapAddr); err != nil {
		return nil, cliutil.Usagef("imap-addr", "%q is not HOST:PORT", imapAddr)
	}
	t.IMAP = imapsink.Options{Addr: imapAddr, AdminUser: c.String("admin-user"), AdminPassword: pw, Connections: c.Int("imap-connections")}
	switch c.String("imap-tls") {
	case "none":
		t.IMAP.TLS = imapsink.TLSNone
	case "starttls":
		t.IMAP.TLS = imapsink.TLSStartTLS
	case "tls":
		t.IMAP.TLS = imapsink.TLSImplicit
	default:
		return nil, cliutil.Usagef("imap-tls", "%q is not none, starttls or tls", c.String("imap-tls"))
	}
	switch c.String("imap-auth") {
	case "authzid":
		t.IMAP.AuthzMode = imapsink.AuthzPlain
	case "master":
		t.IMAP.AuthzMode = imapsink.AuthzMasterUser
	default:
		return nil, cliutil.Usagef("imap-auth", "%q is not authzid or master", c.String("imap-auth"))
	}
	if t.API.TLS.PinSHA256 != "" || t.API.TLS.InsecureSkipVerify {
		// IceWarp serves one certificate on all its services: the pin
		// (or --always-trust) holds for IMAP as it does for WebDAV.
		if t.IMAP.TLSConfig, err = icewarpsink.TLSConfig(t.API.TLS); err != nil {
			return nil, cliutil.Usagef("trust-cert", "%v", err)
		}
	}
	if t.IMAP.Connections < 1 || t.IMAP.Connections > 16 {
		return nil, cliutil.Usagef("imap-connections", "%d is not between 1 and 16", t.IMAP.Connections)
	}
	t.WebDAV = c.String("webdav-url")
	if t.WebDAV == "" && host != "" {
		t.WebDAV = "https://" + host + "/webdav/"
	}
	if t.WebDAV != "" {
		if _, err := cliutil.CheckURL("webdav-url", t.WebDAV, "https", "http"); err != nil {
			return nil, err
		}
	}
	t.DAVLayout = c.String("webdav-layout")
	if err := icewarpsink.CheckLayout(t.DAVLayout); err != nil {
		return nil, cliutil.Usagef("webdav-layout", "%v", err)
	}
	t.ServerID = c.String("server-id")
	if strings.Trim(t.ServerID, "0123456789") != "" {
		return nil, cliutil.Usagef("server-id", "%q is not a number", t.ServerID)
	}
	if s := c.String("mail-owner"); s != "" {
		u, g, ok := strings.Cut(s, ":")
		uid, err1 := strconv.Atoi(u)
		gid, err2 := strconv.Atoi(g)
		if !ok || err1 != nil || err2 != nil || uid < 0 || gid < 0 {
			return nil, cliutil.Usagef("mail-owner", "%q is not UID:GID (numbers)", s)
		}
		t.MailOwner = &mailpath.Owner{UID: uid, GID: gid}
	}
	t.Mode = c.String("mail-mode")
	switch t.Mode {
	case "imap":
	case "path":
		t.MailPath = c.String("mail-path")
		if t.MailPath == "" {
			return nil, cliutil.Usagef("mail-path", "required with --mail-mode path")
		}
		if st, err := os.Stat(t.MailPath); err != nil || !st.IsDir() {
			return nil, cliutil.Usagef("mail-path", "%s is not a folder", t.MailPath)
		}
	default:
		return nil, cliutil.Usagef("mail-mode", "%q is not imap or path", t.Mode)
	}
	if t.Jobs < 1 || t.Jobs > 64 {
		return nil, cliutil.Usagef("jobs", "%d is not between 1 and 64", t.Jobs)
	}
	t.Ledger = c.String("ledger")
	if t.Ledger == "" {
		t.Ledger = filepath.Join(t.ArchiveDir, "iem-import.ledger")
	}
	return t, nil
}

// ArchiveMailbox reads --archive-mailbox (config key archive-mailbox):
// where the archive mailboxes go, a folder path ("" is replay's default,
// Archive) or "skip".
func ArchiveMailbox(c Values) (string, error) {
	v := c.String("archive-mailbox")
	if _, err := replay.ParseArchiveMailbox(v); err != nil {
		return "", cliutil.Usagef("archive-mailbox", "%v", err)
	}
	return v, nil
}
