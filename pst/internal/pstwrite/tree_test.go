package pstwrite

import (
	"bytes"
	"encoding/binary"
	"os"
	"path"
	"sort"
	"strings"
	"testing"

	"github.com/iemproject/iem/pst"
)

// modelMessages lists the messages of the model by folder path below the top folder.
func modelMessages(folders []*Folder) map[string][]*Message {
	out := map[string][]*Message{}
	var walk func(f *Folder, p string)
	walk = func(f *Folder, p string) {
		p = path.Join(p, f.Name)
		out[p] = f.Messages
		for _, c := range f.Children {
			walk(c, p)
		}
	}
	for _, f := range folders {
		walk(f, "Top of Personal Folders")
	}
	return out
}

// TestSampleReadBack writes 1,000 messages in a nested tree and reads every one back
// with package pst: folder tree and counts, the B-trees' depth, bodies of one heap
// item, of a subnode and of an XBLOCK, and attachments byte for byte.
func TestSampleReadBack(t *testing.T) {
	folders := Sample(1000)
	p := writeFile(t, folders)
	f, root := openRoot(t, p)
	model := modelMessages(folders)
	seen, total, attached := 0, 0, 0
	var walk func(fo *pst.Folder, p string)
	walk = func(fo *pst.Folder, p string) {
		want, ok := model[p]
		if ok {
			seen++
			rows, err := f.Messages(fo.NID)
			if err != nil {
				t.Errorf("%s: %v", p, err)
			}
			if len(rows) != len(want) || fo.Count != len(want) {
				t.Errorf("%s: %d rows, count %d, want %d", p, len(rows), fo.Count, len(want))
			}
			for i, r := range rows {
				if i >= len(want) {
					break
				}
				id, _ := r.Get(pst.PidLtpRowID)
				m, err := f.Message(uint32(id.Int()))
				if err != nil {
					t.Errorf("%s message 0x%x: %v", p, id.Int(), err)
					continue
				}
				w := want[i]
				total++
				if m.Props.Str(pst.PidSubject) != w.Subject || m.Props.Str(pst.PidBody) != w.Body {
					t.Errorf("%s message 0x%x: subject %q, body of %d bytes; want %q, %d bytes", p, id.Int(),
						m.Props.Str(pst.PidSubject), len(m.Props.Str(pst.PidBody)), w.Subject, len(w.Body))
				}
				if (w.Attachment != nil) != (len(m.Attachments) == 1) {
					t.Errorf("%s: %q: %d attachments", p, w.Subject, len(m.Attachments))
					continue
				}
				if w.Attachment != nil {
					attached++
					a := m.Attachments[0]
					b, err := a.Bytes()
					if err != nil || !bytes.Equal(b, w.Attachment.Data) || a.Props.Str(pst.PidAttachFilename) != w.Attachment.Name {
						t.Errorf("%q: attachment %q of %d bytes (%v), want %q of %d", w.Subject,
							a.Props.Str(pst.PidAttachFilename), len(b), err, w.Attachment.Name, len(w.Attachment.Data))
					}
				}
			}
		} else if p != "" && p != "Top of Personal Folders" {
			t.Errorf("folder %q is not in the model", p)
		}
		for _, c := range fo.Children {
			walk(c, strings.TrimPrefix(path.Join(p, c.Name), "/"))
		}
	}
	walk(root, "")
	if seen != len(model) || total != 1000 || attached != 20 {
		t.Errorf("%d of %d folders, %d messages, %d attachments read", seen, len(model), total, attached)
	}
	if f.CRCErrors != 0 {
		t.Errorf("%d CRC errors", f.CRCErrors)
	}
	// Both B-trees have index levels: the level byte of the root pages.
	b, _ := os.ReadFile(p)
	for _, off := range []int{188, 196} {
		ib := binary.LittleEndian.Uint32(b[off:])
		if lvl := b[ib+499]; lvl < 1 {
			t.Errorf("B-tree root at %d has level %d", ib, lvl)
		}
	}
}

// TestReadpstSample exports the 1,000-message file with readpst and compares each
// folder's subjects, Message-Ids and read states, the long bodies and the attachments.
func TestReadpstSample(t *testing.T) {
	folders := Sample(1000)
	got := readpst(t, writeFile(t, folders))
	model := modelMessages(folders)
	byID := map[string]*Message{}
	folderOf := map[string]string{}
	for p, ms := range model {
		for _, m := range ms {
			byID[m.MessageID] = m
			folderOf[m.MessageID] = p
		}
	}
	if len(got) != 1000 {
		t.Errorf("readpst wrote %d messages, want 1000", len(got))
	}
	done := map[string]bool{}
	attached, long := 0, 0
	for _, e := range got {
		id := e.msg.Header.Get("Message-Id")
		m := byID[id]
		if m == nil || done[id] {
			t.Errorf("%s: Message-Id %q unknown or repeated", e.folder, id)
			continue
		}
		done[id] = true
		if folderOf[id] != e.folder {
			t.Errorf("%s in %q, want %q", id, e.folder, folderOf[id])
		}
		if s := e.msg.Header.Get("Subject"); s != m.Subject {
			t.Errorf("%s: subject %q, want %q", id, s, m.Subject)
		}
		if st, want := e.msg.Header.Get("Status"), map[bool]string{true: "RO", false: ""}[m.Read]; st != want {
			t.Errorf("%s: Status %q, want %q", id, st, want)
		}
		if norm(e.body) != norm(m.Body) {
			t.Errorf("%s: body of %d bytes, want %d", id, len(e.body), len(m.Body))
		}
		if len(m.Body) > maxBlockData {
			long++
		}
		if m.Attachment != nil && bytes.Equal(e.files[m.Attachment.Name], m.Attachment.Data) {
			attached++
		}
		var names []string
		for n := range e.files {
			names = append(names, n)
		}
		sort.Strings(names)
		switch {
		case m.Attachment == nil && len(names) != 0:
			t.Errorf("%s: attachments %v, want none", id, names)
		case m.Attachment != nil && (len(names) != 1 || !bytes.Equal(e.files[m.Attachment.Name], m.Attachment.Data)):
			t.Errorf("%s: attachments %v (%d bytes), want %s of %d bytes", id, names, len(e.files[m.Attachment.Name]),
				m.Attachment.Name, len(m.Attachment.Data))
		}
	}
	if attached != 20 || long != 11 {
		t.Errorf("%d attachments and %d bodies over one block matched, want 20 and 11", attached, long)
	}
}

// norm ignores line ends and trailing space: readpst writes the body with LF.
func norm(s string) string {
	return strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
}

// TestDeepTrees: 1,500 messages need a B-tree of three levels (root level 2) for
// both the NBT (over 41 leaves of 31 entries) and the BBT; pst reads every folder's
// rows and readpst exports all 1,500.
func TestDeepTrees(t *testing.T) {
	folders := Sample(1500)
	p := writeFile(t, folders)
	b, _ := os.ReadFile(p)
	for _, off := range []int{188, 196} {
		ib := binary.LittleEndian.Uint32(b[off:])
		if lvl := b[ib+499]; lvl != 2 {
			t.Errorf("B-tree root at %d has level %d, want 2", ib, lvl)
		}
	}
	r, err := pst.Inspect(p)
	if err != nil || r.Items != 1500 || len(r.Problems) != 0 {
		t.Fatalf("pst.Inspect: %v, %d items, problems %q", err, r.Items, r.Problems)
	}
	if got := readpst(t, p); len(got) != 1500 {
		t.Errorf("readpst wrote %d messages, want 1500", len(got))
	}
}
