package icewarptest

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/iemproject/iem/icewarp/mailpath"
)

func startServer(t *testing.T) *Server {
	t.Helper()
	s, err := Start(&Options{MailRoot: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// post sends a raw request and returns the raw response.
func post(t testing.TB, s *Server, body string) string {
	t.Helper()
	resp, err := http.Post(s.URL(), "text/xml", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

var sidRe = regexp.MustCompile(`sid="([0-9]{18})"`)

// login authenticates with the verbatim request shape of [V NET Authenticate.xml].
func login(t testing.TB, s *Server) string {
	t.Helper()
	resp := post(t, s, `<iq type="get"><query xmlns="admin:iq:rpc"><commandname>authenticate</commandname>
<commandparams><authtype>0</authtype><email>`+s.AdminEmail()+`</email><password>`+s.AdminPassword()+`</password>
<digest></digest><persistentlogin>0</persistentlogin></commandparams></query></iq>`)
	m := sidRe.FindStringSubmatch(resp)
	if m == nil || !strings.Contains(resp, `<result>1</result>`) {
		t.Fatalf("authenticate response = %s, want an 18-digit sid and result 1", resp)
	}
	return m[1]
}

// generic is a loose tree for comparing response shapes.
type generic struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Nodes   []generic  `xml:",any"`
}

func shape(n generic, depth int, b *strings.Builder) {
	b.WriteString(strings.Repeat(" ", depth) + n.XMLName.Local + "\n")
	for _, c := range n.Nodes {
		shape(c, depth+1, b)
	}
}

func shapeOf(t *testing.T, doc string) string {
	t.Helper()
	var g generic
	if err := xml.Unmarshal([]byte(doc), &g); err != nil {
		t.Fatalf("unmarshal %s: %v", doc, err)
	}
	var b strings.Builder
	shape(g, 0, &b)
	return b.String()
}

// TestWireShapes sends the IceWarp.Net fixture requests verbatim (with our
// sid) and compares the element structure of the answers with the fixture
// responses [V NET …/TestData/Responses/*.xml].
func TestWireShapes(t *testing.T) {
	s := startServer(t)
	sid := login(t, s)
	req := func(body string) string {
		return `<iq type="get" sid="` + sid + `"><query xmlns="admin:iq:rpc">` + body + `</query></iq>`
	}
	steps := []struct {
		name, body, want string
	}{
		{"createdomain", `<commandname>createdomain</commandname><commandparams><domainstr>testing.com</domainstr>
<domainproperties><item><apiproperty><propname>d_adminemail</propname></apiproperty><propertyval><classname>tpropertystring</classname>
<val>test@testing.com</val></propertyval><propertyright>2</propertyright></item></domainproperties></commandparams>`,
			`<iq type="result" sid="1"><query xmlns="admin:iq:rpc"><result>1</result></query></iq>`},
		{"getdomainsinfolist", `<commandname>getdomainsinfolist</commandname><commandparams><filter><namemask>testing.com</namemask>
<typemask>0</typemask></filter><offset>0</offset><count>0</count></commandparams>`,
			`<iq type="result" sid="201604121335430012"><query xmlns="admin:iq:rpc"><result><item><name>testing.co.uk</name><desc/>
<domaintype>0</domaintype><accountcount>-5</accountcount></item><offset>0</offset><overallcount>1</overallcount></result></query></iq>`},
		{"createaccount", `<commandname>createaccount</commandname><commandparams><domainstr>testing.com</domainstr><accountproperties>
<item><apiproperty><propname>u_name</propname></apiproperty><propertyval><classname>tpropertystring</classname><val>testing</val></propertyval><propertyright>2</propertyright></item>
<item><apiproperty><propname>u_alias</propname></apiproperty><propertyval><classname>tpropertystring</classname><val>tester</val></propertyval><propertyright>2</propertyright></item>
<item><apiproperty><propname>u_type</propname></apiproperty><propertyval><classname>tpropertystring</classname><val>0</val></propertyval><propertyright>2</propertyright></item>
</accountproperties></commandparams>`,
			`<iq type="result" sid="1"><query xmlns="admin:iq:rpc"><result>1</result></query></iq>`},
		{"getaccountproperties", `<commandname>getaccountproperties</commandname><commandparams><accountemail>tester@testing.com</accountemail>
<accountpropertylist><item><propname>u_name</propname></item><item><propname>u_alias</propname></item><item><propname>u_type</propname></item></accountpropertylist>
<accountpropertyset>0</accountpropertyset></commandparams>`,
			`<iq type="result" sid="201604181336290003"><query xmlns="admin:iq:rpc"><result>
<item><apiproperty><propname>u_name</propname></apiproperty><propertyval><classname>TPropertyString</classname><val>Test</val></propertyval><propertyright>2</propertyright></item>
<item><apiproperty><propname>u_alias</propname></apiproperty><propertyval><classname>TPropertyString</classname><val>test</val></propertyval><propertyright>2</propertyright></item>
<item><apiproperty><propname>u_type</propname></apiproperty><propertyval><classname>TPropertyString</classname><val>0</val></propertyval><propertyright>2</propertyright></item>
</result></query></iq>`},
		{"getaccountsinfolist", `<commandname>getaccountsinfolist</commandname><commandparams><domainstr>testing.com</domainstr><filter><namemask>test</namemask>
<typemask>0</typemask></filter><offset>0</offset><count>0</count></commandparams>`,
			`<iq type="result" sid="201604181336290003"><query xmlns="admin:iq:rpc"><result><item><name>Test</name><email>test@testing.co.uk</email>
<accounttype>0</accounttype><admintype>1</admintype><quota><classname>TAccountQuota</classname><mailboxsize>934</mailboxsize><mailboxquota>0</mailboxquota></quota></item>
<offset>0</offset><overallcount>2</overallcount></result></query></iq>`},
		{"setaccountfolderpermissions", `<commandname>setaccountfolderpermissions</commandname><commandparams><accountemail>tester@testing.com</accountemail>
<folderid>2</folderid><permissions><item><account>test@testing.com</account><permissions>Permissions</permissions></item></permissions></commandparams>`,
			`<iq type="result" sid="1"><query xmlns="admin:iq:rpc"><result>1</result></query></iq>`},
		{"getaccountfolderpermissions", `<commandname>getaccountfolderpermissions</commandname><commandparams><accountemail>tester@testing.com</accountemail>
<folderid>2</folderid></commandparams>`,
			`<iq type="result" sid="201604191108190396"><query xmlns="admin:iq:rpc"><result><isinherited>0</isinherited><item><account>test@testing.com</account>
<permissions>permissions</permissions></item></result></query></iq>`},
		{"addaccountmembers (not a group)", `<commandname>addaccountmembers</commandname><commandparams><accountemail>tester@testing.com</accountemail>
<members><classname>tpropertymembers</classname><val><item><classname>tpropertymember</classname><val>Member 1</val><default>1</default>
<recieve>1</recieve><post>1</post><digest>1</digest></item></val></members></commandparams>`,
			`<iq type="result" sid="1"><query xmlns="admin:iq:rpc"><result>0</result></query></iq>`},
		{"unknown command", `<commandname>nosuchcommand</commandname><commandparams/>`,
			`<iq type="error"><query><error uid="iq_root_tag_invalid"/></query></iq>`},
		{"logout", `<commandname>logout</commandname><commandparams/>`,
			`<iq type="result" sid="1"><query xmlns="admin:iq:rpc"><result>1</result></query></iq>`},
		{"after logout", `<commandname>logout</commandname><commandparams/>`,
			`<iq type="error"><query><error uid="iq_root_tag_invalid"/></query></iq>`},
	}
	for _, st := range steps {
		got := post(t, s, req(st.body))
		if shapeOf(t, got) != shapeOf(t, st.want) {
			t.Errorf("%s: response %s\nhas shape\n%s\nwant shape of %s\n%s", st.name, got, shapeOf(t, got), st.want, shapeOf(t, st.want))
		}
	}
	if got := post(t, s, "not xml"); got != `<iq type="error"><query><error uid="iq_root_tag_invalid"/></query></iq>` {
		t.Errorf("malformed request answer = %s, want the ErrorResponse.xml shape", got)
	}
	// API-PY posts to /icewarpapi/<Command> (icewarp.md §7).
	resp, err := http.Post(s.URL()+"getdomainsinfolist", "text/xml", strings.NewReader(req(`<commandname>getdomainsinfolist</commandname><commandparams/>`)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "<error uid=") { // the sid was logged out above
		t.Errorf("/icewarpapi/getdomainsinfolist answer = %s, want the error envelope", b)
	}
	a, _ := s.Account("tester@testing.com")
	if a.Props["u_name"] != "testing" || a.Type != 0 {
		t.Errorf("account = %+v", a)
	}
}

// putAndRefresh writes one message in path mode and refreshes the account.
func setupAccount(t testing.TB, s *Server, email string) string {
	t.Helper()
	sid := login(t, s)
	alias, dom, _ := strings.Cut(email, "@")
	body := func(b string) string {
		return `<iq type="get" sid="` + sid + `"><query xmlns="admin:iq:rpc">` + b + `</query></iq>`
	}
	post(t, s, body(`<commandname>createdomain</commandname><commandparams><domainstr>`+dom+`</domainstr></commandparams>`))
	resp := post(t, s, body(`<commandname>createaccount</commandname><commandparams><domainstr>`+dom+`</domainstr><accountproperties>
<item><apiproperty><propname>u_alias</propname></apiproperty><propertyval><classname>tpropertystring</classname><val>`+alias+`</val></propertyval><propertyright>2</propertyright></item>
<item><apiproperty><propname>u_password</propname></apiproperty><propertyval><classname>tpropertystring</classname><val>user-pw</val></propertyval><propertyright>2</propertyright></item>
</accountproperties></commandparams>`))
	if !strings.Contains(resp, "<result>1</result>") {
		t.Fatalf("createaccount: %s", resp)
	}
	return sid
}

func refresh(t testing.TB, s *Server, sid, email string) {
	t.Helper()
	resp := post(t, s, `<iq type="get" sid="`+sid+`"><query xmlns="admin:iq:rpc"><commandname>setaccountproperties</commandname><commandparams>
<accountemail>`+email+`</accountemail><propertyvaluelist><item><apiproperty><propname>u_directorycache_refreshnow</propname></apiproperty>
<propertyval><classname>tpropertystring</classname><val>1</val></propertyval><propertyright>2</propertyright></item></propertyvaluelist></commandparams></query></iq>`)
	if !strings.Contains(resp, "<result>1</result>") {
		t.Fatalf("refresh: %s", resp)
	}
}

func TestCheckMailPath(t *testing.T) {
	good := func(t *testing.T, s *Server, acct string) {
		st, err := mailpath.Open(s.MailRoot())
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range [][]string{{"INBOX"}, {"Gelöschte Elemente"}, {"Spam"}, {"Misc."}, {"INBOX", "A&B"}} {
			if _, err := st.Put(context.Background(), acct, f, time.Now(), strings.NewReader("Subject: x\r\n\r\nbody\r\n")); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name   string
		mutate func(t *testing.T, acct string)
		want   []ProblemKind
	}{
		{"clean", func(*testing.T, string) {}, nil},
		{"bad extension", writeFile("inbox/201901010000000001.eml"), []ProblemKind{ProblemStrayFile}},
		{"bad name", writeFile("inbox/hello.imap"), []ProblemKind{ProblemFileName}},
		{"bad date in name", writeFile("inbox/201913010000000001.imap"), []ProblemKind{ProblemFileName}},
		{"message in account root", writeFile("201901010000000001.imap"), []ProblemKind{ProblemFileName}},
		{"raw utf-8 folder", writeFile("Gelöschte/201901010000000001.imap"), []ProblemKind{ProblemFolderName, ProblemNotRefreshed}},
		{"unencoded ampersand", writeFile("A&B/201901010000000001.imap"), []ProblemKind{ProblemFolderName, ProblemNotRefreshed}},
		{"INBOX upper case", writeFile("INBOX/201901010000000001.imap"), []ProblemKind{ProblemFolderName, ProblemNotRefreshed}},
		{"trailing dot not enc~", writeFile("Misc./201901010000000001.imap"), []ProblemKind{ProblemFolderName, ProblemNotRefreshed}},
		{"index written", writeFile("inbox/imapindex.dat"), []ProblemKind{ProblemIndexTouched}},
		{"flags created", writeFile("inbox/flags.dat"), []ProblemKind{ProblemIndexTouched}},
		{"index removed", func(t *testing.T, acct string) { os.Remove(filepath.Join(acct, "inbox", "imapindex.dat")) }, []ProblemKind{ProblemIndexTouched}},
		{"into ~webmail", writeFile("~webmail/201901010000000001.imap"), []ProblemKind{ProblemSystemFolder}},
		{"temp left", writeFile("inbox/.iem-123.tmp"), []ProblemKind{ProblemStrayFile}},
		{"not refreshed", writeFile("inbox/201901010000000001.imap"), []ProblemKind{ProblemNotRefreshed}},
		{"bare LF", writeFileData("inbox/201901010000000002.imap", "a\nb\n"), []ProblemKind{ProblemNotRefreshed, ProblemLineEndings}},
		{"outside account", writeFile("../nosuchuser/inbox/201901010000000001.imap"), []ProblemKind{ProblemOutsideAccount}},
		{"outside domain", writeFile("../../stray.imap"), []ProblemKind{ProblemOutsideAccount}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t)
			sid := setupAccount(t, s, "john@example.com")
			good(t, s, "example.com/john")
			if probs, _ := s.MailPathProblems(); !hasKind(probs, ProblemNotRefreshed) {
				t.Errorf("before refresh: problems %v, want ProblemNotRefreshed", probs)
			}
			refresh(t, s, sid, "john@example.com")
			tt.mutate(t, filepath.Join(s.MailRoot(), "example.com", "john"))
			probs, err := s.MailPathProblems()
			if err != nil {
				t.Fatal(err)
			}
			var kinds []ProblemKind
			for _, p := range probs {
				kinds = append(kinds, p.Kind)
			}
			slices.Sort(kinds)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(kinds, want) {
				t.Errorf("MailPathProblems() = %v, want kinds %v", probs, want)
			}
			if (s.CheckMailPath() == nil) != (len(tt.want) == 0) {
				t.Errorf("CheckMailPath() = %v, want error: %v", s.CheckMailPath(), len(tt.want) > 0)
			}
		})
	}
}

func hasKind(probs []Problem, k ProblemKind) bool {
	return slices.ContainsFunc(probs, func(p Problem) bool { return p.Kind == k })
}

func writeFile(rel string) func(*testing.T, string) {
	return writeFileData(rel, "Subject: x\r\n\r\n")
}

func writeFileData(rel, data string) func(*testing.T, string) {
	return func(t *testing.T, acct string) {
		p := filepath.Join(acct, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func dialIMAP(t *testing.T, s *Server) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(s.IMAPAddr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestPathModeVisibleAfterRefresh: files written in path mode show up over
// IMAP only after the account is refreshed (icewarp.md §7).
func TestPathModeVisibleAfterRefresh(t *testing.T) {
	s := startServer(t)
	sid := setupAccount(t, s, "john@example.com")
	st, _ := mailpath.Open(s.MailRoot())
	recv := time.Date(2021, 6, 1, 12, 30, 0, 0, time.Local)
	for _, f := range [][]string{{"INBOX"}, {"Gelöschte Elemente"}, {"Projects", "2021"}} {
		if _, err := st.Put(context.Background(), "example.com/john", f, recv, strings.NewReader("Subject: hi\r\n\r\nx\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := s.MailboxStatus("john@example.com", "INBOX"); n != 0 {
		t.Errorf("before refresh INBOX has %d messages, want 0", n)
	}
	refresh(t, s, sid, "john@example.com")
	refresh(t, s, sid, "john@example.com") // a second refresh adds nothing
	for _, f := range []string{"INBOX", "Gelöschte Elemente", "Projects/2021"} {
		if n, err := s.MailboxStatus("john@example.com", f); err != nil || n != 1 {
			t.Errorf("MailboxStatus(%q) = %d, %v, want 1", f, n, err)
		}
	}
	c := dialIMAP(t, s)
	if err := c.Login("john@example.com", "user-pw").Wait(); err != nil {
		t.Fatalf("Login = %v", err)
	}
	boxes, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range boxes {
		names = append(names, b.Mailbox)
		if b.Delim != '/' {
			t.Errorf("delimiter of %q = %q, want /", b.Mailbox, b.Delim)
		}
	}
	slices.Sort(names)
	if want := []string{"Gelöschte Elemente", "INBOX", "Projects", "Projects/2021"}; !slices.Equal(names, want) {
		t.Errorf("LIST = %v, want %v", names, want)
	}
	if _, err := c.Select("Projects/2021", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{InternalDate: true, Envelope: true}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("Fetch = %v, %v", msgs, err)
	}
	if !msgs[0].InternalDate.Equal(recv) || msgs[0].Envelope.Subject != "hi" {
		t.Errorf("message = date %v subject %q, want %v, hi", msgs[0].InternalDate, msgs[0].Envelope.Subject, recv)
	}
	if err := s.CheckMailPath(); err != nil {
		t.Errorf("CheckMailPath() = %v", err)
	}
}

func TestIMAPImpersonationAppend(t *testing.T) {
	s := startServer(t)
	setupAccount(t, s, "john@example.com")
	c := dialIMAP(t, s)
	// authzid = user, authcid = admin [V MS fix_imapindex.sh "user\0admin\0pass"]
	if err := c.Authenticate(sasl.NewPlainClient("john@example.com", s.AdminEmail(), s.AdminPassword())); err != nil {
		t.Fatalf("Authenticate(admin as user) = %v", err)
	}
	if err := c.Create("Sent Items", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	date := time.Date(2019, 3, 14, 7, 22, 15, 0, time.FixedZone("", 3600))
	msg := "Message-ID: <m1@example.com>\r\nSubject: hello\r\n\r\nbody\r\n"
	app := c.Append("Sent Items", int64(len(msg)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen, imap.FlagFlagged, "Projekt_&AMQ-"}, Time: date})
	io.WriteString(app, msg)
	if err := app.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := app.Wait()
	if err != nil || data.UID == 0 {
		t.Fatalf("Append = %+v, %v, want a UID", data, err)
	}
	if _, err := c.Select("Sent Items", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	sd, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: "<m1@example.com>"}}}, nil).Wait()
	if err != nil || !slices.Equal(sd.AllUIDs(), []imap.UID{data.UID}) {
		t.Fatalf("UID SEARCH Message-ID = %v, %v, want [%d]", sd, err, data.UID)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Flags: true, InternalDate: true}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatal(msgs, err)
	}
	fl := slices.Sorted(slices.Values(msgs[0].Flags))
	if !msgs[0].InternalDate.Equal(date) || !slices.Equal(fl, []imap.Flag{"Projekt_&AMQ-", imap.FlagFlagged, imap.FlagSeen}) {
		t.Errorf("message = %v %v, want %v with \\Seen \\Flagged and the keyword as written", msgs[0].InternalDate, msgs[0].Flags, date)
	}
	if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.MailboxStatus("john@example.com", "Sent Items"); n != 0 {
		t.Errorf("after EXPUNGE %d messages, want 0", n)
	}
	if got := s.MailFolders("john@example.com"); !slices.Equal(got, []string{"INBOX", "Sent Items"}) {
		t.Errorf("MailFolders = %v", got)
	}
}

func TestIMAPAuthFailures(t *testing.T) {
	s := startServer(t)
	setupAccount(t, s, "john@example.com")
	tests := []struct {
		name string
		auth func(c *imapclient.Client) error
	}{
		{"wrong user password", func(c *imapclient.Client) error { return c.Login("john@example.com", "nope").Wait() }},
		{"unknown user", func(c *imapclient.Client) error { return c.Login("nobody@example.com", "user-pw").Wait() }},
		{"wrong admin password", func(c *imapclient.Client) error {
			return c.Authenticate(sasl.NewPlainClient("john@example.com", s.AdminEmail(), "nope"))
		}},
		{"user impersonating user", func(c *imapclient.Client) error {
			return c.Authenticate(sasl.NewPlainClient("admin@icewarp.test", "john@example.com", "user-pw"))
		}},
		{"admin as unknown user", func(c *imapclient.Client) error {
			return c.Authenticate(sasl.NewPlainClient("nobody@example.com", s.AdminEmail(), s.AdminPassword()))
		}},
	}
	for _, tt := range tests {
		c := dialIMAP(t, s)
		if err := tt.auth(c); err == nil {
			t.Errorf("%s: authentication succeeded, want failure", tt.name)
		}
	}
}

func TestIMAPACL(t *testing.T) {
	s := startServer(t)
	sid := setupAccount(t, s, "john@example.com")
	c := dialIMAP(t, s)
	if err := c.Authenticate(sasl.NewPlainClient("john@example.com", s.AdminEmail(), s.AdminPassword())); err != nil {
		t.Fatal(err)
	}
	if !c.Caps().Has(imap.CapACL) {
		t.Errorf("Caps() = %v, want ACL", c.Caps())
	}
	// Pipelined: SETACL is sent before CREATE is answered and must wait for it.
	create := c.Create("Geteilt/Öffentlich", nil)
	set := c.SetACL("Geteilt/Öffentlich", "boss@example.com", imap.RightModificationReplace, imap.RightSet("lrs"))
	if err := create.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := set.Wait(); err != nil {
		t.Fatalf("SetACL = %v", err)
	}
	steps := []struct {
		who  string
		mod  imap.RightModification
		rs   string
		want string
	}{
		{"boss@example.com", imap.RightModificationAdd, "wi", "lrswi"},
		{"boss@example.com", imap.RightModificationRemove, "s", "lrwi"},
		{"anyone", imap.RightModificationReplace, "lr", "lr"},
	}
	for _, st := range steps {
		if err := c.SetACL("Geteilt/Öffentlich", imap.RightsIdentifier(st.who), st.mod, imap.RightSet(st.rs)).Wait(); err != nil {
			t.Fatal(err)
		}
		if got := s.ACL("john@example.com", "Geteilt/Öffentlich")[st.who]; got != st.want {
			t.Errorf("after SETACL %s %c%s: rights = %q, want %q", st.who, st.mod, st.rs, got, st.want)
		}
	}
	acl, err := c.GetACL("Geteilt/Öffentlich").Wait()
	if err != nil {
		t.Fatal(err)
	}
	if got := string(acl.Rights["boss@example.com"]); got != "lrwi" || string(acl.Rights["anyone"]) != "lr" || string(acl.Rights["john@example.com"]) != "lrswipkxtea" {
		t.Errorf("GetACL = %v", acl.Rights)
	}
	my, err := c.MyRights("INBOX").Wait()
	if err != nil || string(my.Rights) != "lrswipkxtea" {
		t.Errorf("MyRights = %v, %v", my, err)
	}
	if err := c.SetACL("Nope", "anyone", imap.RightModificationReplace, imap.RightSet("lr")).Wait(); err == nil {
		t.Error("SetACL(missing folder) = nil, want NO")
	}
	if err := c.SetACL("INBOX", "anyone", imap.RightModificationReplace, imap.RightSet("lrz")).Wait(); err == nil {
		t.Error("SetACL(bad right) = nil, want BAD")
	}
	// The admin API sees the same entries under "0"+base64(modified UTF-7 name).
	resp := post(t, s, `<iq type="get" sid="`+sid+`"><query xmlns="admin:iq:rpc"><commandname>getaccountfolderpermissions</commandname><commandparams>
<accountemail>john@example.com</accountemail><folderid>0`+base64Std("Geteilt/&ANY-ffentlich")+`</folderid></commandparams></query></iq>`)
	if !strings.Contains(resp, "<account>boss@example.com</account><permissions>lrwi</permissions>") {
		t.Errorf("getaccountfolderpermissions = %s", resp)
	}
	// An APPEND with a literal still works through the wrapper after ACL commands.
	msg := "Subject: after acl\r\n\r\nx\r\n"
	app := c.Append("Geteilt/Öffentlich", int64(len(msg)), nil)
	io.WriteString(app, msg)
	app.Close()
	if _, err := app.Wait(); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.MailboxStatus("john@example.com", "Geteilt/Öffentlich"); n != 1 {
		t.Errorf("messages = %d, want 1", n)
	}
}

func base64Std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
