package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/icewarp/imapsink"
	"github.com/iemproject/iem/icewarp/mailpath"
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
// Crash safety: an item is recorded as pending before its file is staged,
// and with the file name after the batch holding it was committed (its
// file durable under its final name); a crash before that leaves only
// temporary files, which the next run removes. A rerun refreshes the
// account and looks a pending item up over IMAP (Message-ID, date, size)
// before writing it again, and finishes the flags of items whose UID was
// never recorded.

// pathSegments maps a folder path to the segments of its directory: the
// same look-alike mapping as IMAP folder names (imapsink.FolderName with
// IceWarp's "/" delimiter), so the folder created over IMAP and the one
// written on disk are the same, and "/", "\", ".." or a leading "~" in an
// archived name stay inside one segment. mailpath checks the result again.
func pathSegments(folder []string) ([]string, error) {
	name, err := imapsink.FolderName(folder, '/')
	if err != nil {
		return nil, err
	}
	return strings.Split(name, "/"), nil
}

// pathItem is one message to finish over IMAP after the refresh.
type pathItem struct {
	e      *archive.Entry
	folder []string
	file   string // base name of the .imap file
	size   int64  // size of the file (line ends may have been repaired)
}

// A batch of message files is committed at pathBatchFiles files or
// pathBatchBytes bytes, whichever comes first, and at the end of each
// folder: large enough that its two disk barriers cost little per file,
// small enough that a crash redoes little and progress moves.
const (
	pathBatchFiles = 256
	pathBatchBytes = 64 << 20
)

// pathWriter holds the state of one mailbox in path mode.
type pathWriter struct {
	im         *importer
	log        *slog.Logger
	st         *mailboxStats
	mb         *imapsink.Mailbox
	source     string
	target     string
	accountDir string
	refreshed  bool
	written    int
	finish     []pathItem
	// indexes hold the messages of a folder as IMAP shows them after the
	// last refresh, by Message-ID, so that finding N messages costs one
	// FETCH instead of N searches; taken marks UIDs already matched.
	indexes map[string]*folderIndex
	// replaced are the previous copies of changed messages (see oldCopy).
	replaced map[string]oldCopy
}

// folderIndex is one folder's listing.
type folderIndex struct {
	byID  map[string][]imapsink.Summary
	taken map[imap.UID]bool
}

func (im *importer) newPathWriter(ctx context.Context, log *slog.Logger, st *mailboxStats, mb *imapsink.Mailbox, source, target string) (*pathWriter, error) {
	dir, err := im.admin.MailboxPath(ctx, target)
	if err != nil {
		return nil, fmt.Errorf("mailbox path of %s: %w", target, err)
	}
	acct, err := im.store.AccountDir(dir)
	if err != nil {
		return nil, fmt.Errorf("mailbox path of %s: %w", target, err)
	}
	return &pathWriter{im: im, log: log, st: st, mb: mb, source: source, target: target, accountDir: acct,
		indexes: map[string]*folderIndex{}}, nil
}

// refresh asks IceWarp to pick up the files written so far.
func (pw *pathWriter) refresh(ctx context.Context) error {
	if err := pw.im.admin.RefreshAccount(ctx, pw.target); err != nil {
		return fmt.Errorf("refresh %s: %w", pw.target, err)
	}
	pw.refreshed = true
	clear(pw.indexes) // listings from before the refresh are stale
	return nil
}

// find looks a message up in the folder's listing (read once per refresh),
// by Message-ID, internal date to the second and size, each if known; it
// never returns the same UID twice.
func (pw *pathWriter) find(ctx context.Context, folder []string, messageID string, date time.Time, size int64) (imap.UID, bool, error) {
	key := fmt.Sprintf("%q", folder)
	idx := pw.indexes[key]
	if idx == nil {
		idx = &folderIndex{byID: map[string][]imapsink.Summary{}, taken: map[imap.UID]bool{}}
		err := pw.mb.List(ctx, folder, func(s imapsink.Summary) error {
			idx.byID[s.MessageID] = append(idx.byID[s.MessageID], s)
			return nil
		})
		var ie *imap.Error
		if err != nil && !(errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo) {
			return 0, false, err // NO: the folder does not exist yet
		}
		pw.indexes[key] = idx
	}
	messageID = imapsink.NormalizeMessageID(messageID)
	if messageID == "" && (date.IsZero() || size <= 0) {
		return 0, false, nil // nothing to tell it from others by
	}
	for _, s := range idx.byID[messageID] {
		if idx.taken[s.UID] || size > 0 && s.Size != size || !date.IsZero() && !s.InternalDate.Truncate(time.Second).Equal(date.Truncate(time.Second)) {
			continue
		}
		idx.taken[s.UID] = true
		return s.UID, true, nil
	}
	return 0, false, nil
}

// write stores the messages of one folder as files, in batches (see
// pathBatchFiles).
func (pw *pathWriter) write(ctx context.Context, folder []string, entries []*archive.Entry) error {
	im := pw.im
	segs, err := pathSegments(folder)
	if err != nil {
		return err
	}
	// A run killed inside a write leaves its temporary files; this job is
	// the only writer of the folder now (one process per ledger, one job
	// per mailbox).
	if n, err := im.store.RemoveTemp(pw.accountDir, segs); err != nil {
		return err
	} else if n > 0 {
		pw.log.Info("temporary files of an interrupted run removed", "folder", strings.Join(folder, "/"), "files", n)
	}
	var batch *mailpath.Batch // opened with the first file to write
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
		if err := im.ledger.putMany(pw.source, recs); err != nil {
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
		if err := im.ledger.putMany(pw.source, recs); err != nil {
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
				if batch, err = im.store.NewBatch(pw.accountDir, segs); err != nil {
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
			if batch.Len() >= pathBatchFiles || batch.Size() >= pathBatchBytes {
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
		prev, known := im.ledger.get(pw.source, e.ID)
		if im.rebuild || known && prev.Pending {
			// A file may be there already: from before a crash, or
			// (rebuild) from a target that kept part of its data.
			if !pw.refreshed {
				if err := pw.refresh(ctx); err != nil {
					return err
				}
			}
			// The Message-ID and date are enough; without a Message-ID
			// the size must match too (Exchange's MIME is CRLF already,
			// so the file holds it unchanged).
			size := int64(-1)
			if imapsink.NormalizeMessageID(e.Attrs["message-id"]) == "" {
				size = e.Size
			}
			uid, found, err := pw.find(ctx, folder, e.Attrs["message-id"], e.Received, size)
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
		if todo = append(todo, e); len(todo) >= pathBatchFiles {
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
	pw.finish = append(pw.finish, pathItem{e: e, folder: a.Folder, file: a.File, size: pw.fileSize(a.Folder, a.File, e.Size)})
}

// fileSize returns the size of a message file written earlier, or def.
func (pw *pathWriter) fileSize(folder []string, name string, def int64) int64 {
	segs, err := pathSegments(folder)
	if err != nil {
		return def
	}
	rel, err := pw.im.store.FolderPath(segs)
	if err != nil {
		return def
	}
	if fi, err := os.Stat(filepath.Join(pw.accountDir, rel, name)); err == nil {
		return fi.Size()
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
	for _, it := range pw.finish {
		date := it.e.Received
		uid, found, err := pw.find(ctx, it.folder, it.e.Attrs["message-id"], date, it.size)
		if err == nil && !found && it.size > 0 && it.e.Attrs["message-id"] != "" {
			uid, found, err = pw.find(ctx, it.folder, it.e.Attrs["message-id"], date, -1)
		}
		if err != nil {
			return fmt.Errorf("find %s: %w", it.e.ID, err)
		}
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
			if err := pw.mb.SetFlagsMany(ctx, g.folder, g.uids, g.flags); err != nil {
				pw.log.Warn("flags not set", "folder", strings.Join(g.folder, "/"), "flags", flagString(g.flags), "messages", len(g.items), "err", err)
				pw.st.Failed["flags not set"] += len(g.items)
				continue
			}
		}
		recs := make([]ledgerRecord, len(g.items))
		for i, it := range g.items {
			recs[i] = ledgerRecord{it.e.ID, pw.completed(it.e, it.folder, g.uids[i], it.file, g.flags)}
		}
		if err := pw.im.ledger.putMany(pw.source, recs); err != nil {
			return err
		}
	}
	return nil
}

// setFlags sets an item's flags on uid and records it as complete.
func (pw *pathWriter) setFlags(ctx context.Context, e *archive.Entry, folder []string, uid imap.UID, file string) error {
	fl := flagsOf(e)
	if len(fl) > 0 {
		if err := pw.mb.SetFlags(ctx, folder, uid, fl); err != nil {
			pw.log.Warn("flags not set", "id", e.ID, "err", err)
			pw.st.Failed["flags not set"]++
			return nil
		}
	}
	return pw.im.ledger.put(pw.source, e.ID, pw.completed(e, folder, uid, file, fl))
}

// completed is the ledger record of a finished item: its UID known, its
// flags fl set.
func (pw *pathWriter) completed(e *archive.Entry, folder []string, uid imap.UID, file string, fl []imap.Flag) applied {
	return pw.replaced[e.ID].keep(applied{Kind: "message", Folder: folder, UID: uint32(uid), File: file,
		Digest: digestHex(e), Flags: flagString(fl), MessageID: e.Attrs["message-id"], Size: e.Size, Date: e.Received})
}

// openStore opens the mail path for path mode.
func openStore(t *target) (*mailpath.Store, error) {
	return mailpath.OpenOptions(t.mailPath, &mailpath.Options{ServerID: t.serverID, Owner: t.mailOwner, Location: time.Local})
}
