package export

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/iemproject/iem/archive"
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
// ID and version (public folders have no delta markers).
func (e *engine) exportPublicFolders(ctx context.Context, src PublicSource, group string) error {
	st := e.statsFor(PublicFoldersRow)
	log := e.log.With("mailbox", "public folders")
	seenFolders := map[string]bool{}
	err := src.PublicFolders(ctx, func(pf PublicFolder) error {
		seenFolders[pf.ID] = true
		rec := &publicFolderRecord{ID: pf.ID, Path: pf.Path, Class: pf.Class, Type: pf.Type, Group: group}
		if acl, err := src.Permissions(ctx, publicMailbox, pf.ID); err == nil && acl != nil {
			rec.ACL = acl
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
		byKind := map[ItemKind][]ItemRef{}
		seen := map[string]bool{}
		err := src.PublicItems(ctx, pf.ID, func(r ItemRef) error {
			seen[r.ID] = true
			st.Found++
			if prev, ok := e.view.Item(publicMailbox, r.ID); ok && prev.ChangeKey == r.Version {
				st.Unchanged++
				return nil
			}
			byKind[r.Kind] = append(byKind[r.Kind], r)
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
		for k, refs := range byKind {
			err := src.Fetch(ctx, publicMailbox, k, refs, func(it *Item) error {
				return e.exportItem(log, st, publicMailbox, fr, it, nil)
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
