package imapsink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/iemproject/iem/internal/retry"
)

// Message is one message to APPEND.
type Message struct {
	// Body is the RFC 5322 message with CRLF line ends, exactly Size bytes.
	// If it is an io.Seeker it is rewound when an APPEND is retried.
	Body io.Reader
	// Open, used when Body is nil, returns the body; it is called once per
	// attempt and the result is closed after it.
	Open func() (io.ReadCloser, error)
	// Size is the length of the body in bytes.
	Size int64
	// Flags are stored with the message (\Seen, \Flagged, keywords...).
	// \Recent cannot be set and is dropped.
	Flags []imap.Flag
	// InternalDate is the received time kept by the server (zero: now).
	InternalDate time.Time
	// MessageID is the Message-ID header value, with or without the angle
	// brackets. It is used to find a message whose APPEND was interrupted,
	// and for AppendBatch's SkipExisting.
	MessageID string

	read bool // Body has been (partly) read: rewind before the next use
}

// body returns the reader for one attempt; closeFn releases it.
func (msg *Message) body() (r io.Reader, closeFn func(), err error) {
	if msg.Body == nil {
		if msg.Open == nil {
			return nil, nil, ErrNoBody
		}
		rc, err := msg.Open()
		if err != nil {
			return nil, nil, bodyError{err}
		}
		return rc, func() { rc.Close() }, nil
	}
	if msg.read {
		s, ok := msg.Body.(io.Seeker)
		if !ok {
			return nil, nil, ErrNotRewindable
		}
		if _, err := s.Seek(0, io.SeekStart); err != nil {
			return nil, nil, errors.Join(ErrNotRewindable, err)
		}
	}
	msg.read = true
	return msg.Body, func() {}, nil
}

func (msg *Message) appendOptions() *imap.AppendOptions {
	opt := &imap.AppendOptions{Time: msg.InternalDate}
	for _, f := range msg.Flags {
		if f != flagRecent {
			opt.Flags = append(opt.Flags, f)
		}
	}
	return opt
}

// bodyError is a failure to read a message body: the caller's problem, not
// the connection's.
type bodyError struct{ error }

func (e bodyError) Unwrap() error { return e.error }

// startAppend sends one APPEND with its literal on cn and returns the
// command to wait for. On error the connection has been closed (an
// incomplete literal cannot be taken back otherwise), so nothing was stored.
func (m *Mailbox) startAppend(cn *conn, name string, msg *Message) (*imapclient.AppendCommand, error) {
	r, done, err := msg.body()
	if err != nil {
		return nil, &OpError{Op: "APPEND", Mailbox: m.name, Folder: name, Err: err}
	}
	defer done()
	cmd := cn.c.Append(name, msg.Size, msg.appendOptions())
	if err := copyExact(cmd, r, msg.Size); err != nil {
		cn.c.Close()
		cmd.Close()
		return nil, &OpError{Op: "APPEND", Mailbox: m.name, Folder: name, Err: err}
	}
	if err := cmd.Close(); err != nil {
		return nil, &OpError{Op: "APPEND", Mailbox: m.name, Folder: name, Err: err}
	}
	return cmd, nil
}

// copyExact copies exactly size bytes from r to w. The last byte is held
// back until r is known to end there, so that a body of the wrong length
// leaves the literal incomplete and the caller can abort it.
func copyExact(w io.Writer, r io.Reader, size int64) error {
	if size <= 0 {
		var b [1]byte
		if n, _ := io.ReadFull(r, b[:]); n > 0 {
			return ErrSize
		}
		return nil
	}
	if n, err := io.CopyN(w, r, size-1); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: got %d bytes, want %d", ErrSize, n, size)
		}
		return err
	}
	var b [2]byte
	if _, err := io.ReadFull(r, b[:1]); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: got %d bytes, want %d", ErrSize, size-1, size)
		}
		return err
	}
	if n, _ := io.ReadFull(r, b[1:]); n > 0 {
		return fmt.Errorf("%w: body is longer than %d bytes", ErrSize, size)
	}
	_, err := w.Write(b[:1])
	return err
}

// Append stores msg in the folder at path (created if the server answers
// [TRYCREATE]) and returns its UID. The UID comes from APPENDUID (RFC 4315);
// without UIDPLUS it is looked up by Message-ID, and is 0 if that fails.
//
// If the connection breaks during the APPEND, Append reconnects and, before
// sending the message again, searches the folder for it (Message-ID, date
// and size, see [Mailbox.Find]): a message the server did store is not
// stored twice. A message with neither a Message-ID nor an internal date
// cannot be searched for and is sent again.
func (m *Mailbox) Append(ctx context.Context, folder []string, msg Message) (imap.UID, error) {
	name, err := m.FolderName(folder)
	if err != nil {
		return 0, err
	}
	uid, err := m.appendOne(ctx, name, &msg, false)
	var ie *imap.Error
	if errors.As(err, &ie) && ie.Code == imap.ResponseCodeTryCreate {
		if _, err := m.EnsureFolder(ctx, folder); err != nil {
			return 0, err
		}
		uid, err = m.appendOne(ctx, name, &msg, false)
	}
	return uid, err
}

// appendOne appends msg with retries. mayExist says that an earlier try (by
// the caller) may have stored it already.
func (m *Mailbox) appendOne(ctx context.Context, name string, msg *Message, mayExist bool) (imap.UID, error) {
	var uid imap.UID
	err := m.with(ctx, "imap append", func(ctx context.Context, cn *conn, attempt int) error {
		if mayExist && canFind(msg) {
			u, found, err := m.findOn(cn, name, msg.MessageID, msg.InternalDate, msg.Size)
			if err != nil {
				return err
			}
			if found {
				m.log.Info("interrupted append had landed", "folder", name, "id", msg.MessageID, "uid", u)
				uid = u
				return nil
			}
		}
		cmd, err := m.startAppend(cn, name, msg)
		if err != nil {
			mayExist = mayExist || isBroken(err)
			return err
		}
		data, err := cmd.Wait()
		if err != nil {
			mayExist = mayExist || isBroken(err)
			return &OpError{Op: "APPEND", Mailbox: m.name, Folder: name, Err: err}
		}
		uid = data.UID
		if uid == 0 && msg.MessageID != "" {
			if u, found, err := m.findOn(cn, name, msg.MessageID, msg.InternalDate, msg.Size); err == nil && found {
				uid = u
			}
		}
		m.noteAppended(name, msg, uid)
		return nil
	})
	return uid, err
}

func canFind(msg *Message) bool {
	return msg.MessageID != "" || (msg.Size > 0 && !msg.InternalDate.IsZero())
}

// BatchOptions tune [Mailbox.AppendBatch]; nil means the zero value.
type BatchOptions struct {
	// SkipExisting does not APPEND a message whose Message-ID, internal
	// date and size are already in the folder (for --rebuild). The folder
	// is listed once per Mailbox and the listing kept up to date.
	SkipExisting bool
}

// AppendResult is the outcome for one message of a batch.
type AppendResult struct {
	UID      imap.UID
	Existing bool  // skipped: the message was already in the folder
	Err      error // nil on success
}

// AppendBatch stores msgs in the folder at path (created first) over
// Options.Connections connections, with up to Options.Window commands in
// flight on each. When the server has LITERAL+ the commands are pipelined
// over connections of their own, and with MULTIAPPEND each stores a group of
// up to 50 messages (8 MiB) in one transaction, on one connection per call;
// otherwise each is one go-imap APPEND.
// Results are in the order of msgs. The error is non-nil only when the
// batch could not run (folder creation failed, ctx ended); failures of
// single messages are in their results. Messages whose pipelined APPEND was
// cut by a broken connection are retried one by one, with the same
// no-duplicate check as [Mailbox.Append].
func (m *Mailbox) AppendBatch(ctx context.Context, folder []string, msgs []Message, opt *BatchOptions) ([]AppendResult, error) {
	if opt == nil {
		opt = &BatchOptions{}
	}
	name, err := m.EnsureFolder(ctx, folder)
	if err != nil {
		return nil, err
	}
	res := make([]AppendResult, len(msgs))
	todo := make(chan int, len(msgs))
	var idx *folderIndex
	if opt.SkipExisting {
		if idx, err = m.folderIndexFor(ctx, name); err != nil {
			return nil, err
		}
	}
	for i := range msgs {
		if idx != nil {
			if uid, ok := idx.lookup(&msgs[i]); ok {
				res[i] = AppendResult{UID: uid, Existing: true}
				continue
			}
		}
		todo <- i
	}
	close(todo)
	var (
		mu    sync.Mutex
		again []int // retried one by one afterwards
		maybe = map[int]bool{}
	)
	retryLater := func(i int, mayExist bool) {
		mu.Lock()
		again = append(again, i)
		if mayExist {
			maybe[i] = true
		}
		mu.Unlock()
	}
	group, err := m.rawGroupSize(ctx)
	if err != nil {
		return res, err
	}
	var wg sync.WaitGroup
	var errs []error
	if group > 0 {
		groups := makeGroups(msgs, todo, group)
		workers := min(m.opt.connections(), len(groups))
		if group > 1 {
			// One MULTIAPPEND connection per folder: on Dovecot, sessions
			// appending to one folder contend for its lock, and one
			// connection with 50-message transactions was 2-10x faster
			// than four (BenchmarkAppend). Connections still apply to
			// concurrent AppendBatch calls.
			workers = 1
		}
		errs = make([]error, workers)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[w] = m.multiWorker(ctx, name, msgs, res, groups, retryLater)
			}()
		}
	} else {
		workers := min(m.opt.connections(), len(todo))
		errs = make([]error, workers)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[w] = m.pipeline(ctx, name, msgs, res, todo, func(i int) { retryLater(i, true) })
			}()
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return res, err
	}
	slices.Sort(again)
	for _, i := range again {
		uid, err := m.appendOne(ctx, name, &msgs[i], maybe[i])
		res[i] = AppendResult{UID: uid, Err: err}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
	}
	return res, nil
}

// Group limits for MULTIAPPEND: messages and bytes per command.
const (
	groupMessages = 50
	groupBytes    = 8 << 20
)

// makeGroups splits the queued indices into MULTIAPPEND groups of at most
// max messages.
func makeGroups(msgs []Message, todo <-chan int, max int) chan []int {
	var groups [][]int
	var cur []int
	var size int64
	for i := range todo {
		if len(cur) > 0 && (len(cur) >= max || size+msgs[i].Size > groupBytes) {
			groups = append(groups, cur)
			cur, size = nil, 0
		}
		cur = append(cur, i)
		size += msgs[i].Size
	}
	if len(cur) > 0 {
		groups = append(groups, cur)
	}
	ch := make(chan []int, len(groups))
	for _, g := range groups {
		ch <- g
	}
	close(ch)
	return ch
}

// rawGroupSize says how AppendBatch sends: 0 through go-imap, one APPEND
// per message with a synchronizing literal; otherwise over the raw path
// with non-synchronizing literals (LITERAL+, RFC 7888), in groups of up to
// groupMessages per command if the server has MULTIAPPEND (RFC 3502), else
// one message per command but pipelined. Options.NoMultiAppend forces 0.
func (m *Mailbox) rawGroupSize(ctx context.Context) (int, error) {
	if m.opt.NoMultiAppend {
		return 0, nil
	}
	m.mu.Lock()
	known, size := m.rawKnown, m.rawGroup
	m.mu.Unlock()
	if known {
		return size, nil
	}
	err := m.with(ctx, "imap capability", func(ctx context.Context, cn *conn, _ int) error {
		caps := cn.c.Caps()
		switch {
		case !caps.Has(imap.CapLiteralPlus):
			size = 0
		case caps.Has("MULTIAPPEND"):
			size = groupMessages
		default:
			size = 1
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	m.mu.Lock()
	if !m.rawKnown {
		m.rawKnown, m.rawGroup = true, size
	}
	size = m.rawGroup
	m.mu.Unlock()
	return size, nil
}

type inflight struct {
	i   int
	cmd *imapclient.AppendCommand
}

// pipeline runs on one connection: it sends APPENDs for indices from todo
// while a companion goroutine collects their answers in order.
func (m *Mailbox) pipeline(ctx context.Context, name string, msgs []Message, res []AppendResult, todo <-chan int, retryLater func(int)) error {
	for {
		cn, err := retry.Get(ctx, m.policy, "imap dial", m.acquire)
		if err != nil {
			return err
		}
		stop := context.AfterFunc(ctx, func() { cn.c.Close() })
		window := make(chan inflight, m.opt.window())
		var broken bool
		done := make(chan struct{})
		go func() {
			defer close(done)
			for f := range window {
				data, err := f.cmd.Wait()
				msg := &msgs[f.i]
				switch {
				case err == nil:
					uid := data.UID
					if uid == 0 && msg.MessageID != "" && !broken {
						if u, found, ferr := m.findOn(cn, name, msg.MessageID, msg.InternalDate, msg.Size); ferr == nil && found {
							uid = u
						}
					}
					res[f.i] = AppendResult{UID: uid}
					m.noteAppended(name, msg, uid)
				case isBroken(err) || m.classify(err) != err:
					broken = broken || isBroken(err)
					retryLater(f.i)
				default:
					res[f.i] = AppendResult{Err: &OpError{Op: "APPEND", Mailbox: m.name, Folder: name, Err: err}}
				}
			}
		}()
		var sendErr error
		more := false
		for i := range todo {
			cmd, err := m.startAppend(cn, name, &msgs[i])
			if err != nil {
				if isBroken(err) {
					retryLater(i)
				} else {
					res[i] = AppendResult{Err: err}
				}
				sendErr = err
				more = true
				break
			}
			window <- inflight{i, cmd}
		}
		close(window)
		<-done
		stop()
		if ctx.Err() != nil {
			cn.c.Close()
			m.pool <- nil
			return ctx.Err()
		}
		if broken && sendErr == nil {
			sendErr = errors.New("connection broken")
		}
		m.release(cn, sendErr)
		if !more {
			return nil
		}
	}
}
