package pst

import (
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
)

// This file gives folders and items IDs from their content, so that a second export of
// the same mailbox (a new ExMerge run writes a new PST where every node id differs)
// gives the same IDs to what is still there and round 2 moves only what is new or
// changed (issue 18, rounds).

// maxFolderDepth bounds the folder walks (a damaged file may loop).
const maxFolderDepth = 64

// folderIDs names the folders below ipm: "pst:<file>:<hash>" of the prefix and the
// display names from ipm's children down. Siblings with the same name are told apart
// by "#2", "#3", ... in the order of their hierarchy table (a folder renamed in the new
// export is deleted and created again).
func folderIDs(file string, prefix []string, ipm *Folder) map[string]uint32 {
	out := map[string]uint32{}
	var walk func(fo *Folder, path []string, depth int)
	walk = func(fo *Folder, path []string, depth int) {
		if depth > maxFolderDepth {
			return
		}
		seen := map[string]int{}
		for _, c := range fo.Children {
			name := c.Name
			if seen[c.Name]++; seen[c.Name] > 1 {
				name += "#" + strconv.Itoa(seen[c.Name])
			}
			p := append(slices.Clip(path), name)
			parts := append([]string{strconv.Itoa(len(prefix))}, prefix...)
			id := syntheticFolderIDPrefix + file + ":" + hashStrings(append(parts, p...)...)
			if _, dup := out[id]; !dup {
				out[id] = c.NID
			}
			walk(c, p, depth+1)
		}
	}
	walk(ipm, nil, 0)
	return out
}

// parseID returns the file of a folder or item ID and the rest of the ID after it.
func (s *Source) parseID(id string) (*sourceFile, string, bool) {
	rest, ok := strings.CutPrefix(id, syntheticFolderIDPrefix)
	fid, tail, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 || tail == "" {
		return nil, "", false
	}
	for _, sf := range s.files {
		if sf.id == fid {
			return sf, tail, true
		}
	}
	return nil, "", false
}

// folderNID is the node id of a folder ID, reading the file's folder tree when the
// IDs are not known yet (an engine that lists items without a Hierarchy call first).
func (s *Source) folderNID(sf *sourceFile, id string) (uint32, bool) {
	sf.mu.Lock()
	nid, ok := sf.nids[id]
	indexed := sf.indexed
	sf.mu.Unlock()
	if ok || indexed {
		return nid, ok
	}
	if _, _, err := sf.hierarchy(s.prefixID(len(s.prefix)), s.prefix); err != nil {
		return 0, false
	}
	sf.mu.Lock()
	defer sf.mu.Unlock()
	nid, ok = sf.nids[id]
	return nid, ok
}

// itemNID is the file and node id of an item ID, listing its folder when the item was
// not listed yet.
func (s *Source) itemNID(id string) (*sourceFile, uint32, bool) {
	sf, _, ok := s.parseID(id)
	if !ok {
		return nil, 0, false
	}
	sf.mu.Lock()
	nid, ok := sf.nids[id]
	sf.mu.Unlock()
	if ok {
		return sf, nid, true
	}
	folder, _, ok := strings.Cut(id, "/")
	if !ok {
		return nil, 0, false
	}
	if _, err := s.folderItems(sf, folder); err != nil {
		return nil, 0, false
	}
	sf.mu.Lock()
	defer sf.mu.Unlock()
	nid, ok = sf.nids[id]
	return sf, nid, ok
}

// itemRow is what Changes reports of one contents-table row.
type itemRow struct {
	id, hash, class string
	read            bool
}

// folderItems lists the rows of the folder's contents table with their IDs: "<folder
// ID>/<hash of the item's key>", the key being what a copy of the message keeps:
//   - PidTagSearchKey (0x300B) where present, from the row or else the message's
//     property context: [MS-OXPROPS] defines it as a binary-comparable key of related
//     objects, and [MS-OXCMSG] has a copy keep it (inferred for ExMerge, which copies
//     with MAPI; not in /work/shared/research/pst.md);
//   - else PidTagInternetMessageId (0x1035);
//   - else the class, subject, sender, submit and delivery times and size.
//
// Rows with the same key (copies in one folder) are told apart by "#2", "#3", ... in
// the order of their content hash, which does not depend on node ids.
func (s *Source) folderItems(sf *sourceFile, folderID string) ([]itemRow, error) {
	nid, ok := s.folderNID(sf, folderID)
	if !ok {
		return nil, nil // a folder gone from the file: no items
	}
	sf.mu.Lock()
	defer sf.mu.Unlock()
	rows, err := sf.f.Messages(nid)
	if rows == nil && err != nil {
		return nil, err
	}
	out, nids := keyRows(folderID, rows, func(nid uint32) Props { pc, _ := sf.f.NodePC(nid); return pc })
	for i, r := range out {
		sf.nids[r.id] = nids[i]
	}
	return out, err
}

// keyRows gives the rows their IDs below folderID (see folderItems) and returns the
// node id of each; pc reads the property context of a message.
func keyRows(folderID string, rows []Props, pc func(uint32) Props) ([]itemRow, []uint32) {
	type keyed struct {
		itemRow
		key string
		nid uint32
	}
	var ks []keyed
	for _, r := range rows {
		rid, ok := r.Get(PidLtpRowID)
		if !ok {
			continue
		}
		flags, _ := r.Get(PidMessageFlags)
		k := keyed{itemRow: itemRow{hash: hashRow(r), class: r.Str(PidMessageClass), read: flags.Int()&msgflagRead != 0}, nid: uint32(rid.Int())}
		k.key = itemKey(r, func() Props { return pc(k.nid) })
		ks = append(ks, k)
	}
	slices.SortStableFunc(ks, func(a, b keyed) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return strings.Compare(a.hash, b.hash)
	})
	out := make([]itemRow, 0, len(ks))
	nids := make([]uint32, 0, len(ks))
	n := 0
	for i, k := range ks {
		if n++; i == 0 || ks[i-1].key != k.key {
			n = 1
		}
		k.id = folderID + "/" + k.key
		if n > 1 {
			k.id += "#" + strconv.Itoa(n)
		}
		out = append(out, k.itemRow)
		nids = append(nids, k.nid)
	}
	return out, nids
}

// itemKey is the hashed key of a contents-table row; pc reads the message's property
// context when the row lacks the search key (enron.pst's rows do).
func itemKey(row Props, pc func() Props) string {
	if p, ok := row.Get(pidSearchKey); ok && len(p.Value) > 0 {
		return hashStrings("sk", hex.EncodeToString(p.Value))
	}
	ps := Props{}
	for t, p := range pc() {
		ps[t] = p
	}
	for t, p := range row {
		ps[t] = p
	}
	if p, ok := ps.Get(pidSearchKey); ok && len(p.Value) > 0 {
		return hashStrings("sk", hex.EncodeToString(p.Value))
	}
	if mid := strings.TrimSpace(ps.Str(PidInternetMessageID)); mid != "" {
		return hashStrings("mid", mid)
	}
	size, _ := ps.Get(PidMessageSize)
	return hashStrings("props", ps.Str(PidMessageClass), ps.Str(PidSubject), ps.Str(PidSenderName), ps.Str(PidSenderEmail),
		propTime(ps, PidClientSubmitTime).String(), propTime(ps, PidDeliveryTime).String(), strconv.FormatInt(size.Int(), 10))
}
