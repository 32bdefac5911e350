// Package icewarptest emulates the parts of IceWarp Server that iem-import
// talks to, for tests and for `make demo`: the admin XML API of the Control
// service (POST /icewarpapi/, namespace admin:iq:rpc), a mail path on disk
// with a checker for path mode, an IMAP front end, and a WebDAV
// (CalDAV/CardDAV) front end at /webdav/. It follows the emulator
// specification of shared/research/icewarp.md §7; every wire shape cites its
// source key from icewarp.md §0 beside the code, and every INFERRED
// behaviour (not seen in a source) is marked as such.
//
// Start one with [Start] and stop it with [Server.Close]. All methods are
// safe for concurrent use.
package icewarptest

import (
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/iemproject/iem/icewarp/icewarptest/memimap"
)

// Options configure the emulator. A nil *Options means defaults.
type Options struct {
	// MailRoot is the emulated C_System_Storage_Dir_MailPath. Default: a new
	// temporary directory, removed by Close.
	MailRoot string
	// AdminEmail and AdminPassword are the administrator's credentials for
	// the admin API and for IMAP impersonation. Defaults
	// "admin@icewarp.test" and "admin-secret".
	AdminEmail, AdminPassword string
	// Addr is the HTTP listen address (default "127.0.0.1:0"); IMAPAddr
	// likewise for IMAP.
	Addr, IMAPAddr string
	// Logger receives the emulator's own diagnostics (nil: discard).
	Logger *slog.Logger
	// SortingPrefix turns on IceWarp's alphabetical mailbox sorting
	// (C_System_Storage_Mailbox_UseSorting, icewarp.md §1.2): that many
	// leading characters of the mailbox name, in groups of two, become
	// parent directories. Tests use it to prove the importer asks for
	// u_fullmailboxpath instead of computing it. Default 0 (off).
	SortingPrefix int
	// TLS serves the admin API and WebDAV over HTTPS with a fresh
	// self-signed certificate (see [Server.CertSHA256], [Server.CertPool]).
	TLS bool
}

// Server is a running emulator.
type Server struct {
	opt      Options
	ownRoot  bool
	log      *slog.Logger
	httpLn   net.Listener
	httpSrv  *http.Server
	imapLn   net.Listener
	imapSrv  *imapserver.Server
	cert     tls.Certificate
	scheme   string
	closeErr error
	closed   sync.Once

	mu       sync.Mutex
	sessions map[string]bool
	domains  map[string]*domain
	accounts map[string]*account // by lower-case email
	faults   []*Fault
	calls    []string
	dav      map[string]*davCollection // by "email/Folder"
	wc       webClientState
}

type domain struct {
	name  string
	props map[string]string
}

type account struct {
	email, alias, domain string
	props                map[string]string
	members              []string
	perms                map[string][]Permission // by folder id; absent = inherited
	user                 *memimap.User
	folders              map[string]bool // IMAP folder names (UTF-8) known to exist
	seeded               map[string]seedFile
	known                map[string]bool // .imap files (relative paths) seen at a refresh
	refreshes            int
}

type seedFile struct {
	data []byte
}

// Start starts the emulator on loopback.
func Start(opt *Options) (*Server, error) {
	s := &Server{
		sessions: map[string]bool{},
		domains:  map[string]*domain{},
		accounts: map[string]*account{},
		dav:      map[string]*davCollection{},
	}
	if opt != nil {
		s.opt = *opt
	}
	if s.opt.AdminEmail == "" {
		s.opt.AdminEmail = "admin@icewarp.test"
	}
	if s.opt.AdminPassword == "" {
		s.opt.AdminPassword = "admin-secret"
	}
	if s.opt.Addr == "" {
		s.opt.Addr = "127.0.0.1:0"
	}
	if s.opt.IMAPAddr == "" {
		s.opt.IMAPAddr = "127.0.0.1:0"
	}
	s.log = s.opt.Logger
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.opt.MailRoot == "" {
		dir, err := os.MkdirTemp("", "icewarptest-mail-")
		if err != nil {
			return nil, fmt.Errorf("icewarptest: %w", err)
		}
		s.opt.MailRoot, s.ownRoot = dir, true
	}
	root, err := filepath.Abs(s.opt.MailRoot)
	if err != nil {
		return nil, fmt.Errorf("icewarptest: %w", err)
	}
	s.opt.MailRoot = root
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("icewarptest: %w", err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/icewarpapi/", s.serveAPI)
	mux.HandleFunc("/webdav/", s.serveDAV)
	mux.HandleFunc("/webmail/", s.serveWebClient)
	s.httpLn, err = net.Listen("tcp", s.opt.Addr)
	if err != nil {
		s.cleanup()
		return nil, fmt.Errorf("icewarptest: %w", err)
	}
	s.httpSrv = &http.Server{Handler: mux, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
	s.scheme = "http"
	if s.opt.TLS {
		if s.cert, err = selfSigned(); err != nil {
			s.Close()
			return nil, fmt.Errorf("icewarptest: certificate: %w", err)
		}
		s.scheme = "https"
		s.httpLn = tls.NewListener(s.httpLn, &tls.Config{Certificates: []tls.Certificate{s.cert}})
	}
	go s.httpSrv.Serve(s.httpLn)

	s.imapLn, err = net.Listen("tcp", s.opt.IMAPAddr)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("icewarptest: %w", err)
	}
	s.imapSrv = s.newIMAPServer()
	go s.imapSrv.Serve(aclListener{s.imapLn, s})
	return s, nil
}

// URL returns the admin API URL, http(s)://127.0.0.1:port/icewarpapi/.
func (s *Server) URL() string { return s.scheme + "://" + s.httpLn.Addr().String() + "/icewarpapi/" }

// WebDAVURL returns the WebDAV root, http(s)://127.0.0.1:port/webdav/.
func (s *Server) WebDAVURL() string { return s.scheme + "://" + s.httpLn.Addr().String() + "/webdav/" }

// IMAPAddr returns the IMAP listener's host:port (plain text, no TLS).
func (s *Server) IMAPAddr() string { return s.imapLn.Addr().String() }

// MailRoot returns the emulated mail path.
func (s *Server) MailRoot() string { return s.opt.MailRoot }

// AdminEmail and AdminPassword return the administrator's credentials.
func (s *Server) AdminEmail() string    { return s.opt.AdminEmail }
func (s *Server) AdminPassword() string { return s.opt.AdminPassword }

// Close stops all listeners and removes a temporary mail root.
func (s *Server) Close() error {
	s.closed.Do(func() {
		var errs []error
		if s.httpSrv != nil {
			errs = append(errs, s.httpSrv.Close())
		}
		if s.imapSrv != nil {
			errs = append(errs, s.imapSrv.Close())
		}
		s.cleanup()
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

func (s *Server) cleanup() {
	if s.ownRoot {
		os.RemoveAll(s.opt.MailRoot)
	}
}

// A Fault makes the emulator fail calls, for error and retry tests.
type Fault struct {
	// Command is the lower-case admin API command it applies to ("" for
	// any), or "webdav " plus an HTTP method ("webdav PUT") for WebDAV.
	// ErrorUID and ResultZero apply to admin API commands only.
	Command string
	// Times is how many matching calls fail (0 means 1).
	Times int
	// HTTPStatus answers with this status and an empty body (e.g. 503).
	HTTPStatus int
	// RetryAfter adds a Retry-After header (seconds) to an HTTPStatus answer.
	RetryAfter int
	// ErrorUID answers <iq type="error"><query><error uid="…"/></query></iq>.
	ErrorUID string
	// ResultZero answers <result>0</result>.
	ResultZero bool
	// Reset closes the connection without an answer.
	Reset bool
	// AfterApply carries out the command first and then fails its answer,
	// like a response lost on the way back.
	AfterApply bool
}

// Inject queues a fault; faults are matched in the order injected.
func (s *Server) Inject(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.mu.Lock()
	s.faults = append(s.faults, &f)
	s.mu.Unlock()
}

// takeFault returns the first fault matching command and uses it up.
func (s *Server) takeFault(command string) *Fault {
	for i, f := range s.faults {
		if f.Command == command || f.Command == "" && !strings.HasPrefix(command, "webdav ") {
			f.Times--
			if f.Times <= 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
			c := *f
			return &c
		}
	}
	return nil
}

// ExpireSessions ends all admin API sessions, as a server does when a
// session times out; later calls with an old sid get error uid
// "session_invalid".
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	clear(s.sessions)
	s.mu.Unlock()
}

// Calls returns the commands received so far, in order.
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Account is a snapshot of an emulated account.
type Account struct {
	Email     string
	Type      int               // u_type
	Props     map[string]string // stored variables, lower-case names (u_password included)
	Members   []string          // group members, in the order added
	Aliases   []string          // u_emailalias split at ";"
	Refreshes int               // how often u_directorycache_refreshnow was set
}

// Account returns a snapshot of the account with this email.
func (s *Server) Account(email string) (Account, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[strings.ToLower(email)]
	if a == nil {
		return Account{}, false
	}
	return a.snapshot(), true
}

// Accounts returns snapshots of all accounts, sorted by email.
func (s *Server) Accounts() []Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Account
	for _, a := range s.accounts {
		out = append(out, a.snapshot())
	}
	slices.SortFunc(out, func(x, y Account) int { return strings.Compare(x.Email, y.Email) })
	return out
}

func (a *account) snapshot() Account {
	props := map[string]string{}
	for k, v := range a.props {
		props[k] = v
	}
	t := 0
	fmt.Sscan(a.props["u_type"], &t)
	var aliases []string
	for _, al := range strings.Split(a.props["u_emailalias"], ";") {
		if al = strings.TrimSpace(al); al != "" {
			aliases = append(aliases, al)
		}
	}
	return Account{Email: a.email, Type: t, Props: props, Members: slices.Clone(a.members), Aliases: aliases, Refreshes: a.refreshes}
}

// Domains returns the domain names, sorted.
func (s *Server) Domains() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, d := range s.domains {
		out = append(out, d.name)
	}
	slices.Sort(out)
	return out
}

// Permission is a folder permission as stored (verbatim) by the emulator.
type Permission struct{ Account, Rights string }

// FolderPermissions returns the permissions set on a folder id, and whether
// none were set (inherited).
func (s *Server) FolderPermissions(email, folderID string) (inherited bool, perms []Permission) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[strings.ToLower(email)]
	if a == nil {
		return true, nil
	}
	p, ok := a.perms[folderID]
	return !ok, slices.Clone(p)
}

// newSID returns a session id shaped like the server's: 18 digits,
// yyyymmddhhnnss plus 4 [V NET Responses/Authenticate.xml "201602051125504026"].
func newSID(now string) string {
	var b [2]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s%04d", now, (int(b[0])<<8|int(b[1]))%10000)
}

var _ = io.EOF
