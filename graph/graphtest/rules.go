package graphtest

import (
	"net/http"
	"strings"

	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/format"
)

// Inbox rules: GET /users/{id}/mailFolders/inbox/messageRules serves the
// rules the EWS emulator serves through GetInboxRules (User.InboxRules),
// as messageRule JSON. Shapes: [V Microsoft Graph v1.0 "messageRule
// resource type" (id, displayName, sequence, isEnabled, hasError,
// isReadOnly, conditions, exceptions, actions), "messageRulePredicates
// resource type" (GDOC api-reference/v1.0/resources/messagerulepredicates.md:
// string collections, recipient collections for fromAddresses and
// sentToAddresses, booleans), "messageRuleActions resource type"
// (moveToFolder/copyToFolder as folder ids, forwardTo/redirectTo as
// recipients); the list is GET .../messageRules, permission
// MailboxSettings.Read, GDOC messagerule-get.md]. [I: the rule id is the
// EWS RuleId as is; Graph writes base64 ids of the same look.]

// ewsToGraph names the Graph property of an EWS predicate or action the
// neutral model keeps by its EWS name only (format.RuleTests.Other,
// RuleActions.Other); any other name is the EWS name with a lower-case
// first letter (HasAttachments: hasAttachments) [I: pairing by meaning of
// the two references].
var ewsToGraph = map[string]string{"ContainsRecipientStrings": "recipientContains", "FlaggedForAction": "messageActionFlag",
	"MyNameInCcBox": "sentCcMe", "MyNameInToOrCcBox": "sentToOrCcMe", "NotSentToMe": "notSentToMe",
	"ForwardAsAttachmentToRecipients": "forwardAsAttachmentTo"}

func graphName(ews string) string {
	if g, ok := ewsToGraph[ews]; ok {
		return g
	}
	return strings.ToLower(ews[:1]) + ews[1:]
}

// recipients renders addresses as a recipient collection.
func recipients(l []string) []any {
	out := []any{}
	for _, a := range l {
		out = append(out, map[string]any{"emailAddress": map[string]any{"name": a, "address": a}})
	}
	return out
}

// predicatesJSON renders conditions or exceptions; only what is set.
func predicatesJSON(t format.RuleTests) map[string]any {
	m := map[string]any{}
	set := func(k string, v []string) {
		if len(v) > 0 {
			m[k] = v
		}
	}
	set("bodyContains", t.BodyContains)
	set("bodyOrSubjectContains", t.SubjectOrBodyContains)
	set("headerContains", t.HeaderContains)
	set("senderContains", t.SenderContains)
	set("subjectContains", t.SubjectContains)
	if len(t.FromAddresses) > 0 {
		m["fromAddresses"] = recipients(t.FromAddresses)
	}
	if len(t.SentToAddresses) > 0 {
		m["sentToAddresses"] = recipients(t.SentToAddresses)
	}
	if t.SentOnlyToMe {
		m["sentOnlyToMe"] = true
	}
	if t.SentToMe {
		m["sentToMe"] = true
	}
	for _, o := range t.Other {
		m[graphName(o)] = true
	}
	return m
}

// ruleFolderID is a rule's folder target as a Graph folder id: a
// "distinguished:<role>" target becomes that folder's id.
func ruleFolderID(fs []folderView, id string) string {
	role, ok := strings.CutPrefix(id, "distinguished:")
	if !ok {
		return restID(id)
	}
	for _, f := range fs {
		if d := f.snap.Distinguished; strings.EqualFold(d[len(d)-1], role) {
			return restID(f.snap.ID)
		}
	}
	return role
}

// messageRuleJSON renders one rule as a messageRule.
func messageRuleJSON(fs []folderView, r format.InboxRule) map[string]any {
	a := r.Actions
	act := map[string]any{}
	if a.MoveToFolder != "" {
		act["moveToFolder"] = ruleFolderID(fs, a.MoveToFolder)
	}
	if a.CopyToFolder != "" {
		act["copyToFolder"] = ruleFolderID(fs, a.CopyToFolder)
	}
	if len(a.AssignCategories) > 0 {
		act["assignCategories"] = a.AssignCategories
	}
	if len(a.ForwardTo) > 0 {
		act["forwardTo"] = recipients(a.ForwardTo)
	}
	if len(a.RedirectTo) > 0 {
		act["redirectTo"] = recipients(a.RedirectTo)
	}
	for k, v := range map[string]bool{"markAsRead": a.MarkAsRead, "delete": a.Delete, "permanentDelete": a.PermanentDelete,
		"stopProcessingRules": a.StopProcessing} {
		if v {
			act[k] = true
		}
	}
	for _, o := range a.Other {
		act[graphName(o)] = true
	}
	return map[string]any{"id": r.ID, "displayName": r.Name, "sequence": r.Priority, "isEnabled": r.Enabled,
		"hasError": false, "isReadOnly": false, "conditions": predicatesJSON(r.Conditions),
		"exceptions": predicatesJSON(r.Exceptions), "actions": act}
}

// messageRules serves the rules of the inbox f of u; rules belong to the
// Inbox only [V messageRule resource: "rules for incoming messages in the
// Inbox"], another folder answers 400 [I].
func (e *Emulator) messageRules(w http.ResponseWriter, r *http.Request, u *ewstest.User, fs []folderView, f *folderView) {
	if d := f.snap.Distinguished; d[len(d)-1] != "inbox" {
		graphError(w, http.StatusBadRequest, "ErrorInvalidRequest", "Rules are supported on the Inbox folder only.")
		return
	}
	var items []any
	for _, rule := range e.Org.InboxRulesOf(u) {
		items = append(items, messageRuleJSON(fs, rule))
	}
	e.collection(w, r, "users('"+objectID(u.SMTP)+"')/mailFolders('inbox')/messageRules", items, 100)
}
