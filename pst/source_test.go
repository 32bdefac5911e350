package pst

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/export"
)

// ipmRows counts the contents-table rows of the folders of the file's IPM subtree.
func ipmRows(t *testing.T, p string) int {
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	root, err := f.Folders(func(error) {})
	if err != nil {
		t.Fatal(err)
	}
	store, _ := f.NodePC(NIDMessageStore)
	n := 0
	var walk func(fo *Folder)
	walk = func(fo *Folder) {
		for _, c := range fo.Children {
			if c.NID&0x1F != nidTypeSearchFolder {
				rows, _ := f.Messages(c.NID)
				n += len(rows)
			}
			walk(c)
		}
	}
	walk(findSubtree(root, entryNID(store, pidIpmSubtreeEntryID)))
	return n
}

// exportRound runs one export round of src into the archive dir and returns the row of
// the mailbox and the archived folder paths with their roles; the archive must verify.
func exportRound(t *testing.T, dir string, src *Source) (*export.MailboxStats, map[string]string) {
	t.Helper()
	f, err := archive.OpenFolder(dir, &archive.FolderOptions{Writer: "pst test"})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := export.Run(ctx, src, export.Options{Folder: f, Mailboxes: []string{src.address}, Jobs: 2, SpoolDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Stats) != 1 || res.Stats[0].Err != "" {
		t.Fatalf("stats %+v", res.Stats)
	}
	if err := f.Verify(); err != nil {
		t.Error(err)
	}
	roles := map[string]string{}
	for _, e := range f.View().Entries() {
		if e.Kind == archive.KindFolder {
			var path []string
			json.Unmarshal([]byte(e.Attrs["path"]), &path)
			roles[strings.Join(path, "/")] = e.Attrs["distinguished"]
		}
	}
	return res.Stats[0], roles
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// TestSourceExport exports each test file twice with export.Run: round 1 accounts for
// every row of the IPM subtree's contents tables (exported, or skipped or failed with a
// reason), round 2 on the unchanged file exports nothing; the archive verifies.
func TestSourceExport(t *testing.T) {
	for _, tf := range testFiles {
		t.Run(tf.name, func(t *testing.T) {
			p := tf.path(t)
			want := ipmRows(t, p)
			src, err := NewSource("user", "user@example.com", "", []string{p}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			dir := t.TempDir()
			st, _ := exportRound(t, dir, src)
			if got := st.Exported + sum(st.Skipped) + sum(st.Failed); got != want {
				t.Errorf("round 1: exported %d + skipped %v + failed %v, contents tables %d", st.Exported, st.Skipped, st.Failed, want)
			}
			if tf.name == "enron.pst" && st.Exported != want {
				t.Errorf("enron.pst: exported %d of %d (skipped %v, failed %v)", st.Exported, want, st.Skipped, st.Failed)
			}
			t.Logf("round 1: %d exported, skipped %v, failed %v, %d folders", st.Exported, st.Skipped, st.Failed, st.Folders)
			st, roles := exportRound(t, dir, src)
			if st.Exported != 0 || st.Deleted != 0 || st.Folders != 0 {
				t.Errorf("round 2: %d exported, %d deleted, %d folders, want none", st.Exported, st.Deleted, st.Folders)
			}
			if tf.name == "dist-list.pst" && (roles["Inbox"] != "inbox" ||
				roles["Sent Items"] != "sentitems" || roles["Calendar"] != "calendar" || roles["Deleted Items"] != "deleteditems") {
				t.Errorf("archived folders and roles %v", roles)
			}
		})
	}
}

// TestSourceChanges edits a folder's marker: a missing ID is a create, another hash an
// update, another read state a read-flag change, an unknown ID a delete; a foreign
// marker is rejected.
func TestSourceChanges(t *testing.T) {
	p := testFiles[2].path(t)
	src, err := NewSource("user", "user@example.com", "Archives/enron", []string{p}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ctx := context.Background()
	h, err := src.Hierarchy(ctx, "user@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	var folder string
	for _, c := range h.Changes {
		if c.Folder.Total > 3 && c.Folder.Type == "" {
			folder = c.Folder.ID
		}
		if c.Folder.ParentID == rootID && c.Folder.DisplayName != "Archives" {
			t.Errorf("folder %q directly below the root", c.Folder.DisplayName)
		}
	}
	if len(h.Roles) != 1 {
		t.Errorf("roles of an archive %v, want only the root", h.Roles)
	}
	if h2, _ := src.Hierarchy(ctx, "user@example.com", h.Marker); len(h2.Changes) != 0 {
		t.Errorf("hierarchy round 2: %d changes", len(h2.Changes))
	}
	collect := func(marker []byte) (map[export.ChangeKind]int, []byte) {
		kinds := map[export.ChangeKind]int{}
		m, err := src.Changes(ctx, "user@example.com", folder, marker, func(c export.ItemChange) error {
			kinds[c.Kind]++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return kinds, m
	}
	all, marker := collect(nil)
	if all[export.Create] < 4 {
		t.Fatalf("folder %s: %v", folder, all)
	}
	lines := strings.Split(strings.TrimSuffix(string(marker), "\n"), "\n")
	f1 := strings.Fields(lines[1])
	f2 := strings.Fields(lines[2])
	f3 := strings.Fields(lines[3])
	f3[2] = map[string]string{"0": "1", "1": "0"}[f3[2]]
	edited := strings.Join([]string{lines[0], f2[0] + " 0000 " + f2[2], strings.Join(f3, " "), "pst:ffff:1 00 0"}, "\n") + "\n" +
		strings.Join(lines[4:], "\n") + "\n"
	got, _ := collect([]byte(edited))
	want := map[export.ChangeKind]int{export.Create: 1, export.Update: 1, export.ReadFlagChange: 1, export.Delete: 1}
	if len(got) != len(want) || got[export.Create] != 1 || got[export.Update] != 1 || got[export.ReadFlagChange] != 1 || got[export.Delete] != 1 {
		t.Errorf("changes %v, want %v (first line %v)", got, want, f1)
	}
	if _, err := src.Changes(ctx, "user@example.com", folder, []byte("garbage"), func(export.ItemChange) error { return nil }); !strings.Contains(err.Error(), "marker") {
		t.Errorf("foreign marker: %v", err)
	}
}

// TestSourceDamaged runs the Source over cut and corrupted (4 KiB runs) copies of enron.pst: every
// folder's changes and every item's content are read without a panic, and what is
// archived parses with net/mail.
func TestSourceDamaged(t *testing.T) {
	b, err := os.ReadFile(testFiles[2].path(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 1; i <= 12; i++ {
		c := bytes.Clone(b[:len(b)*i/12])
		if i%2 == 0 { // whole, with a 4 KiB run corrupted
			c = bytes.Clone(b)
			off := len(c) * i / 13
			for k := off; k < off+4096 && k < len(c); k++ {
				c[k] ^= byte(k*7 + i)
			}
		}
		p := filepath.Join(t.TempDir(), "damaged.pst")
		if err := os.WriteFile(p, c, 0o644); err != nil {
			t.Fatal(err)
		}
		src, err := NewSource("user", "user@example.com", "", []string{p}, nil)
		if err != nil {
			continue // the header or the B-tree roots are gone: a clear error is all there is
		}
		items := 0
		h, err := src.Hierarchy(ctx, "user@example.com", nil)
		if err == nil {
			for _, fc := range h.Changes {
				var refs []export.ItemRef
				src.Changes(ctx, "user@example.com", fc.Folder.ID, nil, func(c export.ItemChange) error {
					refs = append(refs, c.Ref)
					return nil
				})
				src.Fetch(ctx, "user@example.com", export.KindMail, refs, func(it *export.Item) error {
					if c, err := it.Open(); err == nil {
						items++
						body := c.Data
						if c.Body != nil { // attachments of more than a block stream
							body, _ = io.ReadAll(c.Body)
						}
						if _, err := mail.ReadMessage(bytes.NewReader(body)); err != nil {
							t.Errorf("copy %d: item %s: %v", i, it.ID, err)
						}
					}
					return nil
				})
			}
		}
		t.Logf("copy %d (odd: cut at %d/12; even: a corrupted run): %d items archived", i, i, items)
		src.Close()
	}
}
