package icewarptest

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-sasl"
	"github.com/iemproject/iem/icewarp/icewarptest/memimap"
)

// The IMAP front end serves each emulated account's mailboxes from memory
// (memimap, a copy of go-imap's imapmemserver that serves every message as
// the bytes it was stored with) with the "/" delimiter IceWarp uses
// [V MS fix_imapindex.sh XLIST reply]. It accepts LOGIN with the account's
// email and u_password, and AUTHENTICATE PLAIN where the administrator acts
// as a user: authzid=user, authcid=admin, password=admin's
// [V MS fix_imapindex.sh "user\0admin\0pass"; imapsync_sasl.sh].
//
// ACL commands (RFC 4314) are answered by a connection wrapper (acl.go).
// SPECIAL-USE (RFC 6154) marks the WebClient's default folders
// (webclient.go), read at login. Not emulated: XLIST. Messages written in path mode
// appear after the account is refreshed; messages appended over IMAP stay in
// memory and are not written to the mail path.
func (s *Server) newIMAPServer() *imapserver.Server {
	return imapserver.New(&imapserver.Options{
		NewSession: func(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			sess := &imapSession{srv: s}
			if ac, ok := c.NetConn().(*aclConn); ok {
				ac.setSession(sess)
			}
			return sess, nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}, imap.CapSpecialUse: {}},
		InsecureAuth: true,
		Logger:       discardLogger{},
	})
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

// imapSession is unauthenticated until Login or Authenticate sets
// UserSession; imapserver calls no other method before that.
type imapSession struct {
	srv *Server
	*memimap.UserSession
	acct *account
}

var _ imapserver.SessionSASL = (*imapSession)(nil)

func (sess *imapSession) Close() error {
	if sess.UserSession != nil {
		return sess.UserSession.Close()
	}
	return nil
}

// Login checks an account's own password (u_password).
func (sess *imapSession) Login(username, password string) error {
	s := sess.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[strings.ToLower(username)]
	if a == nil || a.props["u_password"] == "" ||
		subtle.ConstantTimeCompare([]byte(password), []byte(a.props["u_password"])) != 1 {
		return imapserver.ErrAuthFailed
	}
	sess.acct, sess.UserSession = a, memimap.NewUserSession(a.user)
	return s.applySpecialUse(a)
}

func (sess *imapSession) AuthenticateMechanisms() []string { return []string{sasl.Plain} }

func (sess *imapSession) Authenticate(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "SASL mechanism not supported"}
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		s := sess.srv
		if identity == "" || strings.EqualFold(identity, username) {
			return sess.Login(username, password)
		}
		if !strings.EqualFold(username, s.opt.AdminEmail) ||
			subtle.ConstantTimeCompare([]byte(password), []byte(s.opt.AdminPassword)) != 1 {
			return imapserver.ErrAuthFailed
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		a := s.accounts[strings.ToLower(identity)]
		if a == nil {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthorizationFailed, Text: "no such account"}
		}
		sess.acct, sess.UserSession = a, memimap.NewUserSession(a.user)
		return s.applySpecialUse(a)
	}), nil
}

// Append stores nothing when the literal is cut short by a broken
// connection, as a real server does: go-imap's memory server would store
// the part that arrived (its literal reader ends a short read with io.EOF).
func (sess *imapSession) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if int64(len(data)) != r.Size() {
		return nil, io.ErrUnexpectedEOF
	}
	return sess.UserSession.Append(mailbox, literal{bytes.NewReader(data), r.Size()}, options)
}

// Create records the folder for getaccountfolderlist.
func (sess *imapSession) Create(name string, options *imap.CreateOptions) error {
	if err := sess.UserSession.Create(name, options); err != nil {
		return err
	}
	sess.srv.mu.Lock()
	sess.acct.folders[name] = true
	sess.srv.mu.Unlock()
	return nil
}

func (sess *imapSession) Delete(name string) error {
	if err := sess.UserSession.Delete(name); err != nil {
		return err
	}
	sess.srv.mu.Lock()
	delete(sess.acct.folders, name)
	sess.srv.mu.Unlock()
	return nil
}

func (sess *imapSession) Rename(oldName, newName string, options *imap.RenameOptions) error {
	if err := sess.UserSession.Rename(oldName, newName, options); err != nil {
		return err
	}
	sess.srv.mu.Lock()
	delete(sess.acct.folders, oldName)
	sess.acct.folders[newName] = true
	sess.srv.mu.Unlock()
	return nil
}

// MailboxStatus returns the number of messages in an account's IMAP folder
// (UTF-8 name, "/"-separated).
func (s *Server) MailboxStatus(email, folder string) (messages uint32, err error) {
	s.mu.Lock()
	a := s.accounts[strings.ToLower(email)]
	s.mu.Unlock()
	if a == nil {
		return 0, fmt.Errorf("icewarptest: no account %s", email)
	}
	st, err := a.user.Status(folder, &imap.StatusOptions{NumMessages: true})
	if err != nil {
		return 0, err
	}
	return *st.NumMessages, nil
}

// MailFolders returns the IMAP folder names of an account, sorted.
func (s *Server) MailFolders(email string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[strings.ToLower(email)]
	if a == nil {
		return nil
	}
	return slices.Sorted(mapsKeys(a.folders))
}
