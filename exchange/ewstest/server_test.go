package ewstest_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/exchange/ewstest"
)

// These tests speak raw SOAP to the emulator, independent of the
// exchange package, and check its responses against the shapes of
// shared/research/ews.md.

func httpClient(t *testing.T, srv *ewstest.Server) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(srv.CertPEM()) {
		t.Fatal("CertPEM is not a PEM certificate")
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

type call struct {
	version string // RequestServerVersion ("" = none)
	imp     string // impersonation element, e.g. `<t:SmtpAddress>a@b</t:SmtpAddress>`
	anchor  string // X-AnchorMailbox
	body    string // operation element
	user    string
	pass    string
}

func post(t *testing.T, srv *ewstest.Server, c call) (int, http.Header, string) {
	t.Helper()
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ` +
		`xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><soap:Header>`)
	if c.version != "" {
		b.WriteString(`<t:RequestServerVersion Version="` + c.version + `"/>`)
	}
	if c.imp != "" {
		b.WriteString(`<t:ExchangeImpersonation><t:ConnectingSID>` + c.imp + `</t:ConnectingSID></t:ExchangeImpersonation>`)
	}
	b.WriteString(`</soap:Header><soap:Body>` + c.body + `</soap:Body></soap:Envelope>`)
	req, err := http.NewRequest(http.MethodPost, srv.URL(), strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	if c.anchor != "" {
		req.Header.Set("X-AnchorMailbox", c.anchor)
	}
	user, pass := srv.Username(), srv.Password()
	if c.user != "" {
		user, pass = c.user, c.pass
	}
	req.SetBasicAuth(user, pass)
	resp, err := httpClient(t, srv).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusUnauthorized {
		// Every SOAP response must be well-formed XML.
		d := xml.NewDecoder(bytes.NewReader(data))
		for {
			if _, err := d.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("response is not well-formed: %v\n%s", err, data)
			}
		}
	}
	return resp.StatusCode, resp.Header, string(data)
}

const (
	syncInbox = `<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="inbox"/></m:SyncFolderId>` +
		`<m:MaxChangesReturned>512</m:MaxChangesReturned></m:SyncFolderItems>`
	aliceSmtp      = `<t:SmtpAddress>alice@example.com</t:SmtpAddress>`
	alicePrimary   = `<t:PrimarySmtpAddress>alice@example.com</t:PrimarySmtpAddress>`
	delegatesAlice = `<m:GetDelegate IncludePermissions="true"><m:Mailbox><t:EmailAddress>alice@example.com</t:EmailAddress></m:Mailbox></m:GetDelegate>`
	rulesAlice     = `<m:GetInboxRules><m:MailboxSmtpAddress>alice@example.com</m:MailboxSmtpAddress></m:GetInboxRules>`
)

func faultCode(body string) string {
	m := regexp.MustCompile(`<faultcode[^>]*>a:(\w+)</faultcode>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

func TestProtocol(t *testing.T) {
	tests := []struct {
		name   string
		p      ewstest.Personality
		c      call
		status int
		want   []string // substrings of the response
	}{
		{"wrong password", ewstest.Exchange2016, call{version: "Exchange2016", body: syncInbox, user: `EXAMPLE\admin`, pass: "wrong"}, 401, nil},
		{"upn login", ewstest.Exchange2016, call{version: "Exchange2016", imp: aliceSmtp, anchor: "alice@example.com", body: syncInbox, user: "admin@example.com", pass: ewstest.TestPassword}, 200,
			[]string{`ResponseClass="Success"`}},
		{"unknown version", ewstest.Exchange2016, call{version: "Exchange2099", body: syncInbox}, 500, []string{"a:ErrorInvalidServerVersion", "The specified server version is invalid."}},
		{"newer than server", ewstest.Exchange2010SP2, call{version: "Exchange2013", body: syncInbox}, 500, []string{"a:ErrorInvalidServerVersion"}},
		// 2007 SP1 schema differences [V ews.md §1.1, §2.1].
		{"2007 SyncScope", ewstest.Exchange2007SP1, call{version: "Exchange2007_SP1", imp: alicePrimary,
			body: strings.Replace(syncInbox, `</m:MaxChangesReturned>`, `</m:MaxChangesReturned><m:SyncScope>NormalItems</m:SyncScope>`, 1)}, 500,
			[]string{"a:ErrorSchemaValidation", "SyncScope"}},
		{"2010 SyncScope", ewstest.Exchange2010SP2, call{version: "Exchange2010_SP2", imp: aliceSmtp,
			body: strings.Replace(syncInbox, `</m:MaxChangesReturned>`, `</m:MaxChangesReturned><m:SyncScope>NormalItems</m:SyncScope>`, 1)}, 200,
			[]string{`ResponseClass="Success"`}},
		{"2007 SyncFolderId", ewstest.Exchange2007SP1, call{version: "Exchange2007_SP1", imp: alicePrimary,
			body: `<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:SyncFolderId><t:DistinguishedFolderId Id="msgfolderroot"/></m:SyncFolderId></m:SyncFolderHierarchy>`}, 500,
			[]string{"a:ErrorSchemaValidation", "SyncFolderId"}},
		{"2007 SmtpAddress", ewstest.Exchange2007SP1, call{version: "Exchange2007_SP1", imp: aliceSmtp, body: syncInbox}, 500,
			[]string{"a:ErrorSchemaValidation", "SmtpAddress"}},
		{"2007 envelope", ewstest.Exchange2007SP1, call{version: "Exchange2007_SP1", imp: alicePrimary, body: syncInbox}, 200,
			[]string{`<soap:Envelope`, `<t:ServerVersionInfo MajorVersion="8" MinorVersion="1"`, `<SyncFolderItemsResponse xmlns:m=`, `xmlns="http://schemas.microsoft.com/exchange/services/2006/messages"`}},
		{"2016 envelope", ewstest.Exchange2016, call{version: "Exchange2016", imp: aliceSmtp, anchor: "alice@example.com", body: syncInbox}, 200,
			[]string{`<s:Envelope`, `<h:ServerVersionInfo MajorVersion="15" MinorVersion="1" MajorBuildNumber="761" MinorBuildNumber="16" Version="V2016_10_10"`, `<m:SyncFolderItemsResponse`, `<m:SyncState>H4sI`}},
		{"max changes", ewstest.Exchange2016, call{version: "Exchange2016", imp: aliceSmtp, anchor: "alice@example.com", body: strings.Replace(syncInbox, ">512<", ">513<", 1)}, 500,
			[]string{"a:ErrorSchemaValidation", "MaxChangesReturned"}},
		{"anchor required 2013", ewstest.Exchange2013, call{version: "Exchange2013", imp: aliceSmtp, body: syncInbox}, 500, []string{"a:ErrorInternalServerError", "X-AnchorMailbox"}},
		{"no anchor 2010", ewstest.Exchange2010SP2, call{version: "Exchange2010_SP2", imp: aliceSmtp, body: syncInbox}, 200, []string{`ResponseClass="Success"`}},
		{"unknown mailbox", ewstest.Exchange2016, call{version: "Exchange2016", imp: `<t:SmtpAddress>nobody@example.com</t:SmtpAddress>`, body: syncInbox}, 500, []string{"a:ErrorNonExistentMailbox"}},
		{"alias impersonation", ewstest.Exchange2010SP2, call{version: "Exchange2010_SP2", imp: `<t:SmtpAddress>alice.alias@example.com</t:SmtpAddress>`, body: syncInbox}, 200, []string{`ResponseClass="Success"`}},
		{"tampered state", ewstest.Exchange2016, call{version: "Exchange2016", imp: aliceSmtp, anchor: "alice@example.com",
			body: strings.Replace(syncInbox, `<m:MaxChangesReturned>`, `<m:SyncState>H4sIAAAAtampered</m:SyncState><m:MaxChangesReturned>`, 1)}, 200,
			[]string{`ResponseClass="Error"`, "<m:ResponseCode>ErrorInvalidSyncStateData</m:ResponseCode>", "<m:SyncState/>"}},
		{"public deep", ewstest.Exchange2016, call{version: "Exchange2016",
			body: `<m:FindFolder Traversal="Deep"><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:ParentFolderIds><t:DistinguishedFolderId Id="publicfoldersroot"/></m:ParentFolderIds></m:FindFolder>`}, 200,
			[]string{`ResponseClass="Error"`, "ErrorInvalidOperation"}},
		{"public shallow", ewstest.Exchange2016, call{version: "Exchange2016",
			body: `<m:FindFolder Traversal="Shallow"><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="folder:DisplayName"/></t:AdditionalProperties></m:FolderShape>` +
				`<m:IndexedPageFolderView MaxEntriesReturned="2" Offset="0" BasePoint="Beginning"/><m:ParentFolderIds><t:DistinguishedFolderId Id="publicfoldersroot"/></m:ParentFolderIds></m:FindFolder>`}, 200,
			[]string{`IndexedPagingOffset="2" TotalItemsInView="2" IncludesLastItemInRange="true"`, "<t:DisplayName>Company</t:DisplayName>", "<t:DisplayName>Shared Contacts</t:DisplayName>"}},
		{"unsupported op", ewstest.Exchange2016, call{version: "Exchange2016", body: `<m:CreateItem/>`}, 500, []string{"a:ErrorInvalidRequest"}},
		{"permissions 2013 not in AllProperties", ewstest.Exchange2013, call{version: "Exchange2013", imp: aliceSmtp, anchor: "alice@example.com",
			body: `<m:GetFolder><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>`}, 200,
			[]string{"<t:DisplayName>Inbox</t:DisplayName>"}},
		{"calendar permissions", ewstest.Exchange2013, call{version: "Exchange2013", imp: aliceSmtp, anchor: "alice@example.com",
			body: `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="folder:PermissionSet"/></t:AdditionalProperties></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="calendar"/></m:FolderIds></m:GetFolder>`}, 200,
			[]string{"<t:CalendarPermissions><t:CalendarPermission><t:UserId><t:DistinguishedUser>Default</t:DistinguishedUser>", "<t:CalendarPermissionLevel>FreeBusyTimeOnly</t:CalendarPermissionLevel>", "<t:ReadItems>TimeOnly</t:ReadItems>"}},
		{"2007 contact MIME", ewstest.Exchange2007SP1, call{version: "Exchange2007_SP1", imp: alicePrimary,
			body: `<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:IncludeMimeContent>true</t:IncludeMimeContent></m:ItemShape><m:ItemIds>CONTACT</m:ItemIds></m:GetItem>`}, 200,
			[]string{"<m:ResponseCode>ErrorUnsupportedMimeConversion</m:ResponseCode>", "Mime conversion is not supported for this item type."}},
		// GetInboxRules [V MS-OXWSRULES 4.4]; 2007 SP1 has none.
		{"rules 2007", ewstest.Exchange2007SP1, call{version: "Exchange2007_SP1", imp: alicePrimary, body: rulesAlice}, 500,
			[]string{"a:ErrorSchemaValidation", "GetInboxRules"}},
		{"rules 2010 asked as 2007", ewstest.Exchange2010SP2, call{version: "Exchange2007_SP1", imp: alicePrimary, body: rulesAlice}, 500,
			[]string{"a:ErrorSchemaValidation"}},
		{"rules 2010", ewstest.Exchange2010SP2, call{version: "Exchange2010_SP2", imp: aliceSmtp, body: rulesAlice}, 200,
			[]string{`<m:GetInboxRulesResponse ResponseClass="Success"`, `<m:ResponseCode>NoError</m:ResponseCode><m:OutlookRuleBlobExists>true</m:OutlookRuleBlobExists><m:InboxRules><t:Rule>`,
				`<t:DisplayName>Mail from Bob Müller</t:DisplayName><t:Priority>1</t:Priority><t:IsEnabled>true</t:IsEnabled>`,
				`<t:FromAddresses><t:Address><t:EmailAddress>bob@example.com</t:EmailAddress>`,
				`<t:MoveToFolder><t:FolderId Id="AAMkAD`, `<t:StopProcessingRules>true</t:StopProcessingRules>`,
				`<t:ContainsSenderStrings><t:String>newsletter</t:String></t:ContainsSenderStrings>`, `<t:MarkAsRead>true</t:MarkAsRead>`,
				`<t:ForwardToRecipients><t:Address><t:EmailAddress>accounting@example.com</t:EmailAddress>`,
				`<t:IsEnabled>false</t:IsEnabled>`, `<t:SentOnlyToMe>true</t:SentOnlyToMe>`, `<t:Exceptions><t:FromAddresses>`, `<t:Delete>true</t:Delete>`,
				`<t:DisplayName>Newsletters read</t:DisplayName>`, `<t:DisplayName>Invoices to accounting</t:DisplayName>`, `<t:DisplayName>Lottery &#34;wins&#34;</t:DisplayName>`,
				`<t:DisplayName>Project Apollo</t:DisplayName>`, `<t:ContainsHeaderStrings><t:String>X-Project: Apollo</t:String>`, `<t:AssignCategories><t:String>Apollo</t:String>`,
				`</m:InboxRules></m:GetInboxRulesResponse>`}},
		{"rules 2016 other mailbox", ewstest.Exchange2016, call{version: "Exchange2016", imp: aliceSmtp, anchor: "alice@example.com",
			body: strings.Replace(rulesAlice, "alice@", "bob@", 1)}, 200,
			[]string{`ResponseClass="Success"`, `<m:InboxRules></m:InboxRules>`}},
		{"rules 2016 no mailbox", ewstest.Exchange2016, call{version: "Exchange2016", imp: aliceSmtp, anchor: "alice@example.com",
			body: strings.Replace(rulesAlice, "alice@", "nobody@", 1)}, 500, []string{"a:ErrorNonExistentMailbox"}},
		// GetDelegate (learn.microsoft.com getdelegate-operation): 2007 SP1 and later.
		{"delegates 2007", ewstest.Exchange2007SP1, call{version: "Exchange2007_SP1", imp: alicePrimary, body: delegatesAlice}, 200,
			[]string{`<GetDelegateResponse ResponseClass="Success"`, `<m:ResponseCode>NoError</m:ResponseCode><m:ResponseMessages><m:DelegateUserResponseMessageType ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>`,
				`<m:DelegateUser><t:UserId><t:PrimarySmtpAddress>bob@example.com</t:PrimarySmtpAddress><t:DisplayName>Bob Müller</t:DisplayName></t:UserId>`,
				`<t:DelegatePermissions><t:CalendarFolderPermissionLevel>Editor</t:CalendarFolderPermissionLevel><t:TasksFolderPermissionLevel>Author</t:TasksFolderPermissionLevel><t:InboxFolderPermissionLevel>Reviewer</t:InboxFolderPermissionLevel><t:ContactsFolderPermissionLevel>None</t:ContactsFolderPermissionLevel>`,
				`</t:DelegatePermissions><t:ReceiveCopiesOfMeetingMessages>true</t:ReceiveCopiesOfMeetingMessages><t:ViewPrivateItems>true</t:ViewPrivateItems></m:DelegateUser>`,
				`</m:ResponseMessages><m:DeliverMeetingRequests>DelegatesAndMe</m:DeliverMeetingRequests></GetDelegateResponse>`}},
		{"delegates asked as 2007 RTM", ewstest.Exchange2016, call{version: "Exchange2007", imp: alicePrimary, anchor: "alice@example.com", body: delegatesAlice}, 500,
			[]string{"a:ErrorSchemaValidation", "GetDelegate"}},
		{"delegates without permissions", ewstest.Exchange2016, call{version: "Exchange2016", imp: aliceSmtp, anchor: "alice@example.com",
			body: strings.Replace(delegatesAlice, `"true"`, `"false"`, 1)}, 200,
			[]string{`<t:DisplayName>Bob Müller</t:DisplayName></t:UserId><t:ReceiveCopiesOfMeetingMessages>`}},
		{"delegates none", ewstest.Exchange2016, call{version: "Exchange2016", imp: aliceSmtp, anchor: "alice@example.com",
			body: strings.Replace(delegatesAlice, "alice@", "info@", 1)}, 200,
			[]string{`<m:GetDelegateResponse ResponseClass="Success" xmlns:m=`, `><m:ResponseCode>NoError</m:ResponseCode><m:DeliverMeetingRequests>`}},
		{"delegates no mailbox", ewstest.Exchange2016, call{version: "Exchange2016", imp: aliceSmtp, anchor: "alice@example.com",
			body: strings.Replace(delegatesAlice, "alice@", "nobody@", 1)}, 500, []string{"a:ErrorNonExistentMailbox"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			org := ewstest.Generate(1, ewstest.OrgOptions{})
			srv, err := ewstest.Start(org, &ewstest.Options{Personality: tt.p})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			c := tt.c
			if strings.Contains(c.body, "CONTACT") {
				// The first contact of alice, found with a FindItem.
				_, _, list := post(t, srv, call{version: c.version, imp: c.imp, anchor: c.anchor,
					body: `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:ParentFolderIds><t:DistinguishedFolderId Id="contacts"/></m:ParentFolderIds></m:FindItem>`})
				m := regexp.MustCompile(`<t:Contact><t:ItemId Id="([^"]+)"`).FindStringSubmatch(list)
				if m == nil {
					t.Fatalf("no contact in %s", list)
				}
				c.body = strings.Replace(c.body, "CONTACT", `<t:ItemId Id="`+m[1]+`"/>`, 1)
			}
			status, hdr, body := post(t, srv, c)
			if status != tt.status {
				t.Fatalf("status = %d, want %d\n%s", status, tt.status, body)
			}
			if status == 401 && !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("WWW-Authenticate = %q", hdr.Get("WWW-Authenticate"))
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("response lacks %q:\n%s", w, body)
				}
			}
			if status == 500 && faultCode(body) == "" {
				t.Errorf("500 without a faultcode:\n%s", body)
			}
			if tt.name == "permissions 2013 not in AllProperties" && strings.Contains(body, "PermissionSet") {
				t.Errorf("2013 AllProperties includes PermissionSet [V ews.md §2.4 Version differences]")
			}
		})
	}
}

// TestSyncOrder: newest first from 2010 SP2, oldest first before
// [V ews.md §2.5 mailbox-synchronization-and-ews-in-exchange.md].
func TestSyncOrder(t *testing.T) {
	for _, p := range ewstest.Personalities {
		org := ewstest.Generate(1, ewstest.OrgOptions{})
		srv, err := ewstest.Start(org, &ewstest.Options{Personality: p})
		if err != nil {
			t.Fatal(err)
		}
		_, _, body := post(t, srv, call{version: "Exchange2007_SP1", imp: alicePrimary, anchor: "alice@example.com", body: syncInbox})
		srv.Close()
		ids := regexp.MustCompile(`<t:Create><t:Message><t:ItemId Id="([^"]+)"`).FindAllStringSubmatch(body, -1)
		want := org.FolderItems("alice@example.com", "inbox")
		if len(ids) != len(want) {
			t.Fatalf("%v: %d creates, want %d", p, len(ids), len(want))
		}
		first := want[0]
		if p >= ewstest.Exchange2010SP2 {
			first = want[len(want)-1]
		}
		if ids[0][1] != first {
			t.Errorf("%v: first change %s, want %s", p, ids[0][1], first)
		}
	}
}

func TestLargeMIME(t *testing.T) {
	for _, size := range []int64{0, 1, 100, 1 << 20, 3<<20 + 7} {
		a, _ := io.ReadAll(ewstest.LargeMIME(size, 9))
		b, _ := io.ReadAll(ewstest.LargeMIME(size, 9))
		if int64(len(a)) != size || !bytes.Equal(a, b) {
			t.Errorf("LargeMIME(%d) = %d bytes (deterministic %t)", size, len(a), bytes.Equal(a, b))
		}
	}
}

func TestFaultInjectionBookkeeping(t *testing.T) {
	srv, err := ewstest.Start(ewstest.Generate(1, ewstest.OrgOptions{}), &ewstest.Options{Personality: ewstest.Exchange2010SP2})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.Inject(ewstest.Fault{Kind: ewstest.FaultBusySOAP, Op: "GetFolder", Count: 2})
	srv.Inject(ewstest.Fault{Kind: ewstest.FaultBusyInBody, Op: "SyncFolderItems"})
	if srv.Pending() != 3 {
		t.Fatalf("Pending = %d, want 3", srv.Pending())
	}
	status, _, body := post(t, srv, call{version: "Exchange2010_SP2", imp: aliceSmtp, body: syncInbox})
	if status != 200 || !strings.Contains(body, "<m:ResponseCode>ErrorServerBusy</m:ResponseCode>") ||
		!strings.Contains(body, `<t:Value Name="BackOffMilliseconds">20</t:Value>`) || !strings.Contains(body, "Suggested backoff time 20 ms") {
		t.Errorf("in-body busy: %d\n%s", status, body)
	}
	gf := `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>`
	for i := range 3 {
		status, _, body := post(t, srv, call{version: "Exchange2010_SP2", imp: aliceSmtp, body: gf})
		busy := status == 500 && faultCode(body) == "ErrorServerBusy" && strings.Contains(body, `<t:Value Name="BackOffMilliseconds">`)
		if busy != (i < 2) {
			t.Errorf("GetFolder %d: status %d busy %t, want busy only for the first two", i, status, busy)
		}
	}
	if srv.Pending() != 0 || srv.Injected(ewstest.FaultBusySOAP) != 2 || srv.Injected(ewstest.FaultBusyInBody) != 1 {
		t.Errorf("Pending %d, Injected busy-soap %d, busy-in-body %d", srv.Pending(), srv.Injected(ewstest.FaultBusySOAP), srv.Injected(ewstest.FaultBusyInBody))
	}
	if got := len(srv.RequestLog("GetFolder")); got != 3 || srv.Requests("GetFolder") != 3 || srv.Requests("") != 4 {
		t.Errorf("RequestLog(GetFolder) = %d, Requests = %d/%d", got, srv.Requests("GetFolder"), srv.Requests(""))
	}
	for _, r := range srv.RequestLog("") {
		if r.Header.Get("Authorization") != "" {
			t.Error("request log keeps the Authorization header")
		}
	}
}

func TestMutate(t *testing.T) {
	org := ewstest.Generate(1, ewstest.OrgOptions{})
	before := org.Stats()
	inbox := org.FolderItems("alice@example.com", "inbox")
	org.Mutate(1)
	after := org.Stats()
	if org.Round() != 1 {
		t.Errorf("Round = %d", org.Round())
	}
	// Per mailbox: a new folder; public: a new post.
	if after.Folders != before.Folders+before.Mailboxes || after.PublicItems != before.PublicItems+1 {
		t.Errorf("Stats %+v -> %+v", before, after)
	}
	now := org.FolderItems("alice@example.com", "inbox")
	// Inbox: one moved out, two new.
	if len(now) != len(inbox)+1 {
		t.Errorf("inbox %d -> %d items, want +1", len(inbox), len(now))
	}
	again := ewstest.Generate(1, ewstest.OrgOptions{})
	again.Mutate(1)
	if got := again.FolderItems("alice@example.com", "inbox"); strings.Join(got, ",") != strings.Join(now, ",") {
		t.Error("Generate+Mutate is not deterministic")
	}
}

// TestConcurrentWhileStreaming: a client that reads a large MimeContent
// slowly does not hold up other requests (the emulator renders under its
// lock and streams after releasing it).
func TestConcurrentWhileStreaming(t *testing.T) {
	org := ewstest.Generate(1, ewstest.OrgOptions{})
	id := org.AddLargeMessage("alice@example.com", 64<<20, 3)
	srv, err := ewstest.Start(org, &ewstest.Options{Personality: ewstest.Exchange2010SP2})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	env := `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">` +
		`<soap:Header><t:RequestServerVersion Version="Exchange2010_SP2"/><t:ExchangeImpersonation><t:ConnectingSID>` + aliceSmtp + `</t:ConnectingSID></t:ExchangeImpersonation></soap:Header><soap:Body>` +
		`<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:IncludeMimeContent>true</t:IncludeMimeContent></m:ItemShape><m:ItemIds><t:ItemId Id="` + id + `"/></m:ItemIds></m:GetItem></soap:Body></soap:Envelope>`
	req, _ := http.NewRequest(http.MethodPost, srv.URL(), strings.NewReader(env))
	req.SetBasicAuth(srv.Username(), srv.Password())
	resp, err := httpClient(t, srv).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadFull(resp.Body, make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	// The large response is now stalled on a full TCP window. Another
	// request must still be served; the timeout only turns a deadlock
	// into a failure instead of a hang.
	cl := httpClient(t, srv)
	cl.Timeout = 2 * time.Minute
	req2, _ := http.NewRequest(http.MethodPost, srv.URL(), strings.NewReader(strings.Replace(env, `<t:IncludeMimeContent>true</t:IncludeMimeContent>`, ``, 1)))
	req2.SetBasicAuth(srv.Username(), srv.Password())
	resp2, err := cl.Do(req2)
	if err != nil {
		t.Fatalf("second request while the first streams: %v", err)
	}
	body, _ := io.ReadAll(resp2.Body)
	resp2.Body.Close()
	if !strings.Contains(string(body), `ResponseClass="Success"`) {
		t.Errorf("second response: %s", body)
	}
}
