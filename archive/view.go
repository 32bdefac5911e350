package archive

import "sort"

// A View is the logical state of an archive (SPEC.md §9): the latest
// version of each item across all rounds, tombstones applied and state
// changes merged.
type View struct {
	items map[viewKey]*Entry
}

type viewKey struct {
	space   string
	mailbox string
	id      string
}

func keyOf(e *Entry) viewKey {
	switch e.Kind {
	case KindMailbox:
		return viewKey{"mailbox", e.Mailbox, ""}
	case KindSettings:
		return viewKey{"settings", e.Mailbox, ""}
	case KindGroup:
		return viewKey{"group", "", e.ID}
	case KindPublicFolder:
		return viewKey{"public", "", e.ID}
	case KindDelta:
		return viewKey{"delta", e.Mailbox, e.Folder}
	case KindMessage, KindContact, KindEvent, KindTask, KindNote, KindFolder, KindDistributionList,
		KindTombstone, KindState:
		return viewKey{"item", e.Mailbox, e.ID}
	default:
		return viewKey{e.Kind.String(), e.Mailbox, e.ID}
	}
}

// View computes the logical state of the archive.
func (f *Folder) View() *View {
	v := &View{items: map[viewKey]*Entry{}}
	f.Walk(func(e *Entry) error {
		v.apply(e)
		return nil
	})
	return v
}

// CompleteView is the logical state of the complete rounds only (up to
// [Folder.LastRound]): what a reader imports while a round is still being
// written, or when its last volume arrived incomplete.
func (f *Folder) CompleteView() *View {
	last := f.LastRound()
	v := &View{items: map[viewKey]*Entry{}}
	for _, vol := range f.vols {
		if vol.Info.Round > last {
			break
		}
		for _, e := range vol.r.entries {
			v.apply(e)
		}
	}
	return v
}

func (v *View) apply(e *Entry) {
	k := keyOf(e)
	switch e.Kind {
	case KindTombstone:
		delete(v.items, k)
	case KindState:
		cur, ok := v.items[k]
		if !ok {
			return
		}
		c := *cur
		c.Attrs = make(map[string]string, len(cur.Attrs)+len(e.Attrs))
		for a, val := range cur.Attrs {
			c.Attrs[a] = val
		}
		for a, val := range e.Attrs {
			if val == "" {
				delete(c.Attrs, a)
			} else {
				c.Attrs[a] = val
			}
		}
		v.items[k] = &c
	default:
		v.items[k] = e
	}
}

// Len returns the number of entries in the view.
func (v *View) Len() int { return len(v.items) }

// Entries returns the view's entries in archive order (round, part, offset
// of each entry's latest version).
func (v *View) Entries() []*Entry {
	out := make([]*Entry, 0, len(v.items))
	for _, e := range v.items {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Round != b.Round {
			return a.Round < b.Round
		}
		if a.Part != b.Part {
			return a.Part < b.Part
		}
		return a.Offset < b.Offset
	})
	return out
}

// Item returns the current entry for the item (mailbox, id), if any.
func (v *View) Item(mailbox, id string) (*Entry, bool) {
	e, ok := v.items[viewKey{"item", mailbox, id}]
	return e, ok
}

// Delta returns the newest delta marker of a mailbox folder ("" for the hierarchy).
func (v *View) Delta(mailbox, folder string) (*Entry, bool) {
	e, ok := v.items[viewKey{"delta", mailbox, folder}]
	return e, ok
}
