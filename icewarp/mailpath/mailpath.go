// Package mailpath writes messages straight into IceWarp's mail path, the
// "path mode" of iem-import, following the layout described in
// shared/research/icewarp.md §1 (folder directories named in IMAP modified
// UTF-7, one YYYYMMDDhhmmssNNNN.imap file per message).
//
// IceWarp does not notice files written behind its back until the account is
// refreshed (icewarp.md §1.6): after writing messages with [Store.Put] or a
// [Batch] (many messages per two disk barriers, where Put pays two per
// message) the caller must call icewarp's (*Admin).RefreshAccount, and then
// set flags over IMAP, because file names carry no portable flag encoding
// and the per-folder index files (imapindex.dat/.bin, flags.dat, …) have
// private formats. This package never opens, creates or changes those
// index files.
//
// # Keywords (Outlook categories)
//
// Categories become IMAP keywords (format.CategoryKeyword) and, like
// \Seen and \Flagged, are set over IMAP after the refresh, in the same
// UID STORE (replay's path mode), never written here. What is known of how
// IceWarp keeps them on disk (shared/research/icewarp.md): the per-folder
// files flags.dat and flagsext.dat exist, their formats are unknown
// (VERIFIED names, §1.5); that flagsext.dat ("extended flags") holds the
// keywords is INFERRED from its name alone; the file-name flag encoding behind
// C_System_Services_IMAP_FileNameFlags is not public (§1.4, §8). So IMAP
// is the only documented way to give a file-written message keywords.
//
// # Where the mail path is
//
// The mail root is the server variable C_System_Storage_Dir_MailPath:
// typically /opt/icewarp/mail/ on Linux and C:\Program Files\IceWarp\mail\ on
// Windows (icewarp.md §1.1). One account lives in u_fullmailboxpath, usually
// <root>/<domain>/<user>/, but alphabetical sorting can nest it deeper, so the
// account directory must always be read from the admin API, never computed.
// All paths here go through path/filepath, so the same code handles
// "C:\Program Files\IceWarp\mail\example.com\john\" when built for Windows;
// folder name segments containing "\" are rejected on every platform, so an
// archive made on one system cannot climb out of an account on another.
//
// # Line endings
//
// Put and [Batch.Add] convert bare LF line ends to CRLF (CR LF pairs are
// left alone). IMAP serves a message file as the literal of FETCH BODY[],
// and RFC 3501 requires CRLF there; IceWarp's own IMAP APPEND stores what
// the client sent, which is CRLF. Exchange's MIME content is CRLF already,
// so this only repairs odd input. Set [Options.KeepLineEndings] to store
// the bytes unchanged.
package mailpath

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/iemproject/iem/format"
	"github.com/iemproject/iem/internal/countio"
	"github.com/iemproject/iem/internal/winpath"
)

// ErrInsecurePath is returned (wrapped) for a folder name or account
// directory that could resolve outside the account's folder: empty, "." or
// ".." segments, NUL, "/" or "\" inside a segment, names that IceWarp keeps
// for itself (starting with "~"), names the host OS cannot store, or an
// account directory outside the store's root.
var ErrInsecurePath = errors.New("mailpath: insecure path")

// ErrNoFreeName is returned when all 10,000 file names for one second are
// taken in a folder.
var ErrNoFreeName = errors.New("mailpath: no free message file name")

// Owner gives the numeric owner set on everything Put creates. On Linux
// IceWarp's service user (often "icewarp") must own the files (icewarp.md
// §1.1). Unused on Windows.
type Owner struct{ UID, GID int }

// Options tune a [Store]. A nil *Options is the same as a zero Options.
type Options struct {
	// ServerID is the LocalServerID prefix written before the date in file
	// names (path.dat line 4, icewarp.md §1.1); empty on a single server.
	ServerID string
	// SpamFolder is the top-level IMAP folder stored as "~spam" (IceWarp's
	// C_AS_SpamFolderName); default "Spam".
	SpamFolder string
	// Location is the time zone of the date in file names; default
	// time.Local, as IceWarp names files in server time.
	Location *time.Location
	// KeepLineEndings stores bodies byte for byte instead of turning bare LF
	// into CRLF.
	KeepLineEndings bool
	// Owner, if set, is applied with chown to new files and directories.
	Owner *Owner
	// FileMode and DirMode for new files and directories; defaults 0o600
	// and 0o700.
	FileMode, DirMode fs.FileMode
	// Rand returns the random 4-digit part of a name (0–9999); default
	// crypto/rand. Tests set it for repeatable names.
	Rand func() int
}

// Store writes message files under one mail root. It is safe for concurrent
// use by several goroutines, also on the same folder.
type Store struct {
	root string
	opt  Options
	mu   sync.Mutex // serialises the no-hard-link fallback
}

// Open returns a Store for the mail root dir, with default options.
func Open(root string) (*Store, error) { return OpenOptions(root, nil) }

// OpenOptions returns a Store for the mail root dir. root must exist.
func OpenOptions(root string, opt *Options) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("mailpath: open %s: %w", root, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("mailpath: open: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("mailpath: open %s: not a directory", root)
	}
	s := &Store{root: filepath.Clean(abs)}
	if opt != nil {
		s.opt = *opt
	}
	if s.opt.SpamFolder == "" {
		s.opt.SpamFolder = "Spam"
	}
	if s.opt.Location == nil {
		s.opt.Location = time.Local
	}
	if s.opt.FileMode == 0 {
		s.opt.FileMode = 0o600
	}
	if s.opt.DirMode == 0 {
		s.opt.DirMode = 0o700
	}
	if s.opt.Rand == nil {
		s.opt.Rand = cryptoRand
	}
	for _, c := range s.opt.ServerID {
		if c < '0' || c > '9' {
			return nil, fmt.Errorf("mailpath: server id %q: not a number", s.opt.ServerID)
		}
	}
	return s, nil
}

// Root returns the absolute mail root.
func (s *Store) Root() string { return s.root }

// AccountDir resolves an account directory: either absolute (the API's
// u_fullmailboxpath) or relative to the root (u_mailboxpath). The result must
// lie strictly inside the root, else the error wraps [ErrInsecurePath].
func (s *Store) AccountDir(accountDir string) (string, error) {
	if accountDir == "" || strings.IndexByte(accountDir, 0) >= 0 {
		return "", fmt.Errorf("%w: account directory %q", ErrInsecurePath, accountDir)
	}
	p := accountDir
	if !filepath.IsAbs(p) {
		if !filepath.IsLocal(p) {
			return "", fmt.Errorf("%w: account directory %q", ErrInsecurePath, accountDir)
		}
		p = filepath.Join(s.root, p)
	}
	p = filepath.Clean(p)
	rel, err := filepath.Rel(s.root, p)
	if err != nil || rel == "." || !filepath.IsLocal(rel) {
		return "", fmt.Errorf("%w: account directory %q is not inside %s", ErrInsecurePath, accountDir, s.root)
	}
	return p, nil
}

// FolderPath maps an IMAP folder, given as its segments (["INBOX", "Sub"]),
// to the relative directory IceWarp uses for it (icewarp.md §1.3):
//   - a top-level "INBOX" (any case) is "inbox" [V MS fix_imapindex.sh];
//   - the top-level spam folder is "~spam" [V MS fix_imapindex.sh; SS22 localpop.php];
//   - a name ending in ".", or containing "..." or "*", is "enc~" plus the
//     lower-case hex of its modified UTF-7 form [V MS fix_imapindex.sh, xxd -ps];
//   - every other name is its modified UTF-7 form [V SS22 localpop.php].
//
// Segments that cannot be stored safely give an error wrapping
// [ErrInsecurePath]; the result, when there is no error, is always a local
// path (filepath.IsLocal) that cannot leave the account directory.
func (s *Store) FolderPath(folder []string) (string, error) {
	return folderPath(folder, s.opt.SpamFolder)
}

func folderPath(folder []string, spam string) (string, error) {
	if len(folder) == 0 {
		return "", fmt.Errorf("%w: empty folder", ErrInsecurePath)
	}
	segs := make([]string, len(folder))
	for i, name := range folder {
		enc, err := encodeSegment(name, i == 0, spam)
		if err != nil {
			return "", err
		}
		segs[i] = enc
	}
	p := filepath.Join(segs...)
	if !filepath.IsLocal(p) {
		return "", fmt.Errorf("%w: folder %q", ErrInsecurePath, strings.Join(folder, "/"))
	}
	return p, nil
}

// EncodeSegment returns the directory name of one folder name segment at
// the given depth (top = first segment), as [Store.FolderPath] does with the
// default spam folder "Spam".
func EncodeSegment(name string, top bool) (string, error) {
	return encodeSegment(name, top, "Spam")
}

func encodeSegment(name string, top bool, spam string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("%w: folder name %q: %s", ErrInsecurePath, name, why)
	}
	switch {
	case name == "" || name == "." || name == "..":
		return bad("reserved")
	case strings.ContainsAny(name, "\x00/\\"):
		return bad(`contains NUL, "/" or "\"`)
	case !utf8.ValidString(name):
		return bad("not UTF-8")
	}
	if top && strings.EqualFold(name, "INBOX") {
		return "inbox", nil
	}
	if top && name == spam {
		return "~spam", nil
	}
	enc := format.EncodeIMAPUTF7(name)
	if strings.HasSuffix(name, ".") || strings.Contains(name, "...") || strings.Contains(name, "*") {
		enc = "enc~" + hex.EncodeToString([]byte(enc))
	} else if strings.HasPrefix(enc, "~") {
		return bad(`names starting with "~" are IceWarp's system folders`)
	}
	if !filepath.IsLocal(enc) || strings.ContainsRune(enc, filepath.Separator) || filepath.Base(enc) != enc {
		return bad("not a local file name on this system")
	}
	// Windows would refuse <>"|? and over-long names, and would silently
	// drop a trailing space, merging "Projects " into "Projects".
	if isWindows && !winpath.Legal(enc) {
		return bad("not a name Windows can store")
	}
	return enc, nil
}

// FileName returns the message file name IceWarp's own writers use
// (icewarp.md §1.4): the server id prefix, the date as YYYYMMDDhhmmss,
// four digits n (0–9999) and ".imap" [V SS22 localpop.php generateMessageName;
// MS iw_fs_optimize.sh "${year}*.imap"].
func FileName(serverID string, t time.Time, n int) string {
	return fmt.Sprintf("%s%s%04d.imap", serverID, t.Format("20060102150405"), n%10000)
}

// Put stores one message in folder of the account directory and returns the
// new file's base name. accountDir is as for [Store.AccountDir]; folder is
// mapped by [Store.FolderPath]; missing folder directories are created.
// received dates the file name (zero means now). body is read to EOF and
// not closed.
//
// The write is atomic: the body goes to a temporary file in the target
// directory (named ".iem-*.tmp", which IceWarp ignores because it does not
// end in .imap), is fsynced, then hard-linked to a free name (so an existing
// message is never replaced; where hard links are unsupported, a checked
// rename under a lock), and the directory is fsynced. A failed Put leaves no
// file behind.
func (s *Store) Put(ctx context.Context, accountDir string, folder []string, received time.Time, body io.Reader) (string, error) {
	acct, err := s.AccountDir(accountDir)
	if err != nil {
		return "", err
	}
	rel, err := s.FolderPath(folder)
	if err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	dir, err := s.mkdirs(acct, rel)
	if err != nil {
		return "", err
	}
	tmp, _, err := s.writeTemp(ctx, dir, body, true)
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp) // after a link, this drops the temporary name only
	if received.IsZero() {
		received = time.Now()
	}
	name, err := s.link(tmp, dir, received.In(s.opt.Location))
	if err != nil {
		return "", err
	}
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("mailpath: remove temporary file: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return "", fmt.Errorf("mailpath: sync %s: %w", dir, err)
	}
	return name, nil
}

// RemoveTemp removes the temporary files that Puts and uncommitted
// [Batch]es left in folder because their process was killed between
// creating and publishing them (".iem-*.tmp"; IceWarp ignores them, but
// they waste space and are not IceWarp's). It returns how many it removed;
// a missing folder is not an error. Call it only while no Put or Batch
// into the same folder is running, e.g. once per folder when an import
// starts.
func (s *Store) RemoveTemp(accountDir string, folder []string) (int, error) {
	acct, err := s.AccountDir(accountDir)
	if err != nil {
		return 0, err
	}
	rel, err := s.FolderPath(folder)
	if err != nil {
		return 0, err
	}
	dir := filepath.Join(acct, rel)
	stale, err := filepath.Glob(filepath.Join(dir, ".iem-*.tmp"))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range stale {
		if st, err := os.Lstat(p); err != nil || !st.Mode().IsRegular() {
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return n, fmt.Errorf("mailpath: remove temporary file: %w", err)
		}
		n++
	}
	if n > 0 {
		if err := syncDir(dir); err != nil {
			return n, fmt.Errorf("mailpath: sync %s: %w", dir, err)
		}
	}
	return n, nil
}

// mkdirs creates acct/rel one level at a time so that each new directory
// gets the owner and its parent is fsynced.
func (s *Store) mkdirs(acct, rel string) (string, error) {
	if err := os.MkdirAll(acct, s.opt.DirMode); err != nil {
		return "", fmt.Errorf("mailpath: create account directory: %w", err)
	}
	dir := acct
	for _, seg := range strings.Split(rel, string(filepath.Separator)) {
		parent := dir
		dir = filepath.Join(dir, seg)
		err := os.Mkdir(dir, s.opt.DirMode)
		if errors.Is(err, fs.ErrExist) {
			st, serr := os.Lstat(dir)
			if serr != nil || !st.IsDir() {
				return "", fmt.Errorf("%w: %s exists and is not a directory", ErrInsecurePath, dir)
			}
			continue
		}
		if err != nil {
			return "", fmt.Errorf("mailpath: create folder: %w", err)
		}
		if err := s.chown(dir); err != nil {
			return "", err
		}
		if err := syncDir(parent); err != nil {
			return "", fmt.Errorf("mailpath: sync %s: %w", parent, err)
		}
	}
	return dir, nil
}

func (s *Store) chown(p string) error {
	if s.opt.Owner == nil {
		return nil
	}
	if err := os.Lchown(p, s.opt.Owner.UID, s.opt.Owner.GID); err != nil {
		return fmt.Errorf("mailpath: chown: %w", err)
	}
	return nil
}

// writeTemp writes body to a new temporary file in dir and returns its path
// and size; if durable, it is fsynced before it is closed. A failed write
// leaves no file.
func (s *Store) writeTemp(ctx context.Context, dir string, body io.Reader, durable bool) (name string, size int64, err error) {
	f, err := os.CreateTemp(dir, ".iem-*.tmp")
	if err != nil {
		return "", 0, fmt.Errorf("mailpath: create temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	// CreateTemp made it 0600 already; one syscall less per message.
	if s.opt.FileMode != 0o600 {
		if err := f.Chmod(s.opt.FileMode); err != nil && !isWindows {
			return "", 0, fmt.Errorf("mailpath: chmod: %w", err)
		}
	}
	cw := &countio.Writer{W: f}
	wb := writeBufs.Get().(*writeBuf)
	defer writeBufs.Put(wb)
	wb.bw.Reset(cw)
	defer wb.bw.Reset(nil) // keep no reference to f in the pool
	var w io.Writer = wb.bw
	if !s.opt.KeepLineEndings {
		w = &crlfWriter{w: wb.bw}
	}
	if _, err := io.CopyBuffer(w, ctxReader{ctx, body}, wb.copy); err != nil {
		return "", 0, fmt.Errorf("mailpath: write message: %w", err)
	}
	if err := wb.bw.Flush(); err != nil {
		return "", 0, fmt.Errorf("mailpath: write message: %w", err)
	}
	if durable {
		if err := f.Sync(); err != nil {
			return "", 0, fmt.Errorf("mailpath: sync message: %w", err)
		}
	}
	if err := f.Close(); err != nil {
		return "", 0, fmt.Errorf("mailpath: close message: %w", err)
	}
	if err := s.chown(f.Name()); err != nil {
		return "", 0, err
	}
	return f.Name(), cw.N, nil
}

// writeBuf holds the buffers of one message write. They are pooled:
// allocating and clearing 96 KiB per message was a good part of path
// mode's CPU time.
type writeBuf struct {
	bw   *bufio.Writer
	copy []byte
}

var writeBufs = sync.Pool{New: func() any {
	return &writeBuf{bw: bufio.NewWriterSize(nil, 64<<10), copy: make([]byte, 32<<10)}
}}

// link gives tmp its final name without ever replacing an existing file.
func (s *Store) link(tmp, dir string, t time.Time) (string, error) {
	start := s.opt.Rand()
	if start < 0 {
		start = -start
	}
	for i := 0; i < 10000; i++ {
		name := FileName(s.opt.ServerID, t, (start+i)%10000)
		dst := filepath.Join(dir, name)
		err := os.Link(tmp, dst)
		if err == nil {
			return name, nil
		}
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		// No hard links here (some network shares): rename, checked under
		// the Store's lock so two of our writers cannot pick the same name.
		ok, rerr := s.renameIfFree(tmp, dst)
		if rerr != nil {
			return "", rerr
		}
		if ok {
			return name, nil
		}
	}
	return "", fmt.Errorf("%w: %s at %s", ErrNoFreeName, dir, t.Format(time.DateTime))
}

func (s *Store) renameIfFree(tmp, dst string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := os.Lstat(dst); err == nil {
		return false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("mailpath: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return false, fmt.Errorf("mailpath: rename: %w", err)
	}
	return true, nil
}

func cryptoRand() int {
	var b [2]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0
	}
	return int(binary.BigEndian.Uint16(b[:])) % 10000
}

// ctxReader stops a copy when the context is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// crlfWriter turns bare LF into CRLF, keeping CRLF pairs as they are.
type crlfWriter struct {
	w      io.Writer
	prevCR bool
}

func (c *crlfWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		// Copy up to the next bare LF in one piece: Exchange's MIME is
		// CRLF already, so this is usually the whole buffer (a byte loop
		// here was a third of path mode's CPU).
		i := 0
		for {
			j := bytes.IndexByte(p[i:], '\n')
			if j < 0 {
				i = len(p)
				break
			}
			i += j
			if i == 0 && !c.prevCR || i > 0 && p[i-1] != '\r' {
				break // bare LF at i
			}
			i++
		}
		if _, err := c.w.Write(p[:i]); err != nil {
			return n, err
		}
		if i > 0 {
			c.prevCR = p[i-1] == '\r'
		}
		n += i
		p = p[i:]
		if len(p) > 0 { // bare LF
			if _, err := c.w.Write([]byte("\r\n")); err != nil {
				return n, err
			}
			c.prevCR = false
			n++
			p = p[1:]
		}
	}
	return n, nil
}
