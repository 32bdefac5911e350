package replay

import (
	"reflect"
	"testing"

	"github.com/iemproject/iem/format"
)

func TestAddMailboxGrants(t *testing.T) {
	reviewer, _ := format.LevelRights("Reviewer")
	inbox := &folderInfo{path: []string{"Inbox"}, typ: "M", acl: &format.ACL{Entries: []format.ACLEntry{
		{Grantee: format.Grantee{Kind: format.GranteeUser, Address: "Alice@ex.test"}, Level: "Reviewer", Rights: reviewer},
		{Grantee: format.Grantee{Kind: format.GranteeDefault}, Level: "None"},
	}}}
	cal := &folderInfo{path: []string{"Calendar"}, typ: "E"}
	skipped := &folderInfo{path: []string{"Sync Issues"}, typ: "M", skip: true}
	folders := map[string]*folderInfo{"i": inbox, "c": cal, "s": skipped}
	set := &format.MailboxSettings{FullAccess: []string{"alice@ex.test"}, SendAs: []string{"bob@ex.test"}}
	nm := addMailboxGrants(set, folders)
	if want := []string{"send as: bob@ex.test (IceWarp has no equivalent)"}; !reflect.DeepEqual(nm, want) {
		t.Errorf("not moved = %v, want %v", nm, want)
	}
	g, _ := inbox.acl.IMAPRights()
	want := []format.GrantedRights{{Identifier: "anyone"}, {Identifier: "alice@ex.test", Rights: "lrswipkxtea"}}
	if len(g) != 2 || g[0].Identifier != want[0].Identifier || g[1].Identifier != want[1].Identifier || g[1].Rights != want[1].Rights {
		t.Errorf("inbox rights = %+v, want the Reviewer entry replaced by full rights", g)
	}
	if gw, _ := cal.acl.IceWarpRights(); len(gw) != 1 || gw[0].Rights != "riwtlkxa" {
		t.Errorf("calendar rights = %+v", gw)
	}
	if skipped.acl != nil {
		t.Errorf("skipped folder got an ACL")
	}
}
