package pst

import "testing"

// TestMessages reads every message of every contents table with its recipients and attachments.
func TestMessages(t *testing.T) {
	eachFile(t, func(t *testing.T, _ testFile, f *File) {
		root, err := f.Folders(func(err error) { t.Error(err) })
		if err != nil {
			t.Fatal(err)
		}
		msgs, recips, atts, bytes := 0, 0, 0, 0
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
					if subject(m.Props) != subject(r) {
						t.Errorf("message 0x%x: subject %q, contents table %q", m.NID, subject(m.Props), subject(r))
					}
					msgs++
					recips += len(m.Recipients)
					for _, a := range m.Attachments {
						atts++
						bytes += len(a.Data)
					}
				}
			}
			for _, c := range fo.Children {
				walk(c)
			}
		}
		walk(root)
		t.Logf("%d messages, %d recipients, %d attachments of %d bytes", msgs, recips, atts, bytes)
	})
}
