package format

import (
	"testing"
	"unicode/utf8"
)

func TestFolderTarget(t *testing.T) {
	tests := []struct {
		id, display string
		icewarp     bool
		want        Folder
	}{
		{"sentitems", "Éléments envoyés", false, Folder{Name: "Sent Items", Role: "sentitems"}},
		{"sentitems", "Éléments envoyés", true, Folder{Name: "Sent", Role: "sentitems"}},
		{"deleteditems", "Gelöschte Elemente", false, Folder{Name: "Deleted Items", Role: "deleteditems"}},
		{"deleteditems", "Gelöschte Elemente", true, Folder{Name: "Trash", Role: "deleteditems"}},
		{"junkemail", "Courrier indésirable", false, Folder{Name: "Junk E-mail", Role: "junkemail"}},
		{"junkemail", "Courrier indésirable", true, Folder{Name: "Spam", Role: "junkemail"}},
		{"drafts", "Brouillons", true, Folder{Name: "Drafts", Role: "drafts"}},
		{"inbox", "Boîte de réception", false, Folder{Name: "INBOX", Role: "inbox"}},
		{"calendar", "Kalender", false, Folder{Name: "Calendar", Role: "calendar"}},
		{"msgfolderroot", "Top of Information Store", false, Folder{Role: "msgfolderroot"}},
		{"searchfolders", "Finder", false, Folder{Name: "Finder", Role: "searchfolders", Skip: true}},
		{"", "Projects 2024", false, Folder{Name: "Projects 2024"}},
		{"", "In/Out", false, Folder{Name: "In\u2215Out", Renamed: true}},
		{"", " spaced. ", false, Folder{Name: " spaced. "}},
	}
	for _, tt := range tests {
		got := FolderTarget(tt.id, tt.display, &FolderOptions{IceWarpNames: tt.icewarp})
		if got != tt.want {
			t.Errorf("FolderTarget(%q, %q, icewarp=%v) = %+v, want %+v", tt.id, tt.display, tt.icewarp, got, tt.want)
		}
	}
	if got := FolderTarget("sentitems", "x", nil); got.Name != "Sent Items" {
		t.Errorf("FolderTarget(%q, nil options) = %+v, want Outlook name", "sentitems", got)
	}
}

func TestFolderTargetLongName(t *testing.T) {
	long := ""
	for i := 0; i < 100; i++ {
		long += "日本"
	}
	got := FolderTarget("", long, nil)
	if !got.Renamed || len(EncodeIMAPUTF7(got.Name)) > MaxFolderNameBytes || !utf8.ValidString(got.Name) {
		t.Errorf("FolderTarget(long) = %q (%d bytes utf-7), want shortened to <= %d", got.Name, len(EncodeIMAPUTF7(got.Name)), MaxFolderNameBytes)
	}
	if len(IceWarpDirName(got.Name)) > 255 {
		t.Errorf("IceWarpDirName(FolderTarget(long).Name) is %d bytes, want <= 255", len(IceWarpDirName(got.Name)))
	}
	other := FolderTarget("", long+"x", nil)
	if other.Name == got.Name {
		t.Errorf("FolderTarget gives the same short name %q for two different long names", got.Name)
	}
}

func TestFolderType(t *testing.T) {
	tests := []struct{ class, want string }{
		{"IPF.Note", "M"}, {"IPF.Contact", "C"}, {"IPF.Appointment", "E"}, {"IPF.Task", "T"},
		{"IPF.StickyNote", "N"}, {"IPF.Journal", "J"}, {"", "M"}, {"IPF.Note.OutlookHomepage", "M"},
	}
	for _, tt := range tests {
		if got := FolderType(tt.class); got != tt.want {
			t.Errorf("FolderType(%q) = %q, want %q", tt.class, got, tt.want)
		}
	}
}
