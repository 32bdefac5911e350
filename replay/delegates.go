package replay

import (
	"github.com/iemproject/iem/format"
)

// addDelegates turns each delegate's level on a default folder of the
// mailbox (GetDelegate's DelegatePermissions: calendar, tasks, inbox,
// contacts, notes, journal) into an entry of that level on the target
// folder of that role (format.DelegateGrants; the entry reaches IceWarp
// as any folder permission: IMAP SETACL for the inbox, GroupWare folder
// rights for the others), replacing the delegate's own entry there. A
// delegate who also has Full Access keeps the Owner entry that grant
// gave. Archive-mailbox folders are not the default folders. What the
// target cannot hold (Custom levels, meeting copies, private items) is
// returned as "not moved" reasons.
func addDelegates(set *format.MailboxSettings, folders map[string]*folderInfo) (notMoved []string) {
	byRole := map[string]*folderInfo{}
	for _, fi := range folders {
		if fi.role != "" && !fi.archive && !fi.skip && len(fi.path) > 0 {
			byRole[fi.role] = fi
		}
	}
	for _, d := range set.Delegates {
		grants, lost := format.DelegateGrants(d)
		notMoved = append(notMoved, lost...)
		if granted(set.FullAccess, d.Address) {
			continue
		}
		for _, g := range grants {
			fi := byRole[g.Folder]
			if fi == nil {
				notMoved = append(notMoved, "delegate "+d.Address+": "+g.Folder+" level "+g.Entry.Level+" (the mailbox has no such folder in the archive)")
				continue
			}
			acl := format.ACL{}
			if fi.acl != nil {
				acl = *fi.acl
			}
			entries := []format.ACLEntry{}
			for _, e := range acl.Entries {
				if !granted([]string{d.Address}, e.Grantee.Address) {
					entries = append(entries, e)
				}
			}
			acl.Entries = append(entries, g.Entry)
			fi.acl = &acl
		}
	}
	return notMoved
}
