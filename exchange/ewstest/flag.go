package ewstest

// SetFlag sets the follow-up flag (PR_FLAG_STATUS: 2 flagged, 1 complete,
// 0 none) of a mailbox item, a change of the item (its change key
// changes), and reports whether the item exists.
func (o *Org) SetFlag(smtp, id string, flag int) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	it := o.items[id]
	if it == nil || it.folder == nil || it.folder.owner != o.Mailbox(smtp) {
		return false
	}
	it.Flag = flag
	it.ck++
	return true
}
