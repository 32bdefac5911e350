package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A ledger records what iem-import has applied to the target, so that a
// rerun skips it. It is a bbolt file (0600) next to the archive. Writes are
// not fsynced one by one (bbolt NoSync): a killed process leaves them in
// the page cache, and Sync makes them durable at checkpoints. An APPEND is
// recorded as pending before it is sent; a pending record found on a rerun
// makes the engine search the target before appending again, so a crash
// between APPEND and ledger update never duplicates a message.
//
// A ledger belongs to one target: its "meta" bucket records the target's
// identity (Target), and a run against another target is refused.
// One process writes it at a time: the writer holds bbolt's file lock and
// names itself in FILE.holder.json, so that a second run can say who holds
// it instead of waiting in silence.
type Ledger struct {
	db     *bolt.DB
	path   string
	holder string // holder file to remove on close; "" if none was written
}

var (
	bucketItems = []byte("items")
	bucketMeta  = []byte("meta")
	metaTarget  = []byte("target")
)

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
	// Damaged marks a record that did not decode (flipped bytes in the
	// file): it is returned as pending, so the item is looked up on the
	// target before it is written again. Never stored.
	Damaged bool `json:"-"`
}

// damagedRecord is what get and each return for a record that does not
// decode.
var damagedRecord = applied{Pending: true, Damaged: true}

// Holder is who has a ledger open for writing: the content of
// FILE.holder.json.
type Holder struct {
	Command string    `json:"command"`
	Args    []string  `json:"args,omitempty"` // without secrets
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Since   time.Time `json:"since"`
}

func (h *Holder) String() string {
	return fmt.Sprintf("%s (pid %d on host %s since %s)", h.Command, h.PID, h.Host, h.Since.Format(time.RFC3339))
}

// ThisProcess describes the running process as a ledger holder; args are
// its command-line arguments, of which values of flags that look like
// secrets are left out (iem-import takes no secret as a flag; this is a
// second line of defence, since the holder file is readable by whoever
// reads the archive folder).
func ThisProcess(command string, args []string) Holder {
	host, _ := os.Hostname()
	return Holder{Command: command, Args: redactArgs(args), Host: host, PID: os.Getpid(), Since: time.Now().Truncate(time.Second)}
}

func redactArgs(args []string) []string {
	secret := func(flag string) bool {
		flag = strings.ToLower(strings.TrimLeft(flag, "-"))
		if strings.HasSuffix(flag, "-file") || strings.HasSuffix(flag, "-from") || strings.HasSuffix(flag, "-report") {
			return false
		}
		for _, w := range []string{"password", "passphrase", "secret", "token"} {
			if strings.Contains(flag, w) {
				return true
			}
		}
		return false
	}
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || !secret(strings.SplitN(a, "=", 2)[0]) {
			out = append(out, a)
			continue
		}
		if name, _, ok := strings.Cut(a, "="); ok {
			out = append(out, name+"=…")
			continue
		}
		out = append(out, a)
		if i+1 < len(args) {
			out = append(out, "…")
			i++
		}
	}
	return out
}

func holderPath(ledgerPath string) string { return ledgerPath + ".holder.json" }

// readHolder returns the holder named in a ledger's holder file, or nil.
func readHolder(ledgerPath string) *Holder {
	b, err := os.ReadFile(holderPath(ledgerPath))
	if err != nil {
		return nil
	}
	var h Holder
	if json.Unmarshal(b, &h) != nil || h.PID == 0 {
		return nil
	}
	return &h
}

// ledgerInUseError: another process holds the ledger's lock.
type ledgerInUseError struct {
	path   string
	holder *Holder // nil: no (readable) holder file
}

func (e *ledgerInUseError) Error() string {
	who := "another process (no holder file " + holderPath(e.path) + ": iem-import plan or check reading it, or a version without one)"
	if e.holder != nil {
		who = e.holder.String()
	}
	return fmt.Sprintf("ledger %s is in use by %s: let it finish, or run again with --wait to wait for it", e.path, who)
}

// LedgerOptions tune OpenLedgerWith.
type LedgerOptions struct {
	// Holder is written to FILE.holder.json once the lock is taken (zero
	// PID: no holder file).
	Holder Holder
	// Wait waits for the holder to finish instead of failing at once;
	// Notice then receives one line saying so.
	Wait   bool
	Notice io.Writer
}

// lockTry is how long one attempt at bbolt's file lock waits: with less
// than bbolt's poll interval (50 ms) it tries exactly once.
const lockTry = 10 * time.Millisecond

// openLedger opens (or creates) a ledger for writing, failing at once if
// another process holds it.
func OpenLedger(path string) (*Ledger, error) {
	return OpenLedgerWith(context.Background(), path, LedgerOptions{})
}

// OpenLedgerWith opens (or creates) a ledger for writing. If another
// process holds it, it fails at once naming the holder, or with opt.Wait
// waits until the holder is done (or ctx ends). A file that is not a
// ledger any more (truncated, overwritten) is refused with what to do.
func OpenLedgerWith(ctx context.Context, path string, opt LedgerOptions) (*Ledger, error) {
	if st, err := os.Stat(path); err == nil && st.Size() > 0 {
		if err := checkLedgerFile(path); err != nil {
			return nil, openError(path, err)
		}
	}
	waiting := false
	var db *bolt.DB
	for {
		var err error
		timeout := lockTry
		if waiting {
			timeout = time.Second
		}
		db, err = openBolt(path, timeout)
		if err == nil {
			break
		}
		if !errors.Is(err, bolt.ErrTimeout) {
			return nil, openError(path, err)
		}
		inUse := &ledgerInUseError{path: path, holder: readHolder(path)}
		if !opt.Wait {
			return nil, inUse
		}
		if !waiting {
			waiting = true
			if opt.Notice != nil {
				fmt.Fprintf(opt.Notice, "iem-import: waiting for %s to finish with ledger %s (--wait)\n", holderName(inUse.holder), path)
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("waiting for ledger %s: %w", path, err)
		}
	}
	os.Chmod(path, 0o600)
	if err := checkBolt(db); err != nil {
		db.Close()
		return nil, openError(path, err)
	}
	l := &Ledger{db: db, path: path}
	if err := db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bucketItems); err != nil {
			return err
		}
		_, err := tx.CreateBucketIfNotExists(bucketMeta)
		return err
	}); err != nil {
		db.Close()
		return nil, openError(path, err)
	}
	if opt.Holder.PID != 0 {
		if err := writeHolder(path, opt.Holder); err != nil {
			db.Close()
			return nil, fmt.Errorf("ledger %s: holder file: %w", path, err)
		}
		l.holder = holderPath(path)
	}
	return l, nil
}

// ledgerCheckEnv makes this program check the ledger it names and exit
// (see checkLedgerFile).
const ledgerCheckEnv = "IEM_INTERNAL_LEDGER_CHECK"

// init is the child side of checkLedgerFile: a program that imports
// replay checks the ledger named in ledgerCheckEnv and exits, before its
// main runs.
func init() {
	if path := os.Getenv(ledgerCheckEnv); path != "" {
		db, err := openBoltReadOnly(path)
		if errors.Is(err, bolt.ErrTimeout) {
			os.Exit(2) // in use: the writer's own open reports it
		}
		if err == nil {
			err = checkBolt(db)
			db.Close()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// checkLedgerFile checks an existing ledger in a child process of this
// program before it is opened for writing. bbolt reads the file through
// mmap: on a truncated or damaged file it can die of a bus error, which no
// recover catches, instead of returning an error; the child's death is
// turned into a message saying what to do.
func checkLedgerFile(path string) error {
	exe, err := os.Executable()
	if err != nil {
		return nil // no way to check: bbolt's own checks apply
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), ledgerCheckEnv+"="+path)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil, errors.As(err, &ee) && ee.ExitCode() == 2:
		return nil
	case errors.As(err, &ee) && ee.ExitCode() == 1:
		return errors.New(strings.TrimSpace(strings.SplitN(out.String(), "\n", 2)[0]))
	}
	first := strings.SplitN(strings.TrimSpace(out.String()), "\n", 2)[0]
	return fmt.Errorf("reading it crashed (%v: %s)", err, first)
}

func openBoltReadOnly(path string) (db *bolt.DB, err error) {
	defer func() {
		if p := recover(); p != nil {
			db, err = nil, fmt.Errorf("%v", p)
		}
	}()
	return bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: lockTry})
}

// openBolt opens a bbolt file. bbolt panics on some damaged files (a
// truncated freelist page) instead of returning an error.
func openBolt(path string, timeout time.Duration) (db *bolt.DB, err error) {
	defer func() {
		if p := recover(); p != nil {
			db, err = nil, fmt.Errorf("%v", p)
		}
	}()
	return bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, NoSync: true})
}

// checkBolt walks every page of the ledger once (bbolt's consistency
// check), so that damage is found here, with a message saying what to do,
// and not by a panic half way through a run. It reads the whole file:
// about a second per million records.
func checkBolt(db *bolt.DB) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	return db.View(func(tx *bolt.Tx) error {
		var first error
		for e := range tx.Check() { // drained: the check runs until it closes the channel
			if first == nil {
				first = e
			}
		}
		return first
	})
}

func holderName(h *Holder) string {
	if h == nil {
		return "another process"
	}
	return h.String()
}

// openError explains a ledger that does not open. Errors of the file
// system (permissions, a missing folder) are passed on as they are; any
// other error means the file is not a sound bbolt file any more.
func openError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) || errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("ledger %s: %w", path, err)
	}
	return fmt.Errorf("ledger %s is damaged and cannot be opened (%w). Move it away (for example mv %s %s.damaged) and run again: "+
		"the new ledger starts empty, and every folder that already holds messages is matched against the target (as --rebuild does), "+
		"so nothing is duplicated; what the source deleted since the damaged ledger's last run stays on the target (iem-import check lists it)",
		path, err, path, path)
}

// writeHolder writes the holder file atomically (0600).
func writeHolder(ledgerPath string, h Holder) error {
	b, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return err
	}
	p := holderPath(ledgerPath)
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// Target identifies the target a ledger belongs to: the admin API
// and IMAP endpoints, and the WebDAV root and the mail path when used.
type Target struct {
	API      string `json:"api"`
	IMAP     string `json:"imap"`
	WebDAV   string `json:"webdav,omitempty"`
	MailPath string `json:"mailPath,omitempty"`
}

// normal returns the identity in a canonical form: URLs with a lower-case
// scheme and host and no trailing slash, the IMAP address in lower case,
// the mail path absolute and clean.
func (t Target) Normal() Target { return t.normal() }

func (t Target) normal() Target {
	normURL := func(s string) string {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return strings.TrimRight(s, "/")
		}
		u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
		u.User = nil
		return strings.TrimRight(u.String(), "/")
	}
	t.API, t.WebDAV = normURL(t.API), normURL(t.WebDAV)
	t.IMAP = strings.ToLower(t.IMAP)
	if t.MailPath != "" {
		if abs, err := filepath.Abs(t.MailPath); err == nil {
			t.MailPath = abs
		}
		t.MailPath = filepath.Clean(t.MailPath)
	}
	return t
}

func (t Target) String() string {
	parts := []string{"admin API " + orNone(t.API), "IMAP " + orNone(t.IMAP)}
	if t.WebDAV != "" {
		parts = append(parts, "WebDAV "+t.WebDAV)
	}
	if t.MailPath != "" {
		parts = append(parts, "mail path "+t.MailPath)
	}
	return strings.Join(parts, ", ")
}

// sameAs reports whether o names the same target: the admin API and IMAP
// endpoints must be equal; the WebDAV root and the mail path only where
// both runs used one (a run may add groupware, or switch mail modes).
func (t Target) sameAs(o Target) bool {
	eqIfBoth := func(a, b string) bool { return a == "" || b == "" || a == b }
	return t.API == o.API && t.IMAP == o.IMAP && eqIfBoth(t.WebDAV, o.WebDAV) && eqIfBoth(t.MailPath, o.MailPath)
}

// merged is t with the fields o adds.
func (t Target) merged(o Target) Target {
	if t.WebDAV == "" {
		t.WebDAV = o.WebDAV
	}
	if t.MailPath == "" {
		t.MailPath = o.MailPath
	}
	return t
}

// target returns the recorded target identity (ok false: none, an older
// ledger or a new one).
func (l *Ledger) target() (t Target, ok bool, err error) {
	err = l.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		if b == nil {
			return nil
		}
		v := b.Get(metaTarget)
		if v == nil {
			return nil
		}
		if json.Unmarshal(v, &t) != nil || t.API == "" && t.IMAP == "" {
			return nil // damaged: as if none were recorded
		}
		ok = true
		return nil
	})
	return t, ok, err
}

func (l *Ledger) setTarget(t Target) error {
	v, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return l.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		return b.Put(metaTarget, v)
	})
}

// useFor binds the ledger to the target cur. A ledger without a recorded
// target (new, or written by an older version) records cur. A ledger of
// another target is refused (*TargetMismatchError) unless adopt (the
// operator gave --rebuild: every message is then matched against the
// target, so the records of the old target cannot duplicate or skip
// anything); the ledger then forgets where the old target kept the
// messages (forgetLocations) and records cur. It returns the target
// recorded before, if it was another one.
func (l *Ledger) UseFor(cur Target, adopt bool) (previous *Target, err error) {
	cur = cur.normal()
	rec, ok, err := l.target()
	if err != nil {
		return nil, err
	}
	switch {
	case !ok:
		return nil, l.setTarget(cur)
	case rec.sameAs(cur):
		if m := rec.merged(cur); m != rec {
			return nil, l.setTarget(m)
		}
		return nil, nil
	case adopt:
		if err := l.forgetLocations(); err != nil {
			return nil, err
		}
		return &rec, l.setTarget(cur)
	}
	return nil, &TargetMismatchError{Path: l.path, Recorded: rec, Current: cur}
}

// TargetMismatchError: the ledger belongs to another target (iem-import
// exits 2 with this message).
type TargetMismatchError struct {
	Path              string
	Recorded, Current Target
}

func (e *TargetMismatchError) Error() string {
	return fmt.Sprintf("ledger %s belongs to another target: it records %s; this run's target is %s. "+
		"Give this target a ledger of its own (--ledger FILE), or, if it is the same server under another name or address, "+
		"run once with --rebuild: every message is then matched against the target, so nothing is duplicated, and the ledger records the new target",
		e.Path, e.Recorded, e.Current)
}

// forgetLocations turns every message record into a pending one without
// UID, old copy or file name: those name places on the target the ledger
// was written for, and another target's UID 7 is another message. A
// pending message is looked up (Message-ID, date, size) before it is
// written, and before it is deleted when the source deleted it. Groupware
// records stay: their resource names derive from the source alone.
func (l *Ledger) forgetLocations() error {
	type rec struct{ k, v []byte }
	var recs []rec
	err := l.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketItems).ForEach(func(k, v []byte) error {
			var a applied
			if json.Unmarshal(v, &a) != nil || a.Kind != "message" {
				return nil
			}
			a.UID, a.File, a.OldFolder, a.OldUID, a.Flags, a.Pending = 0, "", nil, 0, "", true
			nv, err := json.Marshal(a)
			if err != nil {
				return err
			}
			recs = append(recs, rec{slices.Clone(k), nv})
			return nil
		})
	})
	if err != nil || len(recs) == 0 {
		return err
	}
	return l.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketItems)
		for _, r := range recs {
			if err := b.Put(r.k, r.v); err != nil {
				return err
			}
		}
		return nil
	})
}

func ledgerKey(mailbox, id string) []byte { return []byte(mailbox + "\x00" + id) }

// get returns an item's record. A record that does not decode is returned
// as damagedRecord (pending): the engine looks the item up on the target
// before writing it, so a damaged record neither stops the run nor
// duplicates the item.
func (l *Ledger) get(mailbox, id string) (applied, bool) {
	var a applied
	found := false
	l.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketItems).Get(ledgerKey(mailbox, id)); v != nil {
			found = true
			if json.Unmarshal(v, &a) != nil {
				a = damagedRecord
			}
		}
		return nil
	})
	return a, found
}

func (l *Ledger) put(mailbox, id string, a applied) error {
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
func (l *Ledger) putMany(mailbox string, recs []ledgerRecord) error {
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

func (l *Ledger) del(mailbox, id string) error {
	return l.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketItems).Delete(ledgerKey(mailbox, id)) })
}

// each calls fn for the records of a mailbox whose id want accepts (nil:
// all); a record that does not decode is passed as damagedRecord. Records
// are decoded and held only when wanted: a rerun over a mailbox of 100,000
// items looks for the few the source deleted, and holding every record was
// the largest allocation of an import. fn runs outside the read
// transaction, so it may write to the ledger.
func (l *Ledger) each(mailbox string, want func(id string) bool, fn func(id string, a applied) error) error {
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
			if json.Unmarshal(v, &a) != nil {
				a = damagedRecord
			}
			recs = append(recs, rec{id, a})
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

func (l *Ledger) sync() error { return l.db.Sync() }

// Path is the ledger's file name.
func (l *Ledger) Path() string { return l.path }

// OpenLedgerReadOnly opens an existing ledger without taking the writer's
// lock (iem-import plan); a missing ledger (nothing applied yet) gives nil.
func OpenLedgerReadOnly(path string) (*Ledger, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	l := &Ledger{db: db}
	err = db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketItems) == nil {
			return errors.New("no items bucket")
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	return l, nil
}

// Close makes the ledger durable, removes the holder file and releases
// the lock (in this order: a holder file is never removed while another
// process holds the lock).
func (l *Ledger) Close() error {
	if !l.db.IsReadOnly() {
		l.db.Sync()
	}
	if l.holder != "" {
		os.Remove(l.holder)
	}
	return l.db.Close()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
