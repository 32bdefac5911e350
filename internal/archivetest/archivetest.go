// Package archivetest writes archive rounds for tests, entry by entry, as
// iem-export would (spec/SPEC.md §4 for the entry kinds).
package archivetest

import (
	"encoding/json"
	"testing"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/exchange/directory"
)

// A Round is one round being written.
type Round struct {
	T testing.TB
	W *archive.RoundWriter
}

// Write writes one round into the archive folder dir (created by the
// caller), filled by fn, and closes it.
func Write(t testing.TB, dir, writer string, fn func(r *Round)) {
	t.Helper()
	f, err := archive.OpenFolder(dir, &archive.FolderOptions{Writer: writer})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := f.Begin()
	if err != nil {
		t.Fatal(err)
	}
	fn(&Round{T: t, W: w})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// Put writes an entry with body (its size set from it).
func (r *Round) Put(h *archive.Header, body []byte) {
	r.T.Helper()
	h.Size = int64(len(body))
	if err := r.W.WriteHeader(h); err != nil {
		r.T.Fatal(err)
	}
	if _, err := r.W.Write(body); err != nil {
		r.T.Fatal(err)
	}
}

// PutJSON writes an entry whose body is v as JSON (SPEC.md §4.1).
func (r *Round) PutJSON(h *archive.Header, v any) {
	r.T.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		r.T.Fatal(err)
	}
	r.Put(h, b)
}

// Mailbox writes a user mailbox record.
func (r *Round) Mailbox(email string) {
	r.PutJSON(&archive.Header{Kind: archive.KindMailbox, Mailbox: email, ID: email},
		directory.Mailbox{PrimarySMTP: email, DisplayName: "User " + email, Type: directory.UserMailbox})
}

// Tombstone records that the source deleted an item.
func (r *Round) Tombstone(mbx, folder, id string) {
	r.Put(&archive.Header{Kind: archive.KindTombstone, Mailbox: mbx, Folder: folder, ID: id}, nil)
}

// State records a change of an item's attributes (flags) only.
func (r *Round) State(mbx, folder, id string, attrs map[string]string) {
	r.Put(&archive.Header{Kind: archive.KindState, Mailbox: mbx, Folder: folder, ID: id, Attrs: attrs}, nil)
}
