package ewstest

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/iemproject/iem/format"
)

// RecipientType is the mailbox kind, as AD's msExchRecipientTypeDetails
// [V ews.md §5.1 blog.cpolydorou.net table].
type RecipientType int

// Recipient types with their msExchRecipientTypeDetails values.
const (
	UserMailbox      RecipientType = 1
	SharedMailbox    RecipientType = 4
	RoomMailbox      RecipientType = 16
	EquipmentMailbox RecipientType = 32
)

// OrgOptions size a generated organisation. Zero fields mean defaults.
type OrgOptions struct {
	Domain            string // default "example.com"
	Users             int    // ordinary user mailboxes (default 3; a shared and a room mailbox are always added)
	MessagesPerFolder int    // default 4
	Contacts          int    // per mailbox (default 3)
	Events            int    // single events per mailbox, besides one recurring series and one all-day event (default 1)
	Tasks             int    // per mailbox (default 2)
	// Archives is how many of the ordinary users, from the first, have an
	// archive mailbox (archive.go; default none).
	Archives int
}

// Org is a generated Exchange organisation. Its exported fields describe
// the directory; mailbox contents are reached through the server. All
// methods are safe for concurrent use.
type Org struct {
	Domain string
	Users  []*User
	Groups []*Group

	mu      sync.Mutex
	rng     *rand.Rand
	seq     int
	round   int
	public  *Folder
	folders map[string]*Folder
	items   map[string]*Item // including recurring-series occurrences
	base    time.Time
}

// User is a mailbox owner.
type User struct {
	Name        string // sAMAccountName
	DisplayName string
	SMTP        string   // primary SMTP address
	Aliases     []string // secondary SMTP addresses
	LegacyDN    string   // legacyExchangeDN
	Type        RecipientType
	Disabled    bool // shared and room mailboxes sit on disabled accounts [V ews.md §5.2]
	// OutOfOffice is the automatic reply GetUserOofSettings returns (nil:
	// disabled, never set).
	OutOfOffice *format.OutOfOffice
	// InboxRules are the rules GetInboxRules returns (2010 SP1 and later).
	InboxRules []format.InboxRule
	// Delegates are the delegates GetDelegate returns; GroupDelegate
	// names a security-group delegate, which makes GetDelegate fail.
	Delegates     []format.Delegate
	GroupDelegate string
	// SID is the account's objectSid (S-1-5-21-<domain>-<RID>).
	// FullAccess and SendAs are the SMTP addresses of the mailboxes
	// granted Full Access (Add-MailboxPermission) and Send As
	// (Add-ADPermission -ExtendedRights Send-As) on this one; WriteLDIF
	// writes them into msExchMailboxSecurityDescriptor and
	// nTSecurityDescriptor.
	SID        string
	FullAccess []string
	SendAs     []string

	root    *Folder // "root"; msgfolderroot is its child
	archive *Folder // "archiveroot" of the archive mailbox, or nil
	dist    map[string]*Folder
}

// Group is a mail-enabled distribution group.
type Group struct {
	Name, DisplayName, SMTP, LegacyDN string
	SID                               string // objectSid
	Members                           []*User
}

// Folder is a mailbox or public folder.
type Folder struct {
	ID         string
	ck         int
	Name       string
	Class      string
	Type       string // Folder, CalendarFolder, ContactsFolder, TasksFolder
	dist       string
	parent     *Folder
	children   []*Folder
	items      []*Item
	perms      []Permission
	owner      *User // nil for public folders
	deleted    bool
	ipmSubtree bool
	inArchive  bool // below archivemsgfolderroot
}

// Permission is one folder ACL entry. User is "Default", "Anonymous" or
// an SMTP address.
type Permission struct {
	User  string
	Level string
}

// Item is one stored item.
type Item struct {
	ID         string
	ck         int
	Type       string // Message, Contact, CalendarItem, Task, PostItem, DistributionList
	Class      string
	Subject    string
	Received   time.Time
	IsRead     bool
	Flag       int
	Categories []string
	Importance string
	MessageID  string
	mime       []byte
	largeSize  int64 // > 0: MIME generated on the fly
	largeSeed  uint64
	folder     *Folder
	body       string

	// contacts
	given, surname, company, email, phone string
	members                               []string // distribution list
	// calendar
	start, end    time.Time
	allDay        bool
	location      string
	organizer     *User
	attendees     []*User
	recurring     bool
	occurrences   []*Item // modified occurrences
	deletedOcc    []time.Time
	master        *Item
	originalStart time.Time
	uid           string
	// tasks
	status  string
	percent int
	due     time.Time
}

var firstNames = []struct{ user, display string }{
	{"alice", "Alice Ångström"}, {"bob", "Bob Müller"}, {"carol", "Carol Østergaard"}, {"dave", "Dave Nakamura"},
	{"erin", "Erin Ó Briain"}, {"frank", "Frank Łukasiewicz"}, {"grace", "Grace Hopper"}, {"heidi", "Heidi Çelik"},
}

// demoDomainSID is the generated domain's SID (S-1-5-21 and three
// sub-authorities [MS-DTYP 2.4.2.4 "S-1-5-21-x-y-z"], fixed so that the
// organisation stays deterministic).
const demoDomainSID = "S-1-5-21-3623811015-3361044348-30300820"

// Generate builds an organisation deterministically from seed.
func Generate(seed int64, opt OrgOptions) *Org {
	if opt.Domain == "" {
		opt.Domain = "example.com"
	}
	if opt.Users <= 0 {
		opt.Users = 3
	}
	if opt.MessagesPerFolder <= 0 {
		opt.MessagesPerFolder = 4
	}
	if opt.Contacts <= 0 {
		opt.Contacts = 3
	}
	if opt.Events <= 0 {
		opt.Events = 1
	}
	if opt.Tasks <= 0 {
		opt.Tasks = 2
	}
	o := &Org{
		Domain:  opt.Domain,
		rng:     rand.New(rand.NewPCG(uint64(seed), 0x1e3)),
		folders: map[string]*Folder{},
		items:   map[string]*Item{},
		base:    time.Date(2023, 3, 1, 9, 0, 0, 0, time.UTC),
	}
	org := strings.ToUpper(strings.Split(opt.Domain, ".")[0])
	legacy := func(cn string) string {
		// [V ews.md §5.3 how-to-perform-grouped-searches-by-using-ews-in-exchange.md]
		return "/O=" + org + "/OU=EXCHANGE ADMINISTRATIVE GROUP (FYDIBOHF23SPDLT)/CN=RECIPIENTS/CN=" + strings.ToUpper(cn)
	}
	for i := 0; i < opt.Users; i++ {
		n := firstNames[i%len(firstNames)]
		name := n.user
		if i >= len(firstNames) {
			name = fmt.Sprintf("%s%d", n.user, i/len(firstNames))
		}
		u := &User{Name: name, DisplayName: n.display, SMTP: name + "@" + opt.Domain, Type: UserMailbox,
			Aliases: []string{name + ".alias@" + opt.Domain}, LegacyDN: legacy(name)}
		o.Users = append(o.Users, u)
	}
	o.Users = append(o.Users,
		&User{Name: "info", DisplayName: "Info (shared)", SMTP: "info@" + opt.Domain, Type: SharedMailbox, Disabled: true, LegacyDN: legacy("info")},
		&User{Name: "room1", DisplayName: "Room 1 – Konferenzraum", SMTP: "room1@" + opt.Domain, Type: RoomMailbox, Disabled: true, LegacyDN: legacy("room1")})
	for _, u := range o.Users {
		o.buildMailbox(u, opt)
	}
	o.Users[0].OutOfOffice = demoOutOfOffice(o.base)
	if opt.Users > 1 {
		o.Users[0].InboxRules = demoInboxRules(o.Users[0], o.Users[1], opt.Domain)
	}
	demoDelegates(o.Users[:opt.Users])
	o.Groups = []*Group{{Name: "allstaff", DisplayName: "All Staff", SMTP: "allstaff@" + opt.Domain, LegacyDN: legacy("allstaff"), Members: o.Users[:opt.Users]}}
	// Account SIDs: one domain SID, RIDs from 1104 as a fresh domain
	// hands them out after its built-in accounts [inferred]. The second
	// user has Full Access on the shared mailbox and Send As on the first
	// user, the usual assistant's grants.
	for i, u := range o.Users {
		u.SID = fmt.Sprintf("%s-%d", demoDomainSID, 1104+i)
	}
	o.Groups[0].SID = fmt.Sprintf("%s-%d", demoDomainSID, 1104+len(o.Users))
	if opt.Users > 1 {
		o.Users[opt.Users].FullAccess = []string{o.Users[1].SMTP}
		o.Users[0].SendAs = []string{o.Users[1].SMTP}
	}
	o.buildPublic(opt)
	for _, u := range o.Users[:min(opt.Archives, opt.Users)] {
		o.buildArchive(u, opt)
	}
	return o
}

func (o *Org) newID(kind string) string {
	o.seq++
	// Opaque, base64 like real ids [V ews.md §2.2 "store them in ≥512-byte fields"].
	return "AAMkAD" + base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("%s:%08d:ewstest", kind, o.seq)))
}

func (o *Org) newFolder(parent *Folder, owner *User, name, class, typ, dist string) *Folder {
	f := &Folder{ID: o.newID("F"), ck: 1, Name: name, Class: class, Type: typ, dist: dist, parent: parent, owner: owner}
	if parent != nil {
		parent.children = append(parent.children, f)
		f.ipmSubtree = parent.ipmSubtree || parent.dist == "msgfolderroot"
		f.inArchive = parent.inArchive || parent.dist == "archivemsgfolderroot"
	}
	if dist != "" && owner != nil {
		owner.dist[dist] = f
	}
	o.folders[f.ID] = f
	return f
}

func (o *Org) addItem(f *Folder, it *Item) *Item {
	it.ID = o.newID("I")
	it.ck = 1
	it.folder = f
	f.items = append(f.items, it)
	o.items[it.ID] = it
	return it
}

func (o *Org) buildMailbox(u *User, opt OrgOptions) {
	u.dist = map[string]*Folder{}
	u.root = o.newFolder(nil, u, "", "", "Folder", "root")
	o.newFolder(u.root, u, "Common Views", "", "Folder", "")
	top := o.newFolder(u.root, u, "Top of Information Store", "IPF.Note", "Folder", "msgfolderroot")
	inbox := o.newFolder(top, u, "Inbox", "IPF.Note", "Folder", "inbox")
	sent := o.newFolder(top, u, "Sent Items", "IPF.Note", "Folder", "sentitems")
	o.newFolder(top, u, "Deleted Items", "IPF.Note", "Folder", "deleteditems")
	o.newFolder(top, u, "Drafts", "IPF.Note", "Folder", "drafts")
	o.newFolder(top, u, "Junk E-mail", "IPF.Note", "Folder", "junkemail")
	cal := o.newFolder(top, u, "Calendar", "IPF.Appointment", "CalendarFolder", "calendar")
	contacts := o.newFolder(top, u, "Contacts", "IPF.Contact", "ContactsFolder", "contacts")
	tasks := o.newFolder(top, u, "Tasks", "IPF.Task", "TasksFolder", "tasks")
	notes := o.newFolder(top, u, "Notes", "IPF.StickyNote", "Folder", "notes")
	proj := o.newFolder(inbox, u, "Projekte", "IPF.Note", "Folder", "")
	deep := o.newFolder(proj, u, "Übersicht 2024 / Q1", "IPF.Note", "Folder", "")
	trailing := o.newFolder(top, u, "Archiv ", "IPF.Note", "Folder", "") // name ends with a space [V ews.md §2.3 imapsync FAQ]
	for _, f := range []*Folder{inbox, sent, proj, deep, trailing} {
		for i := 0; i < opt.MessagesPerFolder; i++ {
			o.addMessage(u, f)
		}
	}
	if u.Type != UserMailbox {
		return
	}
	for i := 0; i < opt.Contacts; i++ {
		p := o.Users[o.rng.IntN(len(o.Users))]
		o.addItem(contacts, &Item{Type: "Contact", Class: "IPM.Contact", Subject: fmt.Sprintf("Kontakt %d %s", i, p.DisplayName),
			given: strings.Split(p.DisplayName, " ")[0], surname: fmt.Sprintf("Nachname-%d", i), company: "Beispiel GmbH",
			email: fmt.Sprintf("contact%d.%s@partner.example.net", i, u.Name), phone: fmt.Sprintf("+49 30 %07d", o.rng.IntN(9999999))})
	}
	o.addItem(contacts, &Item{Type: "DistributionList", Class: "IPM.DistList", Subject: "Team " + u.Name,
		members: []string{o.Users[0].SMTP, o.Users[len(o.Users)-1].SMTP}})
	for i := 0; i < opt.Events; i++ {
		st := o.base.Add(time.Duration(o.rng.IntN(200)) * time.Hour)
		o.addEvent(cal, &Item{Subject: fmt.Sprintf("Besprechung %d", i), start: st, end: st.Add(time.Hour), location: "Raum 1", organizer: u})
	}
	o.addEvent(cal, &Item{Subject: "Betriebsausflug", start: o.base.Truncate(24 * time.Hour), end: o.base.Truncate(24 * time.Hour).Add(24 * time.Hour), allDay: true, organizer: u})
	// A weekly series with one modified and one deleted occurrence
	// [V ews.md §4.3 modifiedoccurrences.md, deletedoccurrence.md].
	st := o.base.Add(24 * time.Hour)
	master := o.addEvent(cal, &Item{Subject: "Weekly Jour fixe", start: st, end: st.Add(30 * time.Minute), recurring: true,
		organizer: u, attendees: o.Users[:min(2, len(o.Users))], location: "Teams"})
	occ := &Item{ID: o.newID("O"), ck: 1, Type: "CalendarItem", Class: "IPM.Appointment", Subject: "Weekly Jour fixe (moved)",
		start: st.Add(7*24*time.Hour + 2*time.Hour), end: st.Add(7*24*time.Hour + 3*time.Hour), organizer: u,
		master: master, originalStart: st.Add(7 * 24 * time.Hour), folder: cal, uid: master.uid, location: "Teams"}
	o.items[occ.ID] = occ
	master.occurrences = []*Item{occ}
	master.deletedOcc = []time.Time{st.Add(14 * 24 * time.Hour)}
	for i := 0; i < opt.Tasks; i++ {
		o.addItem(tasks, &Item{Type: "Task", Class: "IPM.Task", Subject: fmt.Sprintf("Aufgabe %d", i), status: []string{"NotStarted", "InProgress", "Completed"}[i%3],
			percent: []int{0, 50, 100}[i%3], due: o.base.Add(time.Duration(i+3) * 24 * time.Hour), body: "Bitte erledigen."})
	}
	note := o.addItem(notes, &Item{Type: "Message", Class: "IPM.StickyNote", Subject: "Notiz: Passwort ändern", Received: o.base})
	note.mime = buildMIME(o.rng, mimeParams{from: u, to: u, subject: note.Subject, date: o.base, variant: 0, msgID: o.msgID()})
	// Permissions [V ews.md §2.4 how-to-set-folder-permissions...; permissionset-calendarpermissionsettype.md]
	other := o.Users[(indexOf(o.Users, u)+1)%len(o.Users)]
	inbox.perms = []Permission{{"Default", "None"}, {"Anonymous", "None"}, {other.SMTP, "Reviewer"}}
	cal.perms = []Permission{{"Default", "FreeBusyTimeOnly"}, {"Anonymous", "None"}, {other.SMTP, "Editor"}}
}

func indexOf(us []*User, u *User) int {
	for i, x := range us {
		if x == u {
			return i
		}
	}
	return 0
}

func (o *Org) msgID() string {
	return fmt.Sprintf("<%08x.%d@ewstest.%s>", o.rng.Uint32(), o.seq, o.Domain)
}

func (o *Org) addMessage(u *User, f *Folder) *Item {
	from, to := o.Users[o.rng.IntN(len(o.Users))], u
	if f.dist == "sentitems" {
		from, to = u, o.Users[o.rng.IntN(len(o.Users))]
	}
	o.base = o.base.Add(time.Duration(1+o.rng.IntN(90)) * time.Minute)
	variant := o.rng.IntN(4)
	subj := []string{"Status report", "Grüße aus München – Übersicht", "Invoice with attachment", "Re: Meeting notes"}[variant]
	it := &Item{Type: "Message", Class: "IPM.Note", Subject: subj, Received: o.base, IsRead: o.rng.IntN(2) == 0,
		Importance: []string{"Normal", "High", "Low"}[o.rng.IntN(3)], MessageID: o.msgID()}
	if o.rng.IntN(4) == 0 {
		it.Categories = []string{"Blue category", "Projekt Ä"}
	}
	if o.rng.IntN(5) == 0 {
		it.Flag = 2
	}
	it.mime = buildMIME(o.rng, mimeParams{from: from, to: to, subject: subj, date: it.Received, variant: variant, msgID: it.MessageID})
	return o.addItem(f, it)
}

func (o *Org) addEvent(f *Folder, it *Item) *Item {
	it.Type, it.Class = "CalendarItem", "IPM.Appointment"
	o.addItem(f, it)
	it.uid = fmt.Sprintf("040000008200E00074C5B7101A82E008000000000%024X", o.seq)
	return it
}

func (o *Org) buildPublic(opt OrgOptions) {
	o.public = o.newFolder(nil, nil, "Public Folders", "", "Folder", "publicfoldersroot")
	company := o.newFolder(o.public, nil, "Company", "IPF.Note", "Folder", "")
	ann := o.newFolder(company, nil, "Announcements", "IPF.Note", "Folder", "")
	o.newFolder(o.public, nil, "Shared Contacts", "IPF.Contact", "ContactsFolder", "")
	ann.perms = []Permission{{"Default", "Reviewer"}, {"Anonymous", "None"}, {o.Users[0].SMTP, "Owner"}}
	for _, f := range []*Folder{company, ann} {
		for i := 0; i < 2; i++ {
			o.addPost(f)
		}
	}
}

func (o *Org) addPost(f *Folder) *Item {
	o.base = o.base.Add(time.Hour)
	u := o.Users[o.rng.IntN(len(o.Users))]
	it := &Item{Type: "PostItem", Class: "IPM.Post", Subject: "Mitteilung " + o.base.Format("2006-01-02"), Received: o.base, MessageID: o.msgID()}
	it.mime = buildMIME(o.rng, mimeParams{from: u, subject: it.Subject, date: it.Received, variant: 0, msgID: it.MessageID})
	return o.addItem(f, it)
}

// Mailbox returns the user with the given primary or alias SMTP address.
func (o *Org) Mailbox(smtp string) *User {
	for _, u := range o.Users {
		if strings.EqualFold(u.SMTP, smtp) {
			return u
		}
		for _, a := range u.Aliases {
			if strings.EqualFold(a, smtp) {
				return u
			}
		}
	}
	return nil
}

// Round returns how many times Mutate ran.
func (o *Org) Round() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.round
}

// AddLargeMessage stores a message of about size bytes in the user's
// inbox. Its MIME is generated on the fly from seed (see LargeMIME), so
// the server never holds it in memory. It returns the item id.
func (o *Org) AddLargeMessage(smtp string, size int64, seed uint64) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	u := o.Mailbox(smtp)
	it := &Item{Type: "Message", Class: "IPM.Note", Subject: "Large attachment", Received: o.base, largeSize: size, largeSeed: seed,
		MessageID: fmt.Sprintf("<large.%d@ewstest>", seed)} // as in LargeMIME's header
	return o.addItem(u.dist["inbox"], it).ID
}

// AddMessages stores n ordinary messages in the user's folder (a
// distinguished name like "inbox" or a folder id; with smtp "" a public
// folder id) and returns their ids, for paging tests. It returns nil when
// there is no such folder.
func (o *Org) AddMessages(smtp, folder string, n int) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	u := o.Mailbox(smtp)
	f := o.findFolder(u, folder)
	if f == nil {
		return nil
	}
	ids := make([]string, 0, n)
	for range n {
		ids = append(ids, o.addMessage(u, f).ID)
	}
	return ids
}

// AddPublicFolder creates a public folder below parent (a public folder
// id, or "" for the top) and returns its id.
func (o *Org) AddPublicFolder(parent, name string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	p := o.public
	if parent != "" {
		p = o.findFolder(nil, parent)
		if p == nil {
			return ""
		}
	}
	return o.newFolder(p, nil, name, "IPF.Note", "Folder", "").ID
}

// Stats counts what the organisation holds.
type Stats struct {
	Mailboxes, Folders, Items, PublicFolders, PublicItems int
	ArchiveFolders, ArchiveItems                          int // below archivemsgfolderroot
}

// Stats returns the current counts (folders and items of mailboxes
// include everything below msgfolderroot).
func (o *Org) Stats() Stats {
	o.mu.Lock()
	defer o.mu.Unlock()
	var s Stats
	for _, f := range o.folders {
		if f.deleted {
			continue
		}
		switch {
		case f.owner == nil && f.dist != "publicfoldersroot":
			s.PublicFolders++
			s.PublicItems += len(f.items)
		case f.ipmSubtree:
			s.Folders++
			s.Items += len(f.items)
		case f.inArchive:
			s.ArchiveFolders++
			s.ArchiveItems += len(f.items)
		}
	}
	s.Mailboxes = len(o.Users)
	return s
}

// FolderItems returns the ids of the items now in the mailbox folder
// (distinguished name like "inbox" or a folder id), in creation order.
func (o *Org) FolderItems(smtp, folder string) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	f := o.findFolder(o.Mailbox(smtp), folder)
	if f == nil {
		return nil
	}
	var ids []string
	for _, it := range f.items {
		ids = append(ids, it.ID)
	}
	return ids
}

func (o *Org) findFolder(u *User, id string) *Folder {
	if u != nil {
		if f := u.dist[id]; f != nil {
			return f
		}
	}
	if id == "publicfoldersroot" {
		return o.public
	}
	f := o.folders[id]
	if f == nil || f.deleted || f.owner != u {
		return nil
	}
	return f
}

// MIME returns the item's MIME content (nil for kinds without MIME).
func (o *Org) MIME(id string) []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	it := o.items[id]
	if it == nil {
		return nil
	}
	return it.mime
}

// Mutate produces a new round of changes in every user mailbox: two new
// messages in the inbox, one changed message, one message moved to
// "Projekte" (which changes its id), one deleted sent message, one
// read-flag change, a new contact, a changed calendar item, a new folder,
// and a new and a changed public-folder post.
func (o *Org) Mutate(seed int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.round++
	o.rng = rand.New(rand.NewPCG(uint64(seed), uint64(o.round)))
	for _, u := range o.Users {
		inbox, sent := u.dist["inbox"], u.dist["sentitems"]
		var proj *Folder
		for _, c := range inbox.children {
			if c.Name == "Projekte" {
				proj = c
			}
		}
		if len(inbox.items) > 2 {
			ch := inbox.items[0]
			ch.ck++
			ch.Subject += " (edited)"
			ch.Categories = append(ch.Categories, fmt.Sprintf("Runde %d", o.round))
			rf := inbox.items[1]
			rf.IsRead = !rf.IsRead
			mv := inbox.items[2]
			inbox.items = append(inbox.items[:2], inbox.items[3:]...)
			delete(o.items, mv.ID)
			mv.ID = o.newID("I") // ids change on move [V ews.md §2.2 ews-identifiers-in-exchange.md]
			mv.ck++
			mv.folder = proj
			proj.items = append(proj.items, mv)
			o.items[mv.ID] = mv
		}
		if len(sent.items) > 0 {
			del := sent.items[len(sent.items)-1]
			sent.items = sent.items[:len(sent.items)-1]
			delete(o.items, del.ID)
		}
		o.addMessage(u, inbox)
		o.addMessage(u, inbox)
		if u.Type == UserMailbox {
			o.addItem(u.dist["contacts"], &Item{Type: "Contact", Class: "IPM.Contact", Subject: fmt.Sprintf("Neu Runde %d", o.round),
				given: "Neu", surname: fmt.Sprintf("Runde%d", o.round), email: fmt.Sprintf("new%d@partner.example.net", o.round)})
			if cal := u.dist["calendar"]; len(cal.items) > 0 {
				ev := cal.items[0]
				ev.ck++
				ev.location = fmt.Sprintf("Raum %d", o.round+1)
			}
		}
		nf := o.newFolder(u.dist["msgfolderroot"], u, fmt.Sprintf("Runde %d", o.round), "IPF.Note", "Folder", "")
		o.addMessage(u, nf)
		o.mutateArchive(u)
	}
	var ann *Folder
	for _, f := range o.folders {
		if f.owner == nil && f.Name == "Announcements" {
			ann = f
		}
	}
	if ann != nil {
		if len(ann.items) > 0 {
			ann.items[0].ck++
			ann.items[0].Subject += " (aktualisiert)"
		}
		o.addPost(ann)
	}
}

// sortedFolders returns the live folders below top (excluded), parents
// first.
func sortedFolders(top *Folder) []*Folder {
	var out []*Folder
	var walk func(f *Folder)
	walk = func(f *Folder) {
		for _, c := range f.children {
			if c.deleted {
				continue
			}
			out = append(out, c)
			walk(c)
		}
	}
	walk(top)
	return out
}

var _ = sort.Strings
