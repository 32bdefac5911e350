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
// files atomically (mailpath: temporary file, fsync, link to a fresh
// YYYYMMDDhhmmssNNNN.imap name, directory fsync), ask IceWarp to refresh
// the account (u_directorycache_refreshnow), then find each message over
// IMAP and set its flags, since file names carry no portable flag
// encoding (§1.4) and the index files are private (§1.5).
//
// Crash safety: an item is recorded as pending before its file is written,
// and with the file name after; a rerun refreshes the account and looks a
// pending item up over IMAP (Message-ID, date, size) before writing it
// again, and finishes the flags of items whose UID was never recorded.

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

// write stores the messages of one folder as files.
func (pw *pathWriter) write(ctx context.Context, folder []string, entries []*archive.Entry) error {
	im := pw.im
	segs, err := pathSegments(folder)
	if err != nil {
		return err
	}
	// A run killed inside a write leaves its temporary file; this job is
	// the only writer of the folder now (one process per ledger, one job
	// per mailbox).
	if n, err := im.store.RemoveTemp(pw.accountDir, segs); err != nil {
		return err
	} else if n > 0 {
		pw.log.Info("temporary files of an interrupted run removed", "folder", strings.Join(folder, "/"), "files", n)
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
			// so Put stores it unchanged).
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
		if err := im.ledger.put(pw.source, e.ID, pw.replaced[e.ID].keep(applied{Kind: "message", Folder: folder, Digest: digestHex(e), Pending: true,
			MessageID: e.Attrs["message-id"], Size: e.Size, Date: e.Received})); err != nil {
			return err
		}
		rc, err := im.open(e)
		if err != nil {
			pw.log.Warn("message not readable", "id", e.ID, "err", err)
			pw.st.Failed["archive entry not readable"]++
			pw.st.job.Add(1, 0)
			continue
		}
		name, err := im.store.Put(ctx, pw.accountDir, segs, e.Received, rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("write %s into %q: %w", e.ID, strings.Join(folder, "/"), err)
		}
		size := pw.fileSize(folder, name, e.Size)
		if err := im.ledger.put(pw.source, e.ID, pw.replaced[e.ID].keep(applied{Kind: "message", Folder: folder, File: name, Digest: digestHex(e),
			MessageID: e.Attrs["message-id"], Size: e.Size, Date: e.Received})); err != nil {
			return err
		}
		pw.st.Appended++
		pw.st.Written["message"]++
		pw.st.Bytes += e.Size
		pw.st.job.Add(1, e.Size)
		pw.written++
		pw.finish = append(pw.finish, pathItem{e: e, folder: folder, file: name, size: size})
	}
	return nil
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
// message over IMAP and sets its flags.
func (pw *pathWriter) done(ctx context.Context) error {
	if len(pw.finish) == 0 {
		return nil
	}
	if err := pw.refresh(ctx); err != nil {
		return err
	}
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
		if err := pw.setFlags(ctx, it.e, it.folder, uid, it.file); err != nil {
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
	return pw.im.ledger.put(pw.source, e.ID, pw.replaced[e.ID].keep(applied{Kind: "message", Folder: folder, UID: uint32(uid), File: file,
		Digest: digestHex(e), Flags: flagString(fl), MessageID: e.Attrs["message-id"], Size: e.Size, Date: e.Received}))
}

// openStore opens the mail path for path mode.
func openStore(t *target) (*mailpath.Store, error) {
	return mailpath.OpenOptions(t.mailPath, &mailpath.Options{ServerID: t.serverID, Owner: t.mailOwner, Location: time.Local})
}
