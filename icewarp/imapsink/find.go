package imapsink

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
)

// ErrNoKey means Find was given neither a Message-ID nor a date and size.
var ErrNoKey = errors.New("imapsink: nothing to search by")

// Summary describes one message of a folder, for comparing target and
// archive ("iem-import check").
type Summary struct {
	UID          imap.UID
	MessageID    string // without angle brackets; "" if the header is missing
	Size         int64  // RFC822.SIZE
	InternalDate time.Time
	Flags        []imap.Flag
}

var msgIDSection = &imap.FetchItemBodySection{
	Specifier:    imap.PartSpecifierHeader,
	HeaderFields: []string{"Message-ID"},
	Peek:         true,
}

var summaryFetch = &imap.FetchOptions{
	UID:          true,
	Flags:        true,
	InternalDate: true,
	RFC822Size:   true,
	BodySection:  []*imap.FetchItemBodySection{msgIDSection},
}

// NormalizeMessageID returns id without surrounding space and angle
// brackets, the form Summary.MessageID uses.
func NormalizeMessageID(id string) string {
	id = strings.TrimSpace(id)
	id = strings.TrimPrefix(id, "<")
	id = strings.TrimSuffix(id, ">")
	return strings.TrimSpace(id)
}

// parseMessageID extracts the Message-ID from a header block.
func parseMessageID(hdr []byte) string {
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(hdr)))
	h, _ := r.ReadMIMEHeader()
	return NormalizeMessageID(h.Get("Message-Id"))
}

// Find looks in the folder for a message with this Message-ID (if not
// empty), internal date (if not zero; compared to the second) and size (if
// positive), using UID SEARCH HEADER Message-ID (plus LARGER/SMALLER and a
// SINCE/BEFORE window) and then comparing the candidates exactly. It
// returns the lowest matching UID.
func (m *Mailbox) Find(ctx context.Context, folder []string, messageID string, date time.Time, size int64) (uid imap.UID, found bool, err error) {
	name, err := m.FolderName(folder)
	if err != nil {
		return 0, false, err
	}
	err = m.with(ctx, "imap search", func(ctx context.Context, cn *conn, _ int) error {
		uid, found, err = m.findOn(cn, name, messageID, date, size)
		return err
	})
	return uid, found, err
}

func (m *Mailbox) findOn(cn *conn, name, messageID string, date time.Time, size int64) (imap.UID, bool, error) {
	messageID = NormalizeMessageID(messageID)
	if messageID == "" && (date.IsZero() || size <= 0) {
		return 0, false, ErrNoKey
	}
	if err := m.selectFolder(cn, name); err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo {
			return 0, false, nil // no such folder: not there
		}
		return 0, false, err
	}
	crit := &imap.SearchCriteria{}
	if messageID != "" {
		crit.Header = []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: messageID}}
	}
	if size > 0 {
		crit.Larger, crit.Smaller = size-1, size+1
	}
	if !date.IsZero() {
		// SINCE/BEFORE compare dates only, in a time zone of the server's
		// choosing: search a wide window, compare exactly below.
		crit.Since = date.AddDate(0, 0, -2)
		crit.Before = date.AddDate(0, 0, 2)
	}
	data, err := cn.c.UIDSearch(crit, nil).Wait()
	if err != nil {
		return 0, false, &OpError{Op: "UID SEARCH", Mailbox: m.name, Folder: name, Err: err}
	}
	uids := data.AllUIDs()
	if len(uids) == 0 {
		return 0, false, nil
	}
	msgs, err := cn.c.Fetch(imap.UIDSetNum(uids...), summaryFetch).Collect()
	if err != nil {
		return 0, false, &OpError{Op: "UID FETCH", Mailbox: m.name, Folder: name, Err: err}
	}
	var best imap.UID
	for _, msg := range msgs {
		s := summarize(msg.UID, msg.Flags, msg.InternalDate, msg.RFC822Size, msg.FindBodySection(msgIDSection))
		if messageID != "" && s.MessageID != messageID {
			continue
		}
		if size > 0 && s.Size != size {
			continue
		}
		if !date.IsZero() && !sameSecond(s.InternalDate, date) {
			continue
		}
		if best == 0 || s.UID < best {
			best = s.UID
		}
	}
	return best, best != 0, nil
}

func sameSecond(a, b time.Time) bool { return a.Unix() == b.Unix() }

func summarize(uid imap.UID, flags []imap.Flag, date time.Time, size int64, hdr []byte) Summary {
	return Summary{UID: uid, MessageID: parseMessageID(hdr), Size: size, InternalDate: date, Flags: flags}
}

// List calls fn for every message of the folder, in UID order, from the
// calling goroutine; it stops at fn's first error and returns it. After a
// broken connection it resumes after the last UID passed to fn, so fn sees
// each message once.
func (m *Mailbox) List(ctx context.Context, folder []string, fn func(Summary) error) error {
	name, err := m.FolderName(folder)
	if err != nil {
		return err
	}
	return m.list(ctx, name, fn)
}

type callerError struct{ error }

func (e callerError) Unwrap() error { return e.error }

func (m *Mailbox) list(ctx context.Context, name string, fn func(Summary) error) error {
	var last imap.UID
	err := m.with(ctx, "imap fetch", func(ctx context.Context, cn *conn, _ int) error {
		if err := m.selectFolder(cn, name); err != nil {
			return err
		}
		if cn.numMsgs == 0 {
			return nil // some servers answer BAD to FETCH on an empty folder
		}
		set := imap.UIDSet{imap.UIDRange{Start: last + 1, Stop: 0}}
		cmd := cn.c.Fetch(set, summaryFetch)
		for {
			msg := cmd.Next()
			if msg == nil {
				break
			}
			buf, err := msg.Collect()
			if err != nil {
				cmd.Close()
				return &OpError{Op: "UID FETCH", Mailbox: m.name, Folder: name, Err: err}
			}
			if buf.UID <= last {
				continue // "n:*" always includes the highest UID
			}
			s := summarize(buf.UID, buf.Flags, buf.InternalDate, buf.RFC822Size, buf.FindBodySection(msgIDSection))
			if err := fn(s); err != nil {
				cmd.Close()
				return callerError{err}
			}
			last = buf.UID
		}
		if err := cmd.Close(); err != nil {
			return &OpError{Op: "UID FETCH", Mailbox: m.name, Folder: name, Err: err}
		}
		return nil
	})
	var ce callerError
	if errors.As(err, &ce) {
		return ce.error
	}
	return err
}

// folderIndex maps (Message-ID, size, date) of a folder's messages to UIDs.
type folderIndex struct {
	uids map[string]imap.UID
}

func indexKey(messageID string, size int64, date time.Time) string {
	return NormalizeMessageID(messageID) + "\x00" + strconv.FormatInt(size, 10) + "\x00" + strconv.FormatInt(date.Unix(), 10)
}

func (ix *folderIndex) lookup(msg *Message) (imap.UID, bool) {
	uid, ok := ix.uids[indexKey(msg.MessageID, msg.Size, msg.InternalDate)]
	return uid, ok
}

func (m *Mailbox) folderIndexFor(ctx context.Context, name string) (*folderIndex, error) {
	m.mu.Lock()
	ix := m.index[name]
	m.mu.Unlock()
	if ix != nil {
		return ix, nil
	}
	ix = &folderIndex{uids: map[string]imap.UID{}}
	err := m.list(ctx, name, func(s Summary) error {
		k := indexKey(s.MessageID, s.Size, s.InternalDate)
		if _, dup := ix.uids[k]; !dup {
			ix.uids[k] = s.UID
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("index folder %q: %w", name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur := m.index[name]; cur != nil {
		return cur, nil
	}
	m.index[name] = ix
	return ix, nil
}

// noteAppended records a stored message in the folder's index, if loaded.
func (m *Mailbox) noteAppended(name string, msg *Message, uid imap.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ix := m.index[name]; ix != nil {
		date := msg.InternalDate
		ix.uids[indexKey(msg.MessageID, msg.Size, date)] = uid
	}
}
