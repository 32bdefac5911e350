package pst

import (
	"context"
	"testing"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/export"
)

// TestCombine exports two mailboxes: one with dist-list.pst at its root and enron.pst
// and 32-bit.pst as archives, one with the Outlook.com OST; round 2 exports nothing,
// and the archive holds the archives' folders below Archives/<name>.
func TestCombine(t *testing.T) {
	open := func(addr, prefix string, tf testFile) *Source {
		s, err := NewSource(addr, addr, prefix, []string{tf.path(t)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := "a@example.com", "b@example.com"
	srcs, err := Combine(nil, open(a, "", testFiles[1]), open(a, "Archives/enron", testFiles[2]),
		open(a, "Archives/old", testFiles[0]), open(b, "", testFiles[3]))
	if err != nil {
		t.Fatal(err)
	}
	defer srcs.Close()
	if _, err := Combine(nil, open(a, "x", testFiles[0]), open(a, "x", testFiles[0])); err == nil {
		t.Error("Combine took the same set twice")
	}
	dir := t.TempDir()
	round := func() map[string]*export.MailboxStats {
		f, err := archive.OpenFolder(dir, &archive.FolderOptions{Writer: "pst test"})
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		res, err := export.Run(context.Background(), srcs, export.Options{Folder: f, Mailboxes: []string{a, b}, Jobs: 2, SpoolDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		rows := map[string]*export.MailboxStats{}
		for _, r := range res.Stats {
			if r.Err != "" {
				t.Errorf("%s: %s", r.Mailbox, r.Err)
			}
			rows[r.Mailbox] = r
		}
		if err := f.Verify(); err != nil {
			t.Error(err)
		}
		return rows
	}
	r1 := round()
	wantA := ipmRows(t, testFiles[0].path(t)) + ipmRows(t, testFiles[1].path(t)) + ipmRows(t, testFiles[2].path(t))
	if st := r1[a]; st.Exported+sum(st.Skipped)+sum(st.Failed) != wantA || st.Exported < 71 {
		t.Errorf("%s: %+v, want %d items", a, st, wantA)
	}
	if st := r1[b]; st.Exported+sum(st.Skipped)+sum(st.Failed) != ipmRows(t, testFiles[3].path(t)) {
		t.Errorf("%s: %+v", b, st)
	}
	for mbx, st := range round() {
		if st.Exported != 0 || st.Deleted != 0 || st.Folders != 0 {
			t.Errorf("round 2, %s: %d exported, %d deleted, %d folders", mbx, st.Exported, st.Deleted, st.Folders)
		}
	}
	f, err := archive.OpenFolder(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	paths := map[string]string{}
	for _, e := range f.View().Entries() {
		if e.Kind == archive.KindFolder && e.Mailbox == a {
			paths[e.Attrs["path"]] = e.Attrs["distinguished"]
		}
	}
	for p, role := range map[string]string{`["Inbox"]`: "inbox", `["Archives","enron","Deleted Items"]`: "", `["Archives","old","Calendar"]`: ""} {
		if r, ok := paths[p]; !ok || r != role {
			t.Errorf("folder %s: role %q (present %v), want %q; folders %v", p, r, ok, role, paths)
		}
	}
}
