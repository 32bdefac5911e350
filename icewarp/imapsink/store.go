package imapsink

import (
	"context"

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
