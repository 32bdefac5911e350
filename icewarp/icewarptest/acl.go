package icewarptest

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/iemproject/iem/format"
)

// IMAP ACL (RFC 4314) for the emulator. go-imap's server has no hook for
// extra commands, so each connection is wrapped: the wrapper reads the
// client's command lines (passing literals through untouched), answers
// SETACL, DELETEACL, GETACL, LISTRIGHTS and MYRIGHTS itself once every
// earlier command has been answered, forwards everything else to go-imap,
// and adds "ACL" to the CAPABILITY lists go-imap sends. IceWarp's IMAP
// implements these commands (icewarp.md §4, [V SS22 imap.php imap_setacl]).
//
// Mail-folder ACLs are stored as the folder's permissions in the admin API,
// under folder id "0"+base64(modified UTF-7 name), so GETACL and
// getaccountfolderpermissions show the same entries (INFERRED: IceWarp keeps
// one set of rights per folder, icewarp.md §2.7). Rights letters must be
// RFC 4314's "lrswipkxtea" (plus obsolete "c", "d").
type aclListener struct {
	net.Listener
	srv *Server
}

func (l aclListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newACLConn(c, l.srv), nil
}

type aclConn struct {
	net.Conn
	srv *Server
	pr  *io.PipeReader
	pw  *io.PipeWriter

	wmu  sync.Mutex // serialises writes to Conn
	obuf []byte     // server output not yet passed on (partial line)
	olit int64      // server literal bytes still to pass on

	mu      sync.Mutex
	pending int // forwarded commands not yet answered
	sess    *imapSession
}

func newACLConn(c net.Conn, srv *Server) *aclConn {
	a := &aclConn{Conn: c, srv: srv}
	a.pr, a.pw = io.Pipe()
	go a.readClient()
	return a
}

func (a *aclConn) Read(p []byte) (int, error) { return a.pr.Read(p) }

func (a *aclConn) Close() error {
	a.pw.Close()
	return a.Conn.Close()
}

func (a *aclConn) setSession(s *imapSession) {
	a.mu.Lock()
	a.sess = s
	a.mu.Unlock()
}

// literalSuffix reports a trailing {n} or {n+} literal marker.
func literalSuffix(line []byte) (int64, bool) {
	l := bytes.TrimRight(line, "\r\n")
	if len(l) < 3 || l[len(l)-1] != '}' {
		return 0, false
	}
	i := bytes.LastIndexByte(l, '{')
	if i < 0 {
		return 0, false
	}
	num := strings.TrimSuffix(string(l[i+1:len(l)-1]), "+")
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

var aclCommands = map[string]bool{"SETACL": true, "DELETEACL": true, "GETACL": true, "LISTRIGHTS": true, "MYRIGHTS": true,
	"XLIST": true} // XLIST: webclient.go

var imapCommands = map[string]bool{
	"CAPABILITY": true, "NOOP": true, "LOGOUT": true, "STARTTLS": true, "AUTHENTICATE": true, "LOGIN": true,
	"ENABLE": true, "SELECT": true, "EXAMINE": true, "CREATE": true, "DELETE": true, "RENAME": true,
	"SUBSCRIBE": true, "UNSUBSCRIBE": true, "LIST": true, "LSUB": true, "NAMESPACE": true, "STATUS": true,
	"APPEND": true, "IDLE": true, "CHECK": true, "CLOSE": true, "UNSELECT": true, "EXPUNGE": true,
	"SEARCH": true, "FETCH": true, "STORE": true, "COPY": true, "MOVE": true, "UID": true, "UNAUTHENTICATE": true,
}

// readClient forwards client input to go-imap, answering ACL commands itself.
func (a *aclConn) readClient() {
	br := bufio.NewReader(a.Conn)
	cont := false // the next line continues a command after a literal
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			a.pw.CloseWithError(err)
			return
		}
		n, lit := literalSuffix(line)
		if !cont {
			toks := tokens(line)
			if len(toks) >= 2 {
				cmd := strings.ToUpper(toks[1])
				if aclCommands[cmd] && !lit {
					a.handleACL(toks)
					continue
				}
				if imapCommands[cmd] {
					a.mu.Lock()
					a.pending++
					a.mu.Unlock()
				}
			}
		}
		if _, err := a.pw.Write(line); err != nil {
			return
		}
		cont = lit
		if lit {
			if _, err := io.CopyN(a.pw, br, n); err != nil {
				a.pw.CloseWithError(err)
				return
			}
		}
	}
}

// Write passes go-imap's output on, counting tagged responses and adding
// ACL to capability lists.
func (a *aclConn) Write(p []byte) (int, error) {
	a.wmu.Lock()
	defer a.wmu.Unlock()
	a.obuf = append(a.obuf, p...)
	var out []byte
	for len(a.obuf) > 0 {
		if a.olit > 0 {
			n := min(a.olit, int64(len(a.obuf)))
			out = append(out, a.obuf[:n]...)
			a.obuf = a.obuf[n:]
			a.olit -= n
			continue
		}
		i := bytes.IndexByte(a.obuf, '\n')
		if i < 0 {
			break
		}
		line := a.obuf[:i+1]
		a.obuf = a.obuf[i+1:]
		if bytes.HasPrefix(line, []byte("* CAPABILITY ")) && !bytes.Contains(line, []byte(" ACL")) {
			line = append(bytes.TrimRight(line, "\r\n"), []byte(" ACL\r\n")...)
		} else if j := bytes.Index(line, []byte("[CAPABILITY ")); j >= 0 && !bytes.Contains(line, []byte(" ACL")) {
			if k := bytes.IndexByte(line[j:], ']'); k > 0 {
				line = append(append(append([]byte{}, line[:j+k]...), " ACL"...), line[j+k:]...)
			}
		}
		if !bytes.HasPrefix(line, []byte("* ")) && !bytes.HasPrefix(line, []byte("+")) {
			a.mu.Lock()
			if a.pending > 0 {
				a.pending--
			}
			a.mu.Unlock()
		}
		if n, ok := literalSuffix(line); ok {
			a.olit = n
		}
		out = append(out, line...)
	}
	if _, err := a.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// tokens splits a command line into atoms and quoted strings.
func tokens(line []byte) []string {
	s := strings.TrimRight(string(line), "\r\n")
	var out []string
	for i := 0; i < len(s); {
		switch {
		case s[i] == ' ':
			i++
		case s[i] == '"':
			var b strings.Builder
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
				i++
			}
			i++
			out = append(out, b.String())
		default:
			j := strings.IndexByte(s[i:], ' ')
			if j < 0 {
				j = len(s) - i
			}
			out = append(out, s[i:i+j])
			i += j
		}
	}
	return out
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

const allRights = "lrswipkxtea"

// handleACL answers one ACL command after all earlier commands are answered.
func (a *aclConn) handleACL(toks []string) {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		a.mu.Lock()
		p := a.pending
		a.mu.Unlock()
		if p == 0 {
			break
		}
	}
	tag, cmd, args := toks[0], strings.ToUpper(toks[1]), toks[2:]
	var resp string
	if cmd == "XLIST" {
		resp = a.xlistResponse(tag, args)
	} else {
		resp = a.aclResponse(tag, cmd, args)
	}
	a.wmu.Lock()
	defer a.wmu.Unlock()
	a.Conn.Write([]byte(resp))
}

// lockAccount returns the session's account (nil before it is
// authenticated) and the server, whose s.mu it holds on return.
func (a *aclConn) lockAccount() (*account, *Server) {
	a.mu.Lock()
	var acct *account
	if a.sess != nil {
		acct = a.sess.acct
	}
	a.mu.Unlock()
	a.srv.mu.Lock()
	return acct, a.srv
}

func (a *aclConn) aclResponse(tag, cmd string, args []string) string {
	want := map[string]int{"SETACL": 3, "DELETEACL": 2, "GETACL": 1, "LISTRIGHTS": 2, "MYRIGHTS": 1}[cmd]
	if len(args) != want {
		return tag + " BAD " + cmd + " wants " + strconv.Itoa(want) + " arguments\r\n"
	}
	acct, s := a.lockAccount()
	defer s.mu.Unlock()
	if acct == nil {
		return tag + " BAD not authenticated\r\n"
	}
	wire := args[0]
	name, err := format.DecodeIMAPUTF7(wire)
	if err != nil {
		name = wire
	}
	if strings.EqualFold(name, "INBOX") {
		name = "INBOX"
	}
	if !acct.folders[name] {
		return tag + " NO [NONEXISTENT] no such mailbox\r\n"
	}
	id := "0" + base64.StdEncoding.EncodeToString([]byte(format.EncodeIMAPUTF7(name)))
	perms := acct.perms[id]
	find := func(who string) int {
		for i, p := range perms {
			if strings.EqualFold(p.Account, who) {
				return i
			}
		}
		return -1
	}
	switch cmd {
	case "SETACL", "DELETEACL":
		who, rights := args[1], ""
		if cmd == "SETACL" {
			rights = args[2]
		}
		mod := byte(0)
		if rights != "" && (rights[0] == '+' || rights[0] == '-') {
			mod, rights = rights[0], rights[1:]
		}
		for _, r := range rights {
			if !strings.ContainsRune(allRights+"cd", r) {
				return tag + " BAD invalid rights\r\n"
			}
		}
		old := ""
		if i := find(who); i >= 0 {
			old = perms[i].Rights
			perms = append(perms[:i:i], perms[i+1:]...)
		}
		var nr string
		switch mod {
		case '+':
			nr = old
			for _, r := range rights {
				if !strings.ContainsRune(nr, r) {
					nr += string(r)
				}
			}
		case '-':
			nr = strings.Map(func(r rune) rune {
				if strings.ContainsRune(rights, r) {
					return -1
				}
				return r
			}, old)
		default:
			nr = rights
		}
		if nr != "" {
			perms = append(perms, Permission{Account: who, Rights: nr})
		}
		acct.perms[id] = perms
		return tag + " OK " + cmd + " completed\r\n"
	case "GETACL":
		var b strings.Builder
		b.WriteString("* ACL " + quote(wire) + " " + quote(acct.email) + " " + allRights)
		for _, p := range perms {
			if !strings.EqualFold(p.Account, acct.email) {
				b.WriteString(" " + quote(p.Account) + " " + quote(p.Rights))
			}
		}
		return b.String() + "\r\n" + tag + " OK GETACL completed\r\n"
	case "LISTRIGHTS":
		return "* LISTRIGHTS " + quote(wire) + " " + quote(args[1]) + ` "" l r s w i p k x t e a` + "\r\n" + tag + " OK LISTRIGHTS completed\r\n"
	default: // MYRIGHTS: the owner, or the administrator acting as the owner
		return "* MYRIGHTS " + quote(wire) + " " + allRights + "\r\n" + tag + " OK MYRIGHTS completed\r\n"
	}
}

// ACL returns the IMAP ACL entries (identifier → rights) set on a mail
// folder (UTF-8 name), as GETACL shows them besides the owner.
func (s *Server) ACL(email, folder string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[strings.ToLower(email)]
	if a == nil {
		return nil
	}
	out := map[string]string{}
	for _, p := range a.perms["0"+base64.StdEncoding.EncodeToString([]byte(format.EncodeIMAPUTF7(folder)))] {
		out[p.Account] = p.Rights
	}
	return out
}
