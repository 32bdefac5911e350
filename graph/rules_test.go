package graph_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/format"
)

// folderPaths maps the folder ids of src's hierarchy of mailbox to their
// display-name paths below the root.
func folderPaths(t *testing.T, src export.Source, mailbox string) map[string][]string {
	t.Helper()
	h, err := src.Hierarchy(context.Background(), mailbox, nil)
	if err != nil {
		t.Fatal(err)
	}
	parent, name := map[string]string{}, map[string]string{}
	for _, c := range h.Changes {
		parent[c.Folder.ID], name[c.Folder.ID] = c.Folder.ParentID, c.Folder.DisplayName
	}
	out := map[string][]string{}
	for id := range name {
		var p []string
		for x := id; x != "" && h.Roles[x] != export.RoleRoot && len(p) < 32; x = parent[x] {
			p = append([]string{name[x]}, p...)
		}
		out[id] = p
	}
	return out
}

// bothSettings reads the mailbox settings over Graph (g) and over EWS (e).
func bothSettings(t *testing.T, g, e export.SettingsSource, smtp string) (*format.MailboxSettings, *format.MailboxSettings) {
	t.Helper()
	gs, err := g.MailboxSettings(context.Background(), smtp)
	if err != nil {
		t.Fatal(err)
	}
	es, err := e.MailboxSettings(context.Background(), smtp)
	if err != nil {
		t.Fatal(err)
	}
	return gs, es
}

// TestInboxRulesLikeEWS: the Graph Source reads from messageRules the
// inbox rules the EWS Source reads from GetInboxRules (the generated
// org's five rules of Users[0], and rules set between rounds): the same
// rules with folder targets naming the same folders, and the same Sieve
// script and "not moved" list; without MailboxSettings.Read the
// messageRules call answers 403 and the settings read fails.
func TestInboxRulesLikeEWS(t *testing.T) {
	b, org, ewsSrc, _ := newTwinBeds(t, 7, 2)
	ctx := context.Background()
	ss := ewsSrc.(export.SettingsSource)
	check := func(smtp string, want int) {
		t.Helper()
		g, e := bothSettings(t, b.src, ss, smtp)
		if len(g.Rules) != want || len(e.Rules) != want {
			t.Fatalf("%s: %d rules over Graph, %d over EWS, want %d", smtp, len(g.Rules), len(e.Rules), want)
		}
		gp, ep := folderPaths(t, b.src, smtp), folderPaths(t, ewsSrc, smtp)
		sieve := func(rules []format.InboxRule, paths map[string][]string) (string, []string) {
			script, res := format.RulesToSieve(rules, format.SieveTarget{Trash: []string{"Trash"}, Me: []string{smtp},
				Account: smtp, Folder: func(id string) ([]string, bool) { p, ok := paths[id]; return p, ok }})
			var notMoved []string
			for _, r := range res {
				if !r.Translated {
					notMoved = append(notMoved, r.Rule.Name+": "+strings.Join(r.Reasons, "; "))
				}
			}
			return script, notMoved
		}
		gs, gn := sieve(g.Rules, gp)
		es, en := sieve(e.Rules, ep)
		if gs != es || !slices.Equal(gn, en) {
			t.Errorf("%s: Sieve over Graph\n%s\nnot moved %q\nover EWS\n%s\nnot moved %q", smtp, gs, gn, es, en)
		}
		for i := range g.Rules {
			gr, er := g.Rules[i], e.Rules[i]
			if !slices.Equal(gp[gr.Actions.MoveToFolder], ep[er.Actions.MoveToFolder]) || (gr.Actions.MoveToFolder == "") != (er.Actions.MoveToFolder == "") {
				t.Errorf("rule %q moves to %q over Graph, %q over EWS", gr.Name, gp[gr.Actions.MoveToFolder], ep[er.Actions.MoveToFolder])
			}
			if m := gr.Actions.MoveToFolder; m != "" && len(gp[m]) == 0 {
				t.Errorf("rule %q moves to %q, not a folder of the mailbox", gr.Name, m)
			}
			gr.Actions.MoveToFolder, er.Actions.MoveToFolder = "", ""
			gr.Actions.CopyToFolder, er.Actions.CopyToFolder = "", ""
			if !reflect.DeepEqual(gr, er) {
				t.Errorf("rule %d over Graph %+v, over EWS %+v", i, gr, er)
			}
		}
	}
	check(b.org.Users[0].SMTP, 5)
	check(b.org.Users[1].SMTP, 0)
	rules := []format.InboxRule{{ID: "AQAABHg9by8=", Name: "Big mail", Enabled: true, Priority: 1,
		Conditions: format.RuleTests{BodyContains: []string{"urgent"}, SentToAddresses: []string{"team@example.com"}, Other: []string{"HasAttachments"}},
		Exceptions: format.RuleTests{SentToMe: true},
		Actions:    format.RuleActions{RedirectTo: []string{"x@example.com"}, PermanentDelete: true, Other: []string{"MarkImportance"}}}}
	b.org.SetInboxRules(b.org.Users[1].SMTP, rules)
	org.SetInboxRules(org.Users[1].SMTP, rules)
	check(b.org.Users[1].SMTP, 1)
	b.srv.Revoke("MailboxSettings.Read")
	if _, err := b.src.MailboxSettings(ctx, b.org.Users[0].SMTP); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("without MailboxSettings.Read: err %v, want the 403", err)
	}
}
