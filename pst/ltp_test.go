package pst

import (
	"fmt"
	"strings"
	"testing"
)

func treeString(fo *Folder, f *File, depth int, b *strings.Builder) {
	rows, _ := f.Messages(fo.NID)
	fmt.Fprintf(b, "%s%s (%d/%d)\n", strings.Repeat("  ", depth), fo.Name, fo.Count, len(rows))
	for _, c := range fo.Children {
		treeString(c, f, depth+1, b)
	}
}

func TestFolders(t *testing.T) {
	eachFile(t, func(t *testing.T, _ testFile, f *File) {
		n, _ := f.Node(NIDMessageStore)
		store, err := f.PC(n)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("store: %q, %d properties", store.Str(PidDisplayName), len(store))
		root, err := f.Folders(func(err error) { t.Error(err) })
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		treeString(root, f, 0, &b)
		t.Log("\n" + b.String())
	})
}
