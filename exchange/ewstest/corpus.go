package ewstest

import "time"

// AddMessage stores a message with the given MIME content in the user's
// folder (a distinguished name like "inbox" or a folder id) and returns its
// id, or "" when there is no such mailbox or folder. The benchmark harness
// (bench/) uses it to load a corpus of realistic sizes, the same bytes
// delivered to many mailboxes included. The server keeps mime as given.
func (o *Org) AddMessage(smtp, folder string, mime []byte, received time.Time, messageID string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	u := o.Mailbox(smtp)
	if u == nil {
		return ""
	}
	f := o.findFolder(u, folder)
	if f == nil {
		return ""
	}
	it := &Item{Type: "Message", Class: "IPM.Note", Subject: "corpus", Received: received, MessageID: messageID,
		Importance: "Normal", mime: mime}
	return o.addItem(f, it).ID
}
