package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
)

// memTarget is an in-memory target behind every Sink but MailFiles: a
// directory, one mail store per account and one groupware store per
// account. It counts the writes it was asked for, so a test can tell that
// a rerun wrote nothing.
type memTarget struct {
	mu       sync.Mutex
	domains  map[string]bool
	accounts map[string]Account
	groups   map[string]Group
	perms    map[string][]Permission          // owner NUL folder → permissions
	mail     map[string]map[string]*memFolder // account → folderKey → folder
	dav      map[string]map[string]map[string][]byte
	writes   int // appends, flag changes, deletions, PUTs and DELETEs
	// crashAppends > 0 makes the next AppendBatch calls store their
	// messages and then fail, as a connection lost (or a process killed)
	// before the results reached the ledger.
	crashAppends int
}

type memFolder struct {
	path    []string
	next    imap.UID
	msgs    []*memMsg
	acl     map[string]string
	created bool
}

type memMsg struct {
	uid       imap.UID
	messageID string
	size      int64
	date      time.Time
	flags     []imap.Flag
	body      []byte
}

func newMemTarget() *memTarget {
	return &memTarget{domains: map[string]bool{}, accounts: map[string]Account{}, groups: map[string]Group{},
		perms: map[string][]Permission{}, mail: map[string]map[string]*memFolder{}, dav: map[string]map[string]map[string][]byte{}}
}

func (m *memTarget) sinks() Sinks { return Sinks{Accounts: m, Mail: m, Groupware: m} }

// folder returns an account's folder, created if create.
func (m *memTarget) folder(account string, path []string, create bool) *memFolder {
	fs := m.mail[account]
	if fs == nil {
		fs = map[string]*memFolder{}
		m.mail[account] = fs
	}
	f := fs[folderKey(path)]
	if f == nil && create {
		f = &memFolder{path: slices.Clone(path), next: 1, acl: map[string]string{}}
		fs[folderKey(path)] = f
	}
	return f
}

// messages returns an account's messages by folder ("a/b") and
// Message-ID, counted: a count above 1 is a duplicate.
func (m *memTarget) messages(account string) map[string]map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]map[string]int{}
	for _, f := range m.mail[account] {
		k := fmt.Sprint(f.path)
		out[k] = map[string]int{}
		for _, msg := range f.msgs {
			out[k][msg.messageID]++
		}
	}
	return out
}

func (m *memTarget) writeCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.writes
}

// Accounts.

func (m *memTarget) EnsureDomain(_ context.Context, d string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.domains[d] = true
	return nil
}

func (m *memTarget) EnsureAccount(_ context.Context, a Account) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.accounts[a.Email]; ok {
		return false, nil
	}
	m.accounts[a.Email] = a
	return true, nil
}

func (m *memTarget) EnsureGroup(_ context.Context, g Group) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.groups[g.Email] = g
	return nil
}

func (m *memTarget) PublicFoldersGroup(domain string) Group {
	return Group{Email: "public-folders@" + domain, Name: "Public Folders"}
}

func (m *memTarget) GeneratePassword() (string, error) { return "generated-Passw0rd", nil }

func (m *memTarget) SetFolderPermissions(_ context.Context, owner string, folder []string, perms []Permission) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.perms[owner+"\x00"+folderKey(folder)] = perms
	return nil
}

// Mail.

func (m *memTarget) Open(_ context.Context, account string) (Mailbox, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, user := m.accounts[account]
	_, group := m.groups[account]
	if !user && !group {
		return nil, fmt.Errorf("no account %s", account)
	}
	return &memMailbox{t: m, account: account}, nil
}

type memMailbox struct {
	t       *memTarget
	account string
}

func (b *memMailbox) EnsureFolder(_ context.Context, folder []string) error {
	b.t.mu.Lock()
	defer b.t.mu.Unlock()
	b.t.folder(b.account, folder, true).created = true
	return nil
}

func (b *memMailbox) SetACL(_ context.Context, folder []string, who, rights string) error {
	b.t.mu.Lock()
	defer b.t.mu.Unlock()
	f := b.t.folder(b.account, folder, false)
	if f == nil {
		return errors.New("NO no such folder")
	}
	f.acl[who] = rights
	return nil
}

func (b *memMailbox) List(_ context.Context, folder []string, fn func(Summary) error) error {
	b.t.mu.Lock()
	f := b.t.folder(b.account, folder, false)
	var sums []Summary
	if f != nil {
		for _, msg := range f.msgs {
			sums = append(sums, Summary{UID: msg.uid, MessageID: msg.messageID, Size: msg.size, InternalDate: msg.date})
		}
	}
	b.t.mu.Unlock()
	if f == nil {
		return SinkError(ErrNoFolder, errors.New("NO [NONEXISTENT] no such folder"))
	}
	for _, s := range sums {
		if err := fn(s); err != nil {
			return err
		}
	}
	return nil
}

// find is Find under the lock: by Message-ID if given, else by date (to
// the second) and size.
func (f *memFolder) find(messageID string, date time.Time, size int64, skip map[imap.UID]bool) *memMsg {
	messageID = bareMessageID(messageID)
	for _, msg := range f.msgs {
		if skip[msg.uid] {
			continue
		}
		if messageID != "" && msg.messageID == messageID && (date.IsZero() || msg.date.Unix() == date.Unix()) && (size <= 0 || msg.size == size) ||
			messageID == "" && !date.IsZero() && size > 0 && msg.date.Unix() == date.Unix() && msg.size == size {
			return msg
		}
	}
	return nil
}

func (b *memMailbox) AppendBatch(_ context.Context, folder []string, msgs []Message, skipExisting bool) ([]Appended, error) {
	bodies := make([][]byte, len(msgs))
	for i, msg := range msgs {
		rc, err := msg.Open()
		if err != nil {
			return nil, err
		}
		bodies[i], err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
	}
	b.t.mu.Lock()
	defer b.t.mu.Unlock()
	f := b.t.folder(b.account, folder, true)
	res := make([]Appended, len(msgs))
	seen := map[imap.UID]bool{} // one existing message matches one item
	for i, msg := range msgs {
		if skipExisting {
			if old := f.find(msg.MessageID, msg.InternalDate, msg.Size, seen); old != nil {
				seen[old.uid] = true
				res[i] = Appended{UID: old.uid, Existing: true}
				continue
			}
		}
		uid := f.next
		f.next++
		f.msgs = append(f.msgs, &memMsg{uid: uid, messageID: bareMessageID(msg.MessageID), size: int64(len(bodies[i])),
			date: msg.InternalDate, flags: slices.Clone(msg.Flags), body: bodies[i]})
		seen[uid] = true
		b.t.writes++
		res[i] = Appended{UID: uid}
	}
	if b.t.crashAppends > 0 {
		b.t.crashAppends--
		return nil, errors.New("connection reset by peer")
	}
	return res, nil
}

func (b *memMailbox) UpdateFlags(_ context.Context, folder []string, uid imap.UID, add, remove []imap.Flag) error {
	return b.store(folder, []imap.UID{uid}, func(msg *memMsg) {
		msg.flags = slices.DeleteFunc(msg.flags, func(fl imap.Flag) bool { return slices.Contains(remove, fl) || slices.Contains(add, fl) })
		msg.flags = append(msg.flags, add...)
	})
}

func (b *memMailbox) SetFlags(_ context.Context, folder []string, uids []imap.UID, flags []imap.Flag) error {
	return b.store(folder, uids, func(msg *memMsg) { msg.flags = slices.Clone(flags) })
}

// store changes the flags of the messages uids of a folder with set.
func (b *memMailbox) store(folder []string, uids []imap.UID, set func(*memMsg)) error {
	b.t.mu.Lock()
	defer b.t.mu.Unlock()
	f := b.t.folder(b.account, folder, false)
	if f == nil {
		return errors.New("NO no such folder")
	}
	for _, msg := range f.msgs {
		if slices.Contains(uids, msg.uid) {
			set(msg)
			b.t.writes++
		}
	}
	return nil
}

func (b *memMailbox) Delete(_ context.Context, folder []string, uid imap.UID) error {
	b.t.mu.Lock()
	defer b.t.mu.Unlock()
	f := b.t.folder(b.account, folder, false)
	if f == nil {
		return errors.New("NO no such folder")
	}
	f.msgs = slices.DeleteFunc(f.msgs, func(m *memMsg) bool { return m.uid == uid })
	b.t.writes++
	return nil
}

func (b *memMailbox) Find(_ context.Context, folder []string, messageID string, date time.Time, size int64) (imap.UID, bool, error) {
	b.t.mu.Lock()
	defer b.t.mu.Unlock()
	f := b.t.folder(b.account, folder, false)
	if f == nil {
		return 0, false, nil
	}
	if msg := f.find(messageID, date, size, nil); msg != nil {
		return msg.uid, true, nil
	}
	return 0, false, nil
}

func (b *memMailbox) Close() error { return nil }

// Groupware.

func (m *memTarget) collection(owner string, folder []string, create bool) map[string][]byte {
	cs := m.dav[owner]
	if cs == nil {
		cs = map[string]map[string][]byte{}
		m.dav[owner] = cs
	}
	c := cs[folderKey(folder)]
	if c == nil && create {
		c = map[string][]byte{}
		cs[folderKey(folder)] = c
	}
	return c
}

func (m *memTarget) EnsureFolder(_ context.Context, owner string, folder []string, _ string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.collection(owner, folder, true)
	return nil
}

func (m *memTarget) Put(_ context.Context, owner string, folder []string, name, _ string, body []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.collection(owner, folder, false)
	if c == nil {
		return errors.New("409 no such collection")
	}
	c[name] = body
	m.writes++
	return nil
}

func (m *memTarget) Delete(_ context.Context, owner string, folder []string, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.collection(owner, folder, false); c != nil {
		delete(c, name)
	}
	m.writes++
	return nil
}

func (m *memTarget) List(_ context.Context, owner string, folder []string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.collection(owner, folder, false)
	if c == nil {
		return nil, errors.New("404 no such collection")
	}
	var names []string
	for n := range c {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

func (m *memTarget) ResourceName(sourceID, contentType string) string {
	return fmt.Sprintf("%x.res", sourceID)
}

// memFiles is MailFiles over memTarget: committed files are invisible to
// Mailbox until Refresh indexes them, with the INTERNALDATE of the file
// name (to the second) and the file's size, as IceWarp does.
type memFiles struct {
	t *memTarget
	// failCommits > 0 makes the next Commit calls publish their files
	// and then fail, before the engine records the file names.
	failCommits int
	seq         int
	unindexed   map[string][]*memFile // account → files not yet seen over IMAP
	written     map[string]*memFile   // account NUL name → every file written
}

type memFile struct {
	name   string
	folder []string
	date   time.Time
	body   []byte
}

func (m *memTarget) fileSinks() (Sinks, *memFiles) {
	f := &memFiles{t: m, unindexed: map[string][]*memFile{}, written: map[string]*memFile{}}
	s := m.sinks()
	s.Files = f
	return s, f
}

func (f *memFiles) Account(_ context.Context, account string) (AccountFiles, error) {
	return &memAccountFiles{f: f, account: account}, nil
}

type memAccountFiles struct {
	f       *memFiles
	account string
}

func (a *memAccountFiles) RemoveTemp([]string) (int, error) { return 0, nil }

func (a *memAccountFiles) NewBatch(folder []string) (FileBatch, error) {
	return &memBatch{a: a, folder: slices.Clone(folder)}, nil
}

func (a *memAccountFiles) FileSize(_ []string, name string) (int64, error) {
	a.f.t.mu.Lock()
	defer a.f.t.mu.Unlock()
	if file := a.f.written[a.account+"\x00"+name]; file != nil {
		return int64(len(file.body)), nil
	}
	return 0, errors.New("no such file")
}

// Refresh indexes the account's new files, oldest first.
func (a *memAccountFiles) Refresh(context.Context) error {
	t := a.f.t
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, file := range a.f.unindexed[a.account] {
		fo := t.folder(a.account, file.folder, true)
		id := ""
		if msg, err := mail.ReadMessage(bytes.NewReader(file.body)); err == nil {
			id = bareMessageID(msg.Header.Get("Message-Id"))
		}
		fo.msgs = append(fo.msgs, &memMsg{uid: fo.next, messageID: id, size: int64(len(file.body)), date: file.date, body: file.body})
		fo.next++
	}
	delete(a.f.unindexed, a.account)
	return nil
}

type memBatch struct {
	a      *memAccountFiles
	folder []string
	staged []*memFile
	bytes  int64
}

func (b *memBatch) Add(_ context.Context, received time.Time, body io.Reader) (int64, error) {
	data, err := io.ReadAll(body)
	if err != nil {
		return 0, err
	}
	if received.IsZero() {
		received = time.Now()
	}
	b.staged = append(b.staged, &memFile{folder: b.folder, date: received.Truncate(time.Second), body: data})
	b.bytes += int64(len(data))
	return int64(len(data)), nil
}

func (b *memBatch) Commit(context.Context) ([]string, error) {
	f := b.a.f
	f.t.mu.Lock()
	defer f.t.mu.Unlock()
	var names []string
	for _, file := range b.staged {
		f.seq++
		file.name = fmt.Sprintf("%s%04d.imap", file.date.Format("20060102150405"), f.seq)
		f.unindexed[b.a.account] = append(f.unindexed[b.a.account], file)
		f.written[b.a.account+"\x00"+file.name] = file
		names = append(names, file.name)
		f.t.writes++
	}
	b.staged, b.bytes = nil, 0
	if f.failCommits > 0 {
		f.failCommits--
		return nil, errors.New("input/output error")
	}
	return names, nil
}

func (b *memBatch) Close() error { b.staged = nil; return nil }
func (b *memBatch) Len() int     { return len(b.staged) }
func (b *memBatch) Size() int64  { return b.bytes }
