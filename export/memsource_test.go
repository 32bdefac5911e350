package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/exchange/directory"
	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/format"
)

// memSource is an in-memory export.Source: mailboxes of folders of items.
// Its delta markers are JSON snapshots of what it reported last (item ID
// → version and read state), so Changes reports the difference.
type memSource struct {
	mu    sync.Mutex
	dir   *directory.Snapshot
	boxes map[string]*memBox

	failHierarchy map[string]error // mailbox → error of Hierarchy
	rejectMarkers bool             // every non-nil marker is rejected once
	rejected      map[string]bool
	onFetch       func(mailbox, id string) // called for every fetched item
	fetched       int
}

type memBox struct {
	folders []export.Folder
	roles   map[string]string
	items   map[string][]*memItem // by folder ID, in order
	acl     map[string]*format.ACL
}

type memItem struct {
	id, version, class string
	kind               export.ItemKind
	received           time.Time
	body               string
	read               bool
	problem            error // returned by Open
	rebuilt            error // Content.RebuiltWhy, when set
}

func newMemSource(addrs ...string) *memSource {
	s := &memSource{dir: &directory.Snapshot{}, boxes: map[string]*memBox{}, failHierarchy: map[string]error{}, rejected: map[string]bool{}}
	for _, a := range addrs {
		s.dir.Mailboxes = append(s.dir.Mailboxes, directory.Mailbox{DN: "cn=" + a, PrimarySMTP: a, DisplayName: a})
		s.boxes[a] = &memBox{
			folders: []export.Folder{
				{ID: a + "/root", DisplayName: "Top of Information Store"},
				{ID: a + "/inbox", ParentID: a + "/root", DisplayName: "Inbox", Class: "IPF.Note", Type: "Folder"},
				{ID: a + "/contacts", ParentID: a + "/root", DisplayName: "Contacts", Class: "IPF.Contact", Type: "ContactsFolder"},
				{ID: a + "/search", ParentID: a + "/root", DisplayName: "Finder", Type: "SearchFolder"},
			},
			roles: map[string]string{a + "/root": export.RoleRoot, a + "/inbox": "inbox", a + "/contacts": "contacts"},
			items: map[string][]*memItem{},
			acl:   map[string]*format.ACL{},
		}
	}
	s.dir.Groups = append(s.dir.Groups, directory.Group{DN: "cn=staff", Name: "staff", PrimarySMTP: "staff@example.com"})
	return s
}

func (s *memSource) add(mailbox, folder string, it *memItem) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.boxes[mailbox]
	b.items[mailbox+"/"+folder] = append(b.items[mailbox+"/"+folder], it)
}

func (s *memSource) item(mailbox, id string) *memItem {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, its := range s.boxes[mailbox].items {
		for _, it := range its {
			if it.id == id {
				return it
			}
		}
	}
	return nil
}

func (s *memSource) remove(mailbox, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.boxes[mailbox]
	for f, its := range b.items {
		b.items[f] = slices.DeleteFunc(its, func(it *memItem) bool { return it.id == id })
	}
}

func (s *memSource) Directory(context.Context) (*directory.Snapshot, error) { return s.dir, nil }

func (s *memSource) reject(key string, marker []byte) error {
	if s.rejectMarkers && marker != nil && !s.rejected[key] {
		s.rejected[key] = true
		return export.MarkerRejected(errors.New("mem: stale marker"))
	}
	return nil
}

func (s *memSource) Hierarchy(_ context.Context, mailbox string, marker []byte) (*export.Hierarchy, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.failHierarchy[mailbox]; err != nil {
		return nil, err
	}
	if err := s.reject(mailbox, marker); err != nil {
		return nil, err
	}
	b := s.boxes[mailbox]
	var known map[string]string
	json.Unmarshal(marker, &known)
	now := map[string]string{}
	h := &export.Hierarchy{Roles: maps.Clone(b.roles)}
	for _, f := range b.folders {
		now[f.ID] = f.DisplayName + "/" + f.ParentID
		if known[f.ID] != now[f.ID] {
			kind := export.Create
			if _, ok := known[f.ID]; ok {
				kind = export.Update
			}
			h.Changes = append(h.Changes, export.FolderChange{Kind: kind, Folder: f})
		}
	}
	for id := range known {
		if _, ok := now[id]; !ok {
			h.Changes = append(h.Changes, export.FolderChange{Kind: export.Delete, Folder: export.Folder{ID: id}})
		}
	}
	h.Marker, _ = json.Marshal(now)
	return h, nil
}

type memState struct {
	Version string
	Read    bool
}

func (s *memSource) Changes(_ context.Context, mailbox, folderID string, marker []byte, fn func(export.ItemChange) error) ([]byte, error) {
	s.mu.Lock()
	if err := s.reject(folderID, marker); err != nil {
		s.mu.Unlock()
		return marker, err
	}
	var known map[string]memState
	json.Unmarshal(marker, &known)
	now := map[string]memState{}
	var changes []export.ItemChange
	for _, it := range s.boxes[mailbox].items[folderID] {
		now[it.id] = memState{it.version, it.read}
		k, ok := known[it.id]
		switch {
		case !ok:
			changes = append(changes, export.ItemChange{Kind: export.Create, Ref: export.ItemRef{ID: it.id, Version: it.version, Kind: it.kind}})
		case k.Version != it.version:
			changes = append(changes, export.ItemChange{Kind: export.Update, Ref: export.ItemRef{ID: it.id, Version: it.version, Kind: it.kind}})
		case k.Read != it.read:
			changes = append(changes, export.ItemChange{Kind: export.ReadFlagChange, Ref: export.ItemRef{ID: it.id}, IsRead: it.read})
		}
	}
	for id := range known {
		if _, ok := now[id]; !ok {
			changes = append(changes, export.ItemChange{Kind: export.Delete, Ref: export.ItemRef{ID: id}})
		}
	}
	s.mu.Unlock()
	for _, c := range changes {
		if err := fn(c); err != nil {
			return marker, err
		}
	}
	return json.Marshal(now)
}

func (s *memSource) Fetch(_ context.Context, mailbox string, kind export.ItemKind, refs []export.ItemRef, fn func(*export.Item) error) error {
	for _, r := range refs {
		it := s.item(mailbox, r.ID)
		x := &export.Item{ID: r.ID, Version: r.Version}
		if it == nil {
			x.Missing = errors.New("mem: no such item")
		} else {
			if it.kind != kind {
				return fmt.Errorf("mem: %s fetched as kind %d", r.ID, kind)
			}
			x.Class, x.Received = it.class, it.received
			body, problem, read, rebuilt := it.body, it.problem, it.read, it.rebuilt
			x.Open = func() (*export.Content, error) {
				if problem != nil {
					return nil, problem
				}
				c := &export.Content{Kind: archive.KindMessage, Attrs: map[string]string{"read": "0"}}
				if read {
					c.Attrs["read"] = "1"
				}
				if kind == export.KindContact {
					c.Kind, c.Attrs = archive.KindContact, nil
				}
				c.Rebuilt, c.RebuiltWhy = rebuilt != nil, rebuilt
				if len(body) > 10 {
					c.Body = strings.NewReader(body) // as a stream
				} else {
					c.Data = []byte(body)
				}
				return c, nil
			}
		}
		s.mu.Lock()
		s.fetched++
		on := s.onFetch
		s.mu.Unlock()
		if on != nil {
			on(mailbox, r.ID)
		}
		if err := fn(x); err != nil {
			return err
		}
	}
	return nil
}

func (s *memSource) Permissions(_ context.Context, mailbox, folderID string) (*format.ACL, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.boxes[mailbox].acl[folderID], nil
}

func (s *memSource) fetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.fetched
	s.fetched = 0
	return n
}

func newLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

var t0 = time.Date(2020, 5, 1, 12, 0, 0, 0, time.UTC)

// org is two mailboxes with mail and a contact each.
func org() *memSource {
	s := newMemSource("alice@example.com", "bob@example.com")
	for _, a := range []string{"alice@example.com", "bob@example.com"} {
		for i := range 5 {
			s.add(a, "inbox", &memItem{id: fmt.Sprintf("%s-m%d", a, i), version: "v1", class: "IPM.Note", kind: export.KindMail,
				received: t0.Add(time.Duration(i) * time.Hour), body: fmt.Sprintf("Subject: %d of %s\r\n\r\nhello, a long enough body", i, a)})
		}
		s.add(a, "contacts", &memItem{id: a + "-c0", version: "v1", class: "IPM.Contact", kind: export.KindContact, body: "BEGIN:VCARD"})
	}
	return s
}

type testArchive struct {
	t   *testing.T
	dir string
	f   *archive.Folder
}

func newArchive(t *testing.T) *testArchive {
	return &testArchive{t: t, dir: t.TempDir()}
}

// run opens the archive folder afresh (as each iem-export run does) and writes one round.
func (a *testArchive) run(ctx context.Context, src export.Source, opt export.Options) (*export.Result, error) {
	a.t.Helper()
	dir, _ := src.Directory(ctx)
	if a.f != nil {
		a.f.Close()
	}
	f, err := archive.OpenFolder(a.dir, &archive.FolderOptions{Writer: "export test"})
	if err != nil {
		a.t.Fatal(err)
	}
	a.f = f
	a.t.Cleanup(func() { f.Close() })
	opt.Folder = f
	if opt.Mailboxes == nil {
		for _, m := range dir.Mailboxes {
			opt.Mailboxes = append(opt.Mailboxes, m.PrimarySMTP)
		}
	}
	if opt.Accounts == nil {
		for i := range dir.Mailboxes {
			opt.Accounts = append(opt.Accounts, &dir.Mailboxes[i])
		}
	}
	if opt.Jobs == 0 {
		opt.Jobs = 2
	}
	opt.SpoolDir = a.dir
	return export.Run(ctx, src, opt)
}

// view reopens the archive and returns its logical view.
func (a *testArchive) view() (*archive.Folder, *archive.View) {
	a.t.Helper()
	f, err := archive.OpenFolder(a.dir, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	a.t.Cleanup(func() { f.Close() })
	if err := f.Verify(); err != nil {
		a.t.Fatal(err)
	}
	return f, f.View()
}

func (a *testArchive) body(f *archive.Folder, e *archive.Entry) string {
	rc, err := f.Open(e)
	if err != nil {
		a.t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return string(b)
}

func statsOf(res *export.Result) map[string]*export.MailboxStats {
	m := map[string]*export.MailboxStats{}
	for _, s := range res.Stats {
		m[s.Mailbox] = s
	}
	return m
}

func TestRound(t *testing.T) {
	src := org()
	src.boxes["alice@example.com"].acl["alice@example.com/inbox"] = &format.ACL{}
	a := newArchive(t)
	res, err := a.run(context.Background(), src, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Round != 1 || res.Resumed || res.Interrupted {
		t.Errorf("result %+v, want round 1", res)
	}
	for _, m := range []string{"alice@example.com", "bob@example.com"} {
		st := statsOf(res)[m]
		if st == nil || st.Found != 6 || st.Exported != 6 || st.Folders != 3 || st.Err != "" {
			t.Errorf("%s stats %+v, want 6 found and exported in 3 folders", m, st)
		}
	}
	f, v := a.view()
	kinds := map[archive.Kind]int{}
	for _, e := range v.Entries() {
		kinds[e.Kind]++
	}
	want := map[archive.Kind]int{archive.KindMailbox: 2, archive.KindGroup: 1, archive.KindFolder: 6, archive.KindMessage: 10,
		archive.KindContact: 2, archive.KindDelta: 6}
	if !maps.Equal(kinds, want) {
		t.Errorf("view kinds %v, want %v", kinds, want)
	}
	e, ok := v.Item("alice@example.com", "alice@example.com-m3")
	if !ok || e.ChangeKey != "v1" || e.Attrs["class"] != "IPM.Note" || e.Attrs["read"] != "0" || !e.Received.Equal(t0.Add(3*time.Hour)) {
		t.Fatalf("message entry %+v", e)
	}
	if got := a.body(f, e); got != src.item("alice@example.com", e.ID).body {
		t.Errorf("body %q", got)
	}
	// Folders carry their path and role; search folders are left out.
	for _, e := range v.Entries() {
		if e.Kind == archive.KindFolder && e.ID == "alice@example.com/inbox" {
			var rec struct {
				Path          []string
				Distinguished string
				ACL           *format.ACL
			}
			json.Unmarshal([]byte(a.body(f, e)), &rec)
			if strings.Join(rec.Path, "/") != "Inbox" || rec.Distinguished != "inbox" || rec.ACL == nil {
				t.Errorf("inbox record %+v", rec)
			}
		}
		if e.Kind == archive.KindFolder && strings.HasSuffix(e.ID, "/search") {
			t.Errorf("search folder exported")
		}
	}

	// An unchanged source: a second round writes no item and fetches nothing.
	src.fetches()
	res, err = a.run(context.Background(), src, export.Options{})
	if err != nil || res.Round != 2 {
		t.Fatalf("round 2: %v %+v", err, res)
	}
	for _, st := range res.Stats {
		if st.Exported != 0 || st.Found != 0 {
			t.Errorf("unchanged round 2: %+v", st)
		}
	}
	if n := src.fetches(); n != 0 {
		t.Errorf("unchanged round 2 fetched %d items", n)
	}
}

func TestSecondRoundWithChanges(t *testing.T) {
	src := org()
	a := newArchive(t)
	if _, err := a.run(context.Background(), src, export.Options{}); err != nil {
		t.Fatal(err)
	}
	const mbx = "alice@example.com"
	src.add(mbx, "inbox", &memItem{id: mbx + "-new", version: "v1", class: "IPM.Note", kind: export.KindMail, received: t0, body: "new message, streamed"})
	changed := src.item(mbx, mbx+"-m1")
	changed.version, changed.body = "v2", "changed body, a new version"
	src.remove(mbx, mbx+"-m2")
	src.item(mbx, mbx+"-m4").read = true
	src.fetches()
	res, err := a.run(context.Background(), src, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := statsOf(res)[mbx]
	if st.Found != 2 || st.Exported != 2 || st.Deleted != 1 || st.Flags != 1 || st.Unchanged != 0 {
		t.Errorf("round 2 stats %+v, want 2 found and exported, 1 deleted, 1 flag change", st)
	}
	if bob := statsOf(res)["bob@example.com"]; bob.Found != 0 || bob.Exported != 0 {
		t.Errorf("bob changed nothing: %+v", bob)
	}
	if n := src.fetches(); n != 2 {
		t.Errorf("round 2 fetched %d items, want 2", n)
	}
	f, v := a.view()
	if _, ok := v.Item(mbx, mbx+"-m2"); ok {
		t.Error("deleted item still in the view")
	}
	if e, ok := v.Item(mbx, mbx+"-m1"); !ok || e.ChangeKey != "v2" || a.body(f, e) != "changed body, a new version" {
		t.Errorf("changed item: %+v", e)
	}
	if _, ok := v.Item(mbx, mbx+"-new"); !ok {
		t.Error("new item missing")
	}
	hist := map[archive.Kind]int{}
	f.Walk(func(e *archive.Entry) error {
		if e.Round == 2 {
			hist[e.Kind]++
			if e.Kind == archive.KindState && (e.ID != mbx+"-m4" || e.Attrs["read"] != "1") {
				t.Errorf("state entry %+v", e)
			}
		}
		return nil
	})
	// Only alice's inbox changed: one new marker, no folder or directory record again.
	want := map[archive.Kind]int{archive.KindMessage: 2, archive.KindTombstone: 1, archive.KindState: 1, archive.KindDelta: 1}
	if !maps.Equal(hist, want) {
		t.Errorf("round 2 entries %v, want %v", hist, want)
	}
}

// TestFailedItemRetried: an item that failed in round 1 is fetched again in
// round 2 though the Source reports no change (the marker moved past it),
// and archived once it can be read; while it keeps failing, every round
// tries it again. Round 3, with nothing to retry, fetches nothing.
func TestFailedItemRetried(t *testing.T) {
	src := org()
	const mbx = "alice@example.com"
	bad := &memItem{id: "flaky", version: "v1", kind: export.KindMail, body: "x", problem: export.Fail("server error on GetItem", nil)}
	src.add(mbx, "inbox", bad)
	a := newArchive(t)
	for round := 1; round <= 4; round++ {
		if round == 3 {
			bad.problem = nil // the server answers again
		}
		src.fetches()
		res, err := a.run(context.Background(), src, export.Options{})
		if err != nil {
			t.Fatal(err)
		}
		st := statsOf(res)[mbx]
		_, v := a.view()
		_, archived := v.Item(mbx, "flaky")
		fetched := src.fetches()
		switch round {
		case 2: // still failing: found, fetched and failed again
			if st.Found != 1 || st.Failed["server error on GetItem"] != 1 || fetched != 1 || archived {
				t.Errorf("round 2: %+v, fetched %d, archived %v", st, fetched, archived)
			}
		case 3:
			if st.Found != 1 || st.Exported != 1 || len(st.Failed) != 0 || fetched != 1 || !archived {
				t.Errorf("round 3: %+v, fetched %d, archived %v", st, fetched, archived)
			}
		case 4:
			if st.Found != 0 || fetched != 0 {
				t.Errorf("round 4: %+v, fetched %d", st, fetched)
			}
		}
	}
}

// TestResumeInterrupted interrupts round 1 in the middle of a mailbox; the
// next run continues the round and fetches only what was not yet written.
func TestResumeInterrupted(t *testing.T) {
	src := org()
	a := newArchive(t)
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	src.onFetch = func(mailbox, id string) {
		if n++; n == 3 {
			cancel() // the item in hand is written, then the run stops
		}
	}
	res, err := a.run(ctx, src, export.Options{Jobs: 1})
	if !errors.Is(err, context.Canceled) || !res.Interrupted || res.Round != 1 {
		t.Fatalf("interrupted run = %v, %+v", err, res)
	}
	written := src.fetches()
	src.onFetch = nil
	res, err = a.run(context.Background(), src, export.Options{Jobs: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed || res.Round != 1 {
		t.Errorf("second run %+v, want round 1 resumed", res)
	}
	unchanged := 0
	for _, st := range res.Stats {
		unchanged += st.Unchanged
	}
	// Every item is fetched once over the two runs: the first run's
	// items in a folder it did not finish are found again, unchanged.
	if fetched := src.fetches(); fetched+written != 12 || unchanged == 0 {
		t.Errorf("resumed run fetched %d and found %d unchanged (first run %d), want 12 in all, none twice", fetched, unchanged, written)
	}
	_, v := a.view()
	items := 0
	for _, e := range v.Entries() {
		if e.Kind == archive.KindMessage || e.Kind == archive.KindContact {
			items++
		}
	}
	if items != 12 {
		t.Errorf("view holds %d items, want 12", items)
	}
}

// TestDedupAfterRejectedMarkers: when the Source rejects every marker, the
// folders are synced from scratch; items already archived with the same
// version are not fetched again, and those gone are tombstoned.
func TestDedupAfterRejectedMarkers(t *testing.T) {
	src := org()
	a := newArchive(t)
	if _, err := a.run(context.Background(), src, export.Options{}); err != nil {
		t.Fatal(err)
	}
	const mbx = "bob@example.com"
	src.remove(mbx, mbx+"-m0")
	src.rejectMarkers = true
	src.fetches()
	res, err := a.run(context.Background(), src, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := src.fetches(); n != 0 {
		t.Errorf("%d items fetched again", n)
	}
	st := statsOf(res)[mbx]
	if st.Found != 5 || st.Unchanged != 5 || st.Exported != 0 || st.Deleted != 1 {
		t.Errorf("stats %+v, want 5 found and unchanged, 1 deleted", st)
	}
	_, v := a.view()
	if _, ok := v.Item(mbx, mbx+"-m0"); ok {
		t.Error("item gone from the source still in the view")
	}
	// The same body written twice is stored once (archive dedup).
	src2 := newMemSource("carol@example.com")
	for i := range 3 {
		src2.add("carol@example.com", "inbox", &memItem{id: fmt.Sprint("copy", i), version: "v1", kind: export.KindMail, body: "the same message, three times"})
	}
	b := newArchive(t)
	if _, err := b.run(context.Background(), src2, export.Options{}); err != nil {
		t.Fatal(err)
	}
	f, v := b.view()
	stored := 0
	for _, e := range v.Entries() {
		if e.Kind == archive.KindMessage {
			if e.Ref == nil {
				stored++
			}
			if b.body(f, e) != "the same message, three times" {
				t.Errorf("copy %s body differs", e.ID)
			}
		}
	}
	if stored != 1 {
		t.Errorf("the body is stored %d times, want once", stored)
	}
}

// TestSourceErrorPerMailbox: a mailbox the Source fails on is reported in
// its row; the others are exported and the round closes.
func TestSourceErrorPerMailbox(t *testing.T) {
	src := org()
	src.failHierarchy["bob@example.com"] = errors.New("mem: mailbox not reachable")
	src.add("alice@example.com", "inbox", &memItem{id: "bad", version: "v1", kind: export.KindMail, problem: export.Skip("unreadable properties", errors.New("garbled"))})
	src.add("alice@example.com", "inbox", &memItem{id: "worse", version: "v1", kind: export.KindMail, problem: export.Fail("mime unavailable and rebuild failed", nil)})
	src.add("alice@example.com", "inbox", &memItem{id: "old", version: "v1", kind: export.KindMail, received: time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC), body: "x"})
	a := newArchive(t)
	var logs bytes.Buffer
	res, err := a.run(context.Background(), src, export.Options{StartYear: 2000, Log: newLogger(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	bob, alice := statsOf(res)["bob@example.com"], statsOf(res)["alice@example.com"]
	if bob.Err != "mem: mailbox not reachable" || bob.Exported != 0 {
		t.Errorf("bob %+v, want the source's error", bob)
	}
	if alice.Err != "" || alice.Exported != 6 || alice.Found != 9 || alice.Skipped["unreadable properties"] != 1 ||
		alice.Failed["mime unavailable and rebuild failed"] != 1 || alice.Filtered["received before 2000"] != 1 {
		t.Errorf("alice %+v", alice)
	}
	if !strings.Contains(logs.String(), "mailbox failed") || !strings.Contains(logs.String(), "item skipped") {
		t.Errorf("log lacks the failures:\n%s", logs.String())
	}
	f, v := a.view()
	if _, ok := v.Item("alice@example.com", "old"); ok {
		t.Error("filtered item archived")
	}
	if !f.LastRoundVerified() || f.LastRound() != 1 {
		t.Errorf("round 1 not closed")
	}
}
