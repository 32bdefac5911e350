package icewarpsink

import (
	"context"
	"errors"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/iemproject/iem/icewarp/imapsink"
	"github.com/iemproject/iem/replay"
)

// Mail is replay.Mail over IMAP: each account is opened on behalf of the
// administrator (imapsink.Options.AuthzMode).
type Mail struct{ opt imapsink.Options }

// NewMail returns the mail sink for IMAP options.
func NewMail(opt imapsink.Options) *Mail { return &Mail{opt: opt} }

func (m *Mail) Open(ctx context.Context, account string) (replay.Mailbox, error) {
	mb, err := imapsink.Dial(ctx, m.opt, account)
	if err != nil {
		return nil, err
	}
	return &mailbox{mb}, nil
}

// mailbox is replay.Mailbox over an imapsink.Mailbox.
type mailbox struct{ mb *imapsink.Mailbox }

func (m *mailbox) EnsureFolder(ctx context.Context, folder []string) error {
	_, err := m.mb.EnsureFolder(ctx, folder)
	return err
}

func (m *mailbox) SetACL(ctx context.Context, folder []string, identifier, rights string) error {
	return m.mb.SetACL(ctx, folder, identifier, rights)
}

// List lists a folder; a NO (the folder does not exist) Is replay.ErrNoFolder.
func (m *mailbox) List(ctx context.Context, folder []string, fn func(replay.Summary) error) error {
	err := m.mb.List(ctx, folder, func(s imapsink.Summary) error {
		return fn(replay.Summary{UID: s.UID, MessageID: s.MessageID, Size: s.Size, InternalDate: s.InternalDate})
	})
	var ie *imap.Error
	if errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo {
		return replay.SinkError(replay.ErrNoFolder, err)
	}
	return err
}

func (m *mailbox) AppendBatch(ctx context.Context, folder []string, msgs []replay.Message, skipExisting bool) ([]replay.Appended, error) {
	in := make([]imapsink.Message, len(msgs))
	for i, msg := range msgs {
		in[i] = imapsink.Message{Size: msg.Size, Flags: msg.Flags, InternalDate: msg.InternalDate, MessageID: msg.MessageID, Open: msg.Open}
	}
	res, err := m.mb.AppendBatch(ctx, folder, in, &imapsink.BatchOptions{SkipExisting: skipExisting})
	if err != nil {
		return nil, err
	}
	out := make([]replay.Appended, len(res))
	for i, r := range res {
		out[i] = replay.Appended{UID: r.UID, Existing: r.Existing, Err: r.Err}
	}
	return out, nil
}

// SetFlags sets the flags of one message (UID STORE), or of many with as
// few UID STOREs as the UID sets allow.
func (m *mailbox) SetFlags(ctx context.Context, folder []string, uids []imap.UID, flags []imap.Flag) error {
	if len(uids) == 1 {
		return m.mb.SetFlags(ctx, folder, uids[0], flags)
	}
	return m.mb.SetFlagsMany(ctx, folder, uids, flags)
}

// UpdateFlags adds and removes flags of one message (UID STORE +FLAGS,
// -FLAGS).
func (m *mailbox) UpdateFlags(ctx context.Context, folder []string, uid imap.UID, add, remove []imap.Flag) error {
	return m.mb.UpdateFlags(ctx, folder, uid, add, remove)
}

func (m *mailbox) Delete(ctx context.Context, folder []string, uid imap.UID) error {
	return m.mb.Delete(ctx, folder, uid)
}

func (m *mailbox) Find(ctx context.Context, folder []string, messageID string, date time.Time, size int64) (imap.UID, bool, error) {
	return m.mb.Find(ctx, folder, messageID, date, size)
}

func (m *mailbox) Close() error { return m.mb.Close() }
