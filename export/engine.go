package export

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/exchange/directory"
	"github.com/iemproject/iem/format"
	"github.com/iemproject/iem/internal/progress"
	"github.com/iemproject/iem/internal/report"
)

// engine writes one round: the directory, then each selected mailbox.
type engine struct {
	src       Source
	dir       *directory.Snapshot
	folder    *archive.Folder
	view      *archive.View
	log       *slog.Logger
	startYear int
	spoolDir  string
	idx       map[viewKey][]*archive.Entry
	keysOf    map[string][]viewKey // idx's keys by mailbox

	mu sync.Mutex // guards rw and sums
	rw *archive.RoundWriter

	statsMu sync.Mutex
	stats   map[string]*MailboxStats

	prog *progress.Progress // nil: no progress shown

	// stop is cancelled by Ctrl-C or SIGTERM. The requests in flight run
	// on until the item being fetched is written (at most interruptGrace),
	// and the export stops at the next item boundary.
	stop context.Context
}

// stopping returns the interruption, if any, at an item or folder boundary.
func (e *engine) stopping() error {
	if e.stop != nil && e.stop.Err() != nil {
		return e.stop.Err()
	}
	return nil
}

// MailboxStats are the summary counts of one mailbox; they reconcile:
// found = exported + unchanged + filtered + skipped + failed. Their JSON
// form is the "mailboxes" rows of the export report.
type MailboxStats struct {
	Mailbox   string         `json:"mailbox"`
	Found     int            `json:"found"`
	Exported  int            `json:"exported"`
	Unchanged int            `json:"unchanged"` // already in the archive with the same ChangeKey
	Filtered  map[string]int `json:"filtered,omitempty"`
	Skipped   map[string]int `json:"skipped,omitempty"`
	Failed    map[string]int `json:"failed,omitempty"`
	// Rebuilt counts the items exported but rebuilt from properties (Content.Rebuilt), by
	// the Reason of a RebuiltWhy that is a *Problem, else "rebuilt from properties".
	Rebuilt map[string]int `json:"rebuilt,omitempty"`
	Deleted int            `json:"deleted"`
	Flags   int            `json:"flagChanges"`
	Folders int            `json:"folders"`
	Bytes   int64          `json:"bytes"`
	Seconds float64        `json:"seconds"`
	Err     string         `json:"error,omitempty"`

	// NotReadable counts, by reason, what the Source cannot read of the
	// mailbox (notreadable.go); not items, so not in Found.
	NotReadable map[string]int `json:"notReadable,omitempty"`
	// Archive counts the archive mailbox (nil: none); ArchiveSkipped is
	// why it was not asked for (the server version), if so.
	Archive        *MailboxStats `json:"archive,omitempty"`
	ArchiveSkipped string        `json:"archiveSkipped,omitempty"`

	// NotAsked counts what the source was not asked, by reason (e.g. the
	// inbox rules of a server version without GetInboxRules): reported,
	// not an item, and no reason for a partial round.
	NotAsked map[string]int `json:"notAsked,omitempty"`

	job *progress.Job // this mailbox's progress line
}

func (e *engine) statsFor(mbx string) *MailboxStats {
	e.statsMu.Lock()
	defer e.statsMu.Unlock()
	s, ok := e.stats[mbx]
	if !ok {
		s = &MailboxStats{Mailbox: mbx, Filtered: map[string]int{}, Skipped: map[string]int{}, Failed: map[string]int{},
			NotReadable: map[string]int{}, Rebuilt: map[string]int{}, NotAsked: map[string]int{}}
		e.stats[mbx] = s
	}
	return s
}

// put writes one entry with its body under the writer lock.
func (e *engine) put(h *archive.Header, body []byte) error {
	// Hash and compress before taking the writer lock, so that the jobs
	// compress on every core and the lock covers only the write (the
	// profile showed jobs waiting for each other's compression).
	pp, err := e.preparer()
	if err != nil {
		return err
	}
	defer e.releasePreparer(pp)
	h.Size = int64(len(body))
	p, err := pp.Prepare(h, body)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rw.WritePrepared(p)
}

// preparers keeps one archive.Preparer per job between items.
var preparers = make(chan *archive.Preparer, 16)

func (e *engine) preparer() (*archive.Preparer, error) {
	select {
	case pp := <-preparers:
		return pp, nil
	default:
		return archive.NewPreparer(0)
	}
}

func (e *engine) releasePreparer(pp *archive.Preparer) {
	select {
	case preparers <- pp:
	default:
		pp.Close()
	}
}

// putReader writes an entry whose body streams from r (a spooled large item).
func (e *engine) putReader(h *archive.Header, r io.Reader, size int64) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	h.Size = size
	if err := e.rw.WriteHeader(h); err != nil {
		return err
	}
	_, err := io.Copy(e.rw, r)
	return err
}

// checkpoint makes everything written so far durable.
func (e *engine) checkpoint() error {
	e.mu.Lock()
	sync, err := e.rw.SyncFunc()
	e.mu.Unlock()
	if err != nil {
		return err
	}
	// The fsync runs without the lock: other jobs go on writing meanwhile.
	return sync()
}

// putIfChanged writes a JSON record unless the view holds the same bytes.
func (e *engine) putIfChanged(prev *archive.Entry, h *archive.Header, v any) (bool, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return false, err
	}
	if prev != nil && prev.Digest == sha256.Sum256(body) {
		return false, nil
	}
	return true, e.put(h, body)
}

// readBody returns the body of an archived entry (a delta marker, a JSON record).
func (e *engine) readBody(ent *archive.Entry) ([]byte, error) {
	rc, err := e.folder.Open(ent)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, 64<<20))
}

// writeDirectory records the directory: one entry per mailbox and group, when changed.
func (e *engine) writeDirectory(mailboxes []*directory.Mailbox) error {
	for _, m := range mailboxes {
		prev, _ := e.viewEntry(archive.KindMailbox, m.PrimarySMTP, "")
		h := &archive.Header{Kind: archive.KindMailbox, Mailbox: m.PrimarySMTP, ID: m.PrimarySMTP,
			Attrs: map[string]string{"name": m.DisplayName, "type": m.Type.String()}}
		if _, err := e.putIfChanged(prev, h, m); err != nil {
			return err
		}
	}
	for i := range e.dir.Groups {
		g := &e.dir.Groups[i]
		id := g.PrimarySMTP
		if id == "" {
			id = g.DN
		}
		prev, _ := e.viewEntry(archive.KindGroup, "", id)
		h := &archive.Header{Kind: archive.KindGroup, ID: id, Attrs: map[string]string{"name": g.Name}}
		if _, err := e.putIfChanged(prev, h, g); err != nil {
			return err
		}
	}
	return e.checkpoint()
}

// viewEntry finds the current archived entry of a kind and identity.
func (e *engine) viewEntry(kind archive.Kind, mailbox, id string) (*archive.Entry, bool) {
	for _, ent := range e.viewIndex()[viewKey{kind, mailbox, id}] {
		return ent, true
	}
	return nil, false
}

type viewKey struct {
	kind        archive.Kind
	mailbox, id string
}

// viewIndex indexes the archive's logical view by kind and identity; it
// is built once, before any mailbox runs, and only read afterwards.
func (e *engine) viewIndex() map[viewKey][]*archive.Entry {
	if e.idx == nil {
		e.idx = map[viewKey][]*archive.Entry{}
		e.keysOf = map[string][]viewKey{}
		for _, ent := range e.view.Entries() {
			k := viewKey{ent.Kind, ent.Mailbox, ent.ID}
			if ent.Kind == archive.KindMailbox || ent.Kind == archive.KindSettings {
				k.id = ""
			}
			if e.idx[k] == nil {
				e.keysOf[k.mailbox] = append(e.keysOf[k.mailbox], k)
			}
			e.idx[k] = append(e.idx[k], ent)
		}
	}
	return e.idx
}

// mailboxKeys returns the index keys of one mailbox's entries: a mailbox
// looks at its own entries only (walking the whole index for each mailbox
// and folder grew with mailboxes times items).
func (e *engine) mailboxKeys(mbx string) []viewKey {
	e.viewIndex()
	return e.keysOf[mbx]
}

// folderRecord is the JSON body of a folder entry (SPEC.md §4.1).
type folderRecord struct {
	ID            string      `json:"id"`
	ParentID      string      `json:"parentId,omitempty"`
	DisplayName   string      `json:"displayName"`
	Path          []string    `json:"path"`
	Class         string      `json:"class,omitempty"`
	Type          string      `json:"type,omitempty"`
	Distinguished string      `json:"distinguished,omitempty"`
	ACL           *format.ACL `json:"acl,omitempty"`
	// Side is "" for the primary mailbox, SideArchive for its archive.
	Side string `json:"side,omitempty"`
}

// exportMailbox runs one mailbox: its folder tree, then its archive.
func (e *engine) exportMailbox(ctx context.Context, mbx string) (err error) {
	st := e.statsFor(mbx)
	st.job = e.prog.Job(mbx)
	defer st.job.Done()
	defer report.Time(&st.Seconds, &st.Err)(&err)
	if err := e.exportTree(ctx, st, mbx, side{root: RoleRoot, hierarchy: e.src.Hierarchy}); err != nil {
		return err
	}
	return e.exportArchive(ctx, st, mbx)
}

// exportTree runs one folder tree of a mailbox (the primary, or its
// archive: sd): hierarchy, folders, items, delta markers.
func (e *engine) exportTree(ctx context.Context, st *MailboxStats, mbx string, sd side) error {
	log := e.log.With("mailbox", mbx)
	if sd.name != "" {
		log = log.With("side", sd.name)
	}

	// Folder hierarchy since the last round.
	var hmarker []byte
	if ent, ok := e.view.Delta(mbx, sd.marker); ok {
		b, err := e.readBody(ent)
		if err != nil {
			return err
		}
		hmarker = b
	}
	hier, err := sd.hierarchy(ctx, mbx, hmarker)
	if errors.Is(err, ErrMarkerRejected) {
		log.Warn("hierarchy sync state rejected; syncing from scratch")
		hier, err = sd.hierarchy(ctx, mbx, nil)
	}
	if nr, ok := notReadableMailbox(st, err); ok {
		log.Warn("mailbox not readable", "reason", nr.Reason, "err", nr.Err)
		return nil
	}
	if err != nil {
		return err
	}
	for r, n := range hier.NotReadable {
		st.NotReadable[r] += n
	}
	changes, roles := hier.Changes, hier.Roles

	// Folders known from earlier rounds, updated with the changes.
	folders := map[string]*folderRecord{}
	for _, k := range e.mailboxKeys(mbx) {
		if ents := e.idx[k]; k.kind == archive.KindFolder {
			b, err := e.readBody(ents[0])
			if err != nil {
				return err
			}
			var fr folderRecord
			if json.Unmarshal(b, &fr) == nil && fr.Side == sd.name {
				folders[fr.ID] = &fr
			}
		}
	}
	changed := map[string]bool{}
	for _, c := range changes {
		switch c.Kind {
		case Delete:
			if _, ok := folders[c.Folder.ID]; ok {
				if err := e.put(&archive.Header{Kind: archive.KindTombstone, Mailbox: mbx, ID: c.Folder.ID,
					Attrs: map[string]string{"kind": "folder"}}, nil); err != nil {
					return err
				}
			}
			delete(folders, c.Folder.ID)
		default:
			f := c.Folder
			folders[f.ID] = &folderRecord{ID: f.ID, ParentID: f.ParentID, DisplayName: f.DisplayName,
				Class: f.Class, Type: f.Type, Distinguished: roles[f.ID], Side: sd.name}
			changed[f.ID] = true
		}
	}
	rootID := ""
	for id, r := range roles {
		if r == sd.root {
			rootID = id
		}
	}
	for _, f := range folders {
		f.Path = folderPath(folders, f.ID, rootID)
		if f.Distinguished == "" {
			f.Distinguished = roles[f.ID]
		}
	}
	ids := make([]string, 0, len(folders))
	for id := range folders {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		return strings.Join(folders[ids[i]].Path, "/") < strings.Join(folders[ids[j]].Path, "/")
	})

	for _, id := range ids {
		f := folders[id]
		if f.Type == "SearchFolder" {
			continue
		}
		if changed[id] {
			acl, err := e.src.Permissions(ctx, mbx, id)
			switch {
			case err == nil && acl != nil:
				marked := acl.MarkGroups(func(a string) bool { _, ok := e.dir.Group(a); return ok })
				f.ACL = &marked
			case errors.Is(err, ErrUnreadable):
				log.Warn("folder permissions unreadable", "folder", f.DisplayName, "err", err)
			case err != nil:
				log.Warn("folder permissions not read", "folder", f.DisplayName, "err", err)
			}
		}
		prev, _ := e.viewEntry(archive.KindFolder, mbx, id)
		pathJSON, _ := json.Marshal(f.Path)
		h := &archive.Header{Kind: archive.KindFolder, Mailbox: mbx, Folder: f.ParentID, ID: id,
			Attrs: map[string]string{"name": f.DisplayName, "path": string(pathJSON), "class": f.Class}}
		if f.Distinguished != "" {
			h.Attrs["distinguished"] = f.Distinguished
		}
		if sd.name != "" {
			h.Attrs["side"] = sd.name
		}
		if prev != nil && !changed[id] {
			continue
		}
		if _, err := e.putIfChanged(prev, h, f); err != nil {
			return err
		}
		st.Folders++
	}

	if err := e.exportSettings(ctx, log, st, mbx); err != nil {
		return err
	}

	var export []*folderRecord
	for _, id := range ids {
		if f := folders[id]; f.Type != "SearchFolder" && len(f.Path) > 0 {
			export = append(export, f)
		}
	}
	pre := e.prefetchSyncs(ctx, log, mbx, export)
	for _, f := range export {
		if err := e.stopping(); err != nil {
			return err
		}
		if err := e.exportFolder(ctx, log, st, mbx, f, pre[f.ID]); err != nil {
			return fmt.Errorf("folder %q: %w", strings.Join(f.Path, "/"), err)
		}
	}
	if len(hmarker) > 0 && len(changes) == 0 {
		// As for an unchanged folder: the stored state still holds, so no
		// new marker and no fsync.
		return nil
	}
	if err := e.put(&archive.Header{Kind: archive.KindDelta, Mailbox: mbx, Folder: sd.marker}, hier.Marker); err != nil {
		return err
	}
	return e.checkpoint()
}

// exportSettings writes the mailbox's settings entry when the Source
// reads settings and they changed since the archived ones.
func (e *engine) exportSettings(ctx context.Context, log *slog.Logger, st *MailboxStats, mbx string) error {
	ss, ok := e.src.(SettingsSource)
	if !ok {
		return nil
	}
	set, err := ss.MailboxSettings(ctx, mbx)
	if err == nil {
		e.addGrants(set, mbx)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.Warn("mailbox settings not read", "err", err)
		st.Skipped["settings not read: "+err.Error()]++
		return nil
	}
	for _, why := range set.NotRead {
		st.NotAsked[why]++
	}
	prev, _ := e.viewEntry(archive.KindSettings, mbx, "")
	if len(set.Failed) > 0 {
		e.carrySettings(log, st, prev, set)
	}
	_, err = e.putIfChanged(prev, &archive.Header{Kind: archive.KindSettings, Mailbox: mbx, ID: mbx}, set)
	return err
}

// carrySettings keeps the previous round's value of each settings part
// the source could not read this round, so that the archive's latest
// view does not lose the delegates, out-of-office or rules of an earlier
// round to one failed request; the summary says, per part, that it was
// not read or not re-read, and why. Not a reason for a partial round:
// the next round asks again.
func (e *engine) carrySettings(log *slog.Logger, st *MailboxStats, prev *archive.Entry, set *format.MailboxSettings) {
	var old *format.MailboxSettings
	if prev != nil {
		b, err := e.readBody(prev)
		if err == nil {
			old = new(format.MailboxSettings)
			err = json.Unmarshal(b, old)
		}
		if err != nil {
			log.Warn("previous settings not readable", "err", err)
			old = nil
		}
	}
	kept := map[string]bool{}
	for _, p := range set.Carry(old) {
		kept[p] = true
	}
	for part, err := range set.Failed {
		why := part + ": " + err.Error()
		if kept[part] {
			why = part + ": not re-read, the previous round's kept: " + err.Error()
		}
		log.Warn("mailbox settings part not read", "part", part, "kept", kept[part], "err", err)
		st.NotAsked[why]++
	}
}

// addGrants copies the mailbox's Full Access and Send As grantees from
// the directory snapshot into its settings.
func (e *engine) addGrants(set *format.MailboxSettings, mbx string) {
	if e.dir == nil {
		return
	}
	if m, ok := e.dir.Mailbox(mbx); ok {
		set.FullAccess, set.SendAs = m.FullAccess, m.SendAs
	}
}

// folderPath returns the display names from below the root down to id.
func folderPath(folders map[string]*folderRecord, id, rootID string) []string {
	var path []string
	for i := 0; i < 64 && id != "" && id != rootID; i++ {
		f, ok := folders[id]
		if !ok {
			break
		}
		path = append([]string{f.DisplayName}, path...)
		id = f.ParentID
	}
	return path
}

// folderSync is the outcome of Source.Changes on one folder: its item
// changes since the stored marker and the marker the next round starts from.
type folderSync struct {
	state, newState []byte
	full            bool // synced without a state (first round, or state rejected)
	creates, flags  []ItemChange
	deletes         []string
	seen            map[string]bool
	// retry is the items that failed in the round that wrote the stored
	// marker (its "retry" attribute): fetched again, as the marker moved
	// past them.
	retry []ItemRef
	err   error
}

// syncFolder asks for the item changes of one folder since its delta
// marker; a rejected state makes it start the folder again without one.
func (e *engine) syncFolder(ctx context.Context, log *slog.Logger, mbx string, f *folderRecord) *folderSync {
	fs := &folderSync{seen: map[string]bool{}}
	if ent, ok := e.view.Delta(mbx, f.ID); ok {
		b, err := e.readBody(ent)
		if err != nil {
			fs.err = err
			return fs
		}
		fs.state = b
		if fs.retry, err = decodeRetry(ent.Attrs["retry"]); err != nil {
			fs.err = fmt.Errorf("delta marker of folder %q: attribute retry: %w", f.DisplayName, err)
			return fs
		}
	}
	collect := func(c ItemChange) error {
		switch c.Kind {
		case Create, Update:
			fs.creates = append(fs.creates, c)
			fs.seen[c.Ref.ID] = true
		case Delete:
			fs.deletes = append(fs.deletes, c.Ref.ID)
		case ReadFlagChange:
			fs.flags = append(fs.flags, c)
		}
		return nil
	}
	fs.full = len(fs.state) == 0
	newState, err := e.src.Changes(ctx, mbx, f.ID, fs.state, collect)
	if errors.Is(err, ErrMarkerRejected) {
		// Start the folder again without state; items already archived are
		// skipped below by ID and ChangeKey, and items no longer reported
		// are tombstoned, so nothing is duplicated or left behind.
		log.Warn("sync state rejected; resynchronizing folder", "folder", f.DisplayName)
		fs.creates, fs.deletes, fs.flags, fs.seen, fs.full = nil, nil, nil, map[string]bool{}, true
		newState, err = e.src.Changes(ctx, mbx, f.ID, nil, collect)
	}
	if err != nil {
		fs.err = fmt.Errorf("sync folder items: %w", err)
	}
	fs.newState = newState
	return fs
}

// prefetchSyncs runs syncFolder on the folders that have a delta marker, a
// few at a time, before their items are fetched one folder after the
// other: a later round on a mailbox that changed little is then bound by
// the slowest few round trips, not by one round trip per folder. Folders
// without a marker (a first round) are left to exportFolder, whose
// changes can be a whole folder's worth.
func (e *engine) prefetchSyncs(ctx context.Context, log *slog.Logger, mbx string, folders []*folderRecord) map[string]*folderSync {
	out := make(map[string]*folderSync)
	var mu sync.Mutex
	var g errgroup.Group
	g.SetLimit(syncConcurrency)
	for _, f := range folders {
		if _, ok := e.view.Delta(mbx, f.ID); !ok {
			continue
		}
		g.Go(func() error {
			fs := e.syncFolder(ctx, log, mbx, f)
			mu.Lock()
			out[f.ID] = fs
			mu.Unlock()
			return nil
		})
	}
	g.Wait()
	return out
}

// syncConcurrency bounds the Source.Changes calls in flight per mailbox
// (for EWS, SyncFolderItems: Exchange's default EWSMaxConcurrency is 27
// per account; for Graph, Outlook serves 4 requests at once per app and
// mailbox, graph.md §7, and the emulator refuses a fifth).
const syncConcurrency = 4

// exportFolder takes the item changes of one folder since its delta marker
// (pre: from prefetchSyncs, or nil to sync now).
func (e *engine) exportFolder(ctx context.Context, log *slog.Logger, st *MailboxStats, mbx string, f *folderRecord, pre *folderSync) error {
	fs := pre
	if fs == nil {
		fs = e.syncFolder(ctx, log, mbx, f)
	}
	if fs.err != nil {
		return fs.err
	}
	state, newState, full := fs.state, fs.newState, fs.full
	creates, deletes, flags, seen := fs.creates, fs.deletes, fs.flags, fs.seen
	if full && len(state) > 0 || full && e.folderHasItems(mbx, f.ID) {
		for _, k := range e.mailboxKeys(mbx) {
			for _, x := range e.idx[k] {
				if x.Mailbox == mbx && x.Folder == f.ID && x.Kind != archive.KindFolder && x.Kind != archive.KindDelta && !seen[x.ID] {
					deletes = append(deletes, x.ID)
				}
			}
		}
	}
	for _, r := range fs.retry {
		if !seen[r.ID] && !slices.Contains(deletes, r.ID) {
			creates = append(creates, ItemChange{Kind: Update, Ref: r})
		}
	}
	st.Found += len(creates)
	if !full && len(creates) == 0 && len(deletes) == 0 && len(flags) == 0 {
		// Nothing changed: the stored sync state is still where the next
		// round starts, so no new marker and no fsync (a later round on an
		// unchanged organisation is then one SyncFolderItems per folder).
		return nil
	}

	for _, id := range deletes {
		if _, ok := e.view.Item(mbx, id); !ok {
			continue
		}
		if err := e.put(&archive.Header{Kind: archive.KindTombstone, Mailbox: mbx, Folder: f.ID, ID: id}, nil); err != nil {
			return err
		}
		st.Deleted++
	}
	flagged := map[string]bool{}
	for _, c := range flags {
		read := "0"
		if c.IsRead {
			read = "1"
		}
		// A read state the archive already holds is not a change (a
		// Source may report the state of every updated item: Graph).
		if prev, ok := e.view.Item(mbx, c.Ref.ID); !ok || prev.Attrs["read"] == read {
			continue
		}
		if err := e.put(&archive.Header{Kind: archive.KindState, Mailbox: mbx, Folder: f.ID, ID: c.Ref.ID,
			Attrs: map[string]string{"read": read}}, nil); err != nil {
			return err
		}
		st.Flags++
		flagged[c.Ref.ID] = true
	}

	// Fetch what is new or changed, grouped by how GetItem must fetch it.
	byKind := map[ItemKind][]ItemRef{}
	for _, c := range creates {
		if prev, ok := e.view.Item(mbx, c.Ref.ID); ok && prev.ChangeKey == c.Ref.Version {
			if flagged[c.Ref.ID] {
				// Reported as updated, with the same version: its only
				// change was the read state, counted as a flag change.
				st.Found--
				continue
			}
			st.Unchanged++
			continue
		}
		byKind[c.Ref.Kind] = append(byKind[c.Ref.Kind], c.Ref)
	}
	// The change list of a large folder is tens of megabytes; only the
	// IDs to fetch are needed from here on.
	creates, seen, fs.creates, fs.seen = nil, nil, nil, nil
	n := 0
	for _, ids := range byKind {
		n += len(ids)
	}
	st.job.Folder(strings.Join(f.Path, "/"), n)
	var failed []ItemRef
	for _, k := range ItemKinds {
		if len(byKind[k]) == 0 {
			continue
		}
		err := e.src.Fetch(ctx, mbx, k, byKind[k], func(it *Item) error {
			err := e.exportItem(log, st, mbx, f, it, func() {
				failed = append(failed, ItemRef{ID: it.ID, Version: it.Version, Kind: k})
			})
			st.job.Add(1, 0)
			if err == nil {
				err = e.stopping() // interrupted: this item is written, stop here
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("get items: %w", err)
		}
	}
	// The folder is done: record where the next round starts, and what it
	// must fetch again.
	h := &archive.Header{Kind: archive.KindDelta, Mailbox: mbx, Folder: f.ID}
	if len(failed) > 0 {
		h.Attrs = map[string]string{"retry": encodeRetry(failed)}
	}
	if err := e.put(h, newState); err != nil {
		return err
	}
	return e.checkpoint()
}

func (e *engine) folderHasItems(mbx, folderID string) bool {
	for _, k := range e.mailboxKeys(mbx) {
		if ents := e.idx[k]; ents[0].Folder == folderID && k.kind != archive.KindFolder {
			return true
		}
	}
	return false
}

// exportItem converts and writes one fetched item. onFail (when not nil)
// is called for an item that failed, for the next round to fetch again.
func (e *engine) exportItem(log *slog.Logger, st *MailboxStats, mbx string, f *folderRecord, it *Item, onFail func()) error {
	fail := func(reason string, err error) error {
		st.Failed[reason]++
		log.Error("item failed", "folder", f.DisplayName, "id", it.ID, "err", err)
		if onFail != nil {
			onFail()
		}
		return nil
	}
	h := &archive.Header{Mailbox: mbx, Folder: f.ID, ID: it.ID, ChangeKey: it.Version,
		Received: it.Received, Modified: it.Modified, Attrs: map[string]string{}}
	if it.Class != "" {
		h.Attrs["class"] = it.Class
	}
	skip := func(reason string, err error) error {
		log.Warn("item skipped", "folder", f.DisplayName, "id", it.ID, "reason", reason, "err", err)
		st.Skipped[reason]++
		return nil
	}
	if it.Missing != nil {
		return skip("item not found (deleted during export)", it.Missing)
	}
	if !it.Received.IsZero() && it.Received.Year() < e.startYear {
		st.Filtered[fmt.Sprintf("received before %d", e.startYear)]++
		return nil
	}
	if it.Open == nil {
		return skip("unknown item kind", nil)
	}
	c, err := it.Open()
	var p *Problem
	switch {
	case errors.As(err, &p) && p.Failed:
		return fail(p.Reason, p.Err)
	case errors.As(err, &p):
		return skip(p.Reason, p.Err)
	case err != nil:
		return err
	}
	h.Kind = c.Kind
	for k, v := range c.Attrs {
		h.Attrs[k] = v
	}
	if c.Rebuilt {
		h.Attrs["rebuilt"] = "1"
		log.Warn("message rebuilt from properties", "folder", f.DisplayName, "id", it.ID, "err", c.RebuiltWhy)
		reason := "rebuilt from properties"
		if errors.As(c.RebuiltWhy, &p) {
			reason = p.Reason
		}
		st.Rebuilt[reason]++
	}
	if c.Body != nil {
		// A stream failing with a *Problem after its first bytes (a PST
		// attachment's block gone) fails the item, not the mailbox;
		// doneStream wrote nothing of it.
		err := e.doneStream(st, h, c.Body)
		if errors.As(err, &p) && p.Failed && !isArchiveErr(err) {
			return fail(p.Reason, p.Err)
		}
		return err
	}
	return e.done(st, h, c.Data)
}

func (e *engine) done(st *MailboxStats, h *archive.Header, body []byte) error {
	if err := e.put(h, body); err != nil {
		return err
	}
	e.statsMu.Lock()
	st.Exported++
	st.Bytes += int64(len(body))
	e.statsMu.Unlock()
	st.job.Add(0, int64(len(body)))
	return nil
}

// streamBuffers keeps the in-memory buffers of doneStream (up to 4 MiB
// each) for reuse: growing a fresh one for every item was a fifth of an
// export's CPU time in the profile. A channel, not a sync.Pool: every GC
// emptied the pool, and an export allocates enough to run GC often.
var streamBuffers = make(chan *bytes.Buffer, 8)

func getStreamBuffer() *bytes.Buffer {
	select {
	case b := <-streamBuffers:
		b.Reset()
		return b
	default:
		return bytes.NewBuffer(make([]byte, 0, 64<<10))
	}
}

func putStreamBuffer(b *bytes.Buffer) {
	if b.Cap() > 8<<20 {
		return // the few large items do not pin megabytes per job
	}
	select {
	case streamBuffers <- b:
	default:
	}
}

// doneStream reads a MIME stream from the network before taking the writer
// lock: small bodies in memory, large ones spooled to a temporary file, so
// one slow mailbox never holds up the others' writes.
func (e *engine) doneStream(st *MailboxStats, h *archive.Header, r io.Reader) error {
	const inMemory = 4 << 20
	b := getStreamBuffer()
	defer putStreamBuffer(b)
	n, err := io.Copy(b, io.LimitReader(r, inMemory+1))
	if err != nil {
		return err
	}
	if n <= inMemory {
		return e.done(st, h, b.Bytes())
	}
	f, err := os.CreateTemp(e.spoolDir, ".iem-item-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	m, err := io.Copy(f, io.MultiReader(b, r))
	if err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := e.putReader(h, f, m); err != nil {
		return err
	}
	e.statsMu.Lock()
	st.Exported++
	st.Bytes += m
	e.statsMu.Unlock()
	st.job.Add(0, m)
	return nil
}

// runMailboxes exports the mailboxes with jobs workers. A mailbox that
// fails is recorded and the others go on; a failure of the archive aborts.
func (e *engine) runMailboxes(ctx context.Context, mailboxes []string, jobs int) error {
	// The mailboxes run on work, which an interruption (ctx) cancels only
	// after interruptGrace: until then the items being fetched are
	// finished and written, and each mailbox stops at its next item.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	defer context.AfterFunc(ctx, func() {
		e.log.Warn("interrupted: finishing the items being fetched; interrupt again to stop at once")
		time.AfterFunc(interruptGrace, cancelWork)
	})()
	e.stop = ctx
	g, gctx := errgroup.WithContext(work)
	g.SetLimit(jobs)
	for _, m := range mailboxes {
		g.Go(func() error {
			if err := e.stopping(); err != nil { // interrupted: start no other mailbox
				return err
			}
			err := e.exportMailbox(gctx, m)
			if err == nil {
				return nil
			}
			if ctx.Err() != nil || gctx.Err() != nil || isArchiveErr(err) {
				return err
			}
			e.log.Error("mailbox failed", "mailbox", m, "err", err)
			return nil
		})
	}
	return g.Wait()
}

func isArchiveErr(err error) bool {
	return errors.Is(err, archive.ErrFormat) || errors.Is(err, archive.ErrChecksum) || errors.Is(err, archive.ErrClosed) ||
		errors.Is(err, archive.ErrShortWrite) || errors.Is(err, os.ErrPermission)
}

// retryRef is one item of a delta marker's "retry" attribute (SPEC.md §4).
type retryRef struct {
	ID      string   `json:"id"`
	Version string   `json:"version,omitempty"`
	Kind    ItemKind `json:"kind"`
}

// encodeRetry is the "retry" attribute of a delta marker: the items of the
// folder that failed in this round, which the marker has moved past.
func encodeRetry(refs []ItemRef) string {
	rs := make([]retryRef, len(refs))
	for i, r := range refs {
		rs[i] = retryRef{r.ID, r.Version, r.Kind}
	}
	b, _ := json.Marshal(rs)
	return string(b)
}

func decodeRetry(s string) ([]ItemRef, error) {
	if s == "" {
		return nil, nil
	}
	var rs []retryRef
	if err := json.Unmarshal([]byte(s), &rs); err != nil {
		return nil, err
	}
	refs := make([]ItemRef, 0, len(rs))
	for _, r := range rs {
		if r.ID == "" || !slices.Contains(ItemKinds, r.Kind) {
			return nil, fmt.Errorf("item %q of kind %d", r.ID, r.Kind)
		}
		refs = append(refs, ItemRef{ID: r.ID, Version: r.Version, Kind: r.Kind})
	}
	return refs, nil
}
