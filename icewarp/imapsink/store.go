package imapsink

import (
	"context"
	"slices"
	"strconv"

	"github.com/emersion/go-imap/v2"
)

// SetFlags replaces the flags of the message uid in the folder (UID STORE
// FLAGS.SILENT). \Recent is dropped: it cannot be set.
func (m *Mailbox) SetFlags(ctx context.Context, folder []string, uid imap.UID, flags []imap.Flag) error {
	name, err := m.FolderName(folder)
	if err != nil {
		return err
	}
	return m.with(ctx, "imap store", func(ctx context.Context, cn *conn, _ int) error {
		return m.store(cn, name, imap.UIDSetNum(uid), &imap.StoreFlags{Op: imap.StoreFlagsSet, Silent: true, Flags: settable(flags)})
	})
}

// UpdateFlags adds flags to and removes flags from the message uid in the
// folder (UID STORE +FLAGS.SILENT, then -FLAGS.SILENT; either is left out
// when it has no flags), leaving its other flags as they are: for an
// already imported message whose keywords or read state changed at the
// source. \Recent is dropped: it cannot be set.
func (m *Mailbox) UpdateFlags(ctx context.Context, folder []string, uid imap.UID, add, remove []imap.Flag) error {
	name, err := m.FolderName(folder)
	if err != nil {
		return err
	}
	add, remove = settable(add), settable(remove)
	return m.with(ctx, "imap store", func(ctx context.Context, cn *conn, _ int) error {
		for _, sf := range []*imap.StoreFlags{{Op: imap.StoreFlagsAdd, Silent: true, Flags: add}, {Op: imap.StoreFlagsDel, Silent: true, Flags: remove}} {
			if len(sf.Flags) == 0 {
				continue
			}
			if err := m.store(cn, name, imap.UIDSetNum(uid), sf); err != nil {
				return err
			}
		}
		return nil
	})
}

// SetFlagsMany replaces the flags of the messages uids in the folder with
// the same flags: one UID STORE FLAGS.SILENT per 8,000 bytes of UID set
// (usually one for the whole folder) instead of a round trip per message.
// The server skips UIDs no longer in the folder (RFC 3501 §6.4.8). The
// commands are idempotent, so a retry after a broken connection resumes
// with the first one not confirmed. \Recent is dropped: it cannot be set.
func (m *Mailbox) SetFlagsMany(ctx context.Context, folder []string, uids []imap.UID, flags []imap.Flag) error {
	return m.storeSets(ctx, folder, uidSets(uids, maxSetLen), flags)
}

// storeSets sets flags on each of sets, one UID STORE each, on one
// connection.
func (m *Mailbox) storeSets(ctx context.Context, folder []string, sets []imap.UIDSet, flags []imap.Flag) error {
	name, err := m.FolderName(folder)
	if err != nil {
		return err
	}
	if len(sets) == 0 {
		return nil
	}
	sf := &imap.StoreFlags{Op: imap.StoreFlagsSet, Silent: true, Flags: settable(flags)}
	done := 0
	return m.with(ctx, "imap store", func(ctx context.Context, cn *conn, _ int) error {
		if err := m.selectFolder(cn, name); err != nil {
			return err
		}
		for ; done < len(sets); done++ {
			if err := cn.c.Store(sets[done], sf, nil).Close(); err != nil {
				return &OpError{Op: "UID STORE", Mailbox: m.name, Folder: name, Err: err}
			}
		}
		return nil
	})
}

// maxSetLen bounds the UID set of one command, so that the command line
// stays under the 8,192 octets RFC 7162 §4 advises clients to keep to.
const maxSetLen = 8000

// uidSets sorts uids into sets of ranges whose text ("1:5,7,9:12") is at
// most maxLen bytes each.
func uidSets(uids []imap.UID, maxLen int) []imap.UIDSet {
	sorted := slices.Clone(uids)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	if len(sorted) > 0 && sorted[0] == 0 {
		sorted = sorted[1:] // not a UID
	}
	var sets []imap.UIDSet
	var cur imap.UIDSet
	curLen := 0
	for i := 0; i < len(sorted); {
		j := i
		for j+1 < len(sorted) && sorted[j+1] == sorted[j]+1 {
			j++
		}
		r := imap.UIDRange{Start: sorted[i], Stop: sorted[j]}
		n := len(strconv.FormatUint(uint64(r.Start), 10))
		if r.Stop != r.Start {
			n += 1 + len(strconv.FormatUint(uint64(r.Stop), 10))
		}
		if len(cur) > 0 && curLen+1+n > maxLen {
			sets = append(sets, cur)
			cur, curLen = nil, 0
		}
		if len(cur) > 0 {
			curLen++ // the comma
		}
		cur = append(cur, r)
		curLen += n
		i = j + 1
	}
	if len(cur) > 0 {
		sets = append(sets, cur)
	}
	return sets
}

// SetFlagsByMessageID replaces the flags of every message in the folder
// whose Message-ID is messageID, for mail written as files by another
// package ("path" mode). It returns how many messages were changed.
func (m *Mailbox) SetFlagsByMessageID(ctx context.Context, folder []string, messageID string, flags []imap.Flag) (int, error) {
	name, err := m.FolderName(folder)
	if err != nil {
		return 0, err
	}
	id := NormalizeMessageID(messageID)
	if id == "" {
		return 0, ErrNoKey
	}
	n := 0
	err = m.with(ctx, "imap store", func(ctx context.Context, cn *conn, _ int) error {
		n = 0
		if err := m.selectFolder(cn, name); err != nil {
			return err
		}
		data, err := cn.c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: id}}}, nil).Wait()
		if err != nil {
			return &OpError{Op: "UID SEARCH", Mailbox: m.name, Folder: name, Err: err}
		}
		uids := data.AllUIDs()
		if len(uids) == 0 {
			return nil
		}
		msgs, err := cn.c.Fetch(imap.UIDSetNum(uids...), summaryFetch).Collect()
		if err != nil {
			return &OpError{Op: "UID FETCH", Mailbox: m.name, Folder: name, Err: err}
		}
		var set imap.UIDSet
		for _, msg := range msgs {
			if parseMessageID(msg.FindBodySection(msgIDSection)) == id {
				set.AddNum(msg.UID)
				n++
			}
		}
		if n == 0 {
			return nil
		}
		return m.store(cn, name, set, &imap.StoreFlags{Op: imap.StoreFlagsSet, Silent: true, Flags: settable(flags)})
	})
	return n, err
}

func settable(flags []imap.Flag) []imap.Flag {
	out := make([]imap.Flag, 0, len(flags))
	for _, f := range flags {
		if f != flagRecent {
			out = append(out, f)
		}
	}
	return out
}

func (m *Mailbox) store(cn *conn, name string, set imap.UIDSet, sf *imap.StoreFlags) error {
	if err := m.selectFolder(cn, name); err != nil {
		return err
	}
	if err := cn.c.Store(set, sf, nil).Close(); err != nil {
		return &OpError{Op: "UID STORE", Mailbox: m.name, Folder: name, Err: err}
	}
	return nil
}

// Delete removes the message uid from the folder: UID STORE +FLAGS
// (\Deleted), then UID EXPUNGE (RFC 4315). Without UIDPLUS it falls back to
// EXPUNGE, which also removes other messages already marked \Deleted.
func (m *Mailbox) Delete(ctx context.Context, folder []string, uid imap.UID) error {
	name, err := m.FolderName(folder)
	if err != nil {
		return err
	}
	return m.with(ctx, "imap expunge", func(ctx context.Context, cn *conn, _ int) error {
		set := imap.UIDSetNum(uid)
		if err := m.store(cn, name, set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}); err != nil {
			return err
		}
		var err error
		if cn.c.Caps().Has(imap.CapUIDPlus) {
			_, err = cn.c.UIDExpunge(set).Collect()
		} else {
			_, err = cn.c.Expunge().Collect()
		}
		if err != nil {
			return &OpError{Op: "EXPUNGE", Mailbox: m.name, Folder: name, Err: err}
		}
		return nil
	})
}

// Move moves the message uid from one folder to another (RFC 6851 MOVE, or
// COPY + delete) and returns its UID in the destination (0 if the server
// does not say, i.e. has no UIDPLUS).
func (m *Mailbox) Move(ctx context.Context, from []string, uid imap.UID, to []string) (imap.UID, error) {
	src, err := m.FolderName(from)
	if err != nil {
		return 0, err
	}
	dst, err := m.FolderName(to)
	if err != nil {
		return 0, err
	}
	var newUID imap.UID
	err = m.with(ctx, "imap move", func(ctx context.Context, cn *conn, _ int) error {
		if err := m.selectFolder(cn, src); err != nil {
			return err
		}
		data, err := cn.c.Move(imap.UIDSetNum(uid), dst).Wait()
		if err != nil {
			return &OpError{Op: "MOVE", Mailbox: m.name, Folder: src, Err: err}
		}
		if set, ok := data.DestUIDs.(imap.UIDSet); ok {
			if uids, ok := set.Nums(); ok && len(uids) == 1 {
				newUID = uids[0]
			}
		}
		return nil
	})
	return newUID, err
}

// flagRecent is session-only (RFC 3501 §2.3.2) and cannot be stored.
const flagRecent imap.Flag = `\Recent`
