package replay

import (
	"strings"

	"github.com/iemproject/iem/format"
)

// addMailboxGrants turns the mailbox's Full Access grantees into an
// Owner-level entry on every folder's ACL (mail folders get it by IMAP
// SETACL, GroupWare folders by setaccountfolderpermissions, as any folder
// permission), replacing the grantee's own entry there. Send As has no
// IceWarp equivalent in the research (icewarp.md has none): each grant is
// returned as a "not moved" reason.
func addMailboxGrants(set *format.MailboxSettings, folders map[string]*folderInfo) (notMoved []string) {
	if len(set.FullAccess) > 0 {
		owner, _ := format.LevelRights("Owner")
		for _, fi := range folders {
			if fi.skip || len(fi.path) == 0 {
				continue
			}
			acl := format.ACL{}
			if fi.acl != nil {
				acl = *fi.acl
			}
			var entries []format.ACLEntry
			for _, e := range acl.Entries {
				if !granted(set.FullAccess, e.Grantee.Address) {
					entries = append(entries, e)
				}
			}
			for _, a := range set.FullAccess {
				entries = append(entries, format.ACLEntry{Grantee: format.Grantee{Kind: format.GranteeUser, Address: a},
					Level: "Owner", Rights: owner})
			}
			acl.Entries = entries
			fi.acl = &acl
		}
	}
	for _, a := range set.SendAs {
		notMoved = append(notMoved, "send as: "+a+" (IceWarp has no equivalent)")
	}
	return notMoved
}

func granted(list []string, addr string) bool {
	for _, a := range list {
		if addr != "" && strings.EqualFold(a, addr) {
			return true
		}
	}
	return false
}
