package replay

import (
	"reflect"
	"testing"

	"github.com/iemproject/iem/format"
)

func TestAddDelegates(t *testing.T) {
	author, _ := format.LevelRights("Author")
	inbox := &folderInfo{path: []string{"INBOX"}, typ: "M", role: "inbox", acl: &format.ACL{Entries: []format.ACLEntry{
		{Grantee: format.Grantee{Kind: format.GranteeUser, Address: "Bob@ex.test"}, Level: "Author", Rights: author},
		{Grantee: format.Grantee{Kind: format.GranteeDefault}, Level: "None"},
	}}}
	cal := &folderInfo{path: []string{"Calendar"}, typ: "E", role: "calendar"}
	tasks := &folderInfo{path: []string{"Tasks"}, typ: "T", role: "tasks"}
	archCal := &folderInfo{path: []string{"Archive", "Calendar"}, typ: "E", role: "calendar", archive: true}
	contacts := &folderInfo{path: []string{"Contacts"}, typ: "C", role: "contacts"}
	folders := map[string]*folderInfo{"i": inbox, "c": cal, "t": tasks, "a": archCal, "k": contacts}
	set := &format.MailboxSettings{FullAccess: []string{"carol@ex.test"}, Delegates: []format.Delegate{
		{Address: "bob@ex.test", Folders: map[string]string{"calendar": "Editor", "inbox": "Reviewer", "tasks": "Author", "contacts": "None", "notes": "Reviewer"},
			ReceivesMeetingCopies: true},
		{Address: "carol@ex.test", Folders: map[string]string{"calendar": "Reviewer"}, SeesPrivateItems: true},
	}}
	nm := addDelegates(set, folders)
	want := []string{
		"delegate bob@ex.test: receives copies of meeting messages (IceWarp has no equivalent)",
		"delegate bob@ex.test: notes level Reviewer (the mailbox has no such folder in the archive)",
		"delegate carol@ex.test: views private items (IceWarp has no equivalent)",
	}
	if !reflect.DeepEqual(nm, want) {
		t.Errorf("not moved\n%q\nwant\n%q", nm, want)
	}
	g, _ := inbox.acl.IMAPRights()
	if len(g) != 2 || g[0].Identifier != "anyone" || g[1].Identifier != "bob@ex.test" || g[1].Rights != "lrs" {
		t.Errorf("inbox rights = %+v, want bob's Author entry replaced by Reviewer", g)
	}
	for _, c := range []struct {
		fi     *folderInfo
		rights string
	}{{cal, "Editor"}, {tasks, "Author"}} {
		if c.fi.acl == nil || len(c.fi.acl.Entries) != 1 || c.fi.acl.Entries[0].Level != c.rights || c.fi.acl.Entries[0].Grantee.Address != "bob@ex.test" {
			t.Errorf("%v: %+v, want one %s entry for bob", c.fi.path, c.fi.acl, c.rights)
		}
	}
	ed, _ := cal.acl.IceWarpRights()
	au, _ := tasks.acl.IceWarpRights()
	if len(ed) != 1 || len(au) != 1 || ed[0].Rights != "riwtl" || au[0].Rights != "ril" { // format.IceWarpRights
		t.Errorf("Editor %+v, Author %+v", ed, au)
	}
	if archCal.acl != nil || contacts.acl != nil {
		t.Errorf("archive calendar %+v or contacts (None) %+v got an entry", archCal.acl, contacts.acl)
	}
}
