package directory

import "strings"

// resolveGrants fills each mailbox's FullAccess and SendAs from the
// security descriptors read with it:
//   - Full Access: explicit allow ACEs with MailboxRightFullAccess in
//     msExchMailboxSecurityDescriptor (the mailbox's own descriptor as
//     Exchange mirrors it into AD; Get-MailboxPermission shows the same
//     entries);
//   - Send As: explicit allow object ACEs for ExtendedRightSendAs with
//     RightControlAccess in the user object's nTSecurityDescriptor.
//
// Grantee SIDs resolve through objectSid to the mailboxes and the
// mail-enabled groups of the snapshot; SELF, SYSTEM, and SIDs of objects
// outside the snapshot (administrators' groups, deleted accounts) are left
// out, as the administrator sees them only as bare SIDs in Exchange too.
func (s *Snapshot) resolveGrants(entries []*entry) {
	bySID := map[string]string{} // SID → primary SMTP
	mbDN := make(map[string]int, len(s.Mailboxes))
	for i, m := range s.Mailboxes {
		mbDN[normDN(m.DN)] = i
		if m.SID != "" {
			bySID[m.SID] = m.PrimarySMTP
		}
	}
	groupDN := make(map[string]string, len(s.Groups))
	for _, g := range s.Groups {
		if g.PrimarySMTP != "" {
			groupDN[normDN(g.DN)] = g.PrimarySMTP
		}
	}
	for _, e := range entries {
		if a, ok := groupDN[normDN(e.dn)]; ok {
			if sid := FormatSID(e.get("objectsid")); sid != "" {
				bySID[sid] = a
			}
		}
	}
	for _, e := range entries {
		i, ok := mbDN[normDN(e.dn)]
		if !ok {
			continue
		}
		m := &s.Mailboxes[i]
		m.FullAccess = granteesOf(m, e, "msexchmailboxsecuritydescriptor", MailboxRightFullAccess, "", bySID)
		m.SendAs = granteesOf(m, e, "ntsecuritydescriptor", RightControlAccess, ExtendedRightSendAs, bySID)
	}
}

// granteesOf decodes one descriptor attribute of e and returns the
// resolved grantees of the right, without the mailbox itself.
func granteesOf(m *Mailbox, e *entry, attr string, right uint32, objectType string, bySID map[string]string) []string {
	raw := e.get(attr)
	if raw == "" {
		return nil
	}
	sd, err := ParseSecurityDescriptor([]byte(raw))
	if err != nil {
		m.GrantsUnread = append(m.GrantsUnread, attr+": "+err.Error())
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, sid := range sd.explicitGrantees(right, objectType) {
		a, ok := bySID[sid]
		if !ok || strings.EqualFold(a, m.PrimarySMTP) || seen[strings.ToLower(a)] {
			continue
		}
		seen[strings.ToLower(a)] = true
		out = append(out, a)
	}
	sortFold(out)
	return out
}
