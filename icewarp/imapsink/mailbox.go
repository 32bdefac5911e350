package imapsink

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/emersion/go-imap/v2"
	"github.com/iemproject/iem/internal/retry"
)

// Mailbox writes into one user's mailbox over a small pool of IMAP
// connections. Its methods are safe for concurrent use.
type Mailbox struct {
	opt     Options
	name    string
	log     *slog.Logger
	debug   *redactor
	policy  retry.Policy
	pool    chan *conn    // nil entries are slots not yet dialled
	rawPool chan *rawConn // idle MULTIAPPEND connections
	dials   atomic.Int64

	closeOnce sync.Once
	closed    chan struct{}

	mu      sync.Mutex
	delim   rune
	ensured map[string]bool
	index   map[string]*folderIndex // for AppendBatch SkipExisting

	rawKnown bool // rawGroup is known (see rawGroupSize)
	rawGroup int  // messages per raw APPEND command; 0: use go-imap
}

// Dial connects to opt.Addr and logs in on behalf of mailbox (the owner's
// login name, usually the e-mail address). It opens one connection at once,
// to check the credentials; the others are opened when first needed. The
// caller must Close the Mailbox.
func Dial(ctx context.Context, opt Options, mailbox string) (*Mailbox, error) {
	m := &Mailbox{
		opt:     opt,
		name:    mailbox,
		log:     opt.Logger,
		pool:    make(chan *conn, opt.connections()),
		rawPool: make(chan *rawConn, opt.connections()),
		closed:  make(chan struct{}),
		ensured: map[string]bool{},
		index:   map[string]*folderIndex{},
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	m.log = m.log.With("mailbox", mailbox)
	if opt.DebugWriter != nil {
		m.debug = &redactor{w: opt.DebugWriter}
	}
	m.policy = opt.Retry
	if m.policy.Logger == nil {
		m.policy.Logger = m.log
	}
	first, err := retry.Get(ctx, m.policy, "imap dial", m.dial)
	if err != nil {
		return nil, err
	}
	m.pool <- first
	for i := 1; i < opt.connections(); i++ {
		m.pool <- nil
	}
	if err := m.loadDelimiter(first); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// Name returns the mailbox (owner) this Mailbox writes to.
func (m *Mailbox) Name() string { return m.name }

// Close logs out of every idle connection and closes them. Calls running
// concurrently fail with ErrClosed or a connection error.
func (m *Mailbox) Close() error {
	m.closeOnce.Do(func() { close(m.closed) })
	m.closeRaw()
	for {
		select {
		case cn := <-m.pool:
			if cn != nil {
				cn.c.Logout().Wait()
				cn.c.Close()
			}
		default:
			return nil
		}
	}
}

func (m *Mailbox) loadDelimiter(cn *conn) error {
	list, err := cn.c.List("", "", nil).Collect()
	if err != nil {
		return &OpError{Op: "LIST", Mailbox: m.name, Err: err}
	}
	m.delim = '/'
	if len(list) > 0 {
		m.delim = list[0].Delim
	}
	return nil
}

// Delimiter returns the server's hierarchy delimiter (0 for a flat server).
func (m *Mailbox) Delimiter() rune { return m.delim }

// FolderName maps path to the mailbox name used on this server, as
// [FolderName] does.
func (m *Mailbox) FolderName(path []string) (string, error) {
	return FolderName(path, m.delim)
}

// EnsureFolder creates the folder at path and every missing parent, and
// subscribes to them. Existing folders are left alone. It returns the
// mapped mailbox name.
func (m *Mailbox) EnsureFolder(ctx context.Context, path []string) (string, error) {
	name, err := m.FolderName(path)
	if err != nil {
		return "", err
	}
	m.mu.Lock()
	done := m.ensured[name]
	m.mu.Unlock()
	if done {
		return name, nil
	}
	for i := 1; i <= len(path); i++ {
		sub, _ := m.FolderName(path[:i])
		m.mu.Lock()
		done := m.ensured[sub]
		m.mu.Unlock()
		if done || sub == "INBOX" {
			continue
		}
		err := m.with(ctx, "imap create", func(ctx context.Context, cn *conn, _ int) error {
			return m.create(cn, sub)
		})
		if err != nil {
			return "", err
		}
		m.mu.Lock()
		m.ensured[sub] = true
		m.mu.Unlock()
	}
	return name, nil
}

func (m *Mailbox) create(cn *conn, name string) error {
	err := cn.c.Create(name, nil).Wait()
	var ie *imap.Error
	if err != nil && errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo {
		// [ALREADYEXISTS] (RFC 5530) or a server without codes: ask LIST.
		list, lerr := cn.c.List("", name, nil).Collect()
		if lerr == nil && len(list) == 1 && list[0].Mailbox == name {
			err = nil
		}
	}
	if err != nil {
		return &OpError{Op: "CREATE", Mailbox: m.name, Folder: name, Err: err}
	}
	if err := cn.c.Subscribe(name).Wait(); err != nil && isTransport(err) {
		return &OpError{Op: "SUBSCRIBE", Mailbox: m.name, Folder: name, Err: err}
	}
	return nil
}

// SetACL grants identifier (a user, "anyone", or a group the server knows)
// the RFC 4314 rights, e.g. "lrswipkxtea" (see icewarp.md §2.8 for IceWarp's
// letters). A leading "+" or "-" adds or removes rights instead of replacing
// them; "" removes identifier's entry (DELETEACL semantics via SETACL "").
func (m *Mailbox) SetACL(ctx context.Context, folder []string, identifier, rights string) error {
	name, err := m.FolderName(folder)
	if err != nil {
		return err
	}
	mod := imap.RightModificationReplace
	if rights != "" && (rights[0] == '+' || rights[0] == '-') {
		mod = imap.RightModification(rights[0])
		rights = rights[1:]
	}
	rs := imap.RightSet(rights)
	return m.with(ctx, "imap setacl", func(ctx context.Context, cn *conn, _ int) error {
		if err := cn.c.SetACL(name, imap.RightsIdentifier(identifier), mod, rs).Wait(); err != nil {
			return &OpError{Op: "SETACL", Mailbox: m.name, Folder: name, Err: err}
		}
		return nil
	})
}

// GetACL returns the folder's access control list (RFC 4314 GETACL) as
// identifier → rights.
func (m *Mailbox) GetACL(ctx context.Context, folder []string) (map[string]string, error) {
	name, err := m.FolderName(folder)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	err = m.with(ctx, "imap getacl", func(ctx context.Context, cn *conn, _ int) error {
		data, err := cn.c.GetACL(name).Wait()
		if err != nil {
			return &OpError{Op: "GETACL", Mailbox: m.name, Folder: name, Err: err}
		}
		for id, rs := range data.Rights {
			out[string(id)] = string(rs)
		}
		return nil
	})
	return out, err
}

// Folders lists every folder of the mailbox (LIST "" "*") by mapped name.
func (m *Mailbox) Folders(ctx context.Context) ([]string, error) {
	var out []string
	err := m.with(ctx, "imap list", func(ctx context.Context, cn *conn, _ int) error {
		out = out[:0]
		list, err := cn.c.List("", "*", nil).Collect()
		if err != nil {
			return &OpError{Op: "LIST", Mailbox: m.name, Err: err}
		}
		for _, l := range list {
			out = append(out, l.Mailbox)
		}
		return nil
	})
	return out, err
}

var _ io.Closer = (*Mailbox)(nil)
