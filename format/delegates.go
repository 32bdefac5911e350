package format

import "sort"

// Delegate is one delegate of a mailbox, as EWS GetDelegate answers it
// (Exchange 2007 SP1 and later; DelegateUserType: UserId, DelegatePermissions,
// ReceiveCopiesOfMeetingMessages, ViewPrivateItems, from
// https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getdelegate-operation
// and [MS-OXWSDLGM] 4.1/4.4).
type Delegate struct {
	// Address is the delegate's primary SMTP address (UserId/PrimarySmtpAddress).
	Address string `json:"address"`
	Name    string `json:"name,omitempty"` // UserId/DisplayName
	// Folders maps a default folder kind (DelegateFolders) to the
	// delegate's level there: None, Reviewer, Author, Editor or Custom
	// (DelegateFolderPermissionLevelType). A folder the answer leaves out
	// is absent.
	Folders map[string]string `json:"folders,omitempty"`
	// ReceivesMeetingCopies: the delegate receives copies of the meeting
	// messages sent to the mailbox (ReceiveCopiesOfMeetingMessages).
	ReceivesMeetingCopies bool `json:"receivesMeetingCopies,omitempty"`
	// SeesPrivateItems: the delegate can view the mailbox's private
	// items (ViewPrivateItems).
	SeesPrivateItems bool `json:"seesPrivateItems,omitempty"`
}

// DelegateFolders are the folder kinds of DelegatePermissions, by the
// distinguished folder id of the default folder each names, with the
// element that carries its level.
var DelegateFolders = map[string]string{
	"calendar": "CalendarFolderPermissionLevel",
	"tasks":    "TasksFolderPermissionLevel",
	"inbox":    "InboxFolderPermissionLevel",
	"contacts": "ContactsFolderPermissionLevel",
	"notes":    "NotesFolderPermissionLevel",
	"journal":  "JournalFolderPermissionLevel",
}

// DelegateFolderKinds returns the kinds of DelegateFolders in the order
// the schema lists them.
func DelegateFolderKinds() []string {
	return []string{"calendar", "tasks", "inbox", "contacts", "notes", "journal"}
}

// DelegateGrant is what a delegate's level on one default folder becomes
// on the target: a folder ACL entry of that level, with the rights the
// level stands for (LevelRights). Reviewer, Author and Editor map; None
// grants nothing; Custom (a set of rights GetDelegate does not spell
// out) and unknown levels cannot be mapped and are reported.
type DelegateGrant struct {
	Folder string // the folder kind (a DelegateFolders key)
	Entry  ACLEntry
}

// DelegateGrants converts a delegate into folder ACL entries and the
// reasons for what the target cannot hold: meeting copies and private
// items have no IceWarp equivalent in the research (icewarp.md has
// neither), and a Custom level names no rights.
func DelegateGrants(d Delegate) (grants []DelegateGrant, notMoved []string) {
	who := d.Address
	for _, kind := range DelegateFolderKinds() {
		level, ok := d.Folders[kind]
		if !ok || level == "None" {
			continue
		}
		if level != "Reviewer" && level != "Author" && level != "Editor" {
			notMoved = append(notMoved, "delegate "+who+": "+kind+" level "+level+" (GetDelegate does not say which rights it holds)")
			continue
		}
		rights, _ := LevelRights(level)
		grants = append(grants, DelegateGrant{Folder: kind, Entry: ACLEntry{
			Grantee: Grantee{Kind: GranteeUser, Address: d.Address, DisplayName: d.Name}, Level: level, Rights: rights}})
	}
	if d.ReceivesMeetingCopies {
		notMoved = append(notMoved, "delegate "+who+": receives copies of meeting messages (IceWarp has no equivalent)")
	}
	if d.SeesPrivateItems {
		notMoved = append(notMoved, "delegate "+who+": views private items (IceWarp has no equivalent)")
	}
	return grants, notMoved
}

// SortDelegates orders delegates by address, so that an unchanged set
// archives the same bytes whatever order the server answers in.
func SortDelegates(l []Delegate) {
	sort.Slice(l, func(i, j int) bool { return l[i].Address < l[j].Address })
}
