package icewarptest

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/iemproject/iem/format"
	"github.com/iemproject/iem/icewarp/icewarptest/memimap"
)

// Request shapes, all from the IceWarp.Net request fixtures [V NET
// …/TestData/Requests/*.xml]; matching of element names is exact
// (lower case), as in every fixture.
type iqRequest struct {
	XMLName xml.Name `xml:"iq"`
	SID     string   `xml:"sid,attr"`
	Type    string   `xml:"type,attr"`
	Query   struct {
		XMLName     xml.Name  `xml:"query"`
		CommandName string    `xml:"commandname"`
		Params      cmdParams `xml:"commandparams"`
	} `xml:"query"`
}

type cmdParams struct {
	// authenticate [V NET Session Authenticate.xml]
	AuthType string `xml:"authtype"`
	Email    string `xml:"email"`
	Password string `xml:"password"`
	// setaccountpassword [V API-JSON]
	IgnorePolicy string `xml:"ignorepolicy"`
	// getdomainsinfolist / getaccountsinfolist [V NET GetDomainsInfoList.xml, GetAccountsInfoList.xml]
	DomainStr string `xml:"domainstr"`
	NameMask  string `xml:"filter>namemask"`
	TypeMask  string `xml:"filter>typemask"`
	Offset    string `xml:"offset"`
	Count     string `xml:"count"`
	// createdomain [V NET CreateDomain.xml], createaccount [V NET CreateAccount.xml]
	DomainProperties  []propItem `xml:"domainproperties>item"`
	AccountProperties []propItem `xml:"accountproperties>item"`
	// get/setaccountproperties [V NET GetAccountProperties.xml, SetAccountProperties.xml]
	AccountEmail      string     `xml:"accountemail"`
	PropNames         []string   `xml:"accountpropertylist>item>propname"`
	PropertyValueList []propItem `xml:"propertyvaluelist>item"`
	// addaccountmembers [V NET AddAccountMembers.xml]
	MembersClass string       `xml:"members>classname"`
	Members      []memberItem `xml:"members>val>item"`
	// folder permissions [V NET Get/SetAccountFolderPermissions.xml]
	FolderID    string     `xml:"folderid"`
	Permissions []permItem `xml:"permissions>item"`
}

type propItem struct {
	Name      string `xml:"apiproperty>propname"`
	ClassName string `xml:"propertyval>classname"`
	Val       string `xml:"propertyval>val"`
}

type memberItem struct {
	ClassName string `xml:"classname"`
	Val       string `xml:"val"`
}

type permItem struct {
	Account     string `xml:"account"`
	Permissions string `xml:"permissions"`
}

// errResponse is the error envelope [V NET ErrorResponse.xml]:
//
//	<iq type="error"><query><error uid="iq_root_tag_invalid"/></query></iq>
func errResponse(uid string) string {
	return `<iq type="error"><query><error uid="` + esc(uid) + `"/></query></iq>`
}

// okResponse wraps a result [V NET Responses/*.xml]:
//
//	<iq type="result" sid="201604181336290003"><query xmlns="admin:iq:rpc"><result>…</result></query></iq>
func okResponse(sid, result string) string {
	return `<iq type="result" sid="` + esc(sid) + `"><query xmlns="admin:iq:rpc"><result>` + result + `</result></query></iq>`
}

func esc(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// apiFailure is a command failure: a uid for <iq type="error">, or "" for <result>0</result>.
type apiFailure struct{ uid string }

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		return
	}
	var req iqRequest
	if err := xml.Unmarshal(body, &req); err != nil || req.Query.CommandName == "" {
		s.write(w, errResponse("iq_root_tag_invalid")) // [V NET ErrorResponse.xml]
		return
	}
	// Command names are lower case in every sample; matching is
	// case-insensitive as in API-PY (INFERRED). /icewarpapi/<Command> is
	// accepted as API-PY sends it (icewarp.md §7).
	cmd := strings.ToLower(req.Query.CommandName)

	s.mu.Lock()
	s.calls = append(s.calls, cmd)
	fault := s.takeFault(cmd)
	s.mu.Unlock()

	if fault != nil && !fault.AfterApply && s.applyFault(w, fault) {
		return
	}
	resp := s.handle(cmd, &req)
	if fault != nil && fault.AfterApply && s.applyFault(w, fault) {
		return
	}
	s.write(w, resp)
}

// applyFault answers with the fault and reports whether it did.
func (s *Server) applyFault(w http.ResponseWriter, f *Fault) bool {
	switch {
	case f.Reset:
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler)
	case f.HTTPStatus != 0:
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		}
		w.WriteHeader(f.HTTPStatus)
		return true
	case f.ErrorUID != "":
		s.write(w, errResponse(f.ErrorUID))
		return true
	case f.ResultZero:
		s.write(w, okResponse("", "0"))
		return true
	}
	return false
}

func (s *Server) write(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	io.WriteString(w, body)
}

// handle runs one command and returns the response document.
func (s *Server) handle(cmd string, req *iqRequest) string {
	p := &req.Query.Params
	if cmd == "authenticate" {
		// authtype 0 = plain password [V NET Authenticate.xml; D-API].
		if p.AuthType != "" && p.AuthType != "0" {
			return errResponse("auth_login_invalid")
		}
		if !strings.EqualFold(p.Email, s.opt.AdminEmail) || p.Password != s.opt.AdminPassword {
			return errResponse("auth_login_invalid") // uid [V SS22 admin javascript.js]; emitted here INFERRED
		}
		sid := newSID(time.Now().Format("20060102150405"))
		s.mu.Lock()
		s.sessions[sid] = true
		s.mu.Unlock()
		return okResponse(sid, "1")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.SID == "" || !s.sessions[req.SID] {
		return errResponse("session_invalid") // uid INFERRED: no source names it
	}
	var result string
	var fail *apiFailure
	switch cmd {
	case "logout":
		delete(s.sessions, req.SID)
		result = "1"
	case "getdomainsinfolist":
		result = s.domainsInfoList(p)
	case "createdomain":
		result, fail = s.createDomain(p)
	case "getaccountsinfolist":
		result, fail = s.accountsInfoList(p)
	case "createaccount":
		result, fail = s.createAccount(p)
	case "getaccountproperties":
		result, fail = s.getAccountProperties(p)
	case "setaccountproperties":
		result, fail = s.setAccountProperties(p)
	case "setaccountpassword":
		result, fail = s.setPassword(p)
	case "addaccountmembers":
		result, fail = s.addMembers(p)
	case "setaccountfolderpermissions":
		result, fail = s.setFolderPermissions(p)
	case "getaccountfolderpermissions":
		result, fail = s.getFolderPermissions(p)
	case "inheritaccountfolderpermissions":
		result, fail = s.inheritFolderPermissions(p)
	case "getaccountfolderlist":
		result, fail = s.folderList(p)
	case "impersonatewebclient":
		result, fail = s.impersonateWebClient(p)
	default:
		return errResponse("invalid_command") // uid [V SS22 admin languages data.xml]; emitted here INFERRED
	}
	if fail != nil {
		if fail.uid != "" {
			return errResponse(fail.uid)
		}
		return okResponse(req.SID, "0")
	}
	return okResponse(req.SID, result)
}

// window applies offset/count (count 0 = all) to n items.
func window(p *cmdParams, n int) (lo, hi int) {
	off, _ := strconv.Atoi(p.Offset)
	cnt, _ := strconv.Atoi(p.Count)
	lo = min(max(off, 0), n)
	hi = n
	if cnt > 0 {
		hi = min(lo+cnt, n)
	}
	return lo, hi
}

// maskMatch is the emulator's namemask: case-insensitive substring, "*" and
// "" match all (the real semantics are unknown, INFERRED).
func maskMatch(mask string, values ...string) bool {
	mask = strings.ToLower(strings.Trim(mask, "*"))
	if mask == "" {
		return true
	}
	for _, v := range values {
		if strings.Contains(strings.ToLower(v), mask) {
			return true
		}
	}
	return false
}

// domainsInfoList answers getdomainsinfolist [V NET Responses/GetDomainsInfoList.xml]:
//
//	<item><name>testing.co.uk</name><desc/><domaintype>0</domaintype><accountcount>-5</accountcount></item>
//	<offset>0</offset><overallcount>1</overallcount>
func (s *Server) domainsInfoList(p *cmdParams) string {
	var names []string
	for _, d := range s.domains {
		if maskMatch(p.NameMask, d.name) {
			names = append(names, d.name)
		}
	}
	slices.Sort(names)
	lo, hi := window(p, len(names))
	var b strings.Builder
	for _, n := range names[lo:hi] {
		d := s.domains[n]
		count := 0
		for _, a := range s.accounts {
			if a.domain == n {
				count++
			}
		}
		fmt.Fprintf(&b, "<item><name>%s</name><desc>%s</desc><domaintype>%s</domaintype><accountcount>%d</accountcount></item>",
			esc(n), esc(d.props["d_description"]), esc(orDefault(d.props["d_type"], "0")), count)
	}
	fmt.Fprintf(&b, "<offset>%d</offset><overallcount>%d</overallcount>", lo, len(names))
	return b.String()
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func validDomain(d string) bool {
	if d == "" || len(d) > 253 || strings.Trim(d, ".") != d {
		return false
	}
	for _, c := range d {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// createDomain: duplicate → <result>0</result> (icewarp.md §7, INFERRED).
func (s *Server) createDomain(p *cmdParams) (string, *apiFailure) {
	name := strings.ToLower(p.DomainStr)
	if !validDomain(name) || s.domains[name] != nil {
		return "", &apiFailure{}
	}
	d := &domain{name: name, props: map[string]string{}}
	for _, it := range p.DomainProperties {
		d.props[strings.ToLower(it.Name)] = it.Val
	}
	if err := os.MkdirAll(filepath.Join(s.opt.MailRoot, name), 0o700); err != nil {
		return "", &apiFailure{}
	}
	s.domains[name] = d
	return "1", nil
}

// accountsInfoList answers getaccountsinfolist [V NET Responses/GetAccountsInfoList.xml]:
//
//	<item><name>Public Folders</name><email>public-folders@testing.co.uk</email>
//	<accounttype>7</accounttype><admintype>0</admintype>
//	<quota><classname>TAccountQuota</classname><mailboxsize>0</mailboxsize><mailboxquota>0</mailboxquota></quota></item>
//	<offset>0</offset><overallcount>2</overallcount>
func (s *Server) accountsInfoList(p *cmdParams) (string, *apiFailure) {
	dn := strings.ToLower(p.DomainStr)
	if s.domains[dn] == nil {
		return "", &apiFailure{}
	}
	var emails []string
	for _, a := range s.accounts {
		if a.domain == dn && maskMatch(p.NameMask, a.alias, a.email, a.props["u_name"]) {
			emails = append(emails, a.email)
		}
	}
	slices.Sort(emails)
	lo, hi := window(p, len(emails))
	var b strings.Builder
	for _, e := range emails[lo:hi] {
		a := s.accounts[e]
		admin := "0"
		if a.props["u_admin"] == "1" {
			admin = "1"
		}
		fmt.Fprintf(&b, "<item><name>%s</name><email>%s</email><accounttype>%s</accounttype><admintype>%s</admintype>"+
			"<quota><classname>TAccountQuota</classname><mailboxsize>0</mailboxsize><mailboxquota>0</mailboxquota></quota></item>",
			esc(a.props["u_name"]), esc(a.email), esc(orDefault(a.props["u_type"], "0")), admin)
	}
	fmt.Fprintf(&b, "<offset>%d</offset><overallcount>%d</overallcount>", lo, len(emails))
	return b.String(), nil
}

// validAlias is the emulator's rule for u_alias characters (bad characters
// are E_INVALID in the COM API [V CONST]; the exact set is INFERRED).
func validAlias(a string) bool {
	if a == "" || len(a) > 64 || strings.HasPrefix(a, ".") || strings.HasSuffix(a, ".") {
		return false
	}
	for _, c := range a {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._-+", c)) {
			return false
		}
	}
	return true
}

// createAccount: duplicate alias, bad alias characters and a missing domain
// all answer <result>0</result> (icewarp.md §7; the COM codes E_CONFLICT
// and E_INVALID [V CONST] have no known XML form).
func (s *Server) createAccount(p *cmdParams) (string, *apiFailure) {
	dn := strings.ToLower(p.DomainStr)
	if s.domains[dn] == nil {
		return "", &apiFailure{}
	}
	props := map[string]string{}
	for _, it := range p.AccountProperties {
		props[strings.ToLower(it.Name)] = it.Val
	}
	alias := strings.ToLower(props["u_alias"])
	if !validAlias(alias) {
		return "", &apiFailure{}
	}
	email := alias + "@" + dn
	if s.accounts[email] != nil {
		return "", &apiFailure{}
	}
	props["u_alias"] = alias
	if props["u_type"] == "" {
		props["u_type"] = "0"
	}
	if props["u_mailbox"] == "" {
		props["u_mailbox"] = alias // u_mailbox defaults to the alias (icewarp.md §1.2, INFERRED)
	}
	if !validAlias(props["u_mailbox"]) {
		return "", &apiFailure{}
	}
	a := &account{
		email: email, alias: alias, domain: dn, props: props,
		perms: map[string][]Permission{}, folders: map[string]bool{"INBOX": true},
		seeded: map[string]seedFile{}, known: map[string]bool{},
		user: memimap.NewUser(email, ""),
	}
	a.user.Create("INBOX", nil)
	if err := s.seedMailbox(a); err != nil {
		s.log.Error("seed mailbox", "account", email, "err", err)
		return "", &apiFailure{}
	}
	s.accounts[email] = a
	s.seedDAV(email)
	return "1", nil
}

// mailboxDir is <mailroot>/<domain>/<u_mailbox>, or with
// Options.SortingPrefix the alphabetically sorted form: the first
// SortingPrefix characters in groups of two as parent directories
// (john, 4 → jo/hn/john; mike1, 6 → mi/ke/1/mike1 [V D-DIR]).
func (s *Server) mailboxDir(a *account) string {
	return filepath.Join(s.opt.MailRoot, a.domain, s.relMailbox(a.props["u_mailbox"]))
}

func (s *Server) relMailbox(mbox string) string {
	n := min(s.opt.SortingPrefix, len(mbox))
	var parts []string
	for i := 0; i < n; i += 2 {
		parts = append(parts, mbox[i:min(i+2, n)])
	}
	return filepath.Join(append(parts, mbox)...)
}

// derived returns read-only variables computed from others (icewarp.md §7):
// u_fullmailboxpath = <mailroot>/<domain>/<u_mailbox>/ and
// u_mailboxpath = <domain>/<u_mailbox>/ (both ending in a separator, as the
// staff scripts concatenate "${fmPath}${imapFolder}" [V MS fix_imapindex.sh]).
func (s *Server) derived(a *account, name string) (string, bool) {
	sep := string(filepath.Separator)
	switch name {
	case "u_fullmailboxpath":
		return s.mailboxDir(a) + sep, true
	case "u_mailboxpath":
		return filepath.Join(a.domain, s.relMailbox(a.props["u_mailbox"])) + sep, true
	case "u_emailaddress":
		return a.email, true
	}
	return "", false
}

// getAccountProperties answers with items echoing classname TPropertyString
// and propertyright 2 [V NET Responses/GetAccountProperties.xml]:
//
//	<item><apiproperty><propname>u_name</propname></apiproperty>
//	<propertyval><classname>TPropertyString</classname><val>Test</val></propertyval>
//	<propertyright>2</propertyright></item>
func (s *Server) getAccountProperties(p *cmdParams) (string, *apiFailure) {
	a := s.accounts[strings.ToLower(p.AccountEmail)]
	if a == nil {
		return "", &apiFailure{}
	}
	var b strings.Builder
	for _, n := range p.PropNames {
		name := strings.ToLower(n)
		v, ok := s.derived(a, name)
		if !ok {
			if name == "u_password" || name == "u_directorycache_refreshnow" {
				continue // write-only here (INFERRED)
			}
			v = a.props[name]
		}
		fmt.Fprintf(&b, "<item><apiproperty><propname>%s</propname></apiproperty>"+
			"<propertyval><classname>TPropertyString</classname><val>%s</val></propertyval>"+
			"<propertyright>2</propertyright></item>", esc(name), esc(v))
	}
	return b.String(), nil
}

// setAccountProperties stores variables; u_directorycache_refreshnow=1
// rescans the mail path (icewarp.md §1.6) and read-only ones fail.
func (s *Server) setAccountProperties(p *cmdParams) (string, *apiFailure) {
	a := s.accounts[strings.ToLower(p.AccountEmail)]
	if a == nil {
		return "", &apiFailure{}
	}
	refresh := false
	for _, it := range p.PropertyValueList {
		name := strings.ToLower(it.Name)
		if _, ro := s.derived(a, name); ro || name == "u_alias" && !strings.EqualFold(it.Val, a.alias) {
			return "", &apiFailure{}
		}
	}
	for _, it := range p.PropertyValueList {
		name := strings.ToLower(it.Name)
		if name == "u_directorycache_refreshnow" {
			refresh = it.Val == "1"
			continue
		}
		a.props[name] = it.Val
	}
	if refresh {
		if err := s.refresh(a); err != nil {
			s.log.Error("refresh", "account", a.email, "err", err)
			return "", &apiFailure{}
		}
	}
	return "1", nil
}

// setPassword sets u_password; with ignorepolicy 0 the emulator's policy is
// "at least 6 characters", failing with uid account_password_policy
// [V SS22 admin javascript.js tests that uid]; the policy itself is INFERRED.
func (s *Server) setPassword(p *cmdParams) (string, *apiFailure) {
	a := s.accounts[strings.ToLower(p.AccountEmail)]
	if a == nil || p.Password == "" || p.AuthType != "" && p.AuthType != "0" {
		return "", &apiFailure{}
	}
	if p.IgnorePolicy != "1" && len(p.Password) < 6 {
		return "", &apiFailure{uid: "account_password_policy"}
	}
	a.props["u_password"] = p.Password
	return "1", nil
}

// addMembers adds group members [V NET AddAccountMembers.xml]; a member
// already present is skipped (INFERRED), a group cannot contain itself
// (uid cannot_add_member_to_itself [V SS22 admin languages data.xml]).
func (s *Server) addMembers(p *cmdParams) (string, *apiFailure) {
	a := s.accounts[strings.ToLower(p.AccountEmail)]
	if a == nil || a.props["u_type"] != "7" || !strings.EqualFold(p.MembersClass, "tpropertymembers") {
		return "", &apiFailure{}
	}
	for _, m := range p.Members {
		if strings.EqualFold(m.Val, a.email) {
			return "", &apiFailure{uid: "cannot_add_member_to_itself"}
		}
	}
	for _, m := range p.Members {
		v := strings.TrimSpace(m.Val)
		if v == "" || slices.ContainsFunc(a.members, func(x string) bool { return strings.EqualFold(x, v) }) {
			continue
		}
		a.members = append(a.members, v)
	}
	return "1", nil
}

// setFolderPermissions stores the permission strings verbatim: their format
// is unknown (icewarp.md §2.3, §8).
func (s *Server) setFolderPermissions(p *cmdParams) (string, *apiFailure) {
	a := s.accounts[strings.ToLower(p.AccountEmail)]
	if a == nil || p.FolderID == "" {
		return "", &apiFailure{}
	}
	var perms []Permission
	for _, it := range p.Permissions {
		if it.Account == "" {
			return "", &apiFailure{}
		}
		perms = append(perms, Permission{Account: it.Account, Rights: it.Permissions})
	}
	a.perms[p.FolderID] = perms
	return "1", nil
}

// getFolderPermissions answers [V NET Responses/GetAccountFolderPermissions.xml]:
//
//	<isinherited>0</isinherited><item><account>test@testing.com</account><permissions>…</permissions></item>
func (s *Server) getFolderPermissions(p *cmdParams) (string, *apiFailure) {
	a := s.accounts[strings.ToLower(p.AccountEmail)]
	if a == nil {
		return "", &apiFailure{}
	}
	perms, ok := a.perms[p.FolderID]
	var b strings.Builder
	if ok {
		b.WriteString("<isinherited>0</isinherited>")
	} else {
		b.WriteString("<isinherited>1</isinherited>")
	}
	for _, pm := range perms {
		fmt.Fprintf(&b, "<item><account>%s</account><permissions>%s</permissions></item>", esc(pm.Account), esc(pm.Rights))
	}
	return b.String(), nil
}

func (s *Server) inheritFolderPermissions(p *cmdParams) (string, *apiFailure) {
	a := s.accounts[strings.ToLower(p.AccountEmail)]
	if a == nil {
		return "", &apiFailure{}
	}
	delete(a.perms, p.FolderID)
	return "1", nil
}

// folderList answers getaccountfolderlist [V NET Responses/GetAccountFolderList.xml]:
// root <name>email</name><id>2</id><foldertype>X</foldertype>, GroupWare
// folders with id "1"+base64(name), mail folders "0"+base64(IMAP name)
// (the id rule is INFERRED from that sample). Mail subfolders are listed
// flat under the root (INFERRED).
func (s *Server) folderList(p *cmdParams) (string, *apiFailure) {
	a := s.accounts[strings.ToLower(p.AccountEmail)]
	if a == nil {
		return "", &apiFailure{}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<name>%s</name><id>2</id><foldertype>X</foldertype><defaulttype/><subfolders>", esc(a.email))
	for _, c := range s.davCollectionsOf(a.email) {
		fmt.Fprintf(&b, "<item><name>%s</name><id>1%s</id><foldertype>%s</foldertype><defaulttype/><subfolders/></item>",
			esc(c.name), base64.StdEncoding.EncodeToString([]byte(c.name)), c.kind)
	}
	for _, f := range slices.Sorted(mapsKeys(a.folders)) {
		def := ""
		name := f
		if f == "INBOX" {
			def, name = "I", "Inbox"
		}
		fmt.Fprintf(&b, "<item><name>%s</name><id>0%s</id><foldertype>M</foldertype><defaulttype>%s</defaulttype><subfolders/></item>",
			esc(name), base64.StdEncoding.EncodeToString([]byte(format.EncodeIMAPUTF7(f))), def)
	}
	b.WriteString("</subfolders>")
	return b.String(), nil
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
