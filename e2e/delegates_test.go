package e2e

import (
	"slices"
	"strings"
	"testing"

	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/format"
	"github.com/iemproject/iem/icewarp"
)

// TestDelegatesMove exports the generated org's delegates over EWS
// (GetDelegate) and imports them: each Reviewer, Author or Editor level
// is that level's rights on the mailbox's default folder on the IceWarp
// emulator (the inbox by IMAP ACL, the others by GroupWare folder
// rights), also where the folder's own permissions did not carry it (a
// delegate added to GetDelegate only), and the summary lists exactly the
// delegate settings IceWarp cannot hold. A mailbox whose GetDelegate
// fails (a group delegate) is reported as not asked and the rest of its
// settings still move.
func TestDelegatesMove(t *testing.T) {
	b := newBed(t, ewstest.OrgOptions{Users: 3}, &ewstest.Options{Personality: ewstest.Exchange2016})
	org := b.ews.Org
	alice, bob, carol := org.Users[0], org.Users[1], org.Users[2]
	org.SetDelegates(alice.SMTP, append(slices.Clone(alice.Delegates),
		format.Delegate{Address: carol.SMTP, Name: carol.DisplayName, Folders: map[string]string{"contacts": "Editor"}}))
	org.SetGroupDelegate(carol.SMTP, "allstaff@example.com")
	out, err := b.export()
	mustOK(t, "export", out, err)
	if n := b.ews.Requests("GetDelegate"); n != 5 { // three users, the shared and the room mailbox
		t.Errorf("GetDelegate asked %d times, want 5", n)
	}
	if !strings.Contains(out, "not asked "+carol.SMTP+": 1 × delegates: ") || !strings.Contains(out, "ErrorNotDelegate") {
		t.Errorf("export does not report carol's delegates as not asked:\n%s", out)
	}
	out, err = b.importRun("--webdav-url", b.iw.WebDAVURL()) // GroupWare folders and their rights
	mustOK(t, "import", out, err)

	want := []string{
		"not moved " + alice.SMTP + ": 1 × delegate " + bob.SMTP + ": receives copies of meeting messages (IceWarp has no equivalent)",
		"not moved " + alice.SMTP + ": 1 × delegate " + bob.SMTP + ": views private items (IceWarp has no equivalent)",
		"not moved " + bob.SMTP + ": 1 × delegate " + carol.SMTP + ": notes level Custom (GetDelegate does not say which rights it holds)",
	}
	var got []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "not moved ") && strings.Contains(l, " × delegate ") {
			got = append(got, l)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("summary lists the delegates as\n%s\nwant\n%s\n\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), out)
	}

	rights := func(level string) (imap, gw string) {
		r, _ := format.LevelRights(level)
		acl := format.ACL{Entries: []format.ACLEntry{{Grantee: format.Grantee{Kind: format.GranteeUser, Address: "x@example.com"}, Level: level, Rights: r}}}
		g, _ := acl.IMAPRights()
		w, _ := acl.IceWarpRights()
		return g[0].Rights, w[0].Rights
	}
	reviewer, _ := rights("Reviewer")
	if got := b.iw.ACL(alice.SMTP, "INBOX")[bob.SMTP]; got != reviewer || got == "" {
		t.Errorf("alice INBOX: bob has %q, want Reviewer %q", got, reviewer)
	}
	gwRights := func(owner, coll, grantee string) string {
		_, perms := b.iw.FolderPermissions(owner, icewarp.GroupwareFolderID(coll))
		for _, p := range perms {
			if strings.EqualFold(p.Account, grantee) {
				return p.Rights
			}
		}
		return ""
	}
	_, editor := rights("Editor")
	_, author := rights("Author")
	_, reviewerGW := rights("Reviewer")
	for _, c := range []struct{ owner, coll, grantee, want string }{
		{alice.SMTP, "Calendar", bob.SMTP, editor},
		{alice.SMTP, "Tasks", bob.SMTP, author},
		{alice.SMTP, "Contacts", carol.SMTP, editor}, // from GetDelegate only
		{bob.SMTP, "Contacts", carol.SMTP, reviewerGW},
		{bob.SMTP, "Notes", carol.SMTP, ""}, // Custom: not moved
	} {
		if got := gwRights(c.owner, c.coll, c.grantee); got != c.want {
			t.Errorf("%s %s: %s has %q, want %q", c.owner, c.coll, c.grantee, got, c.want)
		}
	}
	if editor == author || author == reviewerGW {
		t.Errorf("levels map to the same rights: Editor %q Author %q Reviewer %q", editor, author, reviewerGW)
	}
}
