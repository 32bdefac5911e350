package pst

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/iemproject/iem/export"
)

// failingStream is the stream of a message with attachments left in the file
// (Content.Body): a read error after the first bytes (a block of an attachment's data
// tree gone, or its trailer wrong, since dropDamaged checked it: the file changed
// under the export, or the disk failed) becomes an export.Fail naming the message's
// node id and folder, so that the engine counts the item as failed, with its node id
// and folder in the summary, and writes none of it (it reads a stream whole, into
// memory or a spool file, before writing an entry).
type failingStream struct {
	r   io.Reader
	sf  *sourceFile
	nid uint32
	err error
}

func (s *failingStream) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = export.Fail(s.sf.unreadable(s.nid, "attachment unreadable while streaming"), err)
		return n, s.err
	}
	return n, err
}

// unreadable is the summary reason of message nid that cannot be archived whole: its
// node id, the display name of its parent folder (the NBT's nidParent, [MS-PST]
// 2.2.2.7.7.4), the file and what failed.
func (sf *sourceFile) unreadable(nid uint32, what string) string {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	folder := "(unknown)"
	if n, err := sf.f.Node(nid); err == nil {
		if ps, err := sf.f.NodePC(n.Parent); err == nil {
			folder = ps.Str(PidDisplayName)
		}
	}
	return fmt.Sprintf("pst message 0x%x in folder %q of %s: %s", nid, folder, filepath.Base(sf.path), what)
}
