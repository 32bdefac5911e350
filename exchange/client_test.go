package exchange_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/iemproject/iem/exchange"
	"github.com/iemproject/iem/exchange/ewstest"
)

// personalities maps each emulator personality to what the client must
// detect [V ews.md §1.1 table].
var personalities = []struct {
	p            ewstest.Personality
	major, minor int
	version      string
	request      exchange.Version
}{
	{ewstest.Exchange2007SP1, 8, 1, "", exchange.Exchange2007SP1},
	{ewstest.Exchange2010SP2, 14, 2, "", exchange.Exchange2010SP2},
	{ewstest.Exchange2013, 15, 0, "V2_23", exchange.Exchange2013SP1},
	{ewstest.Exchange2016, 15, 1, "V2016_10_10", exchange.Exchange2016},
}

func TestOperations(t *testing.T) {
	for _, pt := range personalities {
		t.Run(pt.p.String(), func(t *testing.T) {
			t.Parallel()
			e := start(t, pt.p, nil, nil, nil)
			ctx := context.Background()

			t.Run("ServerVersion", func(t *testing.T) {
				si, err := e.c.ServerVersion(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if si.Major != pt.major || si.Minor != pt.minor || si.Version != pt.version {
					t.Errorf("ServerVersion = %+v, want %d.%d Version %q", si, pt.major, pt.minor, pt.version)
				}
				v, err := e.c.RequestVersion(ctx)
				if err != nil || v != pt.request {
					t.Errorf("RequestVersion = %v, %v, want %v", v, err, pt.request)
				}
			})
			t.Run("SyncFolderHierarchy", func(t *testing.T) { testSyncFolderHierarchy(t, e, pt.request) })
			t.Run("SyncFolderItems", func(t *testing.T) { testSyncFolderItems(t, e, pt.request) })
			t.Run("GetItems", func(t *testing.T) { testGetItems(t, e, pt.request) })
			t.Run("GetFolder", func(t *testing.T) { testGetFolder(t, e) })
			t.Run("PublicFolders", func(t *testing.T) { testPublicFolders(t, e) })
			t.Run("FindItems", func(t *testing.T) { testFindItems(t, e) })
			t.Run("Impersonation", func(t *testing.T) { testImpersonationWire(t, e, pt.request) })
		})
	}
}

func testSyncFolderHierarchy(t *testing.T, e *env, v exchange.Version) {
	ctx := context.Background()
	before := len(e.srv.RequestLog("SyncFolderHierarchy"))
	changes, state, err := e.c.SyncFolderHierarchy(ctx, alice, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(state, "H4sI") {
		t.Errorf("state = %.10q..., want gzip+base64 (H4sI...)", state)
	}
	names := map[string]exchange.Folder{}
	for _, ch := range changes {
		if ch.Kind != exchange.Create {
			t.Errorf("first sync: change %v %q, want only Create", ch.Kind, ch.Folder.DisplayName)
		}
		names[ch.Folder.DisplayName] = ch.Folder
	}
	// 2010+ sync below msgfolderroot; 2007 has no SyncFolderId and sees
	// the whole tree below root [V ews.md §1.1].
	want := 12
	if v == exchange.Exchange2007SP1 {
		want = 14
	}
	if len(changes) != want {
		t.Errorf("first sync: %d folders, want %d: %v", len(changes), want, keys(names))
	}
	if f, ok := names["Archiv "]; !ok {
		t.Errorf("folder %q (trailing space) missing: %v", "Archiv ", keys(names))
	} else if f.Type != "Folder" || f.Class != "IPF.Note" || f.ID == "" || f.ParentID == "" {
		t.Errorf("Archiv = %+v", f)
	}
	if f := names["Calendar"]; f.Type != "CalendarFolder" || f.Class != "IPF.Appointment" {
		t.Errorf("Calendar = %+v, want CalendarFolder IPF.Appointment", f)
	}
	if f := names["Inbox"]; f.TotalCount != 4 || f.ChildFolderCount != 1 {
		t.Errorf("Inbox counts = %d items %d children, want 4, 1", f.TotalCount, f.ChildFolderCount)
	}

	again, state2, err := e.c.SyncFolderHierarchy(ctx, alice, state)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 0 {
		t.Errorf("second sync: %d changes, want 0", len(again))
	}

	// The 2007 schema has no SyncFolderId; 2010+ always send msgfolderroot
	// [V ews.md §1.1, §2.2 "Null and root are not treated the same"].
	reqs := e.srv.RequestLog("SyncFolderHierarchy")[before:]
	if len(reqs) != 2 {
		t.Fatalf("%d SyncFolderHierarchy requests, want 2", len(reqs))
	}
	for _, r := range reqs {
		has := bytes.Contains(r.Body, []byte("SyncFolderId"))
		if has != (v != exchange.Exchange2007SP1) {
			t.Errorf("%v request has SyncFolderId = %t:\n%s", v, has, r.Body)
		}
		if !bytes.Contains(r.Body, []byte(`RequestServerVersion Version="`+v.String()+`"`)) {
			t.Errorf("request does not send RequestServerVersion %s:\n%s", v, r.Body)
		}
	}
	if !bytes.Contains(reqs[1].Body, []byte(state)) {
		t.Errorf("second request does not carry the state")
	}
	_ = state2
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func testSyncFolderItems(t *testing.T, e *env, v exchange.Version) {
	ctx := context.Background()
	// A folder with more changes than one call returns: 512 + 512 + rest.
	const extra = 1100
	added := e.org.AddMessages("bob@example.com", "inbox", extra)
	if len(added) != extra {
		t.Fatalf("AddMessages = %d ids", len(added))
	}
	total := extra + 4
	before := len(e.srv.RequestLog("SyncFolderItems"))
	seen := map[string]int{}
	state, err := e.c.SyncFolderItems(ctx, "bob@example.com", "inbox", "", func(ch exchange.ItemChange) error {
		if ch.Kind != exchange.Create || ch.Type != "Message" || ch.Class != "IPM.Note" {
			t.Errorf("change = %+v, want Create Message IPM.Note", ch)
		}
		seen[ch.ID.ID]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != total {
		t.Errorf("%d distinct items, want %d", len(seen), total)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("item %s reported %d times", id, n)
		}
	}
	reqs := e.srv.RequestLog("SyncFolderItems")[before:]
	wantReqs := (total + exchange.MaxChanges - 1) / exchange.MaxChanges
	if len(reqs) != wantReqs {
		t.Errorf("%d SyncFolderItems requests for %d items, want %d", len(reqs), total, wantReqs)
	}
	for i, r := range reqs {
		if !bytes.Contains(r.Body, []byte("<m:MaxChangesReturned>512</m:MaxChangesReturned>")) {
			t.Errorf("request %d does not ask for 512 changes:\n%s", i, r.Body)
		}
		// SyncScope is 2010+ only [V ews.md §1.1, §2.5].
		if has := bytes.Contains(r.Body, []byte("SyncScope")); has != (v != exchange.Exchange2007SP1) {
			t.Errorf("%v request %d has SyncScope = %t", v, i, has)
		}
		if hasState := bytes.Contains(r.Body, []byte("<m:SyncState>")); hasState != (i > 0) {
			t.Errorf("request %d carries a SyncState = %t", i, hasState)
		}
		if r.Header.Get("X-AnchorMailbox") != "bob@example.com" {
			t.Errorf("request %d X-AnchorMailbox = %q", i, r.Header.Get("X-AnchorMailbox"))
		}
	}

	// Nothing changed: one call, no changes.
	n := 0
	state2, err := e.c.SyncFolderItems(ctx, "bob@example.com", "inbox", state, func(exchange.ItemChange) error { n++; return nil })
	if err != nil || n != 0 || state2 == "" {
		t.Errorf("resync = %d changes, state %q, %v; want 0 changes", n, state2, err)
	}

	// A round of changes in alice's inbox: two new, one edited, one
	// read-flag change, one moved away (deleted here) [ewstest Org.Mutate].
	_, aliceState := syncIDs(t, e.c, alice, "inbox")
	e.org.Mutate(7)
	kinds := map[exchange.ChangeKind]int{}
	_, err = e.c.SyncFolderItems(ctx, alice, "inbox", aliceState, func(ch exchange.ItemChange) error {
		kinds[ch.Kind]++
		if ch.Kind == exchange.Delete && ch.ID.ID == "" {
			t.Errorf("Delete without id")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[exchange.ChangeKind]int{exchange.Create: 2, exchange.Update: 1, exchange.ReadFlagChange: 1, exchange.Delete: 1}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Errorf("round 2 changes = %v, want %v", kinds, want)
	}
}

func testGetItems(t *testing.T, e *env, v exchange.Version) {
	ctx := context.Background()
	for _, folder := range []string{"inbox", "sentitems", "notes"} {
		ids, _ := syncIDs(t, e.c, "carol@example.com", folder)
		if len(ids) == 0 {
			t.Fatalf("%s: no items", folder)
		}
		mimes, errs := collectMIME(t, e.c, "carol@example.com", ids)
		if len(errs) != 0 {
			t.Errorf("%s: item errors %v", folder, errs)
		}
		for _, id := range ids {
			want := e.org.MIME(id.ID)
			if !bytes.Equal(mimes[id.ID], want) {
				t.Errorf("%s: MIME of %s = %d bytes, want %d", folder, id.ID, len(mimes[id.ID]), len(want))
			}
		}
	}

	// Property sets: contacts, calendar (with the recurring master's
	// exception), tasks [V ews.md §4].
	cases := []struct {
		folder string
		kind   exchange.ItemKind
		types  []string
	}{
		{"contacts", exchange.KindContact, []string{"Contact", "DistributionList"}},
		{"calendar", exchange.KindCalendar, []string{"CalendarItem"}},
		{"tasks", exchange.KindTask, []string{"Task"}},
	}
	for _, tc := range cases {
		ids, _ := syncIDs(t, e.c, "carol@example.com", tc.folder)
		var occ []exchange.ItemID
		var got []*exchange.Item
		err := e.c.GetItems(ctx, "carol@example.com", ids, tc.kind, func(it *exchange.Item) error {
			got = append(got, it)
			if it.MIME != nil {
				t.Errorf("%s: %s item has MIME", tc.folder, tc.kind)
			}
			occ = append(occ, it.ModifiedOccurrences...)
			return nil
		})
		if err != nil {
			t.Fatalf("%s: GetItems: %v", tc.folder, err)
		}
		if len(got) != len(ids) {
			t.Fatalf("%s: %d items for %d ids", tc.folder, len(got), len(ids))
		}
		for i, it := range got {
			if it.Err != nil || it.ID.ID != ids[i].ID || !slices.Contains(tc.types, it.Type) || len(it.XML) == 0 {
				t.Errorf("%s: item %d = %s %q err %v, want one of %v in order", tc.folder, i, it.Type, it.ID.ID, it.Err, tc.types)
			}
			if !bytes.HasPrefix(it.XML, []byte("<t:"+it.Type)) {
				t.Errorf("%s: XML starts %.30q", tc.folder, it.XML)
			}
		}
		if tc.kind == exchange.KindCalendar {
			if len(occ) != 1 {
				t.Fatalf("calendar: %d modified occurrences, want 1", len(occ))
			}
			var ex *exchange.Item
			if err := e.c.GetItems(ctx, "carol@example.com", occ, exchange.KindCalendar, func(it *exchange.Item) error { ex = it; return nil }); err != nil {
				t.Fatal(err)
			}
			if ex == nil || ex.Err != nil || ex.CalendarItemType != "Exception" {
				t.Errorf("occurrence = %+v, want an Exception", ex)
			}
			var master *exchange.Item
			for _, it := range got {
				if it.CalendarItemType == "RecurringMaster" {
					master = it
				}
			}
			if master == nil {
				t.Fatal("no RecurringMaster")
			}
			// 2007 SP1 uses MeetingTimeZone, 2010+ StartTimeZone [V ews.md §1.1, §4.3].
			tz := "StartTimeZone"
			if v == exchange.Exchange2007SP1 {
				tz = "MeetingTimeZone"
			}
			if !bytes.Contains(master.XML, []byte(tz)) {
				t.Errorf("%v master XML lacks %s", v, tz)
			}
		}
	}
}

func testGetFolder(t *testing.T, e *env) {
	ctx := context.Background()
	f, err := e.c.GetFolder(ctx, alice, "inbox")
	if err != nil {
		t.Fatal(err)
	}
	if f.DisplayName != "Inbox" || f.Class != "IPF.Note" || f.ID == "" {
		t.Errorf("GetFolder(inbox) = %+v", f)
	}
	tests := []struct {
		folder    string
		wantList  string
		wantLevel string
	}{
		{"inbox", "<t:Permissions>", "<t:PermissionLevel>Reviewer</t:PermissionLevel>"},
		{"calendar", "<t:CalendarPermissions>", "<t:CalendarPermissionLevel>FreeBusyTimeOnly</t:CalendarPermissionLevel>"},
	}
	for _, tt := range tests {
		raw, err := e.c.GetFolderPermissions(ctx, alice, tt.folder)
		if err != nil {
			t.Fatalf("GetFolderPermissions(%s): %v", tt.folder, err)
		}
		if !bytes.HasPrefix(raw, []byte("<t:PermissionSet>")) || !bytes.Contains(raw, []byte(tt.wantList)) || !bytes.Contains(raw, []byte(tt.wantLevel)) {
			t.Errorf("GetFolderPermissions(%s) = %s, want %s with %s", tt.folder, raw, tt.wantList, tt.wantLevel)
		}
	}
	// Permissions are asked for explicitly on every version [V ews.md §2.4].
	var asked bool
	for _, r := range e.srv.RequestLog("GetFolder") {
		if bytes.Contains(r.Body, []byte(`FieldURI="folder:PermissionSet"`)) {
			asked = true
		}
	}
	if !asked {
		t.Error("no GetFolder request asked for folder:PermissionSet")
	}
	// Several folders in one request, one of them missing.
	n := e.srv.Requests("GetFolder")
	fs, errs, err := e.c.GetFolders(ctx, alice, []string{"inbox", "nosuchfolder-AAMk", "calendar", "msgfolderroot"})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.srv.Requests("GetFolder") - n; got != 1 {
		t.Errorf("GetFolders sent %d requests, want 1", got)
	}
	var fe *exchange.Error
	if fs[0].ID != f.ID || errs[0] != nil || !asErr(errs[1], &fe) || fe.Code != "ErrorFolderNotFound" ||
		fs[2].Class != "IPF.Appointment" || errs[2] != nil || fs[3].ID == "" || errs[3] != nil {
		t.Errorf("GetFolders = %+v, %v", fs, errs)
	}
	_, err = e.c.GetFolder(ctx, "nobody@example.com", "inbox")
	var ee *exchange.Error
	if !asErr(err, &ee) || ee.Code != "ErrorNonExistentMailbox" {
		t.Errorf("GetFolder(unknown mailbox) = %v, want ErrorNonExistentMailbox", err)
	}
}

func testPublicFolders(t *testing.T, e *env) {
	ctx := context.Background()
	var paths []string
	ids := map[string]string{}
	err := e.c.PublicFolders(ctx, func(pf exchange.PublicFolder) error {
		p := strings.Join(pf.Path, "/")
		paths = append(paths, p)
		ids[p] = pf.ID
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Company", "Company/Announcements", "Shared Contacts"}
	if !slices.Equal(paths, want) {
		t.Fatalf("PublicFolders = %q, want %q (parents first)", paths, want)
	}
	// Shallow only: public folders refuse Deep traversal [V ews.md §2.3].
	for _, r := range e.srv.RequestLog("FindFolder") {
		if !bytes.Contains(r.Body, []byte(`Traversal="Shallow"`)) {
			t.Errorf("FindFolder not shallow:\n%s", r.Body)
		}
	}
}

func testFindItems(t *testing.T, e *env) {
	ctx := context.Background()
	// Public folder paging: more items than one FindItem page (500).
	var annID string
	if err := e.c.PublicFolders(ctx, func(pf exchange.PublicFolder) error {
		if pf.DisplayName == "Announcements" {
			annID = pf.ID
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	before, _ := countItems(t, e.c, "", annID)
	added := e.org.AddMessages("", annID, 1001)
	if len(added) != 1001 {
		t.Fatalf("AddMessages(public) = %d", len(added))
	}
	n0 := len(e.srv.RequestLog("FindItem"))
	after, dup := countItems(t, e.c, "", annID)
	if after != before+1001 || dup != 0 {
		t.Errorf("FindItems = %d items (%d duplicates), want %d", after, dup, before+1001)
	}
	if got := len(e.srv.RequestLog("FindItem")) - n0; got != 3 {
		t.Errorf("%d FindItem pages for %d items, want 3", got, after)
	}
	// FindItemsIn a mailbox folder.
	n, _ := countItems(t, e.c, "carol@example.com", "sentitems")
	if want := len(e.org.FolderItems("carol@example.com", "sentitems")); n != want || n == 0 {
		t.Errorf("FindItemsIn(sentitems) = %d, want %d", n, want)
	}
}

func countItems(t *testing.T, c *exchange.Client, mailbox, folder string) (n, dup int) {
	t.Helper()
	seen := map[string]bool{}
	err := c.FindItemsIn(context.Background(), mailbox, folder, func(r exchange.ItemRef) error {
		if seen[r.ID.ID] {
			dup++
		}
		seen[r.ID.ID] = true
		if r.ID.ChangeKey == "" || r.Type == "" || r.Class == "" {
			t.Errorf("ItemRef = %+v, want id, change key, type, class", r)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("FindItemsIn(%q, %q): %v", mailbox, folder, err)
	}
	return len(seen), dup
}

// testImpersonationWire checks the impersonation header shape: 2007 has
// only PrimarySmtpAddress [V ews.md §2.1 aa581005(v=exchg.80)].
func testImpersonationWire(t *testing.T, e *env, v exchange.Version) {
	if _, err := e.c.GetFolder(context.Background(), "erin@example.com", "inbox"); err == nil || !strings.Contains(err.Error(), "ErrorNonExistentMailbox") {
		// erin does not exist with 3 users; the fault must be typed.
		t.Errorf("GetFolder(erin) = %v, want ErrorNonExistentMailbox", err)
	}
	if _, err := e.c.GetFolder(context.Background(), "bob@example.com", "inbox"); err != nil {
		t.Fatal(err)
	}
	log := e.srv.RequestLog("GetFolder")
	last := log[len(log)-1]
	tag := "<t:SmtpAddress>bob@example.com</t:SmtpAddress>"
	if v == exchange.Exchange2007SP1 {
		tag = "<t:PrimarySmtpAddress>bob@example.com</t:PrimarySmtpAddress>"
	}
	if !bytes.Contains(last.Body, []byte(tag)) {
		t.Errorf("%v impersonation lacks %s:\n%s", v, tag, last.Body)
	}
	if last.Header.Get("X-AnchorMailbox") != "bob@example.com" {
		t.Errorf("X-AnchorMailbox = %q", last.Header.Get("X-AnchorMailbox"))
	}
}

// TestPublicFolderPaging walks a public folder with more children than
// one FindFolder page (500) [V ews.md §2.3, §2.6 next Offset = IndexedPagingOffset].
func TestPublicFolderPaging(t *testing.T) {
	e := start(t, ewstest.Exchange2010SP2, nil, nil, nil)
	parent := ""
	if err := e.c.PublicFolders(context.Background(), func(pf exchange.PublicFolder) error {
		if pf.DisplayName == "Shared Contacts" {
			parent = pf.ID
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	const n = 1003
	for i := range n {
		if e.org.AddPublicFolder(parent, fmt.Sprintf("Sub %04d", i)) == "" {
			t.Fatal("AddPublicFolder failed")
		}
	}
	seen := map[string]bool{}
	err := e.c.PublicFolders(context.Background(), func(pf exchange.PublicFolder) error {
		p := strings.Join(pf.Path, "/")
		if seen[p] {
			t.Errorf("folder %q reported twice", p)
		}
		seen[p] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != n+3 {
		t.Errorf("PublicFolders = %d folders, want %d", len(seen), n+3)
	}
	if !seen["Shared Contacts/Sub 1002"] || !seen["Shared Contacts/Sub 0000"] {
		t.Errorf("first or last subfolder missing")
	}
	pages := 0
	for _, r := range e.srv.RequestLog("FindFolder") {
		if bytes.Contains(r.Body, []byte(parent)) {
			pages++
		}
	}
	// The first walk asked once (no children yet), the second pages
	// through 1003 children with 500 per page.
	if pages != 1+3 {
		t.Errorf("%d FindFolder requests for the parent, want 1+3", pages)
	}
}
