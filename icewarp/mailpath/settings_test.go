package mailpath

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSetDefaultFolders merges <default_folders> into an existing
// settings.xml: the other settings stay, an entry already there is
// replaced, none is duplicated, no temporary file is left (nor one an
// interrupted merge left), and a second
// call with the same entries leaves the file as it is.
func TestSetDefaultFolders(t *testing.T) {
	root := t.TempDir()
	acct := filepath.Join(root, "example.com", "alice")
	if err := os.MkdirAll(filepath.Join(acct, "~webmail"), 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(acct, "~webmail", "settings.xml")
	old := `<?xml version="1.0" encoding="utf-8"?>
<settings>
  <layout_settings><item><skin>pure</skin></item></layout_settings>
  <default_folders><item><sent>alice@example.com/Sent</sent><templates>alice@example.com/Templates</templates></item></default_folders>
</settings>
`
	if err := os.WriteFile(p, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	// A temporary file an interrupted merge left.
	if err := os.WriteFile(filepath.Join(acct, "~webmail", ".iem-123.tmp"), []byte("<settings><default"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]string{"sent": DefaultFolderValue("alice@example.com", []string{"Sent Items"}),
		"trash": DefaultFolderValue("alice@example.com", []string{"Deleted Items"}), "drafts": "alice@example.com/Drafts"}
	if err := s.SetDefaultFolders("example.com/alice", set); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	got := string(data)
	for _, want := range []string{"<skin>pure</skin>", "<templates>alice@example.com/Templates</templates>",
		"<sent>alice@example.com/Sent Items</sent>", "<trash>alice@example.com/Deleted Items</trash>"} {
		if !strings.Contains(got, want) {
			t.Errorf("settings.xml lacks %s:\n%s", want, got)
		}
	}
	if strings.Count(got, "<sent>") != 1 || strings.Count(got, "<default_folders>") != 1 {
		t.Errorf("settings.xml has an entry twice:\n%s", got)
	}
	m, err := s.ReadDefaultFolders("example.com/alice")
	if err != nil || m["sent"] != "alice@example.com/Sent Items" || m["drafts"] != "alice@example.com/Drafts" {
		t.Errorf("ReadDefaultFolders = %v, %v", m, err)
	}
	ents, _ := os.ReadDir(filepath.Dir(p))
	if len(ents) != 1 {
		t.Errorf("~webmail holds %d entries, want settings.xml alone", len(ents))
	}
	st1, _ := os.Stat(p)
	if err := s.SetDefaultFolders("example.com/alice", set); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(p); string(again) != got {
		t.Errorf("a second merge changed the file:\n%s", again)
	}
	if st2, _ := os.Stat(p); !st2.ModTime().Equal(st1.ModTime()) {
		t.Error("a merge with nothing to change rewrote the file")
	}
	if err := s.SetDefaultFolders("../outside", set); err == nil {
		t.Error("an account directory outside the root was accepted")
	}
	if _, err := MergeDefaultFolders([]byte("<settings><unclosed>"), set); err == nil {
		t.Error("a malformed settings.xml was merged into")
	}
}

// TestSetDefaultFoldersNewFile creates settings.xml (and ~webmail) where
// the account has none.
func TestSetDefaultFoldersNewFile(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetDefaultFolders("d/u", map[string]string{"sent": "u@d/Sent Items"}); err != nil {
		t.Fatal(err)
	}
	m, err := s.ReadDefaultFolders("d/u")
	if err != nil || len(m) != 1 || m["sent"] != "u@d/Sent Items" {
		t.Errorf("ReadDefaultFolders = %v, %v", m, err)
	}
}
