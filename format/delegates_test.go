package format

import (
	"slices"
	"testing"
)

func TestDelegateGrants(t *testing.T) {
	d := Delegate{Address: "bob@example.com", Name: "Bob",
		Folders:               map[string]string{"calendar": "Editor", "inbox": "Reviewer", "tasks": "Author", "contacts": "None", "notes": "Custom", "journal": "Owner"},
		ReceivesMeetingCopies: true, SeesPrivateItems: true}
	grants, lost := DelegateGrants(d)
	var got []string
	for _, g := range grants {
		got = append(got, g.Folder+"="+g.Entry.Level)
		if g.Entry.Grantee.Address != d.Address || g.Entry.Grantee.Kind != GranteeUser {
			t.Errorf("grantee %+v", g.Entry.Grantee)
		}
		if want, _ := LevelRights(g.Entry.Level); g.Entry.Rights != want {
			t.Errorf("%s rights %+v, want %+v", g.Folder, g.Entry.Rights, want)
		}
	}
	if want := []string{"calendar=Editor", "tasks=Author", "inbox=Reviewer"}; !slices.Equal(got, want) {
		t.Errorf("grants %q, want %q", got, want)
	}
	ed, au, re := grants[0].Entry.Rights, grants[1].Entry.Rights, grants[2].Entry.Rights
	if ed.DeleteItems != "All" || ed.EditItems != "All" || !ed.CreateItems || au.EditItems != "Owned" || au.DeleteItems != "Owned" ||
		re.CreateItems || re.ReadItems != "FullDetails" {
		t.Errorf("rights: editor %+v author %+v reviewer %+v", ed, au, re)
	}
	want := []string{
		"delegate bob@example.com: notes level Custom (GetDelegate does not say which rights it holds)",
		"delegate bob@example.com: journal level Owner (GetDelegate does not say which rights it holds)",
		"delegate bob@example.com: receives copies of meeting messages (IceWarp has no equivalent)",
		"delegate bob@example.com: views private items (IceWarp has no equivalent)",
	}
	if !slices.Equal(lost, want) {
		t.Errorf("not moved\n%q\nwant\n%q", lost, want)
	}
	if g, l := DelegateGrants(Delegate{Address: "x@example.com", Folders: map[string]string{"calendar": "None"}}); g != nil || l != nil {
		t.Errorf("None level: %v %v", g, l)
	}
}
