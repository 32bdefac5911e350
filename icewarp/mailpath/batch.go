package mailpath

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// Batch writes many messages into one folder for about two disk barriers
// per Commit, where [Store.Put] pays two per message: stage, sync once,
// publish. [Batch.Add] writes a message to a temporary file without
// syncing it; [Batch.Commit] makes every staged file durable at once (on
// Linux one syncfs(2) of the mail path's file system; elsewhere each file
// was fsynced by Add), then gives each its final YYYYMMDDhhmmssNNNN.imap
// name as Put does (a hard link to a free name, never replacing an
// existing file; where hard links are unsupported, a checked rename under
// the Store's lock) and fsyncs the directory once.
//
// The invariant is Put's: a final .imap name only ever appears for
// content that is already durable, so IceWarp never sees a half-written
// message. A process killed before Commit leaves only ".iem-*.tmp" files,
// which IceWarp ignores and [Store.RemoveTemp] removes.
//
// A Batch may be committed many times; each Commit publishes what was
// added since the previous one. Close it when done. A Batch is not safe
// for concurrent use; several Batches (and Puts) may write into the same
// folder at once.
type Batch struct {
	s      *Store
	dir    string
	fs     *fsSyncer // nil: Add fsyncs each file itself
	staged []stagedFile
	bytes  int64
	closed bool
}

type stagedFile struct {
	tmp      string
	received time.Time
}

// NewBatch starts a batch of messages for folder of the account
// directory; accountDir and folder are as for [Store.Put]. Missing folder
// directories are created.
func (s *Store) NewBatch(accountDir string, folder []string) (*Batch, error) {
	acct, err := s.AccountDir(accountDir)
	if err != nil {
		return nil, err
	}
	rel, err := s.FolderPath(folder)
	if err != nil {
		return nil, err
	}
	dir, err := s.mkdirs(acct, rel)
	if err != nil {
		return nil, err
	}
	// Opened before any write, so that syncfs reports write-back errors of
	// everything staged from now on.
	fss, err := newFSSyncer(dir)
	if err != nil {
		return nil, fmt.Errorf("mailpath: open %s: %w", dir, err)
	}
	return &Batch{s: s, dir: dir, fs: fss}, nil
}

// Dir returns the folder directory the batch writes into.
func (b *Batch) Dir() string { return b.dir }

// Len returns how many messages are staged (added since the last Commit).
func (b *Batch) Len() int { return len(b.staged) }

// Size returns the bytes staged since the last Commit, as stored.
func (b *Batch) Size() int64 { return b.bytes }

// Add stages one message and returns its stored size (after line-end
// repair, see the package doc). received dates the file name (zero means
// now); body is read to EOF and not closed. The message gets no .imap
// name before Commit. A failed Add stages nothing and leaves no file; the
// batch stays usable.
func (b *Batch) Add(ctx context.Context, received time.Time, body io.Reader) (int64, error) {
	if b.closed {
		return 0, errors.New("mailpath: add to a closed batch")
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	tmp, size, err := b.s.writeTemp(ctx, b.dir, body, b.fs == nil)
	if err != nil {
		return 0, err
	}
	if received.IsZero() {
		received = time.Now()
	}
	b.staged = append(b.staged, stagedFile{tmp: tmp, received: received.In(b.s.opt.Location)})
	b.bytes += size
	return size, nil
}

// Commit makes the staged messages durable and publishes them, and returns
// their final base names in Add order. The batch is empty afterwards, also
// after an error.
//
// If ctx is done or the sync fails, nothing is published. Once the files
// are durable, publishing runs to the end regardless of ctx (it is quick
// and leaves the folder in a clearer state). If giving a message its name
// fails, Commit stops there: names then lists the messages published
// before (a prefix of Add order, the directory synced), the others have
// no .imap file and their temporary files are removed. With any error,
// names lists exactly the messages that have their .imap name; if the
// error is the final directory sync's, a crash may still drop those
// names, so a caller that must not lose track treats them as unconfirmed.
func (b *Batch) Commit(ctx context.Context) (names []string, err error) {
	if b.closed {
		return nil, errors.New("mailpath: commit of a closed batch")
	}
	staged := b.staged
	b.staged, b.bytes = nil, 0
	if len(staged) == 0 {
		return nil, nil
	}
	next := 0 // staged[next:] are not published
	defer func() {
		for _, f := range staged[next:] {
			os.Remove(f.tmp)
		}
	}()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if b.fs != nil {
		if err := b.fs.sync(staged); err != nil {
			return nil, fmt.Errorf("mailpath: sync %s: %w", b.dir, err)
		}
	}
	names = make([]string, 0, len(staged))
	for ; next < len(staged); next++ {
		f := staged[next]
		name, lerr := b.s.link(f.tmp, b.dir, f.received)
		if lerr != nil {
			err = lerr // also replaces a temporary-file removal error
			break
		}
		names = append(names, name)
		// After a link this drops the temporary name only; after the
		// rename fallback there is nothing left to remove.
		// The message is published either way; a temporary name left
		// behind is RemoveTemp's to clean.
		if rerr := os.Remove(f.tmp); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
			err = fmt.Errorf("mailpath: remove temporary file: %w", rerr)
		}
	}
	if len(names) > 0 {
		if serr := syncDir(b.dir); serr != nil && err == nil {
			err = fmt.Errorf("mailpath: sync %s: %w", b.dir, serr)
		}
	}
	return names, err
}

// Close discards the messages staged since the last Commit, removing
// their temporary files, and releases the batch. It is safe to call more
// than once.
func (b *Batch) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	var err error
	for _, f := range b.staged {
		if rerr := os.Remove(f.tmp); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
			err = fmt.Errorf("mailpath: remove temporary file: %w", rerr)
		}
	}
	b.staged, b.bytes = nil, 0
	if b.fs != nil {
		b.fs.close()
	}
	return err
}
