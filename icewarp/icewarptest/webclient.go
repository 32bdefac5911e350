package icewarptest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/iemproject/iem/format"
	"github.com/iemproject/iem/icewarp/mailpath"
	"github.com/iemproject/iem/internal/xmltree"
)

// The WebClient's default folders: which folder of an account is its
// Drafts, Sent and Trash is kept per user in ~webmail/settings.xml,
// <settings><default_folders><item><drafts>u@d/Drafts</drafts><sent>u@d/Sent
// </sent><trash>u@d/Trash</trash></item></default_folders></settings>
// [V icewarp.md §1.7: SS22 _shared/tools/0~webmail/settings.xml,
// webmail/server/inc/user.php]. The emulator reads that file each time it
// needs them, so a file written in path mode counts at once (INFERRED: the
// WebClient reads its settings per session). "spam" is read as well
// (INFERRED, mailpath.DefaultFolderKeys).

// defaultFolderNames are IceWarp's English defaults [V icewarp.md §1.7:
// SS22 webmail/client/languages/en/data.xml], used for a key the file does
// not set (INFERRED: an unset entry means the default folder).
var defaultFolderNames = map[string]string{"drafts": "Drafts", "sent": "Sent", "trash": "Trash", "spam": "Spam"}

// specialUse is the RFC 6154 attribute of each default folder; that
// IceWarp's XLIST flags follow default_folders is INFERRED (icewarp.md §4).
var specialUse = map[string]imap.MailboxAttr{"drafts": imap.MailboxAttrDrafts, "sent": imap.MailboxAttrSent,
	"trash": imap.MailboxAttrTrash, "spam": imap.MailboxAttrJunk}

// DefaultFolders returns the folders an account's WebClient uses as
// drafts, sent, trash and spam (IMAP names, "/" between levels), from its
// settings.xml, IceWarp's default names where it sets none.
func (s *Server) DefaultFolders(email string) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[strings.ToLower(email)]
	if a == nil {
		return nil, fmt.Errorf("icewarptest: no account %s", email)
	}
	return s.defaultFolders(a)
}

// defaultFolders reads settings.xml. Called with s.mu held.
func (s *Server) defaultFolders(a *account) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range defaultFolderNames {
		out[k] = v
	}
	set, err := s.settingsDefaults(a)
	if err != nil {
		return nil, fmt.Errorf("icewarptest: %s settings.xml: %w", a.email, err)
	}
	for k := range defaultFolderNames {
		v := set[k]
		if v == "" {
			continue
		}
		// "<email>/<folder>" [V §1.7]; the email is the account's.
		owner, folder, ok := strings.Cut(v, "/")
		if !ok || !strings.EqualFold(owner, a.email) || folder == "" {
			return nil, fmt.Errorf("icewarptest: %s settings.xml: %s %q is not %s/<folder>", a.email, k, v, a.email)
		}
		out[k] = folder
	}
	return out, nil
}

// applySpecialUse marks the account's default folders \Sent, \Drafts,
// \Trash and \Junk for LIST (RETURN (SPECIAL-USE)). Called with s.mu held.
func (s *Server) applySpecialUse(a *account) error {
	d, err := s.defaultFolders(a)
	if err != nil {
		return err
	}
	by := map[string][]imap.MailboxAttr{}
	for k, folder := range d {
		by[folder] = append(by[folder], specialUse[k])
	}
	a.user.SetSpecialUse(by)
	return nil
}

// WebClientSend models a message sent from the WebClient: its copy is
// saved in the account's current Sent folder, created if it does not
// exist yet (as the WebClient does for its default "Sent", INFERRED). It
// returns that folder.
func (s *Server) WebClientSend(email string, msg []byte) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[strings.ToLower(email)]
	if a == nil {
		return "", fmt.Errorf("icewarptest: no account %s", email)
	}
	d, err := s.defaultFolders(a)
	if err != nil {
		return "", err
	}
	sent := d["sent"]
	if !a.folders[sent] {
		if err := s.createFolder(a, sent); err != nil {
			return "", err
		}
	}
	if _, err := a.user.Append(sent, literal{bytes.NewReader(msg), int64(len(msg))},
		&imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}, Time: time.Now()}); err != nil {
		return "", err
	}
	return sent, s.applySpecialUse(a)
}

// webClientState holds the emulated WebClient's logins, by the token
// impersonatewebclient returned, the PHPSESSID_LOGIN cookie, and the
// session id. Guarded by Server.mu.
type webClientState struct {
	tokens, logins, sessions map[string]string // → lower-case email
}

func (w *webClientState) put(m *map[string]string, key, email string) {
	if *m == nil {
		*m = map[string]string{}
	}
	(*m)[key] = email
}

// impersonateWebClient answers the admin API's impersonatewebclient: a
// result the caller appends to /webmail/ [V MS getwctoken.sh, iwwctest.sh];
// its form "?atoken=…" follows the user login of icewarp_wclogin.sh
// (INFERRED for impersonation). Called with s.mu held.
func (s *Server) impersonateWebClient(p *cmdParams) (string, *apiFailure) {
	a := s.accounts[strings.ToLower(p.Email)]
	if a == nil {
		return "", &apiFailure{}
	}
	tok := randomHex()
	s.wc.put(&s.wc.tokens, tok, strings.ToLower(a.email))
	return "?atoken=" + tok, nil
}

func randomHex() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// serveWebClient emulates the parts of the WebClient the importer uses:
// GET /webmail/?atoken=… sets PHPSESSID_LOGIN=wm…, and POST
// /webmail/server/webmail.php answers webmail:iq:auth (session, logout)
// and webmail:iq:private <default_folders> get and set [V MS iwwctest.sh
// for the requests; the response shapes and the set are INFERRED, see
// icewarp.WebClientDefaultFolders]. A set merges the entries into the
// account's ~webmail/settings.xml, where the WebClient keeps them (§1.7).
func (s *Server) serveWebClient(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Method == http.MethodGet && r.URL.Path == "/webmail/" {
		email, ok := s.wc.tokens[r.URL.Query().Get("atoken")]
		if !ok {
			http.Error(w, "login required", http.StatusForbidden)
			return
		}
		delete(s.wc.tokens, r.URL.Query().Get("atoken"))
		id := "wm" + randomHex()
		s.wc.put(&s.wc.logins, id, email)
		http.SetCookie(w, &http.Cookie{Name: "PHPSESSID_LOGIN", Value: id, Path: "/"})
		io.WriteString(w, "<html><body>IceWarp WebClient</body></html>")
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/webmail/server/webmail.php" {
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	doc, err := xmltree.Parse(bytes.NewReader(body), xmltree.Options{OneRoot: true, MaxDepth: 32})
	iq := doc.Root()
	if err != nil || iq == nil || iq.Local != "iq" || iq.Child("query") == nil {
		io.WriteString(w, `<iq type="error"><error uid="request_invalid"/></iq>`)
		return
	}
	q := iq.Child("query")
	ns := q.Attr("xmlns")
	if ns == "webmail:iq:auth" && iq.Attr("type") == "set" && q.Child("session") != nil {
		email, ok := s.wc.logins[strings.TrimSpace(q.Text("session"))]
		if !ok {
			io.WriteString(w, `<iq type="error"><error uid="session_invalid"/></iq>`)
			return
		}
		sid := "wm-" + randomHex()
		s.wc.put(&s.wc.sessions, sid, email)
		fmt.Fprintf(w, `<iq sid="%s" type="result"><query xmlns="webmail:iq:auth"><result>1</result></query></iq>`, sid)
		return
	}
	sid := iq.Attr("sid")
	email, ok := s.wc.sessions[sid]
	if !ok {
		io.WriteString(w, `<iq type="error"><error uid="session_invalid"/></iq>`)
		return
	}
	a := s.accounts[email]
	switch {
	case ns == "webmail:iq:auth" && len(q.Elems()) == 0:
		delete(s.wc.sessions, sid)
		fmt.Fprintf(w, `<iq sid="%s" type="result"><query xmlns="webmail:iq:auth"><result>1</result></query></iq>`, sid)
	case ns == "webmail:iq:private" && iq.Attr("type") == "get" && q.Has("resources", "default_folders"):
		var b strings.Builder
		fmt.Fprintf(&b, `<iq sid="%s" type="result"><query xmlns="webmail:iq:private"><resources><default_folders><item>`, sid)
		set, err := s.settingsDefaults(a)
		if err != nil {
			io.WriteString(w, `<iq type="error"><error uid="settings_invalid"/></iq>`)
			return
		}
		for _, k := range slices.Sorted(maps.Keys(set)) {
			fmt.Fprintf(&b, "<%s>%s</%s>", k, esc(set[k]), k)
		}
		b.WriteString(`</item></default_folders></resources></query></iq>`)
		io.WriteString(w, b.String())
	case ns == "webmail:iq:private" && iq.Attr("type") == "set" && q.Has("resources", "default_folders", "item"):
		set := map[string]string{}
		for _, c := range q.Path("resources", "default_folders", "item").Elems() {
			set[c.Local] = strings.TrimSpace(string(c.CharData))
		}
		if err := s.mergeSettings(a, set); err != nil {
			io.WriteString(w, `<iq type="error"><error uid="settings_invalid"/></iq>`)
			return
		}
		fmt.Fprintf(w, `<iq sid="%s" type="result"><query xmlns="webmail:iq:private"><result>1</result></query></iq>`, sid)
	default:
		io.WriteString(w, `<iq type="error"><error uid="request_unknown"/></iq>`)
	}
}

// settingsDefaults returns the <default_folders><item> entries of the
// account's settings.xml as they are written ("<email>/<folder>"). Called
// with s.mu held.
func (s *Server) settingsDefaults(a *account) (map[string]string, error) {
	data, err := os.ReadFile(s.settingsPath(a))
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	return mailpath.ParseDefaultFolders(data)
}

func (s *Server) settingsPath(a *account) string {
	return filepath.Join(s.mailboxDir(a), "~webmail", "settings.xml")
}

// mergeSettings sets <default_folders> entries in the account's
// settings.xml, keeping its other settings. Called with s.mu held.
func (s *Server) mergeSettings(a *account, set map[string]string) error {
	old, err := os.ReadFile(s.settingsPath(a))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	data, err := mailpath.MergeDefaultFolders(old, set)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.settingsPath(a)), 0o700); err != nil {
		return err
	}
	return os.WriteFile(s.settingsPath(a), data, 0o600)
}

// xlistResponse answers XLIST "" "*" [V MS fix_imapindex.sh sends `. xlist
// "" "*"` to IceWarp]: every folder of the account, INBOX as \Inbox and
// the WebClient's default folders as \Sent, \Drafts, \Trash, \Junk
// (INFERRED: icewarp.md §4 says XLIST flags follow default_folders; the
// flag names are RFC 6154's). Only the pattern "*" is served.
func (a *aclConn) xlistResponse(tag string, args []string) string {
	if len(args) != 2 || args[1] != "*" {
		return tag + " BAD XLIST: only XLIST \"\" \"*\" is emulated\r\n"
	}
	acct, s := a.lockAccount()
	defer s.mu.Unlock()
	if acct == nil {
		return tag + " BAD not authenticated\r\n"
	}
	d, err := s.defaultFolders(acct)
	if err != nil {
		return tag + " NO " + err.Error() + "\r\n"
	}
	flags := map[string][]string{"INBOX": {`\Inbox`}}
	for k, f := range d {
		flags[f] = append(flags[f], string(specialUse[k]))
	}
	var b strings.Builder
	for _, f := range slices.Sorted(maps.Keys(acct.folders)) {
		attrs := []string{`\HasNoChildren`}
		for g := range acct.folders {
			if strings.HasPrefix(g, f+"/") {
				attrs[0] = `\HasChildren`
				break
			}
		}
		fl := slices.Sorted(slices.Values(flags[f]))
		fmt.Fprintf(&b, "* XLIST (%s) \"/\" %s\r\n", strings.Join(append(attrs, fl...), " "), quote(format.EncodeIMAPUTF7(f)))
	}
	return b.String() + tag + " OK XLIST completed\r\n"
}
