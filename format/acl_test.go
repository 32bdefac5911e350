package format

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParsePermissions(t *testing.T) {
	acl := parsePermissionsFile(t, "testdata/permissionset-default.xml")
	want := ACL{Entries: []ACLEntry{
		{Grantee{Kind: GranteeDefault}, "None", levelRights["None"]},
		{Grantee{Kind: GranteeAnonymous}, "None", levelRights["None"]},
		{Grantee{Kind: GranteeUser, Address: "sadie@contoso.com"}, "Editor", levelRights["Editor"]},
		{Grantee{Kind: GranteeUser, Address: "alfred@contoso.com", SID: "S-1-5-21-1-2-3-1104", DisplayName: "Alfred"}, "Author", levelRights["Author"]},
	}}
	if !reflect.DeepEqual(acl, want) {
		t.Errorf("ParsePermissions(default) =\n%+v\nwant\n%+v", acl, want)
	}

	imap, rep := acl.IMAPRights()
	wantIMAP := map[string]string{"anyone": "", "sadie@contoso.com": "lrswipte", "alfred@contoso.com": "lrsip"}
	checkRights(t, "IMAPRights", imap, wantIMAP)
	iw, _ := acl.IceWarpRights()
	wantIW := map[string]string{"anyone": "", "sadie@contoso.com": "riwtl", "alfred@contoso.com": "ril"}
	checkRights(t, "IceWarpRights", iw, wantIW)
	if n := countLoss(rep, "alfred@contoso.com"); n != 2 {
		t.Errorf("IMAPRights report = %v, want 2 losses for alfred (owned edit, owned delete)", rep.Losses)
	}
}

func TestParsePermissionsCalendar(t *testing.T) {
	acl := parsePermissionsFile(t, "testdata/permissionset-calendar.xml")
	if !acl.Calendar || len(acl.Entries) != 3 || len(acl.Unknown) != 1 {
		t.Fatalf("ParsePermissions(calendar) = %+v, want calendar with 3 entries and 1 unknown", acl)
	}
	acl = acl.MarkGroups(func(a string) bool { return a == "team@contoso.com" })
	if acl.Entries[1].Grantee.Kind != GranteeGroup {
		t.Errorf("MarkGroups: grantee kind = %q, want group", acl.Entries[1].Grantee.Kind)
	}
	iw, rep := acl.IceWarpRights()
	checkRights(t, "IceWarpRights", iw, map[string]string{"anyone": "l", "team@contoso.com": "l", "boss@contoso.com": "riwtlkxa"})
	imap, _ := acl.IMAPRights()
	checkRights(t, "IMAPRights", imap, map[string]string{"anyone": "l", "team@contoso.com": "l", "boss@contoso.com": "lrswipkxtea"})
	if countLoss(rep, "anyone") != 1 || countLoss(rep, "team@contoso.com") != 1 || countLoss(rep, "UnknownEntries") != 1 {
		t.Errorf("IceWarpRights report = %v, want free/busy losses for anyone and team, and the unknown entry", rep.Losses)
	}
}

// parsePermissionsFile parses the PermissionSet in the file at path.
func parsePermissionsFile(t *testing.T, path string) ACL {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	acl, err := ParsePermissions(b)
	if err != nil {
		t.Fatalf("ParsePermissions(%s) = %v", path, err)
	}
	return acl
}

func TestLevelTableAgainstIMAP(t *testing.T) {
	// Every level maps to a subset of the owner's letters, and levels that
	// Exchange orders by power never gain letters going down the list.
	order := []string{"Owner", "PublishingEditor", "Editor", "Reviewer", "None"}
	prev := "lrswipkxtea"
	for _, lvl := range order {
		got, _ := mapRights(levelRights[lvl], true)
		for _, c := range got {
			if !strings.ContainsRune(prev, c) {
				t.Errorf("mapRights(%s) = %q has %q not in the level above (%q)", lvl, got, c, prev)
			}
		}
		prev = got
	}
}

func TestParsePermissionsErrors(t *testing.T) {
	var ke *ItemKindError
	if _, err := ParsePermissions([]byte("<t:Contact/>")); !errors.As(err, &ke) {
		t.Errorf("ParsePermissions(<Contact>) = %v, want *ItemKindError", err)
	}
	if _, err := ParsePermissions([]byte("<t:PermissionSet><x>")); !errors.Is(err, ErrMalformed) {
		t.Errorf("ParsePermissions(truncated) = %v, want ErrMalformed", err)
	}
}

func TestACLJSON(t *testing.T) {
	acl := ACL{Entries: []ACLEntry{{Grantee{Kind: GranteeUser, Address: "a@b"}, "Reviewer", levelRights["Reviewer"]}}}
	b, err := json.Marshal(acl)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"entries":[{"grantee":{"kind":"user","address":"a@b"},"level":"Reviewer","rights":{"createItems":false,"createSubFolders":false,"folderOwner":false,"folderVisible":true,"folderContact":false,"editItems":"None","deleteItems":"None","readItems":"FullDetails"}}]}`
	if string(b) != want {
		t.Errorf("json.Marshal(ACL) = %s, want %s", b, want)
	}
	var back ACL
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, acl) {
		t.Errorf("json.Unmarshal = %+v, %v, want %+v", back, err, acl)
	}
}

func checkRights(t *testing.T, fn string, got []GrantedRights, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s = %+v, want %d grantees", fn, got, len(want))
	}
	for _, g := range got {
		if w, ok := want[g.Identifier]; !ok || w != g.Rights {
			t.Errorf("%s[%q] = %q, want %q", fn, g.Identifier, g.Rights, w)
		}
	}
}

func countLoss(r Report, field string) int {
	n := 0
	for _, l := range r.Losses {
		if l.Field == field {
			n++
		}
	}
	return n
}

func FuzzParsePermissions(f *testing.F) {
	for _, p := range []string{"testdata/permissionset-default.xml", "testdata/permissionset-calendar.xml"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		acl, err := ParsePermissions(b)
		if err != nil {
			return
		}
		acl.IMAPRights()
		acl.IceWarpRights()
		j, err := json.Marshal(acl)
		if err != nil {
			t.Fatalf("json.Marshal(%+v) = %v", acl, err)
		}
		var back ACL
		if err := json.Unmarshal(j, &back); err != nil {
			t.Fatalf("json.Unmarshal(%s) = %v", j, err)
		}
	})
}

// TestFreeBusyLevels: the two free/busy levels carry only their read right
// (no folder visibility, as [MS-OXCPERM] keeps free/busy apart from
// frightsVisible), and still map to lookup with the loss reported, so a
// source that sends only the level name (Graph) and one that sends the
// individual rights (EWS) give the same ACL.
func TestFreeBusyLevels(t *testing.T) {
	for level, read := range map[string]string{"FreeBusyTimeOnly": "TimeOnly", "FreeBusyTimeAndSubjectAndLocation": "TimeAndSubjectAndLocation"} {
		r, ok := LevelRights(level)
		if !ok || r != (Rights{ReadItems: read, EditItems: "None", DeleteItems: "None"}) {
			t.Errorf("LevelRights(%s) = %+v, %v; want read %s only", level, r, ok, read)
		}
		letters, losses := mapRights(r, false)
		if letters != "l" || len(losses) != 1 {
			t.Errorf("mapRights(%s) = %q, %v; want lookup and one loss", level, letters, losses)
		}
	}
}
