package exchange

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/iemproject/iem/exchange/internal/soap"
	"github.com/iemproject/iem/format"
)

// ErrNoInboxRules is returned by GetInboxRules for a server older than
// Exchange 2010 SP1, which has no GetInboxRules operation.
var ErrNoInboxRules = errors.New("exchange: the server has no GetInboxRules (Exchange 2010 SP1 and later)")

// GetInboxRules returns a mailbox's inbox rules (Exchange 2010 SP1 and
// later; the request carries RequestServerVersion Exchange2010_SP1 or
// later). Request and response: [MS-OXWSRULES] 4.4 (GetInboxRules with
// MailboxSmtpAddress; the response element is itself the response
// message, with OutlookRuleBlobExists and InboxRules/Rule beside its
// ResponseCode). A server that cannot answer it is not asked:
// ErrNoInboxRules.
func (c *Client) GetInboxRules(ctx context.Context, mailbox string) ([]format.InboxRule, error) {
	h, v, err := c.prepare(ctx, mailbox)
	if err != nil {
		return nil, err
	}
	if v < Exchange2010SP1 {
		return nil, fmt.Errorf("%w: requests are sent as %s", ErrNoInboxRules, v)
	}
	build := func(h soap.Header) []byte {
		var b bytes.Buffer
		b.WriteString(`<m:GetInboxRules><m:MailboxSmtpAddress>`)
		soap.Escape(&b, mailbox)
		b.WriteString(`</m:MailboxSmtpAddress></m:GetInboxRules>`)
		return soap.Envelope(h, b.Bytes())
	}
	var rules []format.InboxRule
	err = c.doSingle(ctx, "GetInboxRules", h, build, func(_ []byte, m *soap.Node) error {
		for _, r := range m.Child("InboxRules").All("Rule") {
			rules = append(rules, parseRule(r))
		}
		return nil
	})
	return rules, err
}

// parseRule reads one Rule ([MS-OXWSRULES] 2.2.4.21 RuleType).
func parseRule(n *soap.Node) format.InboxRule {
	p, _ := strconv.Atoi(n.Text("Priority"))
	return format.InboxRule{ID: n.Text("RuleId"), Name: n.RawText("DisplayName"), Priority: p,
		Enabled: n.Bool("IsEnabled"), Conditions: parsePredicates(n.Child("Conditions")),
		Exceptions: parsePredicates(n.Child("Exceptions")), Actions: parseActions(n.Child("Actions"))}
}

// modelledPredicates are the RulePredicatesType children the model
// keeps as values; any other child is kept by name (Other).
var modelledPredicates = map[string]bool{"FromAddresses": true, "ContainsSenderStrings": true, "ContainsSubjectStrings": true,
	"ContainsBodyStrings": true, "ContainsSubjectOrBodyStrings": true, "ContainsHeaderStrings": true,
	"SentToAddresses": true, "SentOnlyToMe": true, "MyNameInToBox": true}

// parsePredicates reads Conditions or Exceptions ([MS-OXWSRULES]
// 2.2.4.24 RulePredicatesType: string lists hold String children,
// address lists Address/EmailAddress children).
func parsePredicates(n *soap.Node) format.RuleTests {
	if n == nil {
		return format.RuleTests{}
	}
	t := format.RuleTests{
		FromAddresses:         n.Texts("FromAddresses", "Address", "EmailAddress"),
		SenderContains:        n.Texts("ContainsSenderStrings", "String"),
		SubjectContains:       n.Texts("ContainsSubjectStrings", "String"),
		BodyContains:          n.Texts("ContainsBodyStrings", "String"),
		SubjectOrBodyContains: n.Texts("ContainsSubjectOrBodyStrings", "String"),
		HeaderContains:        n.Texts("ContainsHeaderStrings", "String"),
		SentToAddresses:       n.Texts("SentToAddresses", "Address", "EmailAddress"),
		SentOnlyToMe:          n.Bool("SentOnlyToMe"),
		SentToMe:              n.Bool("MyNameInToBox"),
	}
	for _, c := range n.Elems() {
		if !modelledPredicates[c.Local] && !falseFlag(c) {
			t.Other = append(t.Other, c.Local)
		}
	}
	return t
}

var modelledActions = map[string]bool{"MoveToFolder": true, "CopyToFolder": true, "MarkAsRead": true,
	"ForwardToRecipients": true, "RedirectToRecipients": true, "Delete": true, "PermanentDelete": true,
	"StopProcessingRules": true, "AssignCategories": true}

// parseActions reads Actions ([MS-OXWSRULES] 2.2.4.19 RuleActionsType;
// MoveToFolder and CopyToFolder hold a FolderId or DistinguishedFolderId).
func parseActions(n *soap.Node) format.RuleActions {
	if n == nil {
		return format.RuleActions{}
	}
	a := format.RuleActions{
		MoveToFolder:     ruleFolder(n.Child("MoveToFolder")),
		CopyToFolder:     ruleFolder(n.Child("CopyToFolder")),
		MarkAsRead:       n.Bool("MarkAsRead"),
		ForwardTo:        n.Texts("ForwardToRecipients", "Address", "EmailAddress"),
		RedirectTo:       n.Texts("RedirectToRecipients", "Address", "EmailAddress"),
		Delete:           n.Bool("Delete"),
		PermanentDelete:  n.Bool("PermanentDelete"),
		StopProcessing:   n.Bool("StopProcessingRules"),
		AssignCategories: n.Texts("AssignCategories", "String"),
	}
	for _, c := range n.Elems() {
		if !modelledActions[c.Local] && !falseFlag(c) {
			a.Other = append(a.Other, c.Local)
		}
	}
	return a
}

// falseFlag reports a boolean predicate or action written as false,
// which asks for nothing.
func falseFlag(n *soap.Node) bool {
	return len(n.Children) == 0 && n.Text() == "false"
}

// ruleFolder returns the folder id of a TargetFolderIdType: a FolderId's
// Id, or a DistinguishedFolderId as "distinguished:<name>".
func ruleFolder(n *soap.Node) string {
	if n == nil {
		return ""
	}
	if f := n.Child("FolderId"); f != nil {
		return f.Attr("Id")
	}
	if d := n.Child("DistinguishedFolderId"); d != nil {
		return "distinguished:" + d.Attr("Id")
	}
	return ""
}

// inboxRules adds the mailbox's inbox rules to set. A server without
// GetInboxRules is not asked, and set.NotRead says so; any other error
// fails the settings read, so the archived settings (with their rules)
// are kept rather than replaced by settings without rules.
func (s *Source) inboxRules(ctx context.Context, mailbox string, set *format.MailboxSettings) error {
	rules, err := s.c.GetInboxRules(ctx, mailbox)
	if errors.Is(err, ErrNoInboxRules) {
		set.NotRead = append(set.NotRead, "inbox rules: the server version has no GetInboxRules (Exchange 2010 SP1 and later)")
		return nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		set.Fail(format.PartRules, err)
		return nil
	}
	set.Rules = rules
	return nil
}
