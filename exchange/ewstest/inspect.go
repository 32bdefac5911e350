package ewstest

import (
	"slices"
	"time"
)

// A FolderSnapshot is a read-only copy of one folder and its items, for
// tests that compare a migration's target with the organisation.
type FolderSnapshot struct {
	ID string
	// Path holds the display names from below the message-folder root
	// (mailboxes) or below the public-folder root, top first.
	Path []string
	// Distinguished holds the distinguished folder id of each Path level
	// ("inbox", …; "" for an ordinary folder).
	Distinguished []string
	Class         string
	Type          string // Folder, CalendarFolder, ContactsFolder, TasksFolder
	Permissions   []Permission
	Items         []ItemSnapshot // creation order
}

// An ItemSnapshot is a read-only copy of one item's properties.
type ItemSnapshot struct {
	ID, Type, Class, Subject string
	// ChangeKey is the item's EWS change key: it changes with every
	// change and never repeats, as Exchange's (a Graph etag derives from it).
	ChangeKey string
	Received  time.Time
	IsRead    bool
	Flag      int // PR_FLAG_STATUS: 2 flagged, 1 complete
	MessageID string
	// Categories and Importance as EWS serves them (Importance "" is Normal).
	Categories []string
	Importance string
	// MIME is the stored MIME, shared with the org (which only ever replaces
	// it whole): read it, never write to it. Nil for rendered kinds and
	// large messages. Not copied, since the Graph emulator snapshots a
	// mailbox per request.
	MIME []byte
	// LargeSize and LargeSeed are set for a message made by
	// AddLargeMessage: LargeMIME(LargeSize, LargeSeed) is its content.
	LargeSize int64
	LargeSeed uint64

	// Contacts and distribution lists.
	GivenName, Surname, Company, Email, Phone string
	Members                                   []string

	// Calendar items.
	UID                string
	Start, End         time.Time
	AllDay, Recurring  bool
	Location           string
	Organizer          string         // SMTP address
	Attendees          []string       // SMTP addresses
	Occurrences        []ItemSnapshot // modified occurrences, with OriginalStart
	OriginalStart      time.Time
	DeletedOccurrences []time.Time

	// Body is the item's text body (tasks, events), "" for messages.
	Body string

	// Tasks.
	Status          string
	PercentComplete int
	Due             time.Time
}

// Folders returns snapshots of the live folders of a mailbox below its
// message-folder root, parents first; with smtp "" those below the
// public-folder root. It returns nil for an unknown mailbox.
func (o *Org) Folders(smtp string) []FolderSnapshot {
	o.mu.Lock()
	defer o.mu.Unlock()
	top := o.public
	if smtp != "" {
		u := o.Mailbox(smtp)
		if u == nil {
			return nil
		}
		top = u.dist["msgfolderroot"]
	}
	var out []FolderSnapshot
	for _, f := range sortedFolders(top) {
		s := FolderSnapshot{ID: f.ID, Class: f.Class, Type: f.Type, Permissions: slices.Clone(f.perms)}
		for p := f; p != nil && p != top; p = p.parent {
			s.Path = append([]string{p.Name}, s.Path...)
			s.Distinguished = append([]string{p.dist}, s.Distinguished...)
		}
		for _, it := range f.items {
			s.Items = append(s.Items, it.snapshot())
		}
		out = append(out, s)
	}
	return out
}

// Item returns a snapshot of one live item of a mailbox below its
// message-folder root, found by match on its EWS id, and its folder's id.
// It copies only that item, where Folders copies every one (a Graph GET
// of one message must not cost the whole mailbox).
func (o *Org) Item(smtp string, match func(id string) bool) (ItemSnapshot, string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	u := o.Mailbox(smtp)
	if u == nil {
		return ItemSnapshot{}, "", false
	}
	for _, f := range sortedFolders(u.dist["msgfolderroot"]) {
		for _, it := range f.items {
			if match(it.ID) {
				return it.snapshot(), f.ID, true
			}
		}
	}
	return ItemSnapshot{}, "", false
}

func (it *Item) snapshot() ItemSnapshot {
	s := ItemSnapshot{ID: it.ID, ChangeKey: ck(it.ck), Type: it.Type, Class: it.Class, Subject: it.Subject, Received: it.Received,
		IsRead: it.IsRead, Flag: it.Flag, MessageID: it.MessageID, Categories: slices.Clone(it.Categories), Importance: it.Importance, MIME: slices.Clip(it.mime), LargeSize: it.largeSize, LargeSeed: it.largeSeed,
		GivenName: it.given, Surname: it.surname, Company: it.company, Email: it.email, Phone: it.phone,
		Members: slices.Clone(it.members), UID: it.uid, Start: it.start, End: it.end, AllDay: it.allDay,
		Recurring: it.recurring, Location: it.location, OriginalStart: it.originalStart,
		DeletedOccurrences: slices.Clone(it.deletedOcc), Status: it.status, PercentComplete: it.percent, Due: it.due, Body: it.body}
	if it.organizer != nil {
		s.Organizer = it.organizer.SMTP
	}
	for _, a := range it.attendees {
		s.Attendees = append(s.Attendees, a.SMTP)
	}
	for _, oc := range it.occurrences {
		s.Occurrences = append(s.Occurrences, oc.snapshot())
	}
	return s
}
