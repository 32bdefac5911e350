package pst

import (
	"bytes"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// oracleDiffs are the folders where readpst and this reader disagree, and why: readpst
// 0.6.76 writes one .vcf for the two items of dist-list.pst's Contacts folder, whose
// contents table has two rows and whose stored PidTagContentCount is 2.
var oracleDiffs = map[string]map[string]int{
	"dist-list.pst": {"Contacts": 2},
}

// eachReadpst runs fn on every test file with readpst's export of it (args added to
// readpst's); it skips when readpst is not installed.
func eachReadpst(t *testing.T, args []string, fn func(t *testing.T, tf testFile, p, out string)) {
	if _, err := exec.LookPath("readpst"); err != nil {
		skipf(t, "readpst (Debian pst-utils) not installed")
	}
	for _, tf := range testFiles {
		t.Run(tf.name, func(t *testing.T) {
			p := tf.path(t)
			fn(t, tf, p, readpst(t, p, args...))
		})
	}
}

// readpst exports p with readpst -e (one file per item, in a folder tree) into a
// temporary directory and returns it; -j 0 because its parallel mode once crashed on an OST.
func readpst(t *testing.T, p string, args ...string) string {
	t.Helper()
	out := t.TempDir()
	args = append([]string{"-q", "-e", "-j", "0", "-o", out}, args...)
	if b, err := exec.Command("readpst", append(args, p)...).CombinedOutput(); err != nil {
		t.Fatalf("readpst: %v\n%s", err, b)
	}
	return out
}

// TestReadpstFolderCounts compares the items per folder with readpst's export
// (readpst -e -j 0 -cv: one file per item in a folder tree): every folder readpst
// writes must hold as many items here.
func TestReadpstFolderCounts(t *testing.T) {
	eachReadpst(t, []string{"-cv"}, func(t *testing.T, tf testFile, p, out string) {
		theirs := map[string]int{} // folder path below readpst's top folder -> files
		filepath.WalkDir(out, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(out, filepath.Dir(path))
				if _, below, ok := strings.Cut(filepath.ToSlash(rel), "/"); ok {
					theirs[below]++
				}
			}
			return nil
		})
		r, err := Inspect(p)
		if err != nil {
			t.Fatal(err)
		}
		ours := map[string]int{} // every suffix of every folder path -> items
		var walk func(fr *FolderReport, path []string)
		walk = func(fr *FolderReport, path []string) {
			path = append(path, fr.Name)
			for i := range path {
				ours[strings.Join(path[i:], "/")] = fr.Items
			}
			for _, c := range fr.Children {
				walk(c, path)
			}
		}
		walk(r.Root, nil)
		if len(theirs) == 0 {
			t.Fatal("readpst exported nothing")
		}
		for folder, n := range theirs {
			want := n
			if d, ok := oracleDiffs[tf.name][folder]; ok {
				want = d
			}
			if got, ok := ours[folder]; !ok || got != want {
				t.Errorf("folder %q: %d items here (found %v), readpst %d, want %d", folder, got, ok, n, want)
			}
		}
	})
}

// TestReadpstSubjects compares the subjects of the mail items (the .eml files readpst
// writes) with the subjects of the contents tables, as multisets.
func TestReadpstSubjects(t *testing.T) {
	eachReadpst(t, []string{"-t", "e"}, func(t *testing.T, tf testFile, p, out string) {
		theirs := map[string]int{}
		filepath.WalkDir(out, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".eml") {
				return nil
			}
			b, _ := os.ReadFile(path)
			m, err := mail.ReadMessage(bytes.NewReader(b))
			if err != nil {
				t.Errorf("readpst wrote %s: %v", path, err)
				return nil
			}
			theirs[strings.TrimSpace(m.Header.Get("Subject"))]++
			return nil
		})
		f, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		root, err := f.Folders(func(err error) { t.Error(err) })
		if err != nil {
			t.Fatal(err)
		}
		ours := map[string]int{}
		var walk func(fo *Folder)
		walk = func(fo *Folder) {
			if fo.NID&0x1F != nidTypeSearchFolder {
				rows, _ := f.Messages(fo.NID)
				for _, r := range rows {
					ours[strings.TrimSpace(subject(r))]++
				}
			}
			for _, c := range fo.Children {
				walk(c)
			}
		}
		walk(root)
		for s, n := range theirs {
			if ours[s] < n {
				t.Errorf("subject %q: readpst %d, here %d", s, n, ours[s])
			}
		}
		t.Logf("%d mail subjects from readpst found here", len(theirs))
	})
}
