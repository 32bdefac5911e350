package ewstest

import (
	"fmt"

	"github.com/iemproject/iem/internal/xmltree"
)

// Archive mailboxes (personal / In-Place archives). The archive is a
// second folder tree of the user, reached with the archive distinguished
// folder ids [V ews.md §2.10 distinguishedfolderid.md]: archiveroot (its
// root), archivemsgfolderroot (its "Top of Information Store"),
// archivedeleteditems and archiveinbox. Folder and item ids are ids like
// any other: GetFolder, SyncFolderHierarchy (SyncFolderId
// archivemsgfolderroot), SyncFolderItems and GetItem work on them as on the
// primary mailbox's.

// archiveIDs maps each archive distinguished folder id to the first
// request version (index into requestVersions) whose schema has it:
// archiveroot, archivemsgfolderroot and archivedeleteditems from
// Exchange2010_SP1 (exchangelib gates them so [V ews.md §2.10 EXLIB
// version.py]; the exact first version is [I]), archiveinbox from
// Exchange2013_SP1 (ews.md §2.10 "≥15.00.0913.09" [V]; EWS Managed API
// WellKnownFolderName.ArchiveInbox "Exchange2013_SP1" [V issue
// ecederstrand/exchangelib#431]).
var archiveIDs = map[string]int{
	"archiveroot": 3, "archivemsgfolderroot": 3, "archivedeleteditems": 3, "archiveinbox": 6,
}

// archiveIDFault answers a request naming an archive distinguished folder
// id its schema version does not have. A value outside the
// DistinguishedFolderIdNameType enumeration of the request's schema fails
// schema validation, as the other version-gated elements do (ErrorSchemaValidation
// fault, ews.md §1.1 "Version-gated schema" and §7 emulator personalities
// [V]); that real Exchange 2007 SP1 answers the archive ids exactly so,
// and its wording, are [I].
func archiveIDFault(r *req) *opFault {
	var bad string
	var walk func(n *xmltree.Node)
	walk = func(n *xmltree.Node) {
		if n == nil || bad != "" {
			return
		}
		if n.Local == "DistinguishedFolderId" {
			if min, ok := archiveIDs[n.Attr("Id")]; ok && r.version < min {
				bad = n.Attr("Id")
				return
			}
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(r.body)
	if bad == "" {
		return nil
	}
	return schemaFault(fmt.Sprintf("The 'Id' attribute is invalid - The value '%s' is invalid according to its datatype "+
		"'http://schemas.microsoft.com/exchange/services/2006/types:DistinguishedFolderIdNameType' - The Enumeration constraint failed.", bad))
}

// buildArchive gives u an archive mailbox: a root, its top of information
// store with Inbox, Deleted Items and a two-level folder of older mail,
// messages in each mail folder and a folder permission for the next user.
// It runs after the rest of the organisation is built, so that an
// organisation without archives is the same as before archives existed.
func (o *Org) buildArchive(u *User, opt OrgOptions) {
	root := o.newFolder(nil, u, "", "", "Folder", "archiveroot")
	top := o.newFolder(root, u, "Top of Information Store", "IPF.Note", "Folder", "archivemsgfolderroot")
	inbox := o.newFolder(top, u, "Inbox", "IPF.Note", "Folder", "archiveinbox")
	o.newFolder(top, u, "Deleted Items", "IPF.Note", "Folder", "archivedeleteditems")
	old := o.newFolder(top, u, "2019", "IPF.Note", "Folder", "")
	proj := o.newFolder(old, u, "Projekte alt", "IPF.Note", "Folder", "")
	for _, f := range []*Folder{inbox, old, proj} {
		for i := 0; i < opt.MessagesPerFolder; i++ {
			o.addMessage(u, f)
		}
	}
	other := o.Users[(indexOf(o.Users, u)+1)%len(o.Users)]
	old.perms = []Permission{{"Default", "None"}, {"Anonymous", "None"}, {other.SMTP, "Reviewer"}}
	u.archive = root
}

// HasArchive reports whether the mailbox smtp has an archive mailbox.
func (o *Org) HasArchive(smtp string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	u := o.Mailbox(smtp)
	return u != nil && u.archive != nil
}

// mutateArchive is a later round's change to an archive: one message more
// in its Inbox, the oldest one of the older-mail folder deleted, and the
// oldest message of the primary's "Archiv " folder moved into the older-mail
// folder, as an archive policy moves old mail (with a new id: ids change
// on move [V ews.md §2.2 ews-identifiers-in-exchange.md]).
func (o *Org) mutateArchive(u *User) {
	if u.archive == nil {
		return
	}
	o.addMessage(u, u.dist["archiveinbox"])
	var old, src *Folder
	for _, c := range u.dist["archivemsgfolderroot"].children {
		if c.Name == "2019" {
			old = c
		}
	}
	for _, c := range u.dist["msgfolderroot"].children {
		if c.Name == "Archiv " {
			src = c
		}
	}
	if len(old.items) > 0 {
		delete(o.items, old.items[0].ID)
		old.items = old.items[1:]
	}
	if len(src.items) > 0 {
		mv := src.items[0]
		src.items = src.items[1:]
		delete(o.items, mv.ID)
		mv.ID = o.newID("I")
		mv.ck++
		mv.folder = old
		old.items = append(old.items, mv)
		o.items[mv.ID] = mv
	}
}
