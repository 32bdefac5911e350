// Package memimap is the in-memory IMAP store of the IceWarp emulator: a
// copy of go-imap v2.0.0-beta.8's imapserver/imapmemserver (MIT licence,
// see LICENSE in this directory; Copyright (c) 2013 The Go-IMAP Authors,
// 2016 Proton Technologies AG, 2023 Simon Ser) changed in one respect:
// messages are served as the bytes they were stored with, whatever they
// hold (see message.go, fetchSection). go-imap's copy re-serialises the
// header for BODY[] and returns nothing when the header does not parse (an
// mbox "From " first line, no header at all), and turns bare LF header
// line ends into CRLF; IceWarp keeps one message per file and serves what
// the file holds.
package memimap

import (
	"sync"

	"github.com/emersion/go-imap/v2/imapserver"
)

// Server is a server instance.
//
// A server contains a list of users.
type Server struct {
	mutex sync.Mutex
	users map[string]*User
}

// New creates a new server.
func New() *Server {
	return &Server{
		users: make(map[string]*User),
	}
}

// NewSession creates a new IMAP session.
func (s *Server) NewSession() imapserver.Session {
	return &serverSession{server: s}
}

func (s *Server) user(username string) *User {
	s.mutex.Lock()
	defer s.mutex.Unlock()
	return s.users[username]
}

// AddUser adds a user to the server.
func (s *Server) AddUser(user *User) {
	s.mutex.Lock()
	s.users[user.username] = user
	s.mutex.Unlock()
}

type serverSession struct {
	*UserSession // may be nil

	server *Server // immutable
}

var _ imapserver.Session = (*serverSession)(nil)

func (sess *serverSession) Login(username, password string) error {
	u := sess.server.user(username)
	if u == nil {
		return imapserver.ErrAuthFailed
	}
	if err := u.Login(username, password); err != nil {
		return err
	}
	sess.UserSession = NewUserSession(u)
	return nil
}
