package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/iemproject/iem/archive"
)

// ErrDifferences: Check found messages or items missing, extra or
// duplicated on the target, or folders it could not compare.
var ErrDifferences = errors.New("archive and target differ")

// Check lists, per mailbox and folder, how the target compares with the
// archive's logical view, and returns ErrDifferences if they differ.
func (im *Engine) Check(ctx context.Context, w io.Writer) error {
	var mbxs []string
	for m := range im.byMailbox {
		mbxs = append(mbxs, m)
	}
	sort.Strings(mbxs)
	same, missing, extra, errs, wrongDefaults := 0, 0, 0, 0, 0
	var arch archiveCheck
	for _, src := range mbxs {
		target := im.mapAddr(src)
		if src == "" {
			target = im.publicFoldersEmail()
		}
		entries := im.byMailbox[src]
		folders, err := im.folders(entries)
		if err != nil {
			return err
		}
		if src != "" {
			im.adoptDefaults(ctx, target, folders)
		}
		want := map[string]map[string]int{} // folder → message-id → count
		paths := map[string][]string{}
		gwWant := map[string]map[string]bool{} // GroupWare folder → resource names
		for _, e := range entries {
			fi, ok := folders[e.Folder]
			if !ok || fi.skip || len(fi.path) == 0 {
				continue
			}
			k := strings.Join(fi.path, "/")
			paths[k] = fi.path
			arch.folder(k, fi)
			if e.Kind != archive.KindMessage {
				if ct := contentType(e.Kind); ct != "" && fi.typ != "M" && im.Sinks.Groupware != nil {
					if gwWant[k] == nil {
						gwWant[k] = map[string]bool{}
					}
					gwWant[k][im.Sinks.Groupware.ResourceName(src+"\x00"+e.ID, ct)] = true
				}
				continue
			}
			if want[k] == nil {
				want[k] = map[string]int{}
			}
			want[k][bareMessageID(e.Attrs["message-id"])]++
			arch.want(k)
		}
		same, missing, extra, errs = im.checkGroupware(ctx, w, target, paths, gwWant, same, missing, extra, errs)
		wrongDefaults += im.checkDefaults(ctx, w, src, target, folders)
		mb, err := im.Sinks.Mail.Open(ctx, target)
		if err != nil {
			fmt.Fprintf(w, "! %s: %v\n", target, err)
			errs++
			continue
		}
		var keys []string
		for k := range want {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			got := map[string]int{}
			err := mb.List(ctx, paths[k], func(s Summary) error {
				got[s.MessageID]++
				return nil
			})
			if err != nil {
				fmt.Fprintf(w, "! %s/%s: %v\n", target, k, err)
				errs++
				continue
			}
			for id, n := range want[k] {
				switch g := got[id]; {
				case g == n:
					same += n
					arch.same(k, n)
					fmt.Fprintf(w, "= %s/%s %s\n", target, k, id)
				case g < n:
					missing += n - g
					fmt.Fprintf(w, "+ %s/%s %s (%d in archive, %d on target)\n", target, k, id, n, g)
				default:
					extra += g - n
					fmt.Fprintf(w, "* %s/%s %s (%d in archive, %d on target: duplicated)\n", target, k, id, n, g)
				}
			}
			for id, g := range got {
				if _, ok := want[k][id]; !ok {
					extra += g
					fmt.Fprintf(w, "- %s/%s %s (only on target)\n", target, k, id)
				}
			}
		}
		mb.Close()
	}
	arch.print(w)
	fmt.Fprintf(w, "check: %d same, %d missing on target, %d extra or duplicated on target, %d errors\n", same, missing, extra, errs)
	if wrongDefaults > 0 {
		fmt.Fprintf(w, "check: %d default folders do not point where they should\n", wrongDefaults)
	}
	if missing+extra+errs+wrongDefaults > 0 {
		return ErrDifferences
	}
	return nil
}

// checkGroupware compares the GroupWare collections with the archive by
// resource name (the names derive from the source identities; contents
// are not compared, since servers re-serialise them).
func (im *Engine) checkGroupware(ctx context.Context, w io.Writer, target string, paths map[string][]string, want map[string]map[string]bool, same, missing, extra, errs int) (int, int, int, int) {
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		names, err := im.Sinks.Groupware.List(ctx, target, paths[k])
		if err != nil {
			fmt.Fprintf(w, "! %s/%s: %v\n", target, k, err)
			errs++
			continue
		}
		got := map[string]bool{}
		for _, n := range names {
			got[n] = true
		}
		for n := range want[k] {
			if got[n] {
				same++
				fmt.Fprintf(w, "= %s/%s %s\n", target, k, n)
			} else {
				missing++
				fmt.Fprintf(w, "+ %s/%s %s (missing on target)\n", target, k, n)
			}
		}
		for n := range got {
			if !want[k][n] {
				extra++
				fmt.Fprintf(w, "- %s/%s %s (only on target)\n", target, k, n)
			}
		}
	}
	return same, missing, extra, errs
}

// bareMessageID is a Message-ID without surrounding space and angle
// brackets, the form Summary.MessageID has.
func bareMessageID(id string) string {
	id = strings.TrimSpace(id)
	id = strings.TrimPrefix(id, "<")
	id = strings.TrimSuffix(id, ">")
	return strings.TrimSpace(id)
}
