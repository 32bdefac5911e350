package format

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// InboxRule is one of a mailbox's server-side inbox rules, in a neutral
// model of EWS's Rule element ([MS-OXWSRULES] 2.2.4.21 RuleType: RuleId,
// DisplayName, Priority, IsEnabled, Conditions, Exceptions, Actions).
// Folder targets are archive folder ids (the source's folder ids, as the
// archive's folder entries carry them), so the import maps them to the
// folder's target path.
type InboxRule struct {
	ID       string `json:"id,omitempty"`
	Name     string `json:"name"`
	Enabled  bool   `json:"enabled"`
	Priority int    `json:"priority"`
	// Conditions must all hold (each list matches when one of its
	// strings does); a message that matches any Exception is left alone.
	Conditions RuleTests   `json:"conditions,omitzero"`
	Exceptions RuleTests   `json:"exceptions,omitzero"`
	Actions    RuleActions `json:"actions"`
}

// RuleTests are the conditions (or exceptions) of a rule
// ([MS-OXWSRULES] 2.2.4.24 RulePredicatesType). Other names the
// predicates that the model keeps by name only (their EWS element names,
// e.g. "HasAttachments"): no target rule can be built from them.
type RuleTests struct {
	FromAddresses         []string `json:"fromAddresses,omitempty"`         // FromAddresses
	SenderContains        []string `json:"senderContains,omitempty"`        // ContainsSenderStrings
	SubjectContains       []string `json:"subjectContains,omitempty"`       // ContainsSubjectStrings
	BodyContains          []string `json:"bodyContains,omitempty"`          // ContainsBodyStrings
	SubjectOrBodyContains []string `json:"subjectOrBodyContains,omitempty"` // ContainsSubjectOrBodyStrings
	HeaderContains        []string `json:"headerContains,omitempty"`        // ContainsHeaderStrings
	SentToAddresses       []string `json:"sentToAddresses,omitempty"`       // SentToAddresses
	SentOnlyToMe          bool     `json:"sentOnlyToMe,omitempty"`          // SentOnlyToMe
	SentToMe              bool     `json:"sentToMe,omitempty"`              // MyNameInToBox
	Other                 []string `json:"other,omitempty"`
}

// RuleActions are what a rule does ([MS-OXWSRULES] 2.2.4.19
// RuleActionsType). Other names the actions kept by name only. A folder
// target named by role rather than id is "distinguished:<role>" (e.g.
// "distinguished:junkemail").
type RuleActions struct {
	MoveToFolder     string   `json:"moveToFolder,omitempty"` // archive folder id
	CopyToFolder     string   `json:"copyToFolder,omitempty"` // archive folder id
	MarkAsRead       bool     `json:"markAsRead,omitempty"`
	ForwardTo        []string `json:"forwardTo,omitempty"`  // ForwardToRecipients
	RedirectTo       []string `json:"redirectTo,omitempty"` // RedirectToRecipients
	Delete           bool     `json:"delete,omitempty"`     // to Deleted Items
	PermanentDelete  bool     `json:"permanentDelete,omitempty"`
	StopProcessing   bool     `json:"stopProcessing,omitempty"` // StopProcessingRules
	AssignCategories []string `json:"assignCategories,omitempty"`
	Other            []string `json:"other,omitempty"`
}

// SieveTarget is what the Sieve translation needs from the target: the
// IMAP path of an archived folder (false: the folder is not imported),
// the path of the Deleted Items folder, and the mailbox's own addresses
// on the target, primary first (for "sent to me").
type SieveTarget struct {
	Folder  func(id string) ([]string, bool)
	Trash   []string
	Me      []string
	Delim   string // IMAP hierarchy delimiter; "/" when empty
	Account string // the target account, named in the script's header
}

// RuleResult says, for one rule, whether it is in the Sieve script and
// what of it could not be translated.
type RuleResult struct {
	Rule       *InboxRule
	Translated bool
	Reasons    []string // why it is not in the script (empty when it is)
}

// RulesToSieve translates inbox rules into one RFC 5228 Sieve script in
// priority order. Extensions used: fileinto (RFC 5228 §4.1), copy
// (RFC 3894, so a forward keeps the message, as Exchange's does),
// imap4flags (RFC 5232, \Seen for "mark as read"), body (RFC 5173) and
// relational (RFC 5231, for "sent only to me": exactly one address in To
// and Cc together). Exchange evaluates a rule's conditions as AND, each
// condition's strings as OR, and its exceptions as OR [MS-OXWSRULES]
// 2.2.4.24; the script does the same. A rule with anything the model
// keeps by name only (Other), a header condition (Exchange searches the
// whole header block, Sieve tests named headers), categories (IceWarp
// takes no keywords from a rule: INFERRED) or a folder that is not
// imported is left out whole, with a comment, and its reasons returned:
// translating the rest would widen or change what it does. A disabled
// rule is written as an "if false" block, its test in a comment, so the
// administrator sees it (Sieve has no disabled rules).
func RulesToSieve(rules []InboxRule, t SieveTarget) (string, []RuleResult) {
	sorted := make([]*InboxRule, len(rules))
	for i := range rules {
		sorted[i] = &rules[i]
	}
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Priority < sorted[j].Priority })
	delim := t.Delim
	if delim == "" {
		delim = "/"
	}
	need := map[string]bool{}
	var body strings.Builder
	var res []RuleResult
	for _, r := range sorted {
		tr := sieveRule{t: t, delim: delim, need: map[string]bool{}}
		block := tr.rule(r)
		body.WriteString("\n# Rule " + strconv.Itoa(r.Priority) + ": " + sieveComment(r.Name) + "\n")
		if len(tr.reasons) > 0 {
			body.WriteString("# Not translated: " + sieveComment(strings.Join(tr.reasons, "; ")) + "\n")
			res = append(res, RuleResult{Rule: r, Reasons: tr.reasons})
			continue
		}
		for k := range tr.need {
			need[k] = true
		}
		body.WriteString(block)
		res = append(res, RuleResult{Rule: r, Translated: true})
	}
	var out strings.Builder
	out.WriteString("# Exchange inbox rules of " + sieveComment(t.Account) + ", translated by iem (RFC 5228 Sieve).\n")
	if len(need) > 0 {
		var ext []string
		for k := range need {
			ext = append(ext, k)
		}
		sort.Strings(ext)
		out.WriteString("require " + sieveList(ext) + ";\n")
	}
	out.WriteString(body.String())
	return out.String(), res
}

type sieveRule struct {
	t       SieveTarget
	delim   string
	need    map[string]bool
	reasons []string
}

func (s *sieveRule) rule(r *InboxRule) string {
	conds := s.tests(r.Conditions, "condition")
	excs := s.tests(r.Exceptions, "exception")
	acts := s.actions(r.Actions)
	if len(s.reasons) > 0 {
		return ""
	}
	if len(excs) > 0 {
		conds = append(conds, "not "+anyOf(excs))
	}
	test := "true"
	switch len(conds) {
	case 0:
	case 1:
		test = conds[0]
	default:
		test = "allof (" + strings.Join(conds, ",\n        ") + ")"
	}
	if !r.Enabled {
		acts = append([]string{"# disabled in Exchange; its test: " + sieveComment(test)}, acts...)
		test = "false"
	}
	return "if " + test + " {\n    " + strings.Join(acts, "\n    ") + "\n}\n"
}

func anyOf(tests []string) string {
	if len(tests) == 1 {
		return tests[0]
	}
	return "anyof (" + strings.Join(tests, ", ") + ")"
}

func (s *sieveRule) tests(c RuleTests, what string) []string {
	var out []string
	if len(c.FromAddresses) > 0 {
		out = append(out, `address :is "from" `+sieveList(c.FromAddresses))
	}
	if len(c.SenderContains) > 0 {
		out = append(out, `header :contains "from" `+sieveList(c.SenderContains))
	}
	if len(c.SubjectContains) > 0 {
		out = append(out, `header :contains "subject" `+sieveList(c.SubjectContains))
	}
	if len(c.BodyContains) > 0 {
		s.need["body"] = true
		out = append(out, `body :text :contains `+sieveList(c.BodyContains))
	}
	if len(c.SubjectOrBodyContains) > 0 {
		s.need["body"] = true
		l := sieveList(c.SubjectOrBodyContains)
		out = append(out, `anyof (header :contains "subject" `+l+`, body :text :contains `+l+`)`)
	}
	if len(c.SentToAddresses) > 0 {
		out = append(out, `address :is ["to", "cc"] `+sieveList(c.SentToAddresses))
	}
	if c.SentToMe || c.SentOnlyToMe {
		if len(s.t.Me) == 0 {
			s.reasons = append(s.reasons, what+" on the mailbox's own address (the address is not known)")
		} else {
			out = append(out, `address :is "to" `+sieveList(s.t.Me))
		}
	}
	if c.SentOnlyToMe {
		s.need["relational"] = true
		s.need["comparator-i;ascii-numeric"] = true
		out = append(out, `address :count "eq" :comparator "i;ascii-numeric" ["to", "cc"] "1"`)
	}
	if len(c.HeaderContains) > 0 {
		s.reasons = append(s.reasons, what+" on the message header (Exchange searches the whole header, Sieve only named fields)")
	}
	for _, o := range c.Other {
		s.reasons = append(s.reasons, what+" "+o+" (no translation)")
	}
	return out
}

func (s *sieveRule) folder(id, what string) (string, bool) {
	if s.t.Folder == nil {
		s.reasons = append(s.reasons, what+": the folder is not known")
		return "", false
	}
	p, ok := s.t.Folder(id)
	if !ok || len(p) == 0 {
		s.reasons = append(s.reasons, what+": the folder is not in the archive or not imported")
		return "", false
	}
	return strings.Join(p, s.delim), true
}

func (s *sieveRule) actions(a RuleActions) []string {
	var out []string
	// Flags first: fileinto and keep store the flags set so far (RFC 5232 §3).
	if a.MarkAsRead {
		s.need["imap4flags"] = true
		out = append(out, `addflag "\\Seen";`)
	}
	if a.CopyToFolder != "" {
		if p, ok := s.folder(a.CopyToFolder, "copy to folder"); ok {
			s.need["fileinto"], s.need["copy"] = true, true
			out = append(out, "fileinto :copy "+sieveString(p)+";")
		}
	}
	for _, to := range a.ForwardTo {
		s.need["copy"] = true
		out = append(out, "redirect :copy "+sieveString(to)+";")
	}
	for _, to := range a.RedirectTo {
		s.need["copy"] = true
		out = append(out, "redirect :copy "+sieveString(to)+";")
	}
	switch {
	case a.PermanentDelete:
		out = append(out, "discard;")
	case a.Delete:
		if len(s.t.Trash) == 0 {
			s.reasons = append(s.reasons, "delete: the target has no Deleted Items folder")
		} else {
			s.need["fileinto"] = true
			out = append(out, "fileinto "+sieveString(strings.Join(s.t.Trash, s.delim))+";")
		}
	case a.MoveToFolder != "":
		if p, ok := s.folder(a.MoveToFolder, "move to folder"); ok {
			s.need["fileinto"] = true
			out = append(out, "fileinto "+sieveString(p)+";")
		}
	}
	if len(a.AssignCategories) > 0 {
		s.reasons = append(s.reasons, "assign categories "+strings.Join(a.AssignCategories, ", ")+" (IceWarp takes no keywords from a rule)")
	}
	for _, o := range a.Other {
		s.reasons = append(s.reasons, "action "+o+" (no translation)")
	}
	if a.StopProcessing {
		out = append(out, "stop;")
	}
	if len(out) == 0 {
		out = append(out, "keep;")
	}
	return out
}

// sieveString quotes s as a Sieve quoted string (RFC 5228 §2.4.2: only
// '"' and '\' are escaped).
func sieveString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func sieveList(l []string) string {
	if len(l) == 1 {
		return sieveString(l[0])
	}
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = sieveString(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// sieveComment keeps a text on one comment line.
func sieveComment(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// RuleLabel names a rule in the summary: its name and priority.
func RuleLabel(r *InboxRule) string {
	return fmt.Sprintf("inbox rule %d %q", r.Priority, r.Name)
}
