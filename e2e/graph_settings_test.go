package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/format"
)

// archiveFolders opens the archive in dir and returns its entries and
// the path of each folder (prefix, then the names joined by "/") by
// "mailbox\x00folder id", and also by "mailbox\x00distinguished:<role>"
// for the well-known folders, as the import resolves a rule target named
// by role.
func archiveFolders(t *testing.T, dir, prefix string) (*archive.Folder, []*archive.Entry, map[string]string) {
	t.Helper()
	f := openVerified(t, dir)
	entries := f.View().Entries()
	paths := map[string]string{}
	for _, e := range entries {
		if e.Kind == archive.KindFolder {
			var p []string
			json.Unmarshal([]byte(e.Attrs["path"]), &p)
			paths[e.Mailbox+"\x00"+e.ID] = prefix + strings.Join(p, "/")
			if d := e.Attrs["distinguished"]; d != "" {
				paths[e.Mailbox+"\x00distinguished:"+d] = prefix + strings.Join(p, "/")
			}
		}
	}
	return f, entries, paths
}

// archiveSettings reads the settings entries of an archive by mailbox,
// each rule's folder targets replaced by the target folder's path in the
// archive (the two Sources' folder ids differ; their paths do not), a
// target named by role ("distinguished:junkemail", as EWS may name it)
// by the path of the folder of that role, as the import resolves it.
func archiveSettings(t *testing.T, dir string) map[string]*format.MailboxSettings {
	t.Helper()
	f, entries, paths := archiveFolders(t, dir, "path:")
	defer f.Close()
	out := map[string]*format.MailboxSettings{}
	for _, e := range entries {
		if e.Kind != archive.KindSettings {
			continue
		}
		r, err := f.Open(e)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		var s format.MailboxSettings
		if err := json.Unmarshal(body, &s); err != nil {
			t.Fatalf("%s: settings of %s: %v", dir, e.Mailbox, err)
		}
		for i := range s.Rules {
			for _, id := range []*string{&s.Rules[i].Actions.MoveToFolder, &s.Rules[i].Actions.CopyToFolder} {
				if p, ok := paths[e.Mailbox+"\x00"+*id]; ok {
					*id = p
				} else if *id != "" {
					t.Errorf("%s: rule %q of %s targets %q, not an archived folder", dir, s.Rules[i].Name, e.Mailbox, *id)
				}
			}
		}
		out[e.Mailbox] = &s
	}
	return out
}

// TestGraphSettingsEqualEWS: one organisation exported over EWS and over
// Graph gives the same mailbox settings in both archives: the same
// out-of-office reply and the same inbox rules (folder targets naming the
// same folders), also after a user changes both between rounds (a rule
// naming its target by role included). The Full Access and Send As
// grants come from the directory, not the settings calls (LDAP security
// descriptors over EWS; Graph has no API for them, graph.md §6), and are
// not compared here.
func TestGraphSettingsEqualEWS(t *testing.T) {
	d := newDualBed(t, 3)
	org := d.ews.Org
	for round := 1; round <= 2; round++ {
		if round == 2 {
			u := org.Users[1].SMTP
			org.SetOutOfOffice(u, &format.OutOfOffice{State: "enabled", ExternalAudience: "known",
				Start: time.Date(2026, 3, 1, 8, 30, 0, 0, time.UTC), End: time.Date(2026, 3, 9, 17, 0, 0, 0, time.UTC),
				InternalReply: "Weg.", ExternalReply: "Away & back soon."})
			org.SetInboxRules(u, append(org.InboxRulesOf(org.Users[0])[1:3:3], format.InboxRule{ID: "AQAABHg9by8=",
				Name: "Invoices", Enabled: true, Priority: 3, Conditions: format.RuleTests{SubjectContains: []string{"Invoice"}},
				Actions: format.RuleActions{MoveToFolder: "distinguished:junkemail", StopProcessing: true}}))
		}
		d.mustExport(t)
		out, err := d.exportGraph()
		mustOK(t, fmt.Sprintf("graph export round %d", round), out, err)
		if strings.Contains(out, "inbox rules") {
			t.Errorf("round %d: the Graph summary names inbox rules:\n%s", round, lastLines(out, 30))
		}
		e, g := archiveSettings(t, d.arch), archiveSettings(t, d.graphArc)
		rules := 0
		for _, u := range org.Users {
			es, gs := e[u.SMTP], g[u.SMTP]
			if es == nil || gs == nil {
				t.Errorf("round %d: %s: settings over EWS %v, over Graph %v", round, u.SMTP, es != nil, gs != nil)
				continue
			}
			if !reflect.DeepEqual(es.OutOfOffice, gs.OutOfOffice) {
				t.Errorf("round %d: %s: out-of-office over EWS %+v, over Graph %+v", round, u.SMTP, es.OutOfOffice, gs.OutOfOffice)
			}
			if !reflect.DeepEqual(es.Rules, gs.Rules) {
				t.Errorf("round %d: %s: rules over EWS\n%+v\nover Graph\n%+v", round, u.SMTP, es.Rules, gs.Rules)
			}
			rules += len(es.Rules)
		}
		if want := map[int]int{1: 5, 2: 8}[round]; rules != want {
			t.Errorf("round %d: %d rules compared, want %d", round, rules, want)
		}
	}
}
