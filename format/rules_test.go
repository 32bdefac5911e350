package format

import (
	"reflect"
	"strings"
	"testing"
)

// testRules are the five kinds of the generated org, plus one with a
// folder that is not imported and one on the body.
func testRules() []InboxRule {
	return []InboxRule{
		{Name: "Project Apollo", Enabled: true, Priority: 5,
			Conditions: RuleTests{HeaderContains: []string{"X-Project: Apollo"}},
			Actions:    RuleActions{AssignCategories: []string{"Apollo"}}},
		{Name: "Mail from Bob", Enabled: true, Priority: 1,
			Conditions: RuleTests{FromAddresses: []string{"bob@example.com"}},
			Actions:    RuleActions{MoveToFolder: "F-proj", StopProcessing: true}},
		{Name: "Newsletters read", Enabled: true, Priority: 2,
			Conditions: RuleTests{SenderContains: []string{"newsletter"}},
			Actions:    RuleActions{MarkAsRead: true}},
		{Name: "Invoices", Enabled: true, Priority: 3,
			Conditions: RuleTests{SubjectContains: []string{"Rechnung", `Invoice "Q1"`}},
			Actions:    RuleActions{ForwardTo: []string{"accounting@example.com"}}},
		{Name: "Lottery", Enabled: false, Priority: 4,
			Conditions: RuleTests{SubjectContains: []string{"lottery"}, SentOnlyToMe: true},
			Exceptions: RuleTests{FromAddresses: []string{"bob@example.com"}},
			Actions:    RuleActions{Delete: true}},
		{Name: "Gone folder", Enabled: true, Priority: 6,
			Conditions: RuleTests{BodyContains: []string{"unsubscribe"}},
			Actions:    RuleActions{MoveToFolder: "F-gone"}},
		{Name: "Attachments", Enabled: true, Priority: 7,
			Conditions: RuleTests{Other: []string{"HasAttachments"}},
			Actions:    RuleActions{PermanentDelete: true}},
	}
}

func testTarget() SieveTarget {
	return SieveTarget{Account: "alice@example.com", Me: []string{"alice@example.com"}, Trash: []string{"Deleted Items"},
		Folder: func(id string) ([]string, bool) {
			if id == "F-proj" {
				return []string{"Inbox", "Projekte"}, true
			}
			return nil, false
		}}
}

// TestRulesToSieve checks the whole script: priority order, one require
// line with exactly the extensions used, AND of conditions and OR of
// exceptions, quoting, a disabled rule as "if false", and the rules left
// out with their reasons.
func TestRulesToSieve(t *testing.T) {
	got, res := RulesToSieve(testRules(), testTarget())
	want := `# Exchange inbox rules of alice@example.com, translated by iem (RFC 5228 Sieve).
require ["comparator-i;ascii-numeric", "copy", "fileinto", "imap4flags", "relational"];

# Rule 1: Mail from Bob
if address :is "from" "bob@example.com" {
    fileinto "Inbox/Projekte";
    stop;
}

# Rule 2: Newsletters read
if header :contains "from" "newsletter" {
    addflag "\\Seen";
}

# Rule 3: Invoices
if header :contains "subject" ["Rechnung", "Invoice \"Q1\""] {
    redirect :copy "accounting@example.com";
}

# Rule 4: Lottery
if false {
    # disabled in Exchange; its test: allof (header :contains "subject" "lottery", address :is "to" "alice@example.com", address :count "eq" :comparator "i;ascii-numeric" ["to", "cc"] "1", not address :is "from" "bob@example.com")
    fileinto "Deleted Items";
}

# Rule 5: Project Apollo
# Not translated: condition on the message header (Exchange searches the whole header, Sieve only named fields); assign categories Apollo (IceWarp takes no keywords from a rule)

# Rule 6: Gone folder
# Not translated: move to folder: the folder is not in the archive or not imported

# Rule 7: Attachments
# Not translated: condition HasAttachments (no translation)
`
	if got != want {
		t.Errorf("script:\n%s\nwant:\n%s", got, want)
	}
	var in, out []string
	for _, r := range res {
		if r.Translated {
			in = append(in, r.Rule.Name)
		} else {
			out = append(out, r.Rule.Name+": "+strings.Join(r.Reasons, "; "))
		}
	}
	if !reflect.DeepEqual(in, []string{"Mail from Bob", "Newsletters read", "Invoices", "Lottery"}) || len(out) != 3 {
		t.Errorf("translated %q, not %q", in, out)
	}
	// The body extension is required only when a translated rule uses it.
	rules := testRules()
	rules[5].Actions.MoveToFolder = "F-proj"
	got, _ = RulesToSieve(rules, testTarget())
	if !strings.Contains(got, `require ["body", `) || !strings.Contains(got, `if body :text :contains "unsubscribe" {`) {
		t.Errorf("body rule:\n%s", got)
	}
}

// TestRulesToSieveUnknowns: without a Deleted Items folder or the
// mailbox's address, the rules that need them are left out, not widened.
func TestRulesToSieveUnknowns(t *testing.T) {
	tg := testTarget()
	tg.Trash, tg.Me = nil, nil
	got, res := RulesToSieve(testRules()[4:5], tg)
	if len(res) != 1 || res[0].Translated || strings.Contains(got, "if ") ||
		!reflect.DeepEqual(res[0].Reasons, []string{"condition on the mailbox's own address (the address is not known)", "delete: the target has no Deleted Items folder"}) {
		t.Errorf("%+v\n%s", res, got)
	}
	if got, res := RulesToSieve(nil, tg); len(res) != 0 || strings.Contains(got, "require") {
		t.Errorf("no rules: %q", got)
	}
}
