package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/iemproject/iem/format"
)

// Inbox rules over Graph: GET /users/{id}/mailFolders/inbox/messageRules
// (permission MailboxSettings.Read) [V GDOC messagerule-get.md and the
// "messageRule resource type" page; graph.md §6], mapped into the same
// [format.InboxRule] model the EWS Source fills from GetInboxRules, so the
// Sieve translation and its "rules not moved" list are the same both ways.

// recipient is Graph's recipient: {emailAddress: {name, address}}.
type recipient struct {
	EmailAddress struct {
		Address string `json:"address"`
	} `json:"emailAddress"`
}

func addresses(l []recipient) []string {
	var out []string
	for _, r := range l {
		out = append(out, r.EmailAddress.Address)
	}
	return out
}

// messageRule is the messageRule resource [V "messageRule resource type":
// id, displayName, sequence, isEnabled, conditions, exceptions, actions].
type messageRule struct {
	ID          string         `json:"id"`
	DisplayName string         `json:"displayName"`
	Sequence    int            `json:"sequence"`
	IsEnabled   bool           `json:"isEnabled"`
	Conditions  map[string]any `json:"conditions"`
	Exceptions  map[string]any `json:"exceptions"`
	Actions     map[string]any `json:"actions"`
}

// graphToEWS names the EWS element of a Graph predicate or action the
// model keeps by name only (RuleTests.Other, RuleActions.Other: EWS
// names, as the EWS Source keeps them); any other is the Graph name with
// an upper-case first letter [I: paired by meaning of "messageRulePredicates
// resource type" (GDOC resources/messagerulepredicates.md) and
// [MS-OXWSRULES] 2.2.4.24].
var graphToEWS = map[string]string{"recipientContains": "ContainsRecipientStrings", "messageActionFlag": "FlaggedForAction",
	"sentCcMe": "MyNameInCcBox", "sentToOrCcMe": "MyNameInToOrCcBox", "notSentToMe": "NotSentToMe",
	"forwardAsAttachmentTo": "ForwardAsAttachmentToRecipients"}

func ewsName(graph string) string {
	if e, ok := graphToEWS[graph]; ok {
		return e
	}
	return strings.ToUpper(graph[:1]) + graph[1:]
}

// ruleFields reads the named properties of a predicates or actions
// object into their typed targets; the others that ask for something
// (true, a non-empty list or string, an object) are returned by EWS name.
func ruleFields(m map[string]any, strs map[string]*[]string, addrs map[string]*[]string, flags map[string]*bool, ids map[string]*string) ([]string, error) {
	var other []string
	for k, v := range m {
		var err error
		switch {
		case strs[k] != nil:
			err = remarshal(v, strs[k])
		case addrs[k] != nil:
			var rs []recipient
			err = remarshal(v, &rs)
			*addrs[k] = addresses(rs)
		case flags[k] != nil:
			err = remarshal(v, flags[k])
		case ids[k] != nil:
			err = remarshal(v, ids[k])
		case k == "@odata.type":
		default:
			if asks(v) {
				other = append(other, ewsName(k))
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
	}
	slices.Sort(other) // a JSON object has no order; EWS keeps schema order [I: may differ for two or more]
	return other, nil
}

// remarshal decodes a generic JSON value into v.
func remarshal(from, v any) error {
	b, err := json.Marshal(from)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// asks reports whether a property value asks for something.
func asks(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	}
	return true
}

func predicates(m map[string]any) (format.RuleTests, error) {
	var t format.RuleTests
	other, err := ruleFields(m, map[string]*[]string{"bodyContains": &t.BodyContains, "bodyOrSubjectContains": &t.SubjectOrBodyContains,
		"headerContains": &t.HeaderContains, "senderContains": &t.SenderContains, "subjectContains": &t.SubjectContains},
		map[string]*[]string{"fromAddresses": &t.FromAddresses, "sentToAddresses": &t.SentToAddresses},
		map[string]*bool{"sentOnlyToMe": &t.SentOnlyToMe, "sentToMe": &t.SentToMe}, nil)
	t.Other = other
	return t, err
}

func actions(m map[string]any) (format.RuleActions, error) {
	var a format.RuleActions
	other, err := ruleFields(m, map[string]*[]string{"assignCategories": &a.AssignCategories},
		map[string]*[]string{"forwardTo": &a.ForwardTo, "redirectTo": &a.RedirectTo},
		map[string]*bool{"markAsRead": &a.MarkAsRead, "delete": &a.Delete, "permanentDelete": &a.PermanentDelete,
			"stopProcessingRules": &a.StopProcessing},
		map[string]*string{"moveToFolder": &a.MoveToFolder, "copyToFolder": &a.CopyToFolder})
	a.Other = other
	return a, err
}

// inboxRules reads the mailbox's inbox rules in the server's order. An
// error fails the settings read, so the archived settings (with their
// rules) are kept, as the EWS Source does.
func (s *Source) inboxRules(ctx context.Context, mailbox string) ([]format.InboxRule, error) {
	var rules []format.InboxRule
	_, err := Pages(ctx, s.c, mailboxPath(mailbox)+"/mailFolders/inbox/messageRules", func(r messageRule) error {
		c, err := predicates(r.Conditions)
		if err != nil {
			return fmt.Errorf("rule %q conditions: %w", r.DisplayName, err)
		}
		x, err := predicates(r.Exceptions)
		if err != nil {
			return fmt.Errorf("rule %q exceptions: %w", r.DisplayName, err)
		}
		a, err := actions(r.Actions)
		if err != nil {
			return fmt.Errorf("rule %q actions: %w", r.DisplayName, err)
		}
		rules = append(rules, format.InboxRule{ID: r.ID, Name: r.DisplayName, Enabled: r.IsEnabled, Priority: r.Sequence,
			Conditions: c, Exceptions: x, Actions: a})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("inbox rules: %w", err)
	}
	return rules, nil
}
