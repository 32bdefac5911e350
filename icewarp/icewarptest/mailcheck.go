package icewarptest

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/iemproject/iem/internal/xmltree"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/iemproject/iem/format"
)

// ProblemKind classifies what [Server.CheckMailPath] found.
type ProblemKind int

// Problems the mail path checker reports.
const (
	// ProblemOutsideAccount: a file outside every account's mailbox directory.
	ProblemOutsideAccount ProblemKind = iota + 1
	// ProblemFileName: a message file whose name is not
	// [serverid]YYYYMMDDhhmmssNNNN.imap (icewarp.md §1.4), or a message in the
	// account root instead of a folder.
	ProblemFileName
	// ProblemFolderName: a folder directory that is not "inbox", "~spam",
	// enc~<hex> or canonical modified UTF-7 (icewarp.md §1.3), e.g. raw
	// UTF-8 or "INBOX".
	ProblemFolderName
	// ProblemIndexTouched: an index file (imapindex.*, flags*.dat, …) was
	// created, changed or removed (icewarp.md §1.5).
	ProblemIndexTouched
	// ProblemSystemFolder: something written into a "~" system folder such
	// as ~webmail (icewarp.md §1.3).
	ProblemSystemFolder
	// ProblemStrayFile: any other file, e.g. a leftover temporary file.
	ProblemStrayFile
	// ProblemNotRefreshed: a message file written after the account's last
	// refresh (icewarp.md §1.6).
	ProblemNotRefreshed
	// ProblemLineEndings: a message file with bare LF line ends.
	ProblemLineEndings
)

var problemNames = map[ProblemKind]string{
	ProblemOutsideAccount: "outside any account", ProblemFileName: "bad message file name",
	ProblemFolderName: "bad folder name", ProblemIndexTouched: "index file touched",
	ProblemSystemFolder: "write into system folder", ProblemStrayFile: "stray file",
	ProblemNotRefreshed: "not refreshed", ProblemLineEndings: "bare LF line ends",
}

func (k ProblemKind) String() string {
	if n, ok := problemNames[k]; ok {
		return n
	}
	panic(fmt.Sprintf("icewarptest: unknown ProblemKind %d", int(k)))
}

// A Problem is one finding of the mail path checker.
type Problem struct {
	Kind ProblemKind
	Path string // relative to the mail root, slash-separated
}

func (p *Problem) Error() string { return fmt.Sprintf("icewarptest: mail path %s: %s", p.Path, p.Kind) }

// indexFile reports names of IceWarp's per-folder metadata files
// [V MS fix_imapindex.sh, iw_fs_optimize.sh].
func indexFile(name string) bool {
	switch strings.ToLower(name) {
	case "imapindex.dat", "imapindex.bin", "flags.dat", "flagsext.dat", "imapexpunged.dat", "flock.lock":
		return true
	}
	return strings.HasSuffix(strings.ToLower(name), ".timestamp")
}

// msgName is [LocalServerID]YYYYMMDDhhmmss + 4 digits + .imap (icewarp.md §1.4).
var msgName = regexp.MustCompile(`^([0-9]*)([0-9]{14})[0-9]{4}\.imap$`)

func validMsgName(name string) bool {
	m := msgName.FindStringSubmatch(name)
	if m == nil {
		return false
	}
	_, err := time.Parse("20060102150405", m[2])
	return err == nil
}

// folderDirName checks one folder directory name and returns the IMAP folder
// name (UTF-8) it stands for.
func folderDirName(name string, top bool) (string, bool) {
	switch {
	case top && name == "inbox":
		return "INBOX", true
	case top && name == "~spam":
		return "Spam", true
	case strings.HasPrefix(name, "enc~"):
		raw, err := hex.DecodeString(name[4:])
		if err != nil || hex.EncodeToString(raw) != name[4:] {
			return "", false
		}
		dec, err := format.DecodeIMAPUTF7(string(raw))
		if err != nil || !(strings.HasSuffix(dec, ".") || strings.Contains(dec, "...") || strings.Contains(dec, "*")) {
			return "", false
		}
		return dec, true
	case strings.HasPrefix(name, "~"):
		return "", false
	}
	dec, err := format.DecodeIMAPUTF7(name)
	if err != nil || dec == "" || strings.HasSuffix(dec, ".") || strings.Contains(dec, "*") || strings.Contains(dec, "...") {
		return "", false
	}
	if top && strings.EqualFold(dec, "INBOX") {
		return "", false // only "inbox" [V MS fix_imapindex.sh s|INBOX|inbox|]
	}
	return dec, true
}

// seedMailbox creates the account's mailbox directory with the files a real
// server keeps there, so that the checker can tell if they are touched:
// inbox/imapindex.dat and ~webmail/settings.xml (icewarp.md §1.2, §1.5).
// Their contents are placeholders: the real formats are private.
func (s *Server) seedMailbox(a *account) error {
	dir := s.mailboxDir(a)
	seeds := map[string][]byte{
		filepath.Join("inbox", "imapindex.dat"):   []byte("icewarptest placeholder index\n"),
		filepath.Join("~webmail", "settings.xml"): []byte("<settings/>\n"),
	}
	for rel, data := range seeds {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			return err
		}
		a.seeded[filepath.ToSlash(rel)] = seedFile{data: data}
	}
	return nil
}

// refresh makes newly written message files visible over IMAP, as
// u_directorycache_refreshnow does on a real server (icewarp.md §1.6).
// Called with s.mu held.
//
// Each *.imap file is indexed as it is, whatever it holds: no header, bare
// LF, NUL or 8-bit bytes, an mbox "From " line, any MIME (or none). Its
// bytes are stored unchanged (FETCH BODY[] returns the file), RFC822.SIZE
// is the file size and INTERNALDATE the date in the file name; a header
// that does not parse only leaves ENVELOPE and BODYSTRUCTURE fields empty
// (memimap). What icewarp.md says about how IceWarp indexes such files:
// one RFC 5322 message per .imap file, and IMAP's EXISTS count is expected
// to equal the number of *.imap files (VERIFIED [MS fix_imapindex.sh],
// §1.4, §1.6); the full sync "should be needed only if some files were
// added directly on filesystem" (VERIFIED [CONST] C_System_Services_IMAP_
// FullSyncInterval, §1.6); the index holds UIDs and flags (INFERRED, §1.5).
// It says nothing of IceWarp parsing or rejecting a file's content when it
// indexes it, so the emulator rejects nothing (INFERRED: counting files
// against EXISTS only works if every file is indexed). Over APPEND, NUL
// bytes need C_System_Services_IMAP_AllowBinaryAppend (VERIFIED [CONST],
// §4); the emulator accepts them as with that option on.
func (s *Server) refresh(a *account) error {
	a.refreshes++
	dir := s.mailboxDir(a)
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), "~") && d.Name() != "~spam" && rel != "." {
				return fs.SkipDir
			}
			return nil
		}
		if a.known[rel] || !strings.HasSuffix(d.Name(), ".imap") || !strings.Contains(rel, "/") {
			return nil
		}
		segs := strings.Split(rel, "/")
		var names []string
		for i, seg := range segs[:len(segs)-1] {
			n, ok := folderDirName(seg, i == 0)
			if !ok {
				return nil // the checker reports it
			}
			names = append(names, n)
		}
		folder := strings.Join(names, "/")
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !a.folders[folder] {
			if err := s.createFolder(a, folder); err != nil {
				return err
			}
		}
		t := time.Now()
		if m := msgName.FindStringSubmatch(d.Name()); m != nil {
			if pt, err := time.ParseInLocation("20060102150405", m[2], time.Local); err == nil {
				t = pt
			}
		}
		if _, err := a.user.Append(folder, literal{bytes.NewReader(data), int64(len(data))}, &imap.AppendOptions{Time: t}); err != nil {
			return err
		}
		a.known[rel] = true
		return nil
	})
}

// createFolder creates an IMAP folder and its parents. Called with s.mu held.
func (s *Server) createFolder(a *account, name string) error {
	parts := strings.Split(name, "/")
	for i := range parts {
		n := strings.Join(parts[:i+1], "/")
		if a.folders[n] {
			continue
		}
		if err := a.user.Create(n, nil); err != nil {
			return err
		}
		a.folders[n] = true
	}
	return nil
}

type literal struct {
	*bytes.Reader
	size int64
}

func (l literal) Size() int64 { return l.size }

// CheckMailPath inspects the mail root and returns nil when it is as
// IceWarp expects after path-mode writes, or an error joining one
// [*Problem] per finding (see [Server.MailPathProblems]).
func (s *Server) CheckMailPath() error {
	probs, err := s.MailPathProblems()
	if err != nil {
		return err
	}
	var errs []error
	for i := range probs {
		errs = append(errs, &probs[i])
	}
	return errors.Join(errs...)
}

// MailPathProblems lists the checker's findings, sorted by path.
func (s *Server) MailPathProblems() ([]Problem, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	root := s.opt.MailRoot
	accts := map[string]*account{} // by relative dir
	for _, a := range s.accounts {
		rel, _ := filepath.Rel(root, s.mailboxDir(a))
		accts[filepath.ToSlash(rel)] = a
	}
	var probs []Problem
	add := func(k ProblemKind, rel string) { probs = append(probs, Problem{Kind: k, Path: rel}) }
	seen := map[*account]map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		segs := strings.Split(rel, "/")
		if segs[0] == "_outgoing" || segs[0] == "_incoming" {
			return fs.SkipDir // queues (icewarp.md §1.1)
		}
		var a *account
		var in []string // path inside the account
		for i := 1; i <= len(segs); i++ {
			if acc := accts[strings.Join(segs[:i], "/")]; acc != nil {
				a, in = acc, segs[i:]
				break
			}
		}
		if a == nil {
			if !d.IsDir() {
				add(ProblemOutsideAccount, rel)
			}
			return nil
		}
		if len(in) == 0 {
			return nil
		}
		inRel := strings.Join(in, "/")
		if d.Type()&fs.ModeSymlink != 0 {
			add(ProblemStrayFile, rel)
			return nil
		}
		system := strings.HasPrefix(in[0], "~") && in[0] != "~spam"
		if d.IsDir() {
			if system {
				return nil
			}
			if _, ok := folderDirName(d.Name(), len(in) == 1); !ok {
				add(ProblemFolderName, rel)
			}
			return nil
		}
		if seen[a] == nil {
			seen[a] = map[string]bool{}
		}
		seen[a][inRel] = true
		if sf, ok := a.seeded[inRel]; ok {
			if data, err := os.ReadFile(p); err != nil || !bytes.Equal(data, sf.data) && !settingsKept(inRel, sf.data, data) {
				add(ProblemIndexTouched, rel)
			}
			return nil
		}
		switch {
		case system:
			add(ProblemSystemFolder, rel)
		case indexFile(d.Name()):
			add(ProblemIndexTouched, rel)
		case strings.HasSuffix(d.Name(), ".imap"):
			if len(in) == 1 || !validMsgName(d.Name()) {
				add(ProblemFileName, rel)
				return nil
			}
			if !a.known[inRel] {
				add(ProblemNotRefreshed, rel)
			}
			if data, err := os.ReadFile(p); err == nil && bareLF(data) {
				add(ProblemLineEndings, rel)
			}
		default:
			add(ProblemStrayFile, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("icewarptest: check mail path: %w", err)
	}
	for _, a := range s.accounts {
		for rel := range a.seeded {
			if !seen[a][rel] {
				dir, _ := filepath.Rel(root, s.mailboxDir(a))
				add(ProblemIndexTouched, filepath.ToSlash(dir)+"/"+rel)
			}
		}
	}
	slices.SortFunc(probs, func(x, y Problem) int { return strings.Compare(x.Path, y.Path) })
	return probs, nil
}

func bareLF(b []byte) bool {
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			return true
		}
	}
	return false
}

// settingsKept tells whether a changed ~webmail/settings.xml is still the
// WebClient's settings: well-formed, root <settings>, every element of the
// seeded file still there. The importer may merge <default_folders> into it
// (icewarp.md §1.7); anything else written into ~webmail stays a problem.
func settingsKept(rel string, seed, data []byte) bool {
	if rel != "~webmail/settings.xml" {
		return false
	}
	parse := func(b []byte) *xmltree.Node {
		doc, err := xmltree.Parse(bytes.NewReader(b), xmltree.Options{OneRoot: true, MaxDepth: 64})
		if err != nil {
			return nil
		}
		return doc.Root()
	}
	old, cur := parse(seed), parse(data)
	if old == nil || cur == nil || cur.Local != "settings" {
		return false
	}
	var kept func(o, c *xmltree.Node) bool
	kept = func(o, c *xmltree.Node) bool {
		for _, oc := range o.Elems() {
			cc := c.Child(oc.Local)
			if cc == nil || !kept(oc, cc) {
				return false
			}
		}
		return true
	}
	return kept(old, cur)
}
