package replay

import (
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2"
	"golang.org/x/sync/errgroup"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/exchange/directory"
	"github.com/iemproject/iem/format"
	"github.com/iemproject/iem/internal/progress"
	"github.com/iemproject/iem/internal/report"
)

// source is one archive folder with its logical view.
type source struct {
	folder *archive.Folder
	view   *archive.View
}

// Options tune an Engine.
type Options struct {
	// DomainMap maps source domains (lower case) to target domains.
	DomainMap map[string]string
	// Passwords are the passwords of new accounts, by lower-case address;
	// the others get generated ones, appended to PasswordReport (a 0600
	// CSV).
	Passwords      map[string]string
	PasswordReport string
	// Rebuild replays everything, matching each message against the
	// target (the target lost its data, or the ledger is another's).
	Rebuild bool
	// IceWarpNames maps Sent Items, Deleted Items, Junk E-mail to
	// IceWarp's Sent, Trash, Spam.
	IceWarpNames bool
	// ArchiveMailbox is where archive mailboxes go: a folder path
	// ("Archive/2019"; "" is DefaultArchiveFolder) or ArchiveSkip
	// (ParseArchiveMailbox).
	ArchiveMailbox string
	// Log receives the run's log; nil discards it.
	Log *slog.Logger
	// Notice receives notices for the operator ("iem-import: …"),
	// printed whatever the log level; FileLog (the run's log file alone)
	// then records them, so they are not printed twice. Nil Notice: the
	// notices go to Log.
	Notice  io.Writer
	FileLog *slog.Logger
	// Progress shows the mailboxes' progress (nil: none).
	Progress *progress.Progress
}

// Engine applies the logical view of the archives to the Sinks. Set Sinks
// and Ledger before CreateAccounts and Run.
type Engine struct {
	Sinks  Sinks
	Ledger *Ledger

	sources   []source
	prog      *progress.Progress // nil: no progress shown
	domainMap map[string]string
	passwords map[string]string
	report    string // CSV of generated passwords
	rebuild   bool
	iceNames  bool
	// archivePath is the folder archive mailboxes go below (nil: left out).
	archivePath []string
	log         *slog.Logger
	notice      io.Writer    // notices for the operator, printed whatever the log level (nil: log only)
	fileLog     *slog.Logger // the run's log file alone, for notices (nil: log)
	statsMu     sync.Mutex
	noticeMu    sync.Mutex // jobs tell from their goroutines; the writer need not be safe
	stats       map[string]*MailboxStats
	newPass     [][2]string
	openEntry   map[*archive.Entry]*archive.Folder
	byMailbox   map[string][]*archive.Entry
	mailboxRec  map[string]directory.Mailbox
	settings    map[string]*archive.Entry // the settings entry of each mailbox that has one
	groups      []directory.Group
	pfEmail     string
}

// New returns an engine over the logical views of the archive folders,
// indexed by mailbox.
func New(folders []*archive.Folder, opt Options) (*Engine, error) {
	im := &Engine{prog: opt.Progress, domainMap: opt.DomainMap, passwords: opt.Passwords, report: opt.PasswordReport,
		rebuild: opt.Rebuild, iceNames: opt.IceWarpNames, log: opt.Log, notice: opt.Notice, fileLog: opt.FileLog,
		stats: map[string]*MailboxStats{}}
	if im.log == nil {
		im.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if im.archivePath, err = ParseArchiveMailbox(opt.ArchiveMailbox); err != nil {
		return nil, fmt.Errorf("archive mailbox: %w", err)
	}
	if im.domainMap == nil {
		im.domainMap = map[string]string{}
	}
	for _, f := range folders {
		// Only complete rounds: one still being written (or cut short on
		// the way) waits for a later run.
		im.sources = append(im.sources, source{folder: f, view: f.CompleteView()})
	}
	if err := im.index(); err != nil {
		return nil, err
	}
	return im, nil
}

// LastRound is the newest complete round of the archives.
func (im *Engine) LastRound() int {
	round := 0
	for _, s := range im.sources {
		round = max(round, s.folder.LastRound())
	}
	return round
}

// Stats returns the counts of each mailbox imported so far.
func (im *Engine) Stats() []*MailboxStats {
	im.statsMu.Lock()
	defer im.statsMu.Unlock()
	out := make([]*MailboxStats, 0, len(im.stats))
	for _, s := range im.stats {
		out = append(out, s)
	}
	return out
}

// MailboxStats reconciles items: in archive = appended + updated +
// unchanged + found on target + skipped + failed. Folder permissions are
// not items and are counted apart.
type MailboxStats struct {
	Mailbox   string         `json:"mailbox"`
	InArchive int            `json:"inArchive"`
	Appended  int            `json:"appended"`
	Updated   int            `json:"updated"`
	Unchanged int            `json:"unchanged"`
	Found     int            `json:"foundOnTarget"` // --rebuild or pending: already there
	Deleted   int            `json:"deleted"`
	Skipped   map[string]int `json:"skipped,omitempty"`
	Failed    map[string]int `json:"failed,omitempty"`
	// Permissions counts folder permissions set; PermissionsFailed those
	// the server refused, by reason.
	// Written counts appended and updated items by kind ("message",
	// "contact", "event", …).
	Written           map[string]int `json:"written,omitempty"`
	Permissions       int            `json:"permissions"`
	PermissionsFailed map[string]int `json:"permissionsFailed,omitempty"`
	// Settings names the mailbox settings set on the target
	// ("out-of-office"); NotMoved counts what of them the target cannot
	// hold, by reason.
	Settings []string       `json:"settings,omitempty"`
	NotMoved map[string]int `json:"notMoved,omitempty"`
	// DefaultFolders are the account's default folders iem set (key →
	// folder); DefaultFoldersError why the target refused them.
	DefaultFolders      map[string]string `json:"defaultFolders,omitempty"`
	DefaultFoldersError string            `json:"defaultFoldersError,omitempty"`
	Bytes               int64             `json:"bytes"`
	Seconds             float64           `json:"seconds"`
	Err                 string            `json:"error,omitempty"`
	// Archive counts the items of the archive mailbox among InArchive
	// (those left out with --archive-mailbox skip are Skipped).
	Archive int `json:"archive,omitempty"`

	job *progress.Job // the mailbox's progress line (nil: none)
}

func (im *Engine) statsFor(mbx string) *MailboxStats {
	im.statsMu.Lock()
	defer im.statsMu.Unlock()
	s, ok := im.stats[mbx]
	if !ok {
		s = &MailboxStats{Mailbox: mbx, Skipped: map[string]int{}, Failed: map[string]int{}, PermissionsFailed: map[string]int{},
			Written: map[string]int{}, NotMoved: map[string]int{}}
		im.stats[mbx] = s
	}
	return s
}

// mapAddr applies --domain-map to an address.
func (im *Engine) mapAddr(addr string) string {
	local, dom, ok := strings.Cut(addr, "@")
	if !ok {
		return addr
	}
	if to, ok := im.domainMap[strings.ToLower(dom)]; ok {
		return local + "@" + to
	}
	return strings.ToLower(local) + "@" + strings.ToLower(dom)
}

// index groups the view entries of all archives by mailbox.
func (im *Engine) index() error {
	im.openEntry = map[*archive.Entry]*archive.Folder{}
	im.byMailbox = map[string][]*archive.Entry{}
	im.mailboxRec = map[string]directory.Mailbox{}
	im.settings = map[string]*archive.Entry{}
	for _, s := range im.sources {
		for _, e := range s.view.Entries() {
			im.openEntry[e] = s.folder
			switch e.Kind {
			case archive.KindMailbox:
				var m directory.Mailbox
				if err := im.readJSON(e, &m); err != nil {
					return err
				}
				im.mailboxRec[e.Mailbox] = m
			case archive.KindGroup:
				var g directory.Group
				if err := im.readJSON(e, &g); err != nil {
					return err
				}
				im.groups = append(im.groups, g)
			case archive.KindSettings:
				im.settings[e.Mailbox] = e
			case archive.KindDelta, archive.KindState, archive.KindTombstone:
			default:
				im.byMailbox[e.Mailbox] = append(im.byMailbox[e.Mailbox], e)
			}
		}
	}
	return nil
}

func (im *Engine) open(e *archive.Entry) (io.ReadCloser, error) { return im.openEntry[e].Open(e) }

// Tell prints a notice for the operator ("iem-import: msg") and records it
// in the log.
func (im *Engine) Tell(msg string, args ...any) {
	l := im.fileLog
	if im.notice != nil {
		im.noticeMu.Lock()
		fmt.Fprintf(im.notice, "iem-import: %s\n", msg)
		im.noticeMu.Unlock()
	} else {
		l = nil
	}
	if l == nil {
		l = im.log
	}
	l.Warn(msg, args...)
}

func (im *Engine) readJSON(e *archive.Entry, v any) error {
	rc, err := im.open(e)
	if err != nil {
		return err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 16<<20))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// UsersAndDomains returns the source mailboxes and the target domains,
// sorted.
func (im *Engine) UsersAndDomains() (users, ds []string) {
	for u := range im.mailboxRec {
		users = append(users, u)
	}
	sort.Strings(users)
	domains := map[string]bool{}
	for _, u := range users {
		_, d, _ := strings.Cut(im.mapAddr(u), "@")
		domains[d] = true
	}
	for _, g := range im.groups {
		if g.PrimarySMTP != "" {
			_, d, _ := strings.Cut(im.mapAddr(g.PrimarySMTP), "@")
			domains[d] = true
		}
	}
	for d := range domains {
		ds = append(ds, d)
	}
	sort.Strings(ds)
	return users, ds
}

// publicFoldersEmail is the address of the group that receives the public
// folders: in the first target domain, as accounts creates it.
func (im *Engine) publicFoldersEmail() string {
	if _, ds := im.UsersAndDomains(); len(ds) > 0 {
		return im.Sinks.Accounts.PublicFoldersGroup(ds[0]).Email
	}
	return ""
}

// CreateAccounts creates domains, user accounts, groups and the public folders
// group before any data is written, as the original tool does.
func (im *Engine) CreateAccounts(ctx context.Context) error {
	users, ds := im.UsersAndDomains()
	for _, d := range ds {
		if err := im.Sinks.Accounts.EnsureDomain(ctx, d); err != nil {
			return fmt.Errorf("domain %s: %w", d, err)
		}
	}
	for _, u := range users {
		m := im.mailboxRec[u]
		email := im.mapAddr(u)
		pw, given := im.passwords[strings.ToLower(email)]
		if !given {
			var err error
			if pw, err = im.Sinks.Accounts.GeneratePassword(); err != nil {
				return err
			}
		}
		var aliases []string
		for _, a := range m.Aliases {
			if ma := im.mapAddr(a); !strings.EqualFold(ma, email) {
				aliases = append(aliases, ma)
			}
		}
		name := m.DisplayName
		if name == "" {
			name = email
		}
		created, err := im.Sinks.Accounts.EnsureAccount(ctx, Account{Email: email, Name: name, Password: pw, Aliases: aliases})
		if err != nil {
			return fmt.Errorf("account %s: %w", email, err)
		}
		if created && !given {
			im.newPass = append(im.newPass, [2]string{email, pw})
		}
	}
	for _, g := range im.groups {
		if g.PrimarySMTP == "" {
			im.log.Warn("group without address skipped", "group", g.Name)
			continue
		}
		var members []string
		for _, m := range g.Members {
			members = append(members, im.mapAddr(m))
		}
		if err := im.Sinks.Accounts.EnsureGroup(ctx, Group{Email: im.mapAddr(g.PrimarySMTP), Name: g.Name, Members: members}); err != nil {
			return fmt.Errorf("group %s: %w", g.PrimarySMTP, err)
		}
	}
	if len(im.byMailbox[""]) > 0 && len(ds) > 0 {
		g := im.Sinks.Accounts.PublicFoldersGroup(ds[0]) // = publicFoldersEmail
		g.Members = nil
		for _, u := range users {
			g.Members = append(g.Members, im.mapAddr(u))
		}
		if err := im.Sinks.Accounts.EnsureGroup(ctx, g); err != nil {
			return fmt.Errorf("public folders group %s: %w", g.Email, err)
		}
		im.pfEmail = g.Email
	}
	return im.writePasswordReport()
}

// writePasswordReport appends the passwords of accounts created in this
// run to a 0600 CSV: Exchange passwords cannot be exported.
func (im *Engine) writePasswordReport() error {
	if len(im.newPass) == 0 {
		return nil
	}
	f, err := os.OpenFile(im.report, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("password report: %w", err)
	}
	defer f.Close()
	w := csv.NewWriter(f)
	for _, p := range im.newPass {
		w.Write([]string{p[0], p[1]})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	im.log.Info("new account passwords written", "file", im.report, "accounts", len(im.newPass))
	return f.Sync()
}

// folderInfo is the target of one archived folder.
type folderInfo struct {
	path []string // target path
	typ  string   // IceWarp folder type letter: M, C, E, T, N, J
	role string   // distinguished folder id ("sentitems", …) or ""
	acl  *format.ACL
	skip bool
	// archive: a folder of the archive mailbox (or the archive's folder).
	archive bool
}

// FolderRecord is the body of a folder or public-folder entry of the
// archive (what iem-export writes for each folder).
type FolderRecord struct {
	ID            string      `json:"id"`
	ParentID      string      `json:"parentId,omitempty"`
	DisplayName   string      `json:"displayName"`
	Path          []string    `json:"path"`
	Class         string      `json:"class,omitempty"`
	Distinguished string      `json:"distinguished,omitempty"`
	ACL           *format.ACL `json:"acl,omitempty"`
	Group         string      `json:"group,omitempty"`
	// Side is "archive" for a folder of the archive mailbox.
	Side string `json:"side,omitempty"`
}

// folders maps the archived folders of a mailbox to target paths, by
// distinguished folder id first (localized names), then display name.
func (im *Engine) folders(entries []*archive.Entry) (map[string]*folderInfo, error) {
	recs := map[string]*FolderRecord{}
	for _, e := range entries {
		if e.Kind != archive.KindFolder && e.Kind != archive.KindPublicFolder {
			continue
		}
		var r FolderRecord
		if err := im.readJSON(e, &r); err != nil {
			return nil, fmt.Errorf("folder %s: %w", e.ID, err)
		}
		recs[r.ID] = &r
	}
	out := map[string]*folderInfo{}
	var resolve func(id string, depth int) *folderInfo
	resolve = func(id string, depth int) *folderInfo {
		if fi, ok := out[id]; ok {
			return fi
		}
		r, ok := recs[id]
		if !ok || depth > 64 {
			return &folderInfo{}
		}
		var parent *folderInfo
		if r.ParentID != "" {
			parent = resolve(r.ParentID, depth+1)
		}
		parent = im.archiveParent(r, recs, parent)
		fi := &folderInfo{typ: format.FolderType(r.Class), acl: r.ACL, archive: r.Side == sideArchive}
		if r.Group != "" || parent == nil && len(r.Path) > 1 { // public folder: path is complete
			fi.path = append([]string(nil), r.Path...)
		} else {
			t := format.FolderTarget(archiveRole(r), r.DisplayName, &format.FolderOptions{IceWarpNames: im.iceNames})
			fi.skip = t.Skip || parent != nil && parent.skip
			fi.role = t.Role
			if parent != nil {
				fi.path = append(append([]string(nil), parent.path...), t.Name)
			} else if t.Name != "" {
				fi.path = []string{t.Name}
			}
			if t.Name == "" && parent != nil {
				fi.path = parent.path
			}
		}
		out[id] = fi
		return fi
	}
	for id := range recs {
		resolve(id, 0)
	}
	// IceWarp keeps each mail folder as a directory, also on Windows,
	// where "\" separates paths: it is kept out of folder names in both
	// mail modes (and so in check), as a look-alike.
	r := strings.NewReplacer("\\", "⧵")
	for _, fi := range out {
		if fi.typ == "M" && slices.ContainsFunc(fi.path, func(s string) bool { return strings.Contains(s, "\\") }) {
			p := make([]string, len(fi.path))
			for i, s := range fi.path {
				p[i] = r.Replace(s)
			}
			fi.path = p
		}
	}
	return out, nil
}

// flagsOf maps an entry's attributes to IMAP flags: read as \Seen,
// Exchange's follow-up flag as \Flagged, draft as \Draft, and the
// categories as keywords (format.MailKeywords: sorted, so that the same
// categories give the same flag string; a name whose keyword is too long
// is left out).
func flagsOf(e *archive.Entry) []imap.Flag {
	var fl []imap.Flag
	if e.Attrs["read"] == "1" {
		fl = append(fl, imap.FlagSeen)
	}
	if e.Attrs["flag"] == "flagged" {
		fl = append(fl, imap.FlagFlagged)
	}
	if e.Attrs["draft"] == "1" {
		fl = append(fl, imap.FlagDraft)
	}
	kws, _ := format.MailKeywords(e.Attrs["categories"])
	for _, kw := range kws {
		fl = append(fl, imap.Flag(kw))
	}
	return fl
}

// flagChanges returns the flags to add and to remove to go from the flag
// string a run recorded (flagString) to want. Only those are stored, so
// that flags set on the target meanwhile (by the user, or \Answered) stay.
func flagChanges(recorded string, want []imap.Flag) (add, remove []imap.Flag) {
	had := strings.Fields(recorded)
	for _, f := range want {
		if !slices.Contains(had, string(f)) {
			add = append(add, f)
		}
	}
	for _, f := range had {
		if !slices.Contains(want, imap.Flag(f)) {
			remove = append(remove, imap.Flag(f))
		}
	}
	return add, remove
}

func flagString(fl []imap.Flag) string {
	s := make([]string, len(fl))
	for i, f := range fl {
		s[i] = string(f)
	}
	return strings.Join(s, " ")
}

func digestHex(e *archive.Entry) string { return hex.EncodeToString(e.Digest[:]) }

// importMailbox applies one mailbox: folders and ACLs, mail, groupware, deletions.
func (im *Engine) importMailbox(ctx context.Context, source string) (err error) {
	target := im.mapAddr(source)
	label := source
	if source == "" {
		target, label = im.pfEmail, "public folders"
	}
	st := im.statsFor(label)
	st.job = im.prog.Job(label)
	defer st.job.Done()
	defer report.Time(&st.Seconds, &st.Err)(&err)
	log := im.log.With("mailbox", label)
	entries := im.byMailbox[source]
	items := 0
	for _, e := range entries {
		if e.Kind != archive.KindFolder && e.Kind != archive.KindPublicFolder {
			items++
		}
	}
	st.job.Folder("", items)
	folders, err := im.folders(entries)
	if err != nil {
		return err
	}
	if source != "" {
		im.adoptDefaults(ctx, target, folders)
	}
	mb, err := im.Sinks.Mail.Open(ctx, target)
	if err != nil {
		return fmt.Errorf("imap %s: %w", target, err)
	}
	defer mb.Close()

	// Folders and their permissions (with the mailbox's Full Access grants
	// and delegates).
	if e := im.settings[source]; e != nil && source != "" {
		var set format.MailboxSettings
		if err := im.readJSON(e, &set); err != nil {
			return fmt.Errorf("settings entry: %w", err)
		}
		for _, why := range append(addMailboxGrants(&set, folders), addDelegates(&set, folders)...) {
			st.NotMoved[why]++
		}
	}
	for _, fi := range folders {
		if fi.skip || len(fi.path) == 0 {
			continue
		}
		if fi.typ != "M" {
			if im.Sinks.Groupware != nil {
				if err := im.Sinks.Groupware.EnsureFolder(ctx, target, fi.path, fi.typ); err != nil {
					return fmt.Errorf("groupware folder %q: %w", strings.Join(fi.path, "/"), err)
				}
				im.groupwarePermissions(ctx, log, st, target, fi)
			}
			continue
		}
		if err := mb.EnsureFolder(ctx, fi.path); err != nil {
			return fmt.Errorf("folder %q: %w", strings.Join(fi.path, "/"), err)
		}
		if fi.acl != nil {
			grants, rep := fi.acl.IMAPRights()
			for _, l := range rep.Losses {
				log.Warn("permission not mapped exactly", "folder", strings.Join(fi.path, "/"), "loss", l)
			}
			for _, g := range grants {
				who := g.Identifier
				if strings.Contains(who, "@") {
					who = im.mapAddr(who)
				}
				if err := mb.SetACL(ctx, fi.path, who, g.Rights); err != nil {
					log.Warn("folder permission not set", "folder", strings.Join(fi.path, "/"), "grantee", who, "err", err)
					st.PermissionsFailed["mail folder permission refused by the server"]++
					continue
				}
				st.Permissions++
			}
		}
	}

	if source != "" {
		if err := im.applySettings(ctx, log, st, source, target); err != nil {
			return err
		}
		if e := im.settings[source]; e != nil {
			if err := im.applyRules(log, st, e, target, folders); err != nil {
				return err
			}
		}
	}
	if err := im.setDefaultFolders(ctx, log, source, target, folders); err != nil {
		return err
	}

	// Mail, grouped by target folder, appended in pipelined batches or
	// written as files (path mode).
	var pw *pathWriter
	if im.Sinks.Files != nil {
		if pw, err = im.newPathWriter(ctx, log, st, mb, source, target); err != nil {
			return err
		}
	}
	inView := map[string]bool{}
	batches := map[string][]*archive.Entry{}
	batchPath := map[string][]string{}
	replaced := map[string]oldCopy{} // item id → previous copy to delete
	if pw != nil {
		pw.replaced = replaced
	}
	var order []string
	batched, added := 0, 0           // items queued for writing, items already shown as done
	knownFolder := map[string]bool{} // target folders (folderKey) the ledger has a record of
	damaged := 0                     // ledger records of this mailbox that do not decode
	for _, e := range entries {
		if e.Kind == archive.KindFolder || e.Kind == archive.KindPublicFolder {
			continue
		}
		inView[e.ID] = true
		st.InArchive++
		fi, ok := folders[e.Folder]
		if countArchive(st, e, fi) {
			st.job.Add(1, 0)
			added++
			continue
		}
		if !ok || fi.skip || len(fi.path) == 0 {
			st.Skipped["folder not migrated (system or unknown folder)"]++
			st.job.Add(1, 0)
			added++
			continue
		}
		if e.Kind != archive.KindMessage {
			st.job.Folder(strings.Join(fi.path, "/"), 0)
			before := st.Bytes
			if err := im.putGroupware(ctx, log, st, target, e, fi); err != nil {
				return err
			}
			st.job.Add(1, st.Bytes-before)
			added++
			continue
		}
		prev, known := im.Ledger.get(source, e.ID)
		if known && prev.Damaged {
			damaged++ // pending: looked up on the target before it is appended
		} else if known {
			knownFolder[folderKey(prev.Folder)] = true
		}
		if known && prev.OldUID != 0 {
			replaced[e.ID] = oldCopy{prev.OldFolder, prev.OldUID} // left by an interrupted run
		}
		if known && !prev.Pending && !im.rebuild && prev.UID != 0 && (prev.Digest != digestHex(e) || !slices.Equal(prev.Folder, fi.path)) {
			// Changed content or folder under the same id: store the
			// new copy, then delete this one.
			replaced[e.ID] = oldCopy{prev.Folder, prev.UID}
		} else if known && !prev.Pending && !im.rebuild && prev.Digest == digestHex(e) {
			if pw != nil && prev.UID == 0 && prev.File != "" {
				pw.unfinished(e, prev) // written, but its flags were never set
				st.Unchanged++
				continue
			}
			want := flagString(flagsOf(e))
			if prev.Flags != want {
				add, remove := flagChanges(prev.Flags, flagsOf(e))
				if err := mb.UpdateFlags(ctx, prev.Folder, imap.UID(prev.UID), add, remove); err != nil {
					st.Failed["flags not set"]++
					log.Warn("flags not set", "id", e.ID, "err", err)
					continue
				}
				prev.Flags = want
				im.Ledger.put(source, e.ID, prev)
				st.Updated++
				st.Written["message"]++
			} else {
				st.Unchanged++
			}
			continue
		}
		key := folderKey(fi.path)
		if _, ok := batches[key]; !ok {
			order = append(order, key)
			batchPath[key] = fi.path
		}
		batches[key] = append(batches[key], e)
		batched++
	}
	// Messages left as they were, or whose flags alone changed, are done.
	st.job.Add(st.InArchive-batched-added, 0)
	if damaged > 0 {
		log.Warn("ledger records that do not decode: these items are looked up on the target before they are written", "records", damaged)
	}
	var careful map[string]bool
	if !im.rebuild {
		if careful, err = im.unknownFolders(ctx, log, label, mb, source, order, batchPath, knownFolder, inView); err != nil {
			return err
		}
	}
	for _, key := range order {
		st.job.Folder(strings.Join(batchPath[key], "/"), 0)
		if pw != nil {
			if careful[key] {
				// Path mode looks pending items up on the target
				// before writing them.
				if err := im.markPending(source, batchPath[key], batches[key], replaced); err != nil {
					return err
				}
			}
			err = pw.write(ctx, batchPath[key], batches[key])
		} else {
			err = im.appendBatch(ctx, log, st, mb, source, batchPath[key], batches[key], replaced, careful[key])
		}
		if err != nil {
			return err
		}
	}
	if pw != nil {
		if err := pw.done(ctx); err != nil {
			return err
		}
	}
	im.dropReplaced(ctx, log, st, mb, source, replaced)

	// What the source deleted since the last run.
	err = im.Ledger.each(source, func(id string) bool { return !inView[id] }, func(id string, a applied) error {
		if a.Damaged {
			// Where its copy is cannot be read any more: the copy (if
			// any) stays on the target, where check reports it.
			log.Warn("the source deleted an item whose ledger record does not decode: its copy on the target, if any, is left", "id", id)
			return im.Ledger.del(source, id)
		}
		var derr error
		if a.OldUID != 0 {
			if derr = mb.Delete(ctx, a.OldFolder, imap.UID(a.OldUID)); derr != nil {
				log.Warn("delete failed", "id", id, "err", derr)
				st.Failed["delete failed"]++
				return nil
			}
		}
		switch {
		case a.Kind == "message" && a.UID != 0:
			derr = mb.Delete(ctx, a.Folder, imap.UID(a.UID))
		case a.Kind == "message":
			// The APPEND may have landed before a crash: look for it
			// (path mode: once IceWarp has seen the files).
			if pw != nil && !pw.refreshed {
				if derr = pw.refresh(ctx); derr != nil {
					break
				}
			}
			uid, found, ferr := mb.Find(ctx, a.Folder, a.MessageID, a.Date, a.Size)
			if derr = ferr; ferr == nil && found {
				derr = mb.Delete(ctx, a.Folder, uid)
			}
		case a.Resource != "" && im.Sinks.Groupware != nil:
			derr = im.Sinks.Groupware.Delete(ctx, target, a.Folder, a.Resource)
		}
		if derr != nil {
			log.Warn("delete failed", "id", id, "err", derr)
			st.Failed["delete failed"]++
			return nil
		}
		st.Deleted++
		return im.Ledger.del(source, id)
	})
	if err != nil {
		return err
	}
	return im.Ledger.sync()
}

// oldCopy is where the previous copy of a changed message is.
type oldCopy struct {
	folder []string
	uid    uint32
}

// keep records the old copy in a, so that a rerun deletes it if this run
// is interrupted.
func (o oldCopy) keep(a applied) applied {
	if o.uid != 0 {
		a.OldFolder, a.OldUID = o.folder, o.uid
	}
	return a
}

// dropReplaced deletes the previous copies of changed messages whose new
// copy is stored (its UID recorded), and clears them from the ledger.
func (im *Engine) dropReplaced(ctx context.Context, log *slog.Logger, st *MailboxStats, mb Mailbox, source string, replaced map[string]oldCopy) {
	for id, old := range replaced {
		a, ok := im.Ledger.get(source, id)
		if !ok || a.Pending || a.UID == 0 {
			continue // the new copy is not safely in place: keep the old one
		}
		if a.UID != old.uid || !slices.Equal(a.Folder, old.folder) {
			if err := mb.Delete(ctx, old.folder, imap.UID(old.uid)); err != nil {
				log.Warn("previous copy of a changed message not deleted", "id", id, "err", err)
				st.Failed["previous copy not deleted"]++
				continue
			}
			if st.Appended > 0 {
				st.Appended-- // the new copy replaces the old: an update
				st.Updated++
			}
		}
		a.OldFolder, a.OldUID = nil, 0
		im.Ledger.put(source, id, a)
	}
}

// folderKey is the map key of a target folder path (names may hold any
// character, NUL too).
func folderKey(path []string) string { return fmt.Sprintf("%q", path) }

// unknownFolders returns the folders (folderKey) of order that the ledger
// has no record of but that already hold messages on the target: the
// ledger was lost, deleted, or another --ledger was given. Their messages
// are looked up on the target before they are written, as --rebuild does,
// so that none is stored twice; the operator is told once per mailbox.
// known holds the folders of the records found so far; the records of
// items no longer in the view are read for theirs only if needed.
func (im *Engine) unknownFolders(ctx context.Context, log *slog.Logger, label string, mb Mailbox, source string,
	order []string, paths map[string][]string, known, inView map[string]bool) (map[string]bool, error) {
	var unknown []string
	for _, k := range order {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil, nil
	}
	err := im.Ledger.each(source, func(id string) bool { return !inView[id] }, func(_ string, a applied) error {
		if !a.Damaged {
			known[folderKey(a.Folder)] = true
			if a.OldUID != 0 {
				known[folderKey(a.OldFolder)] = true
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	careful := map[string]bool{}
	var held []string
	total := 0
	for _, k := range unknown {
		if known[k] {
			continue
		}
		n := 0
		err := mb.List(ctx, paths[k], func(Summary) error { n++; return nil })
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			log.Warn("folder not listed: its messages are matched against the target", "folder", strings.Join(paths[k], "/"), "err", err)
			careful[k] = true
			continue
		}
		if n > 0 {
			careful[k] = true
			held = append(held, fmt.Sprintf("%s: %d", strings.Join(paths[k], "/"), n))
			total += n
		}
	}
	if len(held) == 0 {
		return careful, nil
	}
	const how = "matching against the target (as --rebuild does) so nothing is duplicated"
	where := fmt.Sprintf("ledger %s", im.Ledger.path)
	if len(held) == 1 {
		folder, _, _ := strings.Cut(held[0], ": ")
		im.Tell(fmt.Sprintf("%s/%s already holds %s the ledger does not know (%s): %s", label, folder, nMessages(total), where, how),
			"mailbox", label, "folder", folder, "messages", total)
		return careful, nil
	}
	list := held
	if len(list) > 10 {
		list = append(list[:10:10], "…")
	}
	im.Tell(fmt.Sprintf("%s already holds %s in %d folders the ledger does not know (%s; %s): %s",
		label, nMessages(total), len(held), where, strings.Join(list, ", "), how), "mailbox", label, "folders", len(held), "messages", total)
	return careful, nil
}

func nMessages(n int) string {
	if n == 1 {
		return "1 message"
	}
	return fmt.Sprintf("%d messages", n)
}

// markPending records the messages of a folder as pending (path mode), so
// that each is looked up on the target before its file is written.
func (im *Engine) markPending(source string, folder []string, entries []*archive.Entry, replaced map[string]oldCopy) error {
	recs := make([]ledgerRecord, len(entries))
	for i, e := range entries {
		recs[i] = ledgerRecord{e.ID, replaced[e.ID].keep(applied{Kind: "message", Folder: folder, Digest: digestHex(e), Pending: true,
			MessageID: e.Attrs["message-id"], Size: e.Size, Date: e.Received})}
	}
	return im.Ledger.putMany(source, recs)
}

// appendBatch appends the messages of one folder. Each is recorded as
// pending first; pending ones (and all, with --rebuild or careful) are
// looked up on the target before appending, so none is stored twice.
func (im *Engine) appendBatch(ctx context.Context, log *slog.Logger, st *MailboxStats, mb Mailbox, source string, folder []string, entries []*archive.Entry, replaced map[string]oldCopy, careful bool) error {
	const chunk = 200
	for len(entries) > 0 {
		n := min(chunk, len(entries))
		part := entries[:n]
		entries = entries[n:]
		careful := careful || im.rebuild
		msgs := make([]Message, len(part))
		for i, e := range part {
			if prev, ok := im.Ledger.get(source, e.ID); ok && prev.Pending {
				careful = true
			}
			e := e
			msgs[i] = Message{Size: e.Size, Flags: flagsOf(e), InternalDate: e.Received,
				MessageID: e.Attrs["message-id"], Open: func() (io.ReadCloser, error) { return im.open(e) }}
			if err := im.Ledger.put(source, e.ID, replaced[e.ID].keep(applied{Kind: "message", Folder: folder, Digest: digestHex(e), Pending: true,
				MessageID: e.Attrs["message-id"], Size: e.Size, Date: e.Received})); err != nil {
				return err
			}
		}
		res, err := mb.AppendBatch(ctx, folder, msgs, careful)
		if err != nil {
			return fmt.Errorf("append to %q: %w", strings.Join(folder, "/"), err)
		}
		for i, r := range res {
			e := part[i]
			if r.Err != nil {
				log.Warn("message not appended", "folder", strings.Join(folder, "/"), "id", e.ID, "err", r.Err)
				st.Failed["append failed"]++
				st.job.Add(1, 0)
				continue
			}
			if r.Existing {
				st.Found++
				st.job.Add(1, 0)
				if fl := flagsOf(e); len(fl) > 0 && r.UID != 0 {
					mb.SetFlags(ctx, folder, []imap.UID{r.UID}, fl)
				}
			} else {
				st.Appended++
				st.Written["message"]++
				st.Bytes += e.Size
				st.job.Add(1, e.Size)
			}
			if err := im.Ledger.put(source, e.ID, replaced[e.ID].keep(applied{Kind: "message", Folder: folder, UID: uint32(r.UID),
				Digest: digestHex(e), Flags: flagString(flagsOf(e)), MessageID: e.Attrs["message-id"], Size: e.Size, Date: e.Received})); err != nil {
				return err
			}
		}
	}
	return nil
}

// Run imports every mailbox with jobs workers. A mailbox that fails is
// logged and counted (MailboxStats.Err); the error is the context's.
func (im *Engine) Run(ctx context.Context, jobs int) error {
	var mbxs []string
	for m := range im.byMailbox {
		if m == "" && im.pfEmail == "" {
			continue
		}
		mbxs = append(mbxs, m)
	}
	sort.Strings(mbxs)
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	for _, m := range mbxs {
		g.Go(func() error {
			err := im.importMailbox(ctx, m)
			if err != nil && ctx.Err() == nil {
				im.log.Error("mailbox failed", "mailbox", m, "err", err)
				return nil
			}
			return err
		})
	}
	return g.Wait()
}

// Groups returns the archived groups.
func (im *Engine) Groups() []directory.Group { return im.groups }

// Folders returns the archive folders, in the order given to New.
func (im *Engine) Folders() []*archive.Folder {
	out := make([]*archive.Folder, len(im.sources))
	for i, s := range im.sources {
		out[i] = s.folder
	}
	return out
}

// Notice is where notices for the operator are printed (nil: the log).
func (im *Engine) Notice() io.Writer { return im.notice }
