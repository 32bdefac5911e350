package setup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/icewarp"
	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/internal/wizard"
	"github.com/iemproject/iem/replay"
)

// ImportChecks are the checks iem-import's set-up shares with its runs:
// they stay with the command, and each returns a *cliutil.UsageError
// naming the field to fix.
type ImportChecks struct {
	// AdminUsage maps what the admin API client reports to the field to
	// fix.
	AdminUsage func(apiURL string, err error) error
	// ProbeURL dials the host of an https URL (field names the setting)
	// and returns its certificate.
	ProbeURL func(ctx context.Context, field, rawURL string) (*wizard.Cert, error)
	// ProbeCert dials host:port over TLS and returns its certificate.
	ProbeCert func(ctx context.Context, field, host, port string) (*wizard.Cert, error)
	// Trusted checks a probed certificate against the trust options.
	Trusted func(field string, ci *wizard.Cert, topt icewarp.TLSOptions) error
	// CheckAdmin logs in to the admin API.
	CheckAdmin func(ctx context.Context, opt icewarp.Options) (*icewarp.Admin, error)
}

// importAnswers is what the import set-up has gathered so far.
type importAnswers struct {
	ImportChecks
	conf     wizard.Config
	confPath string
	archive  string
	ids      []age.Identity
	folder   *archive.Folder
	host     string // of the admin API, the default for the other endpoints
	api      icewarp.Options
	mode     string
	jobs     int
	maps     []string // --domain-map OLD=NEW
}

// Import runs iem-import's set-up and writes the config to confPath.
func Import(ctx context.Context, in io.Reader, out io.Writer, confPath string, checks ImportChecks) error {
	abs, err := ConfigPath(confPath)
	if err != nil {
		return err
	}
	s := &importAnswers{ImportChecks: checks, confPath: abs}
	defer func() {
		if s.folder != nil {
			s.folder.Close()
		}
	}()
	return Run(ctx, in, out, "iem-import", []Step{
		{Title: "Initial info (the archive)", Run: s.initial},
		{Title: "Target (IceWarp admin API)", Run: s.target},
		{Title: "Mail and groupware", Run: s.mail},
		{Title: "Selection", Run: s.selection},
		{Title: "Review", Run: s.review},
	})
}

// openArchive opens the archive folder with the identities given so far.
func (s *importAnswers) openArchive(dir string) error {
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return cliutil.Usagef("archive", "%s is not a folder", dir)
	}
	f, err := archive.OpenFolder(dir, &archive.FolderOptions{Identities: s.ids})
	if err != nil {
		return err
	}
	if len(f.Volumes()) == 0 {
		f.Close()
		return cliutil.Usagef("archive", "%s holds no archive volume (*.iemv): give the folder iem-export wrote", dir)
	}
	for _, v := range f.Volumes() {
		if v.Torn {
			f.Close()
			return cliutil.Usagef("archive", "%s: the export of round %d has not finished; run iem-export again first", v.Name, v.Info.Round)
		}
	}
	if s.folder != nil {
		s.folder.Close()
	}
	s.folder = f
	return nil
}

func (s *importAnswers) initial(ctx context.Context, w *wizard.Wizard) error {
	var keyNeeded bool
	dir, err := w.Ask(wizard.Question{Label: "Archive folder",
		Help: "The folder iem-export wrote (copied to this machine, or shared).",
		Check: func(v string) (string, error) {
			abs, err := filepath.Abs(v)
			if err != nil {
				return "", err
			}
			s.ids = nil
			err = s.openArchive(abs)
			if errors.Is(err, archive.ErrKey) {
				keyNeeded = true
				return abs, nil
			}
			if err != nil {
				return "", err
			}
			keyNeeded = false
			return abs, nil
		}})
	if err != nil {
		return err
	}
	s.archive = dir
	s.conf.Add("archive", dir)
	if keyNeeded {
		key, err := w.Ask(wizard.Question{Label: "Key file",
			Help: "The archive is encrypted: an age identity file (AGE-SECRET-KEY-…) or the file holding its passphrase.",
			Check: func(v string) (string, error) {
				abs, err := filepath.Abs(v)
				if err != nil {
					return "", err
				}
				field := "identity"
				ids, err := cliutil.Identities([]string{abs})
				if err != nil {
					field = "passphrase-file"
					_, id, perr := cliutil.Passphrase(abs)
					if perr != nil {
						return "", cliutil.Usagef("identity", "%s is neither an age identity file nor a passphrase file", abs)
					}
					ids = []age.Identity{id}
				}
				s.ids = ids
				if err := s.openArchive(dir); err != nil {
					if errors.Is(err, archive.ErrKey) {
						return "", cliutil.Usagef(field, "this key does not open the archive")
					}
					return "", err
				}
				return field + "=" + abs, nil
			}})
		if err != nil {
			return err
		}
		field, path, _ := strings.Cut(key, "=")
		if field == "identity" {
			s.conf.Add("identity", path)
		} else {
			s.conf.Set("passphrase-file", path)
		}
	}
	im, err := replay.New([]*archive.Folder{s.folder}, replay.Options{})
	if err != nil {
		return fmt.Errorf("archive %s: %w", dir, err)
	}
	users, domains := im.UsersAndDomains()
	w.Printf("  ✓ %d rounds, %d mailboxes, %d groups, domains: %s", s.folder.LastRound(), len(users), len(im.Groups()), strings.Join(domains, ", "))
	return nil
}

func (s *importAnswers) target(ctx context.Context, w *wizard.Wizard) error {
	var ci *wizard.Cert
	u, err := w.Ask(wizard.Question{Label: "IceWarp admin API",
		Help: "The host name of the IceWarp server (mail.example.com), or the admin API's URL\n(https://mail.example.com:32001/icewarpapi/).",
		Check: func(v string) (string, error) {
			if !strings.Contains(v, "://") {
				if strings.ContainsAny(v, "/ ") {
					return "", cliutil.Usagef("api-url", "%q is neither a host name nor a URL", v)
				}
				v = "https://" + net.JoinHostPort(v, "32001") + "/icewarpapi/"
			}
			pu, err := cliutil.CheckURL("api-url", v, "https", "http")
			if err != nil {
				return "", err
			}
			if pu.Path == "" || pu.Path == "/" {
				pu.Path = "/icewarpapi/"
			}
			if _, err := icewarp.New(icewarp.Options{URL: pu.String(), Username: "x", Password: "x"}); err != nil {
				return "", s.AdminUsage(pu.String(), err)
			}
			ci = nil
			if pu.Scheme == "https" {
				if ci, err = s.ProbeURL(ctx, "api-url", pu.String()); err != nil {
					return "", err
				}
			}
			return pu.String(), nil
		}})
	if err != nil {
		return err
	}
	pu, _ := url.Parse(u)
	s.host = pu.Hostname()
	s.api.URL = u
	s.conf.Set("api-url", u)
	if ci != nil {
		pinned, err := Trust(w, ci.Fingerprint, ci.Subject, ci.NotAfter, ci.Verify(),
			"Compare the fingerprint with the one IceWarp shows (administration console: System → Certificates).")
		if err != nil {
			return err
		}
		if pinned {
			s.api.TLS.PinSHA256 = strings.TrimPrefix(ci.Fingerprint, "sha256:")
			s.conf.Set("trust-cert", ci.Fingerprint)
		}
	} else {
		w.Printf("  ! http:// sends the administrator's password in clear: use it on a trusted network only")
	}
	if _, _, err := AskLogin(w, Login{Label: "Admin user",
		Help:     "An IceWarp administrator (email address).",
		Checking: "logging in…",
		Check: func(user, pw string) error {
			s.api.Username, s.api.Password = user, pw
			opt := s.api
			opt.Retry.Attempts = 3
			admin, err := s.CheckAdmin(ctx, opt)
			if err != nil {
				return err
			}
			admin.Logout(ctx)
			w.Printf("  ✓ IceWarp accepted the login of %s", user)
			return nil
		}}); err != nil {
		return err
	}
	s.conf.Set("admin-user", s.api.Username)
	return SaveSecret(&s.conf, s.confPath, "icewarp", "password-file", s.api.Password)
}

// checkEndpoint probes an endpoint that init just asked for: over TLS its
// certificate must be the pinned one or trusted; otherwise the port must
// answer.
func (s *importAnswers) checkEndpoint(ctx context.Context, field, host, port string, useTLS bool) error {
	if !useTLS {
		var d net.Dialer
		dctx, cancel := context.WithTimeout(ctx, wizard.ProbeTimeout)
		defer cancel()
		c, err := d.DialContext(dctx, "tcp", net.JoinHostPort(host, port))
		if err != nil {
			return cliutil.Usagef(field, "%s not reachable: %v", net.JoinHostPort(host, port), err)
		}
		return c.Close()
	}
	ci, err := s.ProbeCert(ctx, field, host, port)
	if err != nil {
		return err
	}
	return s.Trusted(field, ci, s.api.TLS)
}

func (s *importAnswers) mail(ctx context.Context, w *wizard.Wizard) error {
	modes := []string{"imap", "path"}
	w.Printf("  How mail reaches IceWarp: imap (APPEND, works from any machine) or path (message files")
	w.Printf("  written into IceWarp's mail path, faster; run on the IceWarp server as its service user).")
	m, err := w.Choose("Mail mode", modes, 0)
	if err != nil {
		return err
	}
	s.mode = modes[m]
	s.conf.Set("mail-mode", s.mode)
	tlsModes := []string{"tls", "starttls", "none"}
	tm, err := w.Choose("IMAP security", tlsModes, 0)
	if err != nil {
		return err
	}
	defPort := "993"
	if tlsModes[tm] != "tls" {
		defPort = "143"
	}
	if _, err = w.Ask(wizard.Question{Label: "IMAP address", Default: net.JoinHostPort(s.host, defPort),
		Check: func(v string) (string, error) {
			host, port, err := net.SplitHostPort(v)
			if err != nil {
				return "", cliutil.Usagef("imap-addr", "%q is not HOST:PORT", v)
			}
			if err := s.checkEndpoint(ctx, "imap-addr", host, port, tlsModes[tm] == "tls"); err != nil {
				return "", err
			}
			s.conf.Set("imap-addr", v)
			return v, nil
		}}); err != nil {
		return err
	}
	s.conf.Set("imap-tls", tlsModes[tm])
	if s.mode == "path" {
		p, err := w.Ask(wizard.Question{Label: "Mail path",
			Help:  "IceWarp's mail folder (System → Storage → Directories → Mail), e.g. /opt/icewarp/mail.",
			Check: wizard.WritableDir})
		if err != nil {
			return err
		}
		s.conf.Set("mail-path", p)
		w.Printf("  The files must belong to IceWarp's service user: run iem-import as that user, or add")
		w.Printf("  mail-owner = UID:GID to %s.", filepath.Base(s.confPath))
	}
	_, err = w.Ask(wizard.Question{Label: "WebDAV URL", Default: "https://" + s.host + "/webdav/",
		Help: "Where contacts, calendars, tasks and notes go (CardDAV/CalDAV); \"none\" to import mail only.",
		Check: func(v string) (string, error) {
			if strings.EqualFold(v, "none") {
				s.conf.Set("webdav-url", "")
				return v, nil
			}
			u, err := cliutil.CheckURL("webdav-url", v, "https", "http")
			if err != nil {
				return "", err
			}
			port := u.Port()
			if port == "" {
				port = map[string]string{"https": "443", "http": "80"}[u.Scheme]
			}
			if err := s.checkEndpoint(ctx, "webdav-url", u.Hostname(), port, u.Scheme == "https"); err != nil {
				return "", err
			}
			s.conf.Set("webdav-url", u.String())
			return v, nil
		}})
	return err
}

func (s *importAnswers) selection(ctx context.Context, w *wizard.Wizard) error {
	im, err := replay.New([]*archive.Folder{s.folder}, replay.Options{})
	if err != nil {
		return err
	}
	_, domains := im.UsersAndDomains()
	w.Printf("  The archive's domains: %s", strings.Join(domains, ", "))
	if _, err := w.Ask(wizard.Question{Label: "Domain map", Default: "none",
		Help: "Rename domains on the way: OLD=NEW pairs separated by spaces, or none to keep them.",
		Check: func(v string) (string, error) {
			if strings.EqualFold(v, "none") {
				return v, nil
			}
			for _, m := range strings.Fields(v) {
				from, to, ok := strings.Cut(m, "=")
				if !ok || !strings.Contains(to, ".") || from == "" {
					return "", cliutil.Usagef("domain-map", "%q is not OLD=NEW", m)
				}
			}
			s.maps = strings.Fields(v)
			return v, nil
		}}); err != nil {
		return err
	}
	for _, m := range s.maps {
		s.conf.Add("domain-map", m)
	}
	names, err := w.Confirm("Rename Sent Items, Deleted Items and Junk E-mail to IceWarp's Sent, Trash and Spam?", false)
	if err != nil {
		return err
	}
	if names {
		s.conf.Set("icewarp-folder-names", "true")
	}
	s.jobs, err = AskJobs(w, &s.conf, "Mailboxes imported in parallel")
	return err
}

func (s *importAnswers) review(ctx context.Context, w *wizard.Wizard) error {
	domainMap := map[string]string{}
	for _, m := range s.maps {
		from, to, _ := strings.Cut(m, "=")
		domainMap[strings.ToLower(from)] = strings.ToLower(to)
	}
	im, err := replay.New([]*archive.Folder{s.folder}, replay.Options{DomainMap: domainMap,
		IceWarpNames: s.conf.Get("icewarp-folder-names") == "true"})
	if err != nil {
		return err
	}
	led, err := replay.OpenLedgerReadOnly(filepath.Join(s.archive, "iem-import.ledger"))
	if err != nil {
		return err
	}
	var tb strings.Builder
	err = im.Plan(&tb, led)
	if led != nil {
		led.Close()
	}
	if err != nil {
		return err
	}
	PrintIndented(w, tb.String())
	w.Printf("  archive:   %s (%d rounds)", s.archive, s.folder.LastRound())
	w.Printf("  target:    %s as %s", s.api.URL, s.api.Username)
	w.Printf("  mail:      %s over %s; groupware: %s", s.mode, s.conf.Get("imap-addr"), orNone(s.conf.Get("webdav-url")))
	w.Printf("  jobs:      %d mailboxes in parallel", s.jobs)
	if err := w.ConfirmSave(&s.conf, s.confPath, "iem-import", "iem-import run --config "+s.confPath,
		"The password is in the file named below (mode 0600), never here."); err != nil {
		return err
	}
	w.Printf("\nNext:\n  iem-import plan --archive %s\n  iem-import run --config %s\n  iem-import check --config %s", s.archive, s.confPath, s.confPath)
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
