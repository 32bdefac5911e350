package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/exchange"
	"github.com/iemproject/iem/format"
)

// publicFolderRecord is the JSON body of a public folder entry.
type publicFolderRecord struct {
	ID    string      `json:"id"`
	Path  []string    `json:"path"`
	Class string      `json:"class,omitempty"`
	Type  string      `json:"type,omitempty"`
	Group string      `json:"group"` // the IceWarp group the tree is imported under
	ACL   *format.ACL `json:"acl,omitempty"`
}

// publicMailbox is the Mailbox field of public folder items: they belong to
// no user mailbox.
const publicMailbox = ""

// exportPublicFolders walks the public folder tree and diffs its items by
// ItemId and ChangeKey (public folders have no SyncFolderItems, ews.md §2.3).
func (e *exporter) exportPublicFolders(ctx context.Context, group string) error {
	st := e.statsFor("public folders")
	log := e.log.With("mailbox", "public folders")
	seenFolders := map[string]bool{}
	err := e.ews.PublicFolders(ctx, func(pf exchange.PublicFolder) error {
		seenFolders[pf.ID] = true
		rec := &publicFolderRecord{ID: pf.ID, Path: pf.Path, Class: pf.Class, Type: pf.Type, Group: group}
		if raw, err := e.ews.GetFolderPermissions(ctx, "", pf.ID); err == nil && raw != nil {
			if acl, err := format.ParsePermissions(raw); err == nil {
				rec.ACL = &acl
			}
		}
		prev, _ := e.viewEntry(archive.KindPublicFolder, "", pf.ID)
		path, _ := json.Marshal(pf.Path)
		h := &archive.Header{Kind: archive.KindPublicFolder, ID: pf.ID, Folder: pf.ParentID,
			Attrs: map[string]string{"name": pf.DisplayName, "path": string(path), "class": pf.Class, "group": group}}
		if wrote, err := e.putIfChanged(prev, h, rec); err != nil {
			return err
		} else if wrote {
			st.Folders++
		}
		// Items: list IdOnly with ChangeKey, fetch what is new or changed.
		var fetch []exchange.ItemID
		kinds := map[string]exchange.ItemKind{}
		seen := map[string]bool{}
		err := e.ews.FindItems(ctx, pf.ID, func(r exchange.ItemRef) error {
			seen[r.ID.ID] = true
			st.Found++
			if prev, ok := e.view.Item(publicMailbox, r.ID.ID); ok && prev.ChangeKey == r.ID.ChangeKey {
				st.Unchanged++
				return nil
			}
			fetch = append(fetch, r.ID)
			kinds[r.ID.ID] = exchange.KindOf(r.Type, r.Class)
			return nil
		})
		if err != nil {
			return fmt.Errorf("public folder %q: %w", strings.Join(pf.Path, "/"), err)
		}
		for _, ent := range e.viewIndex() {
			for _, x := range ent {
				if x.Mailbox == publicMailbox && x.Folder == pf.ID && x.Kind != archive.KindPublicFolder && !seen[x.ID] {
					if err := e.put(&archive.Header{Kind: archive.KindTombstone, Folder: pf.ID, ID: x.ID}, nil); err != nil {
						return err
					}
					st.Deleted++
				}
			}
		}
		fr := &folderRecord{ID: pf.ID, DisplayName: pf.DisplayName, Path: pf.Path, Class: pf.Class}
		byKind := map[exchange.ItemKind][]exchange.ItemID{}
		for _, id := range fetch {
			byKind[kinds[id.ID]] = append(byKind[kinds[id.ID]], id)
		}
		for k, ids := range byKind {
			err := e.ews.GetItems(ctx, publicMailbox, ids, k, func(it *exchange.Item) error {
				return e.exportItem(ctx, log, st, publicMailbox, fr, k, it)
			})
			if err != nil {
				return err
			}
		}
		return e.checkpoint()
	})
	if err != nil {
		return fmt.Errorf("public folders: %w", err)
	}
	// Folders gone from the tree.
	for k := range e.viewIndex() {
		if k.kind == archive.KindPublicFolder && !seenFolders[k.id] {
			if err := e.put(&archive.Header{Kind: archive.KindTombstone, ID: k.id, Attrs: map[string]string{"kind": "public-folder"}}, nil); err != nil {
				return err
			}
		}
	}
	return e.checkpoint()
}
