package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A ledger records what iem-import has applied to the target, so that a
// rerun skips it. It is a bbolt file (0600) next to the archive. Writes are
// not fsynced one by one (bbolt NoSync): a killed process leaves them in
// the page cache, and Sync makes them durable at checkpoints. An APPEND is
// recorded as pending before it is sent; a pending record found on a rerun
// makes the importer search the target before appending again, so a crash
// between APPEND and ledger update never duplicates a message.
type ledger struct {
	db *bolt.DB
}

var bucketItems = []byte("items")

// applied is one item's record in the ledger.
type applied struct {
	Kind     string   `json:"kind"`
	Folder   []string `json:"folder,omitempty"`   // target folder path (mail)
	UID      uint32   `json:"uid,omitempty"`      // IMAP UID
	Resource string   `json:"resource,omitempty"` // WebDAV resource (groupware)
	File     string   `json:"file,omitempty"`     // .imap file name (path mode)
	// OldFolder and OldUID locate the previous copy of a message that
	// changed (new content, or new folder under the same id): it is
	// deleted once the new copy is stored, so a crash in between never
	// leaves two.
	OldFolder []string `json:"oldFolder,omitempty"`
	OldUID    uint32   `json:"oldUid,omitempty"`
	Digest    string   `json:"digest"`
	Flags     string   `json:"flags,omitempty"` // flags last set, for state changes
	Pending   bool     `json:"pending,omitempty"`
	// MessageID, Size and Date find a message whose APPEND result was
	// never recorded (pending), to delete it if the source deleted it.
	MessageID string    `json:"messageId,omitempty"`
	Size      int64     `json:"size,omitempty"`
	Date      time.Time `json:"date,omitzero"`
}

func openLedger(path string) (*ledger, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second, NoSync: true})
	if err != nil {
		return nil, fmt.Errorf("ledger %s: %w (is another iem-import running?)", path, err)
	}
	os.Chmod(path, 0o600)
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketItems)
		return err
	}); err != nil {
		db.Close()
		return nil, err
	}
	return &ledger{db: db}, nil
}

func ledgerKey(mailbox, id string) []byte { return []byte(mailbox + "\x00" + id) }

func (l *ledger) get(mailbox, id string) (applied, bool) {
	var a applied
	found := false
	l.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketItems).Get(ledgerKey(mailbox, id)); v != nil {
			found = json.Unmarshal(v, &a) == nil
		}
		return nil
	})
	return a, found
}

func (l *ledger) put(mailbox, id string, a applied) error {
	v, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return l.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketItems).Put(ledgerKey(mailbox, id), v) })
}

// ledgerRecord is one record for putMany.
type ledgerRecord struct {
	id string
	a  applied
}

// putMany writes records of one mailbox in one ledger transaction: path
// mode records a batch of files at once, and a transaction per record cost
// more than writing the files.
func (l *ledger) putMany(mailbox string, recs []ledgerRecord) error {
	if len(recs) == 0 {
		return nil
	}
	vals := make([][]byte, len(recs))
	for i, r := range recs {
		v, err := json.Marshal(r.a)
		if err != nil {
			return err
		}
		vals[i] = v
	}
	return l.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketItems)
		for i, r := range recs {
			if err := b.Put(ledgerKey(mailbox, r.id), vals[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

func (l *ledger) del(mailbox, id string) error {
	return l.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketItems).Delete(ledgerKey(mailbox, id)) })
}

// each calls fn for the records of a mailbox whose id want accepts (nil:
// all). Records are decoded and held only when wanted: a rerun over a
// mailbox of 100,000 items looks for the few the source deleted, and
// holding every record was the largest allocation of an import. fn runs
// outside the read transaction, so it may write to the ledger.
func (l *ledger) each(mailbox string, want func(id string) bool, fn func(id string, a applied) error) error {
	prefix := []byte(mailbox + "\x00")
	type rec struct {
		id string
		a  applied
	}
	var recs []rec
	l.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketItems).Cursor()
		for k, v := c.Seek(prefix); k != nil && len(k) >= len(prefix) && string(k[:len(prefix)]) == string(prefix); k, v = c.Next() {
			id := string(k[len(prefix):])
			if want != nil && !want(id) {
				continue
			}
			var a applied
			if json.Unmarshal(v, &a) == nil {
				recs = append(recs, rec{id, a})
			}
		}
		return nil
	})
	for _, r := range recs {
		if err := fn(r.id, r.a); err != nil {
			return err
		}
	}
	return nil
}

func (l *ledger) sync() error { return l.db.Sync() }

func (l *ledger) close() error {
	l.db.Sync()
	return l.db.Close()
}
