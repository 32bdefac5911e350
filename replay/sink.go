package replay

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/iemproject/iem/format"
)

// Sinks are where the engine writes. Accounts and Mail are required for
// Run; Files (path mode) and Groupware are optional.
type Sinks struct {
	Accounts Accounts
	Mail     Mail
	// Files, if set, receives messages as files (path mode); Mail then
	// only creates folders, finds the files' messages and sets flags.
	Files MailFiles
	// Groupware, if nil, leaves contacts, calendars, tasks and notes
	// out (counted as skipped).
	Groupware Groupware
	// Defaults, if set, points each account's Sent, Drafts, Trash and
	// Spam at the folders that were Exchange's (deffolders.go).
	Defaults DefaultFolderSetter
}

// Account is a user account to create.
type Account struct {
	Email    string
	Name     string
	Password string
	Aliases  []string
}

// Group is a group account to create.
type Group struct {
	Email   string
	Name    string
	Members []string
	// Properties are the target's own group settings (for the public
	// folders group: its shared GroupWare folders).
	Properties map[string]string
}

// Permission grants an account rights (in the target's letters) on a
// GroupWare folder.
type Permission struct {
	Account string
	Rights  string
}

// Accounts is the target's directory (the IceWarp admin API).
type Accounts interface {
	EnsureDomain(ctx context.Context, domain string) error
	// EnsureAccount creates an account unless it exists; created tells
	// which (only a created account has the password given).
	EnsureAccount(ctx context.Context, a Account) (created bool, err error)
	EnsureGroup(ctx context.Context, g Group) error
	// PublicFoldersGroup is the group that receives the public folders,
	// in domain (without I/O).
	PublicFoldersGroup(domain string) Group
	// GeneratePassword returns a password for a new account whose source
	// password cannot be exported.
	GeneratePassword() (string, error)
	// SetFolderPermissions sets the permissions of owner's GroupWare
	// folder (a path of display names).
	SetFolderPermissions(ctx context.Context, owner string, folder []string, perms []Permission) error
}

// Mail opens the mail store of one account (IMAP).
// Responders is an Accounts sink that also sets auto-responders (the
// IceWarp admin API does); without it out-of-office replies are reported
// as not moved.
type Responders interface {
	SetResponder(ctx context.Context, account string, r format.Responder) error
}

type Mail interface {
	Open(ctx context.Context, account string) (Mailbox, error)
}

// Message is one message to append.
type Message struct {
	Size         int64
	Flags        []imap.Flag
	InternalDate time.Time
	MessageID    string
	// Open returns the body; it may be called once per attempt.
	Open func() (io.ReadCloser, error)
}

// Appended is the outcome for one message of AppendBatch.
type Appended struct {
	UID      imap.UID
	Existing bool  // already in the folder: not appended again
	Err      error // this message failed
}

// Summary is one message of a folder as the target lists it.
type Summary struct {
	UID          imap.UID
	MessageID    string // without angle brackets
	Size         int64
	InternalDate time.Time
}

// Mailbox is one account's mail: folders are paths of display names, the
// implementation names them.
type Mailbox interface {
	EnsureFolder(ctx context.Context, folder []string) error
	// SetACL grants identifier rights (RFC 4314 letters) on a folder.
	SetACL(ctx context.Context, folder []string, identifier, rights string) error
	// List calls fn for each message of a folder, in UID order; a folder
	// that does not exist gives an error that Is ErrNoFolder.
	List(ctx context.Context, folder []string, fn func(Summary) error) error
	// AppendBatch appends msgs to a folder (created first); with
	// skipExisting, a message already there (Message-ID, date and size)
	// is not appended again. Results are in the order of msgs; the error
	// is for the batch as a whole.
	AppendBatch(ctx context.Context, folder []string, msgs []Message, skipExisting bool) ([]Appended, error)
	// SetFlags sets the flags of messages.
	SetFlags(ctx context.Context, folder []string, uids []imap.UID, flags []imap.Flag) error
	// UpdateFlags adds flags to and removes flags from a message (UID
	// STORE +FLAGS, -FLAGS), leaving its other flags as they are.
	UpdateFlags(ctx context.Context, folder []string, uid imap.UID, add, remove []imap.Flag) error
	Delete(ctx context.Context, folder []string, uid imap.UID) error
	// Find looks a message up by Message-ID, or by date and size.
	Find(ctx context.Context, folder []string, messageID string, date time.Time, size int64) (imap.UID, bool, error)
	Close() error
}

// MailFiles writes messages as files into the target's mail store (path
// mode).
type MailFiles interface {
	// Account returns the files of one account.
	Account(ctx context.Context, account string) (AccountFiles, error)
}

// AccountFiles are the message files of one account.
type AccountFiles interface {
	// RemoveTemp removes what an interrupted run left staged in a
	// folder, and returns how many files it removed.
	RemoveTemp(folder []string) (int, error)
	NewBatch(folder []string) (FileBatch, error)
	// FileSize is the size of a message file written earlier.
	FileSize(folder []string, name string) (int64, error)
	// Refresh makes the target pick up the files written so far, so that
	// Mailbox lists them.
	Refresh(ctx context.Context) error
}

// FileBatch stages message files and publishes them at once.
type FileBatch interface {
	// Add stages a message and returns the size of its file.
	Add(ctx context.Context, received time.Time, body io.Reader) (int64, error)
	// Commit publishes the staged files and returns their names, in Add
	// order.
	Commit(ctx context.Context) ([]string, error)
	// Close drops what was staged but not committed.
	Close() error
	Len() int
	Size() int64
}

// Groupware is a CalDAV/CardDAV store. Folders are paths of display
// names; the implementation names the collections.
type Groupware interface {
	// EnsureFolder creates the collection for a folder type (format.FolderType).
	EnsureFolder(ctx context.Context, owner string, folder []string, folderType string) error
	Put(ctx context.Context, owner string, folder []string, name, contentType string, body []byte) error
	// Delete removes a resource; one already gone is no error.
	Delete(ctx context.Context, owner string, folder []string, name string) error
	// List returns the resource names of a collection.
	List(ctx context.Context, owner string, folder []string) ([]string, error)
	// ResourceName is the name of the resource of an item, derived from
	// its source identity alone.
	ResourceName(sourceID, contentType string) string
}

var (
	// ErrNoFolder: the folder does not exist on the target.
	ErrNoFolder = errors.New("no such folder")
	// ErrCredentials: the target refused the credentials; the mailbox
	// stops rather than fail each item.
	ErrCredentials = errors.New("credentials refused")
)

// SinkError marks err as kind (ErrNoFolder, ErrCredentials) for
// errors.Is, keeping err's message.
func SinkError(kind, err error) error { return &sinkError{kind, err} }

type sinkError struct{ kind, err error }

func (e *sinkError) Error() string        { return e.err.Error() }
func (e *sinkError) Unwrap() error        { return e.err }
func (e *sinkError) Is(target error) bool { return target == e.kind }
