package replay

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/iemproject/iem/archive"
)

// planRow is one mailbox of the plan.
type planRow struct {
	mailbox                                   string
	create, update, flags, same, skip, delete int
	archive                                   int // of the archive mailbox, not skipped
}

// Plan compares the archive's logical view with the ledger, the way run
// decides what to write (--rebuild aside), and prints one line per mailbox.
func (im *Engine) Plan(w io.Writer, led *Ledger) error {
	var mbxs []string
	for m := range im.byMailbox {
		mbxs = append(mbxs, m)
	}
	sort.Strings(mbxs)
	var rows []planRow
	for _, src := range mbxs {
		label := im.mapAddr(src)
		if src == "" {
			label = "public folders"
		}
		row := planRow{mailbox: label}
		entries := im.byMailbox[src]
		folders, err := im.folders(entries)
		if err != nil {
			return err
		}
		inView := map[string]bool{}
		for _, e := range entries {
			if e.Kind == archive.KindFolder || e.Kind == archive.KindPublicFolder {
				continue
			}
			inView[e.ID] = true
			fi, ok := folders[e.Folder]
			if !ok || fi.skip || len(fi.path) == 0 || e.Kind != archive.KindMessage && contentType(e.Kind) == "" {
				row.skip++
				continue
			}
			if fi.archive {
				row.archive++
			}
			var prev applied
			known := false
			if led != nil {
				prev, known = led.get(src, e.ID)
			}
			switch {
			case !known || prev.Pending:
				row.create++
			case prev.Digest != digestHex(e) || !slices.Equal(prev.Folder, fi.path):
				row.update++
			case e.Kind == archive.KindMessage && (prev.Flags != flagString(flagsOf(e)) || prev.UID == 0 && prev.File != ""):
				row.flags++
			default:
				row.same++
			}
		}
		if led != nil {
			led.each(src, func(id string) bool { return !inView[id] }, func(string, applied) error {
				row.delete++
				return nil
			})
		}
		rows = append(rows, row)
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "mailbox\tcreate\tupdate\tflags\tunchanged\tskip\tdelete\t\n")
	var t planRow
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t\n", r.mailbox, r.create, r.update, r.flags, r.same, r.skip, r.delete)
		t.create += r.create
		t.update += r.update
		t.flags += r.flags
		t.same += r.same
		t.skip += r.skip
		t.delete += r.delete
		t.archive += r.archive
	}
	tw.Flush()
	fmt.Fprintf(w, "plan: %d mailboxes: %d to create, %d to update, %d flag changes, %d unchanged, %d skipped, %d to delete\n",
		len(rows), t.create, t.update, t.flags, t.same, t.skip, t.delete)
	if t.archive > 0 {
		fmt.Fprintf(w, "plan: %d items of archive mailboxes, below %s/\n", t.archive, strings.Join(im.archivePath, "/"))
	}
	return nil
}
