package format

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf8"
)

// FolderOptions controls FolderTarget. A nil *FolderOptions means defaults.
type FolderOptions struct {
	// IceWarpNames maps Sent Items, Deleted Items and Junk E-mail to
	// IceWarp's defaults (Sent, Trash, Spam). By default the Outlook names
	// are kept on the target, as the original IceWarp migration guide
	// requires [icewarp.md §1.7: D-IEM11; keeping them works by pointing
	// ~webmail/settings.xml default_folders at them, INFERRED].
	IceWarpNames bool
}

// A Folder is where one Exchange folder lands on IceWarp.
type Folder struct {
	// Name is the target folder name for this level (a display name, not
	// encoded). It is "" for the message-folder root (msgfolderroot), whose
	// children go to the top level.
	Name string
	// Role is the distinguished folder id this folder was mapped by
	// ("inbox", "sentitems", …), or "" for an ordinary folder.
	Role string
	// Skip is true for Exchange system folders that have no place on the
	// target (search folders, sync issues, recoverable items…).
	Skip bool
	// Renamed is true when Name differs from the display name for a reason
	// other than the role (a "/" replaced, an over-long name shortened).
	Renamed bool
}

// distinguished folder ids [V MSDOCS distinguishedfolderid.md] with their
// Outlook (Exchange English) and IceWarp default names [icewarp.md §1.7:
// Inbox, Drafts, Sent, Trash, Spam; GroupWare Contacts, Calendar, Tasks,
// Notes, Journal — VERIFIED SS22 data.xml].
var wellKnown = map[string]struct{ outlook, icewarp string }{
	"inbox":        {"INBOX", "INBOX"},
	"sentitems":    {"Sent Items", "Sent"},
	"deleteditems": {"Deleted Items", "Trash"},
	"drafts":       {"Drafts", "Drafts"},
	"junkemail":    {"Junk E-mail", "Spam"},
	"outbox":       {"Outbox", "Outbox"},
	"calendar":     {"Calendar", "Calendar"},
	"contacts":     {"Contacts", "Contacts"},
	"tasks":        {"Tasks", "Tasks"},
	"notes":        {"Notes", "Notes"},
	"journal":      {"Journal", "Journal"},
	"archiveinbox": {"Archive", "Archive"},
}

// systemFolders are skipped: not user content, or views over other folders.
var systemFolders = map[string]bool{
	"root": true, "searchfolders": true, "syncissues": true, "conflicts": true, "localfailures": true,
	"serverfailures": true, "recoverableitemsroot": true, "recoverableitemsdeletions": true,
	"recoverableitemsversions": true, "recoverableitemspurges": true, "recipientcache": true,
	"quickcontacts": true, "adminauditlogs": true, "todosearch": true,
	"mycontacts": true, "directory": true, "imcontactlist": true, "peopleconnect": true, "favorites": true,
	"archiverecoverableitemsroot": true, "archiverecoverableitemsdeletions": true,
	"archiverecoverableitemsversions": true, "archiverecoverableitemspurges": true,
}

// MaxFolderNameBytes bounds the modified UTF-7 form of one target folder
// name so that its IceWarp directory name (up to twice as long in enc~ hex
// form, plus 4) fits the common 255-byte file-name limit [I].
const MaxFolderNameBytes = 120

// FolderTarget maps one Exchange folder to its IceWarp/IMAP name by its
// distinguished folder id, never by display name, so localized names
// ("Éléments envoyés") still land in the right place. distinguishedID is ""
// for ordinary folders, whose display name is kept; a "/" (the IMAP
// hierarchy delimiter on IceWarp, icewarp.md §1.3) inside a name is replaced
// by U+2215 DIVISION SLASH, and a name whose modified UTF-7 form exceeds
// MaxFolderNameBytes is shortened with a hash suffix; both set Renamed.
func FolderTarget(distinguishedID, displayName string, opt *FolderOptions) Folder {
	if opt == nil {
		opt = &FolderOptions{}
	}
	id := strings.ToLower(distinguishedID)
	if id == "msgfolderroot" || id == "archivemsgfolderroot" || id == "publicfoldersroot" {
		return Folder{Role: id}
	}
	if systemFolders[id] {
		return Folder{Name: displayName, Role: id, Skip: true}
	}
	if wk, ok := wellKnown[id]; ok {
		name := wk.outlook
		if opt.IceWarpNames {
			name = wk.icewarp
		}
		return Folder{Name: name, Role: id}
	}
	f := Folder{Name: displayName, Role: id}
	if strings.Contains(f.Name, "/") {
		f.Name = strings.ReplaceAll(f.Name, "/", "\u2215")
		f.Renamed = true
	}
	if !utf8.ValidString(f.Name) {
		f.Name = strings.ToValidUTF8(f.Name, "\uFFFD")
		f.Renamed = true
	}
	if len(EncodeIMAPUTF7(f.Name)) > MaxFolderNameBytes {
		sum := sha256.Sum256([]byte(displayName))
		suffix := "~" + hex.EncodeToString(sum[:4])
		r := []rune(f.Name)
		for len(r) > 0 && len(EncodeIMAPUTF7(string(r)))+len(suffix) > MaxFolderNameBytes {
			r = r[:len(r)-1]
		}
		f.Name = string(r) + suffix
		f.Renamed = true
	}
	return f
}

// FolderType returns IceWarp's folder type letter for an EWS FolderClass
// [VERIFIED icewarp.md §3: M mail, C contacts, E events, T tasks, N notes,
// J journal]. Unknown classes are mail.
func FolderType(folderClass string) string {
	switch {
	case strings.HasPrefix(folderClass, "IPF.Contact"):
		return "C"
	case strings.HasPrefix(folderClass, "IPF.Appointment"):
		return "E"
	case strings.HasPrefix(folderClass, "IPF.Task"):
		return "T"
	case strings.HasPrefix(folderClass, "IPF.StickyNote"):
		return "N"
	case strings.HasPrefix(folderClass, "IPF.Journal"):
		return "J"
	}
	return "M"
}
