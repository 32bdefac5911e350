package exchange_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/exchange"
	"github.com/iemproject/iem/exchange/directory"
	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/export"
)

// archiveRound exports one round of every mailbox of org from e into dir.
func archiveRound(t *testing.T, e *env, dir string) *export.Result {
	t.Helper()
	f, err := archive.OpenFolder(dir, &archive.FolderOptions{Writer: "exchange test"})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var boxes []string
	for _, u := range e.org.Users {
		boxes = append(boxes, u.SMTP)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var ldif bytes.Buffer
	if err := e.org.WriteLDIF(&ldif); err != nil {
		t.Fatal(err)
	}
	dirSnap, err := directory.ReadLDIF(&ldif)
	if err != nil {
		t.Fatal(err)
	}
	res, err := export.Run(ctx, exchange.NewSource(e.c, dirSnap), export.Options{Folder: f, Mailboxes: boxes, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Stats {
		if s.Err != "" {
			t.Fatalf("mailbox %s: %s", s.Mailbox, s.Err)
		}
	}
	return res
}

// archiveEntries counts the archive folders and their items in dir's view.
func archiveEntries(t *testing.T, dir, mailbox string) (folders, items int, paths []string) {
	t.Helper()
	f, err := archive.OpenFolder(dir, &archive.FolderOptions{Existing: true})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	inArchive := map[string]bool{}
	ents := f.View().Entries()
	for _, x := range ents {
		if x.Kind == archive.KindFolder && x.Mailbox == mailbox && x.Attrs["side"] == export.SideArchive {
			inArchive[x.ID] = true
			folders++
			paths = append(paths, x.Attrs["path"])
		}
	}
	for _, x := range ents {
		if x.Kind == archive.KindMessage && x.Mailbox == mailbox && inArchive[x.Folder] {
			items++
		}
	}
	return folders, items, paths
}

// TestArchiveMailboxExport: on 2016 the archive of alice is exported with
// the mailbox (its folders marked side=archive, paths below the archive's
// root, its permissions), counted apart; a second round after Mutate takes
// only the archive's changes through its own markers (a message moved from
// the primary into the archive is deleted there and exported here); bob
// has none.
func TestArchiveMailboxExport(t *testing.T) {
	org := ewstest.Generate(1, ewstest.OrgOptions{Archives: 1})
	e := start(t, ewstest.Exchange2016, org, nil, nil)
	dir := t.TempDir()
	res := archiveRound(t, e, dir)
	want := org.Stats()
	var arch *export.MailboxStats
	for _, s := range res.Stats {
		switch {
		case s.Mailbox == alice:
			arch = s.Archive
		case s.Archive != nil || s.ArchiveSkipped != "":
			t.Errorf("%s: archive %+v, skipped %q; want none", s.Mailbox, s.Archive, s.ArchiveSkipped)
		}
	}
	if arch == nil || arch.Exported != want.ArchiveItems || arch.Folders != want.ArchiveFolders {
		t.Fatalf("alice's archive stats %+v, want %d items in %d folders", arch, want.ArchiveItems, want.ArchiveFolders)
	}
	folders, items, paths := archiveEntries(t, dir, alice)
	if folders != want.ArchiveFolders || items != want.ArchiveItems {
		t.Fatalf("archive view: %d folders, %d items; want %d, %d", folders, items, want.ArchiveFolders, want.ArchiveItems)
	}
	if !strings.Contains(strings.Join(paths, " "), `["2019","Projekte alt"]`) {
		t.Errorf("archive paths %v lack 2019/Projekte alt below the archive root", paths)
	}

	org.Mutate(2)
	res = archiveRound(t, e, dir)
	for _, s := range res.Stats {
		if s.Mailbox == alice && (s.Archive == nil || s.Archive.Exported != 2 || s.Archive.Deleted != 1) {
			t.Fatalf("round 2 archive stats %+v, want 2 exported (a new and a moved message), 1 deleted", s.Archive)
		}
	}
	if _, items, _ = archiveEntries(t, dir, alice); items != org.Stats().ArchiveItems {
		t.Errorf("after round 2: %d archive items, want %d", items, org.Stats().ArchiveItems)
	}
	res = archiveRound(t, e, dir)
	for _, s := range res.Stats {
		if s.Mailbox == alice && (s.Archive == nil || s.Archive.Exported != 0 || s.Archive.Found != 0) {
			t.Errorf("unchanged round 3 archive stats %+v, want nothing found", s.Archive)
		}
	}
}

// TestArchiveMailbox2007: a 2007 server is not asked for archives (its
// schema has none: the emulator would fail the request), and every
// mailbox says so.
func TestArchiveMailbox2007(t *testing.T) {
	e := start(t, ewstest.Exchange2007SP1, ewstest.Generate(1, ewstest.OrgOptions{Archives: 1}), nil, nil)
	res := archiveRound(t, e, t.TempDir())
	for _, s := range res.Stats {
		if s.Archive != nil || !strings.Contains(s.ArchiveSkipped, "Exchange 2010 SP1") || !strings.Contains(s.ArchiveSkipped, "Exchange2007_SP1") {
			t.Errorf("%s: archive %+v, skipped %q", s.Mailbox, s.Archive, s.ArchiveSkipped)
		}
	}
	_, err := exchange.NewSource(e.c, nil).ArchiveHierarchy(context.Background(), alice, nil)
	if !errors.Is(err, export.ErrNotSupported) {
		t.Errorf("ArchiveHierarchy on 2007 = %v, want ErrNotSupported", err)
	}
	if strings.Contains(e.log.String(), "archivemsgfolderroot") {
		t.Errorf("a 2007 server was asked for archive folders:\n%s", e.log.String())
	}
}

// TestArchiveMailbox2010: 2010 SP2 has archives but no archiveinbox id (a
// 2013 SP1 one): the archive is exported whole without asking for it.
func TestArchiveMailbox2010(t *testing.T) {
	org := ewstest.Generate(1, ewstest.OrgOptions{Archives: 1})
	e := start(t, ewstest.Exchange2010SP2, org, nil, nil)
	dir := t.TempDir()
	archiveRound(t, e, dir)
	want := org.Stats()
	if folders, items, _ := archiveEntries(t, dir, alice); folders != want.ArchiveFolders || items != want.ArchiveItems {
		t.Fatalf("archive view: %d folders, %d items; want %d, %d", folders, items, want.ArchiveFolders, want.ArchiveItems)
	}
	if strings.Contains(e.log.String(), "ErrorSchemaValidation") {
		t.Errorf("a 2010 server was asked for an id its schema lacks:\n%s", e.log.String())
	}
}

// TestArchiveMailboxPlan: the plan counts a mailbox's archive with it.
func TestArchiveMailboxPlan(t *testing.T) {
	org := ewstest.Generate(1, ewstest.OrgOptions{Archives: 1})
	ctx := context.Background()
	for _, p := range []ewstest.Personality{ewstest.Exchange2016, ewstest.Exchange2007SP1} {
		src := exchange.NewSource(start(t, p, org, nil, nil).c, nil)
		fa, ia, err := src.CountMailbox(ctx, alice)
		if err != nil {
			t.Fatal(err)
		}
		fb, ib, err := src.CountMailbox(ctx, "bob@example.com")
		if err != nil {
			t.Fatal(err)
		}
		st := org.Stats()
		wantF, wantI := st.ArchiveFolders, st.ArchiveItems
		if p == ewstest.Exchange2007SP1 {
			wantF, wantI = 0, 0
		}
		if fa-fb != wantF || ia-ib != wantI {
			t.Errorf("%s: alice %d folders %d items, bob %d, %d; want alice's archive's %d, %d more", p, fa, ia, fb, ib, wantF, wantI)
		}
	}
}
