package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/icewarp/dav"
	"github.com/iemproject/iem/icewarp/imapsink"
	"github.com/iemproject/iem/internal/cliutil"
)

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "compare archive and target per folder (rclone style: = same, + missing on target, - only on target, * differs, ! error)",
		Description: `Lists every folder of the target over IMAP (and WebDAV) and compares it with the
archive's view: one line per folder on stdout, then the totals. Exit 0 when nothing
is missing, extra or duplicated.

Examples:
  iem-import check --config iem-import.conf
  iem-import check --config iem-import.conf | grep -v '^='   # only the differences`,
		Flags: targetFlags(),
		Action: func(c *cli.Context) error {
			t, err := parseTarget(c)
			if err != nil {
				return err
			}
			folders, err := openArchives(c)
			if err != nil {
				return err
			}
			defer func() {
				for _, f := range folders {
					f.Close()
				}
			}()
			log, _ := cliutil.Logger(c.App.ErrWriter, t.logLevel, t.logFormat)
			im := &importer{log: log, domainMap: t.domainMap, pfGroup: t.pfGroup, iceNames: t.iceNames, imapOpt: t.imap}
			if t.webdav != "" {
				if im.gw, err = newGroupware(t.webdav, t.davLayout, t.api.Username, t.api.Password, t.api.TLS, log, nil); err != nil {
					return err
				}
			}
			for _, f := range folders {
				im.sources = append(im.sources, source{folder: f, view: f.View()})
			}
			if err := im.index(); err != nil {
				return err
			}
			return im.check(c.Context, c.App.Writer)
		},
	}
}

// checkKey identifies a message on both sides: Message-ID and size.
type checkKey struct {
	messageID string
	size      int64
}

// check lists, per mailbox and folder, how the target compares with the
// archive's logical view. Differences make it return ErrPartial (exit 3).
func (im *importer) check(ctx context.Context, w io.Writer) error {
	var mbxs []string
	for m := range im.byMailbox {
		mbxs = append(mbxs, m)
	}
	sort.Strings(mbxs)
	same, missing, extra, errs := 0, 0, 0, 0
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
			if e.Kind != archive.KindMessage {
				if ct := contentType(e.Kind); ct != "" && fi.typ != "M" && im.gw != nil {
					if gwWant[k] == nil {
						gwWant[k] = map[string]bool{}
					}
					gwWant[k][dav.ResourceName(src+"\x00"+e.ID, ct)] = true
				}
				continue
			}
			if want[k] == nil {
				want[k] = map[string]int{}
			}
			want[k][imapsink.NormalizeMessageID(e.Attrs["message-id"])]++
		}
		same, missing, extra, errs = im.checkGroupware(ctx, w, target, paths, gwWant, same, missing, extra, errs)
		mb, err := imapsink.Dial(ctx, im.imapOpt, target)
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
			err := mb.List(ctx, paths[k], func(s imapsink.Summary) error {
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
	fmt.Fprintf(w, "check: %d same, %d missing on target, %d extra or duplicated on target, %d errors\n", same, missing, extra, errs)
	if missing+extra+errs > 0 {
		return cliutil.ErrPartial
	}
	return nil
}

// checkGroupware compares the GroupWare collections with the archive by
// resource name (the names derive from the source identities; contents
// are not compared, since servers re-serialise them).
func (im *importer) checkGroupware(ctx context.Context, w io.Writer, target string, paths map[string][]string, want map[string]map[string]bool, same, missing, extra, errs int) (int, int, int, int) {
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		names, err := im.gw.List(ctx, target, paths[k])
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
