package pst

import "testing"

// TestMessages reads every message of every contents table with its recipients and attachments.
func TestMessages(t *testing.T) {
	eachFile(t, func(t *testing.T, _ testFile, f *File) {
		msgs, recips, atts, bytes := 0, 0, 0, 0
		eachMessage(t, f, func(_ *Folder, row Props, m *Message) {
			if subject(m.Props) != subject(row) {
				t.Errorf("message 0x%x: subject %q, contents table %q", m.NID, subject(m.Props), subject(row))
			}
			msgs++
			recips += len(m.Recipients)
			for _, a := range m.Attachments {
				atts++
				b, _ := a.Bytes()
				bytes += len(b)
			}
		})
		t.Logf("%d messages, %d recipients, %d attachments of %d bytes", msgs, recips, atts, bytes)
	})
}

// eachMessage calls fn with every message of the contents tables of f and its row;
// messages that cannot be read are errors of t.
func eachMessage(t *testing.T, f *File, fn func(fo *Folder, row Props, m *Message)) {
	root, err := f.Folders(func(err error) { t.Error(err) })
	if err != nil {
		t.Fatal(err)
	}
	var walk func(fo *Folder)
	walk = func(fo *Folder) {
		if fo.NID&0x1F != nidTypeSearchFolder {
			rows, _ := f.Messages(fo.NID)
			for _, r := range rows {
				id, _ := r.Get(PidLtpRowID)
				m, err := f.Message(uint32(id.Int()))
				if err != nil {
					t.Errorf("message 0x%x: %v", id.Int(), err)
					continue
				}
				fn(fo, r, m)
			}
		}
		for _, c := range fo.Children {
			walk(c)
		}
	}
	walk(root)
}
