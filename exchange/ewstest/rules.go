package ewstest

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/iemproject/iem/format"
)

// getInboxRules answers GetInboxRules with the mailbox's rules. Shape:
// [V MS-OXWSRULES 4.4]: the response element is the response message
// (ResponseClass, ResponseCode), with OutlookRuleBlobExists and
// InboxRules/Rule (types namespace) beside the code. Exchange 2007 SP1
// has no GetInboxRules (Exchange 2010 SP1 and later [V MS-OXWSRULES 4.4
// sends RequestServerVersion Exchange2010_SP1]): it answers the unknown
// body element with the ErrorSchemaValidation fault it gives for the
// other 2010 elements [V ews.md §6 plan item 1; INFERRED for this
// element], and so does a newer server asked with an older schema
// version [I]. An unknown address answers ErrorNonExistentMailbox [I].
func (s *Server) getInboxRules(r *req) (func(*w), *opFault) {
	if r.personality == Exchange2007SP1 || r.version < 3 { // requestVersions[3] = Exchange2010_SP1
		return nil, schemaFault("The element 'Body' in namespace 'http://schemas.xmlsoap.org/soap/envelope/' has invalid child element 'GetInboxRules' in namespace 'http://schemas.microsoft.com/exchange/services/2006/messages'.")
	}
	addr := r.body.Text("MailboxSmtpAddress")
	u := s.Org.Mailbox(addr)
	if addr != "" && u == nil {
		return nil, &opFault{"ErrorNonExistentMailbox", "The SMTP address has no mailbox associated with it."}
	}
	if u == nil {
		u = r.mailbox
	}
	if u == nil {
		return nil, &opFault{"ErrorNonExistentMailbox", "No mailbox to read the rules of."}
	}
	return func(b *w) {
		b.WriteString(`<m:ResponseCode>NoError</m:ResponseCode><m:OutlookRuleBlobExists>true</m:OutlookRuleBlobExists><m:InboxRules>`)
		for i := range u.InboxRules {
			writeRule(b, &u.InboxRules[i])
		}
		b.WriteString(`</m:InboxRules>`)
	}, nil
}

// writeRule writes one t:Rule ([MS-OXWSRULES] 2.2.4.21).
func writeRule(b *w, r *format.InboxRule) {
	b.WriteString(`<t:Rule>`)
	b.el("t:RuleId", r.ID)
	b.el("t:DisplayName", r.Name)
	b.el("t:Priority", strconv.Itoa(r.Priority))
	b.el("t:IsEnabled", strconv.FormatBool(r.Enabled))
	writePredicates(b, "t:Conditions", r.Conditions)
	writePredicates(b, "t:Exceptions", r.Exceptions)
	a := r.Actions
	b.WriteString(`<t:Actions>`)
	strs(b, "t:AssignCategories", a.AssignCategories)
	folderTarget(b, "t:CopyToFolder", a.CopyToFolder)
	flag(b, "t:Delete", a.Delete)
	addrs(b, "t:ForwardToRecipients", a.ForwardTo)
	flag(b, "t:MarkAsRead", a.MarkAsRead)
	folderTarget(b, "t:MoveToFolder", a.MoveToFolder)
	flag(b, "t:PermanentDelete", a.PermanentDelete)
	addrs(b, "t:RedirectToRecipients", a.RedirectTo)
	flag(b, "t:StopProcessingRules", a.StopProcessing)
	for _, o := range a.Other {
		b.WriteString("<t:" + o + ">true</t:" + o + ">")
	}
	b.WriteString(`</t:Actions></t:Rule>`)
}

// writePredicates writes Conditions or Exceptions in schema order
// ([MS-OXWSRULES] 2.2.4.24 is a sequence); an empty set is an empty element.
func writePredicates(b *w, name string, t format.RuleTests) {
	b.WriteString("<" + name + ">")
	strs(b, "t:ContainsBodyStrings", t.BodyContains)
	strs(b, "t:ContainsHeaderStrings", t.HeaderContains)
	strs(b, "t:ContainsSenderStrings", t.SenderContains)
	strs(b, "t:ContainsSubjectOrBodyStrings", t.SubjectOrBodyContains)
	strs(b, "t:ContainsSubjectStrings", t.SubjectContains)
	addrs(b, "t:FromAddresses", t.FromAddresses)
	for _, o := range t.Other {
		b.WriteString("<t:" + o + ">true</t:" + o + ">")
	}
	flag(b, "t:MyNameInToBox", t.SentToMe)
	flag(b, "t:SentOnlyToMe", t.SentOnlyToMe)
	addrs(b, "t:SentToAddresses", t.SentToAddresses)
	b.WriteString("</" + name + ">")
}

func strs(b *w, name string, l []string) {
	list(b, name, l, func(s string) { b.el("t:String", s) })
}

func addrs(b *w, name string, l []string) {
	list(b, name, l, func(s string) {
		b.WriteString("<t:Address>")
		b.el("t:EmailAddress", s)
		b.WriteString("<t:RoutingType>SMTP</t:RoutingType></t:Address>")
	})
}

// list writes <name> with one item per string, nothing for none.
func list(b *w, name string, l []string, item func(string)) {
	if len(l) == 0 {
		return
	}
	b.WriteString("<" + name + ">")
	for _, s := range l {
		item(s)
	}
	b.WriteString("</" + name + ">")
}

func flag(b *w, name string, v bool) {
	if v {
		b.WriteString("<" + name + ">true</" + name + ">")
	}
}

func folderTarget(b *w, name, id string) {
	if id == "" {
		return
	}
	b.WriteString("<" + name + ">")
	if d, ok := strings.CutPrefix(id, "distinguished:"); ok {
		b.printf(`<t:DistinguishedFolderId Id="%s"/>`, d)
	} else {
		b.WriteString(`<t:FolderId Id="`)
		b.esc(id)
		b.WriteString(`" ChangeKey="AQAAAA=="/>`)
	}
	b.WriteString("</" + name + ">")
}

// SetInboxRules replaces a mailbox's inbox rules, as a user does in
// Outlook between two rounds.
func (o *Org) SetInboxRules(smtp string, rules []format.InboxRule) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if u := o.Mailbox(smtp); u != nil {
		u.InboxRules = rules
	}
}

// demoInboxRules are the generated org's five rules for its first user,
// of different kinds: from an address → move to a subfolder of the Inbox
// and stop; sender contains → mark as read; subject contains → forward;
// subject contains and sent only to me, except from the boss → delete
// (disabled); a header condition → assign a category, which the target
// cannot do.
func demoInboxRules(u, boss *User, domain string) []format.InboxRule {
	var proj string
	for _, f := range u.dist["inbox"].children {
		if f.Name == "Projekte" {
			proj = f.ID
		}
	}
	id := func(n int) string {
		return base64.StdEncoding.EncodeToString([]byte("ewstest rule " + strconv.Itoa(n)))
	}
	return []format.InboxRule{
		{ID: id(1), Name: "Mail from " + boss.DisplayName, Enabled: true, Priority: 1,
			Conditions: format.RuleTests{FromAddresses: []string{boss.SMTP}},
			Actions:    format.RuleActions{MoveToFolder: proj, StopProcessing: true}},
		{ID: id(2), Name: "Newsletters read", Enabled: true, Priority: 2,
			Conditions: format.RuleTests{SenderContains: []string{"newsletter"}},
			Actions:    format.RuleActions{MarkAsRead: true}},
		{ID: id(3), Name: "Invoices to accounting", Enabled: true, Priority: 3,
			Conditions: format.RuleTests{SubjectContains: []string{"Rechnung", "Invoice"}},
			Actions:    format.RuleActions{ForwardTo: []string{"accounting@" + domain}}},
		{ID: id(4), Name: `Lottery "wins"`, Enabled: false, Priority: 4,
			Conditions: format.RuleTests{SubjectContains: []string{"lottery"}, SentOnlyToMe: true},
			Exceptions: format.RuleTests{FromAddresses: []string{boss.SMTP}},
			Actions:    format.RuleActions{Delete: true}},
		{ID: id(5), Name: "Project Apollo", Enabled: true, Priority: 5,
			Conditions: format.RuleTests{HeaderContains: []string{"X-Project: Apollo"}},
			Actions:    format.RuleActions{AssignCategories: []string{"Apollo"}}},
	}
}

// InboxRulesOf returns a copy of the mailbox's inbox rules, as
// GetInboxRules serves them (for the Graph emulator's messageRules).
func (o *Org) InboxRulesOf(u *User) []format.InboxRule {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]format.InboxRule(nil), u.InboxRules...)
}
