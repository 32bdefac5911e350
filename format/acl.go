package format

import (
	"fmt"
	"strings"
)

// GranteeKind says who an ACL entry is for.
type GranteeKind string

// Grantee kinds. EWS UserId does not tell users from groups; the caller
// marks groups (see [ACL.MarkGroups]) from the directory.
const (
	GranteeUser      GranteeKind = "user"      // a mailbox, by SMTP address
	GranteeGroup     GranteeKind = "group"     // a mail-enabled group, by SMTP address
	GranteeDefault   GranteeKind = "default"   // DistinguishedUser Default: every authenticated user
	GranteeAnonymous GranteeKind = "anonymous" // DistinguishedUser Anonymous
	GranteeExternal  GranteeKind = "external"  // ExternalUserIdentity (2010+ federated sharing)
)

// A Grantee identifies who an entry grants rights to.
type Grantee struct {
	Kind        GranteeKind `json:"kind"`
	Address     string      `json:"address,omitempty"` // primary SMTP address (user, group)
	SID         string      `json:"sid,omitempty"`
	DisplayName string      `json:"displayName,omitempty"`
}

// Rights are Exchange's individual folder rights [V MSDOCS
// how-to-set-folder-permissions-for-another-user-by-using-ews-in-exchange.md].
type Rights struct {
	CreateItems      bool   `json:"createItems"`
	CreateSubFolders bool   `json:"createSubFolders"`
	FolderOwner      bool   `json:"folderOwner"`
	FolderVisible    bool   `json:"folderVisible"`
	FolderContact    bool   `json:"folderContact"`
	EditItems        string `json:"editItems"`   // None, Owned, All
	DeleteItems      string `json:"deleteItems"` // None, Owned, All
	// ReadItems is None or FullDetails; calendar folders add TimeOnly and
	// TimeAndSubjectAndLocation [V MSDOCS calendarpermissionlevel.md].
	ReadItems string `json:"readItems"`
}

// An ACLEntry is one grantee's permission on a folder.
type ACLEntry struct {
	Grantee Grantee `json:"grantee"`
	// Level is Exchange's PermissionLevel (or CalendarPermissionLevel):
	// None, Owner, PublishingEditor, Editor, PublishingAuthor, Author,
	// NoneditingAuthor, Reviewer, Contributor, FreeBusyTimeOnly,
	// FreeBusyTimeAndSubjectAndLocation or Custom.
	Level  string `json:"level"`
	Rights Rights `json:"rights"`
}

// An ACL is the canonical permission model stored in the archive for one
// folder. Its JSON encoding is part of the archive format.
type ACL struct {
	Calendar bool       `json:"calendar,omitempty"` // from a CalendarPermissionSet
	Entries  []ACLEntry `json:"entries"`
	// Unknown lists UnknownEntries: ACEs Exchange could not resolve
	// [V MSDOCS permissionset-calendarpermissionsettype.md]. They are kept
	// for the record and never mapped.
	Unknown []string `json:"unknown,omitempty"`
}

// levelRights is Table 2 of the MSDOCS permissions how-to [V]:
// CreateItems/CreateSubFolders/Owner/Visible/Contact/Edit/Delete/Read.
// The two calendar-only levels are from calendarpermissionlevel.md [V]; their
// individual rights (read TimeOnly / TimeAndSubjectAndLocation, folder not
// visible) are [I: [MS-OXCPERM] 2.2.7 gives free/busy its own rights bits
// (frightsFreeBusySimple, frightsFreeBusyDetailed) apart from
// frightsVisible, and Exchange's AvailabilityOnly / LimitedDetails roles are
// those bits alone; the EWS emulator reports the same]. mapRights grants
// lookup for them either way.
var levelRights = map[string]Rights{
	"Owner":                             {true, true, true, true, true, "All", "All", "FullDetails"},
	"PublishingEditor":                  {true, true, false, true, false, "All", "All", "FullDetails"},
	"Editor":                            {true, false, false, true, false, "All", "All", "FullDetails"},
	"PublishingAuthor":                  {true, true, false, true, false, "Owned", "Owned", "FullDetails"},
	"Author":                            {true, false, false, true, false, "Owned", "Owned", "FullDetails"},
	"NoneditingAuthor":                  {true, false, false, true, false, "None", "Owned", "FullDetails"},
	"Reviewer":                          {false, false, false, true, false, "None", "None", "FullDetails"},
	"Contributor":                       {true, false, false, true, false, "None", "None", "None"},
	"None":                              {false, false, false, false, false, "None", "None", "None"},
	"FreeBusyTimeOnly":                  {false, false, false, false, false, "None", "None", "TimeOnly"},
	"FreeBusyTimeAndSubjectAndLocation": {false, false, false, false, false, "None", "None", "TimeAndSubjectAndLocation"},
}

// LevelRights returns the individual rights of a named Exchange permission
// level; ok is false for Custom and unknown names.
func LevelRights(level string) (Rights, bool) {
	r, ok := levelRights[level]
	return r, ok
}

// ParsePermissions decodes an EWS PermissionSet element (folder or calendar
// form), or any element containing one (a whole Folder). Wire shape
// [V MSDOCS how-to-set-folder-permissions…, permissionset-calendarpermissionsettype.md]:
//
//	<t:PermissionSet><t:Permissions><t:Permission>
//	  <t:UserId><t:DistinguishedUser>Default</t:DistinguishedUser></t:UserId>
//	  <t:CanCreateItems>false</t:CanCreateItems>…<t:ReadItems>None</t:ReadItems>
//	  <t:PermissionLevel>None</t:PermissionLevel>
//	</t:Permission></t:Permissions></t:PermissionSet>
//
// Calendar folders use CalendarPermissions/CalendarPermission and
// CalendarPermissionLevel. When an entry has only a level, its rights come
// from the level table; when it has individual rights, those win.
func ParsePermissions(permissionSetXML []byte) (ACL, error) {
	root, err := parseTree(permissionSetXML)
	if err != nil {
		return ACL{}, err
	}
	ps := findDeep(root, "PermissionSet")
	if ps == nil {
		return ACL{}, &ItemKindError{Want: []string{"PermissionSet"}, Got: root.Local}
	}
	acl := ACL{Entries: []ACLEntry{}}
	perms := ps.Child("Permissions")
	list := perms.All("Permission")
	if cp := ps.Child("CalendarPermissions"); cp != nil {
		acl.Calendar = true
		list = append(list, cp.All("CalendarPermission")...)
	}
	for _, p := range list {
		e := ACLEntry{Level: p.Text("PermissionLevel")}
		if e.Level == "" {
			e.Level = p.Text("CalendarPermissionLevel")
		}
		uid := p.Child("UserId")
		switch du := uid.Text("DistinguishedUser"); du {
		case "Default":
			e.Grantee.Kind = GranteeDefault
		case "Anonymous":
			e.Grantee.Kind = GranteeAnonymous
		case "":
			e.Grantee.Kind = GranteeUser
			if uid.Has("ExternalUserIdentity") {
				e.Grantee.Kind = GranteeExternal
			}
			e.Grantee.Address = uid.Text("PrimarySmtpAddress")
			e.Grantee.SID = uid.Text("SID")
			e.Grantee.DisplayName = uid.Text("DisplayName")
		default:
			return ACL{}, fmt.Errorf("%w: unknown DistinguishedUser %q", ErrMalformed, du)
		}
		r, known := levelRights[e.Level]
		if p.Has("ReadItems") || p.Has("CanCreateItems") || !known {
			r = Rights{
				CreateItems:      p.Bool("CanCreateItems"),
				CreateSubFolders: p.Bool("CanCreateSubFolders"),
				FolderOwner:      p.Bool("IsFolderOwner"),
				FolderVisible:    p.Bool("IsFolderVisible"),
				FolderContact:    p.Bool("IsFolderContact"),
				EditItems:        orNone(p.Text("EditItems")),
				DeleteItems:      orNone(p.Text("DeleteItems")),
				ReadItems:        orNone(p.Text("ReadItems")),
			}
		}
		e.Rights = r
		acl.Entries = append(acl.Entries, e)
	}
	for _, u := range ps.Path("UnknownEntries").All("UnknownEntry") {
		acl.Unknown = append(acl.Unknown, strings.TrimSpace(u.RawText()))
	}
	return acl, nil
}

func orNone(s string) string {
	if s == "" {
		return "None"
	}
	return s
}

func findDeep(n *node, name string) *node {
	if n.Local == name {
		return n
	}
	for _, k := range n.Children {
		if f := findDeep(k, name); f != nil {
			return f
		}
	}
	return nil
}

// MarkGroups returns a copy of a in which user grantees for which isGroup
// reports true become group grantees.
func (a ACL) MarkGroups(isGroup func(smtp string) bool) ACL {
	out := a
	out.Entries = append([]ACLEntry(nil), a.Entries...)
	for i, e := range out.Entries {
		if e.Grantee.Kind == GranteeUser && e.Grantee.Address != "" && isGroup(e.Grantee.Address) {
			out.Entries[i].Grantee.Kind = GranteeGroup
		}
	}
	return out
}

// A GrantedRights is one grantee's rights in a target system's letters.
type GrantedRights struct {
	Identifier string  // IMAP/IceWarp identifier: SMTP address or "anyone"
	Rights     string  // letters in the target's canonical order
	Grantee    Grantee // the source grantee
}

// The mapping from Exchange rights to letters. This table is the
// specification (format/ACL.md repeats it for the spec):
//
//	Exchange right                IMAP (RFC 4314)  IceWarp
//	FolderVisible                 l                l
//	ReadItems FullDetails         r s              r
//	ReadItems TimeOnly / TimeAnd… (none; loss)     (none; loss)
//	CreateItems                   i p              i
//	CreateSubFolders              k                k
//	EditItems All                 w                w
//	EditItems Owned               (none; loss)     (none; loss)
//	DeleteItems All               t e              t
//	DeleteItems Owned             (none; loss)     (none; loss)
//	FolderOwner                   a x              a x
//	FolderContact                 (none; cosmetic) (none; cosmetic)
//
// IMAP letters [V RFC 4314 §2.1; the same mapping IceWarp's WebClient uses:
// read→r, insert→ip, modify→sw, delete→et, folder read→l, create→k, folder
// delete→x, admin→a, icewarp.md §2.8 V SS22 imap/folder.php]. IceWarp
// letters r i w t l k x a [V icewarp.md §2.8 SS22 folder.php rightsToString].
// "Owned" rights cannot be expressed (neither IMAP nor IceWarp knows item
// ownership); they are dropped rather than widened to All, and reported.
// The calendar levels FreeBusyTimeOnly and FreeBusyTimeAndSubjectAndLocation
// keep only l: IceWarp publishes free/busy at /freebusy/ independently of
// folder rights [icewarp.md §3 V icewarp_install.sh; that it needs no folder
// right is I], and subject/location without body cannot be granted.
// Grantees: Default → "anyone" [V SS22 gw.php default 'anyone'; IceWarp
// needs a login for IMAP and GroupWare, so "anyone" reaches authenticated
// users only, I]; Anonymous with any right → dropped and reported.
func mapRights(r Rights, imap bool) (letters string, losses []string) {
	set := map[byte]bool{}
	add := func(s string) {
		for i := 0; i < len(s); i++ {
			set[s[i]] = true
		}
	}
	if r.FolderVisible {
		add("l")
	}
	switch r.ReadItems {
	case "FullDetails":
		if imap {
			add("rs")
		} else {
			add("r")
		}
	case "TimeOnly", "TimeAndSubjectAndLocation":
		losses = append(losses, "read "+r.ReadItems+" has no equivalent; granted lookup only")
		add("l")
	}
	if r.CreateItems {
		if imap {
			add("ip")
		} else {
			add("i")
		}
	}
	if r.CreateSubFolders {
		add("k")
	}
	switch r.EditItems {
	case "All":
		add("w")
	case "Owned":
		losses = append(losses, "edit own items only has no equivalent; not granted")
	}
	switch r.DeleteItems {
	case "All":
		if imap {
			add("te")
		} else {
			add("t")
		}
	case "Owned":
		losses = append(losses, "delete own items only has no equivalent; not granted")
	}
	if r.FolderOwner {
		add("ax")
	}
	order := "riwtlkxa"
	if imap {
		order = "lrswipkxtea"
	}
	var b strings.Builder
	for i := 0; i < len(order); i++ {
		if set[order[i]] {
			b.WriteByte(order[i])
		}
	}
	return b.String(), losses
}

// IMAPRights maps a to RFC 4314 rights per grantee, for SETACL. Entries with
// no rights are included with an empty string (the caller may DELETEACL).
func (a ACL) IMAPRights() ([]GrantedRights, Report) { return a.granted(true) }

// IceWarpRights maps a to IceWarp's folder-rights letters per grantee.
func (a ACL) IceWarpRights() ([]GrantedRights, Report) { return a.granted(false) }

func (a ACL) granted(imap bool) ([]GrantedRights, Report) {
	var rep Report
	var out []GrantedRights
	for _, e := range a.Entries {
		letters, losses := mapRights(e.Rights, imap)
		var id string
		switch e.Grantee.Kind {
		case GranteeDefault:
			id = "anyone"
		case GranteeAnonymous:
			if letters != "" {
				rep.add("Anonymous", "anonymous access (%s) is not migrated", e.Level)
			}
			continue
		case GranteeExternal:
			rep.add("ExternalUserIdentity", "external (federated) grantee is not migrated")
			continue
		default:
			id = e.Grantee.Address
			if id == "" {
				rep.add(granteeLabel(e.Grantee), "grantee without smtp address is not migrated")
				continue
			}
		}
		for _, l := range losses {
			rep.add(id, "%s: %s", e.Level, l)
		}
		out = append(out, GrantedRights{Identifier: id, Rights: letters, Grantee: e.Grantee})
	}
	for _, u := range a.Unknown {
		rep.add("UnknownEntries", "unresolved entry %q is not migrated", u)
	}
	return out, rep
}

func granteeLabel(g Grantee) string {
	if g.DisplayName != "" {
		return g.DisplayName
	}
	if g.SID != "" {
		return g.SID
	}
	return string(g.Kind)
}
