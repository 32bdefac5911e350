package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/iemproject/iem/archive"
)

// Path mode (--mail-mode path) writes each message as a .imap file into
// the account's folder in IceWarp's mail path, in the order icewarp.md §6
// step 4 gives: resolve u_fullmailboxpath through the admin API, write the
// files atomically in batches (mailpath.Batch: temporary files, one sync
// for the batch, links to fresh YYYYMMDDhhmmssNNNN.imap names, one
// directory fsync), ask IceWarp to refresh the account
// (u_directorycache_refreshnow), then find the messages over IMAP and set
// their flags, one UID STORE per folder and flag set, since file names
// carry no portable flag encoding (§1.4) and the index files are private
// (§1.5).
//
// Finding a written message over IMAP never depends on parsing it: a
// file holds whatever the archive held (delivery reports, an mbox "From "
// first line, 8-bit or NUL bytes, no header at all), and a server may
// index such a file with an empty or wrong Message-ID. A message is found
// by its RFC822.SIZE (the exact size of the file written) and INTERNALDATE
// (the date of the file name, to the second), each UID taken at most
// once, in UID order (see folderIndex.take).
//
// Crash safety: an item is recorded as pending before its file is staged,
// and with the file name after the batch holding it was committed (its
// file durable under its final name); a crash before that leaves only
// temporary files, which the next run removes. A rerun refreshes the
// account and looks a pending item up over IMAP (date and size) before
// writing it again, and finishes the flags of items whose UID was never
// recorded.

// pathItem is one message to finish over IMAP after the refresh.
type pathItem struct {
	e      *archive.Entry
	folder []string
	file   string // base name of the .imap file
	size   int64  // size of the file (line ends may have been repaired)
	// earlier: written by an earlier run (its UID never recorded), so
	// possibly listed before this run wrote anything.
	earlier bool
}

// A batch of message files is committed at PathBatchFiles files or
// PathBatchBytes bytes, whichever comes first, and at the end of each
// folder: large enough that its two disk barriers cost little per file,
// small enough that a crash redoes little and progress moves.
const (
	PathBatchFiles = 256
	PathBatchBytes = 64 << 20
)

// pathWriter holds the state of one mailbox in path mode.
type pathWriter struct {
	im        *Engine
	log       *slog.Logger
	st        *MailboxStats
	mb        Mailbox
	source    string
	target    string
	files     AccountFiles
	refreshed bool
	written   int
	finish    []pathItem
	// indexes hold the messages of a folder as IMAP shows them after the
	// last refresh, so that finding N messages costs one FETCH instead of
	// N searches.
	indexes map[string]*folderIndex
	// before holds, per folder, the UIDs IMAP showed before this run
	// wrote its first file there: a message written by this run is one of
	// the others.
	before map[string]map[imap.UID]bool
	// taken holds, per folder, the UIDs matched to an item by this run;
	// UIDs outlive a refresh, so this does too.
	taken map[string]map[imap.UID]bool
	// replaced are the previous copies of changed messages (see oldCopy).
	replaced map[string]oldCopy
}

// folderIndex is one folder's listing.
type folderIndex struct {
	msgs  []Summary         // in UID order
	taken map[imap.UID]bool // UIDs already matched
}

// take returns the lowest UID not taken yet, and not in old, whose
// RFC822.SIZE is size (if positive) and whose INTERNALDATE is date to the
// second (if not zero), and marks it taken. Messages alike in size and
// date get the UIDs in order; such messages are byte-identical in
// practice, or at least indistinguishable to the user, so any consistent
// assignment is right. Nothing of the message is parsed.
func (ix *folderIndex) take(size int64, date time.Time, old map[imap.UID]bool) (imap.UID, bool) {
	if size <= 0 && date.IsZero() {
		return 0, false // nothing to tell it from others by
	}
	for _, s := range ix.msgs {
		if ix.taken[s.UID] || old[s.UID] || size > 0 && s.Size != size || !date.IsZero() && s.InternalDate.Unix() != date.Unix() {
			continue
		}
		ix.taken[s.UID] = true
		return s.UID, true
	}
	return 0, false
}

// dated reports whether an untaken message not in old has this
// INTERNALDATE (to the second), whatever its size.
func (ix *folderIndex) dated(date time.Time, old map[imap.UID]bool) bool {
	for _, s := range ix.msgs {
		if !ix.taken[s.UID] && !old[s.UID] && s.InternalDate.Unix() == date.Unix() {
			return true
		}
	}
	return false
}

func (im *Engine) newPathWriter(ctx context.Context, log *slog.Logger, st *MailboxStats, mb Mailbox, source, target string) (*pathWriter, error) {
	files, err := im.Sinks.Files.Account(ctx, target)
	if err != nil {
		return nil, fmt.Errorf("mailbox path of %s: %w", target, err)
	}
	return &pathWriter{im: im, log: log, st: st, mb: mb, source: source, target: target, files: files,
		indexes: map[string]*folderIndex{}, before: map[string]map[imap.UID]bool{}, taken: map[string]map[imap.UID]bool{}}, nil
}

// refresh asks IceWarp to pick up the files written so far.
func (pw *pathWriter) refresh(ctx context.Context) error {
	if err := pw.files.Refresh(ctx); err != nil {
		return fmt.Errorf("refresh %s: %w", pw.target, err)
	}
	pw.refreshed = true
	clear(pw.indexes) // listings from before the refresh are stale
	return nil
}

// index returns the folder's listing (read once per refresh); a folder
// that does not exist yet lists empty.
func (pw *pathWriter) index(ctx context.Context, folder []string) (*folderIndex, error) {
	key := fmt.Sprintf("%q", folder)
	if idx := pw.indexes[key]; idx != nil {
		return idx, nil
	}
	if pw.taken[key] == nil {
		pw.taken[key] = map[imap.UID]bool{}
	}
	idx := &folderIndex{taken: pw.taken[key]}
	err := pw.mb.List(ctx, folder, func(s Summary) error {
		idx.msgs = append(idx.msgs, Summary{UID: s.UID, Size: s.Size, InternalDate: s.InternalDate})
		return nil
	})
	if err != nil && !errors.Is(err, ErrNoFolder) {
		return nil, err // NO: the folder does not exist yet
	}
	pw.indexes[key] = idx
	return idx, nil
}

// snapshot notes the UIDs the folder holds before this run writes its
// first file there (once per folder and run). Files are invisible over
// IMAP until they are written, so whatever IceWarp indexes later on its
// own, a message of this run is never among these.
func (pw *pathWriter) snapshot(ctx context.Context, folder []string) error {
	key := fmt.Sprintf("%q", folder)
	if _, ok := pw.before[key]; ok {
		return nil
	}
	idx, err := pw.index(ctx, folder)
	if err != nil {
		return err
	}
	old := make(map[imap.UID]bool, len(idx.msgs))
	for _, s := range idx.msgs {
		old[s.UID] = true
	}
	pw.before[key] = old
	return nil
}

// findPending looks up a message an earlier run may have written (a
// pending item, or any item in a rebuild): by date and size, where the
// size is the archived size or, if the file was repaired (bare LF line
// ends, see mailpath), the repaired one, read from the archive only when
// a message of that date is there.
func (pw *pathWriter) findPending(ctx context.Context, folder []string, e *archive.Entry) (imap.UID, bool, error) {
	idx, err := pw.index(ctx, folder)
	if err != nil {
		return 0, false, err
	}
	if uid, ok := idx.take(e.Size, e.Received, nil); ok {
		return uid, true, nil
	}
	if e.Received.IsZero() || !idx.dated(e.Received, nil) {
		return 0, false, nil
	}
	rc, err := pw.im.open(e)
	if err != nil {
		return 0, false, nil // written again, where a read error is reported
	}
	defer rc.Close()
	size, err := repairedSize(rc)
	if err != nil || size == e.Size {
		return 0, false, nil
	}
	uid, ok := idx.take(size, e.Received, nil)
	return uid, ok, nil
}

// repairedSize is the size of r with bare LF line ends turned into CRLF,
// as mailpath stores a message.
func repairedSize(r io.Reader) (int64, error) {
	buf := make([]byte, 64<<10)
	var n int64
	prevCR := false
	for {
		k, err := r.Read(buf)
		for _, c := range buf[:k] {
			if c == '\n' && !prevCR {
				n++
			}
			prevCR = c == '\r'
		}
		n += int64(k)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// fileDate is the date in a message file name
// ([serverid]YYYYMMDDhhmmssNNNN.imap, time.Local as openStore writes it),
// or zero.
func fileDate(name string) time.Time {
	base, ok := strings.CutSuffix(name, ".imap")
	if !ok || len(base) < 18 {
		return time.Time{}
	}
	t, err := time.ParseInLocation("20060102150405", base[len(base)-18:len(base)-4], time.Local)
	if err != nil {
		return time.Time{}
	}
	return t
}

// write stores the messages of one folder as files, in batches (see
// PathBatchFiles).
func (pw *pathWriter) write(ctx context.Context, folder []string, entries []*archive.Entry) error {
	im := pw.im
	// A run killed inside a write leaves its temporary files; this job is
	// the only writer of the folder now (one process per ledger, one job
	// per mailbox).
	if n, err := pw.files.RemoveTemp(folder); err != nil {
		return err
	} else if n > 0 {
		pw.log.Info("temporary files of an interrupted run removed", "folder", strings.Join(folder, "/"), "files", n)
	}
	var batch FileBatch // opened with the first file to write
	if err := pw.snapshot(ctx, folder); err != nil {
		return fmt.Errorf("list %q: %w", strings.Join(folder, "/"), err)
	}
	defer func() {
		if batch != nil {
			batch.Close() // drops what was staged but not committed (still pending)
		}
	}()
	record := func(e *archive.Entry, a applied) ledgerRecord {
		a.Kind, a.Folder, a.Digest = "message", folder, digestHex(e)
		a.MessageID, a.Size, a.Date = e.Attrs["message-id"], e.Size, e.Received
		return ledgerRecord{e.ID, pw.replaced[e.ID].keep(a)}
	}
	// staged are in the batch, in Add order; commit publishes them and
	// then records them with their file names.
	var staged []pathItem
	commit := func() error {
		if len(staged) == 0 {
			return nil
		}
		names, err := batch.Commit(ctx)
		if err != nil {
			// Files published before the error stay pending in the
			// ledger: the next run finds them over IMAP, as after a crash.
			return fmt.Errorf("write %d messages into %q (%d published): %w", len(staged), strings.Join(folder, "/"), len(names), err)
		}
		recs := make([]ledgerRecord, len(staged))
		for i := range staged {
			staged[i].file = names[i]
			recs[i] = record(staged[i].e, applied{File: names[i]})
		}
		if err := im.Ledger.putMany(pw.source, recs); err != nil {
			return err
		}
		for _, it := range staged {
			pw.st.Appended++
			pw.st.Written["message"]++
			pw.st.Bytes += it.e.Size
			pw.st.job.Add(1, it.e.Size)
			pw.written++
			pw.finish = append(pw.finish, it)
		}
		staged = staged[:0]
		return nil
	}
	// todo are to be written: recorded as pending (one ledger transaction
	// for all), then staged.
	var todo []*archive.Entry
	stage := func() error {
		recs := make([]ledgerRecord, len(todo))
		for i, e := range todo {
			recs[i] = record(e, applied{Pending: true})
		}
		if err := im.Ledger.putMany(pw.source, recs); err != nil {
			return err
		}
		for _, e := range todo {
			if err := ctx.Err(); err != nil {
				return err
			}
			rc, err := im.open(e)
			if err != nil {
				pw.log.Warn("message not readable", "id", e.ID, "err", err)
				pw.st.Failed["archive entry not readable"]++
				pw.st.job.Add(1, 0)
				continue
			}
			if batch == nil {
				if batch, err = pw.files.NewBatch(folder); err != nil {
					rc.Close()
					return fmt.Errorf("write into %q: %w", strings.Join(folder, "/"), err)
				}
			}
			size, err := batch.Add(ctx, e.Received, rc)
			rc.Close()
			if err != nil {
				return fmt.Errorf("write %s into %q: %w", e.ID, strings.Join(folder, "/"), err)
			}
			staged = append(staged, pathItem{e: e, folder: folder, size: size})
			if batch.Len() >= PathBatchFiles || batch.Size() >= PathBatchBytes {
				if err := commit(); err != nil {
					return err
				}
			}
		}
		todo = todo[:0]
		return nil
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		prev, known := im.Ledger.get(pw.source, e.ID)
		if im.rebuild || known && prev.Pending {
			// A file may be there already: from before a crash, or
			// (rebuild) from a target that kept part of its data.
			if !pw.refreshed {
				if err := pw.refresh(ctx); err != nil {
					return err
				}
			}
			uid, found, err := pw.findPending(ctx, folder, e)
			if err != nil {
				return fmt.Errorf("find %s: %w", e.ID, err)
			}
			if found {
				pw.st.Found++
				pw.st.job.Add(1, 0)
				if err := pw.setFlags(ctx, e, folder, uid, ""); err != nil {
					return err
				}
				continue
			}
		}
		if todo = append(todo, e); len(todo) >= PathBatchFiles {
			if err := stage(); err != nil {
				return err
			}
		}
	}
	if err := stage(); err != nil {
		return err
	}
	return commit()
}

// unfinished queues an item written by an earlier run whose UID and flags
// were never recorded.
func (pw *pathWriter) unfinished(e *archive.Entry, a applied) {
	pw.finish = append(pw.finish, pathItem{e: e, folder: a.Folder, file: a.File, size: pw.fileSize(a.Folder, a.File, e.Size), earlier: true})
}

// fileSize returns the size of a message file written earlier, or def.
func (pw *pathWriter) fileSize(folder []string, name string, def int64) int64 {
	if n, err := pw.files.FileSize(folder, name); err == nil {
		return n
	}
	return def
}

// done refreshes the account after the writes, then finds every new
// message over IMAP and sets the flags of each folder's messages with one
// UID STORE per distinct flag set.
func (pw *pathWriter) done(ctx context.Context) error {
	if len(pw.finish) == 0 {
		return nil
	}
	if err := pw.refresh(ctx); err != nil {
		return err
	}
	type group struct {
		folder []string
		flags  []imap.Flag
		items  []pathItem
		uids   []imap.UID
	}
	groups := map[string]*group{}
	var order []string
	// Items an earlier run wrote first (their files are older, so they hold
	// the lower UIDs, and they may be among the UIDs listed before this
	// run wrote), then this run's, among the UIDs that appeared since.
	finish := make([]pathItem, 0, len(pw.finish))
	for _, it := range pw.finish {
		if it.earlier {
			finish = append(finish, it)
		}
	}
	for _, it := range pw.finish {
		if !it.earlier {
			finish = append(finish, it)
		}
	}
	for _, it := range finish {
		date := it.e.Received
		if date.IsZero() {
			date = fileDate(it.file)
		}
		idx, err := pw.index(ctx, it.folder)
		if err != nil {
			return fmt.Errorf("find %s: %w", it.e.ID, err)
		}
		var old map[imap.UID]bool
		if !it.earlier {
			old = pw.before[fmt.Sprintf("%q", it.folder)]
		}
		uid, found := idx.take(it.size, date, old)
		if !found {
			pw.log.Warn("written message not visible over IMAP after the refresh", "id", it.e.ID, "file", it.file)
			pw.st.Failed["flags not set (message not visible over IMAP after refresh)"]++
			continue
		}
		fl := flagsOf(it.e)
		key := fmt.Sprintf("%q %s", it.folder, flagString(fl)) // folder names may hold any character
		g := groups[key]
		if g == nil {
			g = &group{folder: it.folder, flags: fl}
			groups[key] = g
			order = append(order, key)
		}
		g.items = append(g.items, it)
		g.uids = append(g.uids, uid)
	}
	for _, key := range order {
		g := groups[key]
		if len(g.flags) > 0 {
			if err := pw.mb.SetFlags(ctx, g.folder, g.uids, g.flags); err != nil {
				pw.log.Warn("flags not set", "folder", strings.Join(g.folder, "/"), "flags", flagString(g.flags), "messages", len(g.items), "err", err)
				pw.st.Failed["flags not set"] += len(g.items)
				continue
			}
		}
		recs := make([]ledgerRecord, len(g.items))
		for i, it := range g.items {
			recs[i] = ledgerRecord{it.e.ID, pw.completed(it.e, it.folder, g.uids[i], it.file, g.flags)}
		}
		if err := pw.im.Ledger.putMany(pw.source, recs); err != nil {
			return err
		}
	}
	return nil
}

// setFlags sets an item's flags on uid and records it as complete.
func (pw *pathWriter) setFlags(ctx context.Context, e *archive.Entry, folder []string, uid imap.UID, file string) error {
	fl := flagsOf(e)
	if len(fl) > 0 {
		if err := pw.mb.SetFlags(ctx, folder, []imap.UID{uid}, fl); err != nil {
			pw.log.Warn("flags not set", "id", e.ID, "err", err)
			pw.st.Failed["flags not set"]++
			return nil
		}
	}
	return pw.im.Ledger.put(pw.source, e.ID, pw.completed(e, folder, uid, file, fl))
}

// completed is the ledger record of a finished item: its UID known, its
// flags fl set.
func (pw *pathWriter) completed(e *archive.Entry, folder []string, uid imap.UID, file string, fl []imap.Flag) applied {
	return pw.replaced[e.ID].keep(applied{Kind: "message", Folder: folder, UID: uint32(uid), File: file,
		Digest: digestHex(e), Flags: flagString(fl), MessageID: e.Attrs["message-id"], Size: e.Size, Date: e.Received})
}
