package main

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/exchange/ewstest"
)

// TestShardsUnionEqualsOneExport exports an organisation once unsharded
// and once as 4 shards into 4 archive folders: the shards together hold
// exactly the unsharded export's items, no mailbox is in two shards, and
// public folders are exported by shard 1 only.
func TestShardsUnionEqualsOneExport(t *testing.T) {
	srv, dir := testOrg(t, ewstest.OrgOptions{Users: 9}, nil)
	items := func(arch string) (map[string]bool, map[string]bool) {
		f, err := archive.OpenFolder(arch, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		ids, mbx := map[string]bool{}, map[string]bool{}
		for _, e := range f.View().Entries() {
			switch e.Kind {
			case archive.KindMessage, archive.KindContact, archive.KindEvent, archive.KindTask, archive.KindNote:
				ids[e.Mailbox+" "+e.ID] = true
				mbx[e.Mailbox] = true
			}
		}
		return ids, mbx
	}
	whole := filepath.Join(dir, "whole")
	args := exportArgs(srv, dir, "--public-folders-group", "Public Folders")
	if _, logs, err := runApp(t, append(args, "--archive", whole)...); err != nil {
		t.Fatalf("unsharded: %v\n%s", err, logs)
	}
	want, _ := items(whole)
	got := map[string]bool{}
	owner := map[string]int{}
	for i := 1; i <= 4; i++ {
		arch := filepath.Join(dir, fmt.Sprintf("shard%d", i))
		if _, logs, err := runApp(t, append(args, "--archive", arch, "--shard", fmt.Sprintf("%d/4", i))...); err != nil {
			t.Fatalf("shard %d/4: %v\n%s", i, err, logs)
		}
		ids, mbx := items(arch)
		for m := range mbx {
			if m == "" { // public folders
				if i != 1 {
					t.Errorf("shard %d/4 exported public folders", i)
				}
				continue
			}
			if j, ok := owner[m]; ok {
				t.Errorf("mailbox %s in shards %d and %d", m, j, i)
			}
			owner[m] = i
		}
		for id := range ids {
			if got[id] {
				t.Errorf("%s exported by two shards", id)
			}
			got[id] = true
		}
	}
	if len(got) != len(want) || len(want) == 0 {
		t.Errorf("shards hold %d items, the unsharded export %d", len(got), len(want))
	}
	for id := range want {
		if !got[id] {
			t.Errorf("%s missing from the shards", id)
		}
	}
	shardsUsed := map[int]bool{}
	for _, i := range owner {
		shardsUsed[i] = true
	}
	t.Logf("%d items, %d mailboxes over %d shards", len(want), len(owner), len(shardsUsed))
}
