package pst

import (
	"fmt"
	"io"
	"strings"
)

// WriteText prints the report as iem-export pst inspect shows it: the
// format line, the folder tree with items and sizes, and each problem.
func (r *Report) WriteText(w io.Writer, name string) {
	kind := "PST"
	if r.Client == "SO" {
		kind = "OST"
	}
	fmt.Fprintf(w, "%s: %s %s (wVer %d), encoding %s, %d items\n", name, r.Format, kind, r.Version, r.Crypt, r.Items)
	if r.Password {
		fmt.Fprintln(w, "password: set (PidTagPstPassword); it is a check Outlook makes, not encryption: the items are readable and are exported anyway")
	}
	var walk func(f *FolderReport, depth int)
	walk = func(f *FolderReport, depth int) {
		label := f.Name
		if label == "" {
			label = "(root)"
		}
		switch {
		case f.Search:
			fmt.Fprintf(w, "  %s%-*s %7s  search folder\n", strings.Repeat("  ", depth), 40-2*depth, label, "-")
		default:
			note := ""
			if f.Count != f.Items {
				note = fmt.Sprintf("  (the folder says %d)", f.Count)
			}
			fmt.Fprintf(w, "  %s%-*s %7d items %10.1f MB%s\n", strings.Repeat("  ", depth), 40-2*depth, label, f.Items, float64(f.Size)/1e6, note)
		}
		for _, c := range f.Children {
			walk(c, depth+1)
		}
	}
	if r.Root != nil {
		walk(r.Root, 0)
	}
	if len(r.Problems) == 0 {
		fmt.Fprintln(w, "no problems: every folder and contents table read")
		return
	}
	fmt.Fprintf(w, "%d problems (what could not be read):\n", len(r.Problems))
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  %s\n", p)
	}
}
