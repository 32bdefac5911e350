package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/exchange/directory"
	"github.com/iemproject/iem/format"
)

// A Source is a mail system the engine exports from. Its methods are
// called from several goroutines at once (one per job, and a few per
// mailbox for Changes), so an implementation must be safe for concurrent
// use. Errors are returned as they are: the engine adds context, never
// takes it away, and their text is what the summary and the log show.
type Source interface {
	// Directory returns the accounts and groups. The engine records every
	// account it is given in [Options.Accounts] and every group, and marks
	// the group entries of folder permissions.
	Directory(ctx context.Context) (*directory.Snapshot, error)

	// Hierarchy returns the folder changes of a mailbox since marker (nil:
	// every folder, as created) and the marker the next round starts from.
	// A marker the Source no longer accepts is reported with an error
	// matching [ErrMarkerRejected]; the engine then asks again with nil.
	Hierarchy(ctx context.Context, mailbox string, marker []byte) (*Hierarchy, error)

	// Changes calls fn once per item change in a folder since marker (nil:
	// every item, as created), from the calling goroutine, and returns the
	// marker the next round starts from. A rejected marker is reported as
	// for Hierarchy; a non-nil error from fn stops Changes and is returned.
	Changes(ctx context.Context, mailbox, folderID string, marker []byte, fn func(ItemChange) error) ([]byte, error)

	// Fetch calls fn once per reference, in order, from the calling
	// goroutine, with the item's content. An item's own failure is in the
	// Item (Missing, or an error from Open), not an error of Fetch; a
	// non-nil error from fn stops Fetch and is returned (the Source may
	// retry an item whose body stream broke off, if fn returns that error).
	Fetch(ctx context.Context, mailbox string, kind ItemKind, refs []ItemRef, fn func(*Item) error) error

	// Permissions returns a folder's permissions, nil when it has none.
	// Permissions the Source read but cannot interpret are reported with
	// an error matching [ErrUnreadable]. Mailbox "" means public folders.
	Permissions(ctx context.Context, mailbox, folderID string) (*format.ACL, error)
}

// A PublicSource also has public folders: a tree without delta markers,
// listed whole each round and compared item by item with the archive.
type PublicSource interface {
	Source
	// PublicFolders calls fn once per public folder, parents first.
	PublicFolders(ctx context.Context, fn func(PublicFolder) error) error
	// PublicItems calls fn once per item of a public folder.
	PublicItems(ctx context.Context, folderID string, fn func(ItemRef) error) error
}

// A SettingsSource also reads what a mailbox has besides its items (the
// out-of-office reply, ...). The engine writes it as the mailbox's
// settings entry when it changed; an error leaves the archived settings as
// they were and is counted in the summary as skipped, the mailbox goes on.
type SettingsSource interface {
	Source
	MailboxSettings(ctx context.Context, mailbox string) (*format.MailboxSettings, error)
}

// Sentinel errors a Source reports (wrapped with [MarkerRejected] and
// [Unreadable], which keep the Source's own error text).
var (
	// ErrMarkerRejected: the delta marker is no longer valid; the engine
	// starts the mailbox hierarchy or the folder again without one.
	ErrMarkerRejected = errors.New("export: delta marker rejected")
	// ErrUnreadable: the Source read something it cannot interpret.
	ErrUnreadable = errors.New("export: unreadable")
)

// MarkerRejected returns err marked as matching [ErrMarkerRejected].
func MarkerRejected(err error) error { return &marked{err, ErrMarkerRejected} }

// Unreadable returns err marked as matching [ErrUnreadable].
func Unreadable(err error) error { return &marked{err, ErrUnreadable} }

// marked is an error with its own text that also matches a sentinel.
type marked struct{ err, is error }

func (m *marked) Error() string        { return m.err.Error() }
func (m *marked) Unwrap() error        { return m.err }
func (m *marked) Is(target error) bool { return target == m.is }

// ChangeKind is the kind of a folder or item change.
type ChangeKind int

// Change kinds.
const (
	Create ChangeKind = iota + 1
	Update
	Delete
	// ReadFlagChange: only the read state of an item changed.
	ReadFlagChange
)

// ItemKind tells how a Source fetches an item; the engine fetches the
// kinds in this order.
type ItemKind int

// Item kinds.
const (
	KindMail    ItemKind = iota + 1 // messages, posts, notes
	KindContact                     // contacts and distribution lists
	KindCalendar
	KindTask
)

// ItemKinds lists the item kinds in the order a folder's items are fetched.
var ItemKinds = []ItemKind{KindMail, KindContact, KindCalendar, KindTask}

// Folder is a folder of a mailbox.
type Folder struct {
	ID, ParentID string
	DisplayName  string
	// Class is the folder class (IPF.Note, IPF.Appointment, ...) and Type
	// the folder type (SPEC.md §4.1); folders of Type SearchFolder are not
	// exported.
	Class, Type string
	Total       int // items in the folder, as the Source counts them (plan)
}

// FolderChange is one change of a mailbox's hierarchy. For Delete only
// Folder.ID is set.
type FolderChange struct {
	Kind   ChangeKind
	Folder Folder
}

// Hierarchy is what [Source.Hierarchy] returns.
type Hierarchy struct {
	Changes []FolderChange
	// Roles maps folder IDs to their well-known role (inbox, sentitems,
	// calendar, ...; SPEC.md §4.1 "distinguished"); RoleRoot is the folder
	// paths are relative to.
	Roles  map[string]string
	Marker []byte
	// NotReadable counts, by reason, the parts of the mailbox the Source
	// cannot read (notreadable.go).
	NotReadable map[string]int
}

// RoleRoot is the role of the folder that folder paths start below.
const RoleRoot = "msgfolderroot"

// ItemRef identifies one version of an item.
type ItemRef struct {
	ID, Version string
	Kind        ItemKind
}

// ItemChange is one change of a folder's items. Delete and ReadFlagChange
// carry only Ref.ID (and IsRead).
type ItemChange struct {
	Kind   ChangeKind
	Ref    ItemRef
	IsRead bool // the new read state of a ReadFlagChange
}

// Item is one fetched item. Only Open is costly: the engine calls it once,
// after deciding that the item is kept, and only during the Fetch callback.
type Item struct {
	ID, Version string
	Class       string // item class (IPM.Note, ...), recorded as the "class" attribute
	Received    time.Time
	Modified    time.Time
	// Missing is set when the item disappeared before it could be read
	// (deleted during the export); the item is counted as skipped.
	Missing error
	// Open converts the item into its archived form. A *Problem error
	// counts the item as skipped or failed; any other error stops the
	// mailbox.
	Open func() (*Content, error)
}

// Content is an item in its archived form (SPEC.md §4): a kind, header
// attributes (the well-known keys of §4), and a body, either in memory
// (Data) or as a stream (Body, valid during the Fetch callback only).
type Content struct {
	Kind  archive.Kind
	Attrs map[string]string
	Data  []byte
	Body  io.Reader
	// Rebuilt: the body was rebuilt from the item's properties, because
	// of RebuiltWhy (may be nil); recorded as rebuilt=1 with a warning.
	Rebuilt    bool
	RebuiltWhy error
}

// A Problem is an item a Source cannot deliver: counted in the summary
// under Reason, as failed or skipped, and logged.
type Problem struct {
	Reason string
	Failed bool
	Err    error
}

func (p *Problem) Error() string {
	if p.Err == nil {
		return p.Reason
	}
	return fmt.Sprintf("%s: %v", p.Reason, p.Err)
}

func (p *Problem) Unwrap() error { return p.Err }

// Skip returns a Problem that counts an item as skipped.
func Skip(reason string, err error) error { return &Problem{Reason: reason, Err: err} }

// Fail returns a Problem that counts an item as failed.
func Fail(reason string, err error) error { return &Problem{Reason: reason, Failed: true, Err: err} }

// PublicFolder is a public folder with its path of display names.
type PublicFolder struct {
	Folder
	Path []string
}
