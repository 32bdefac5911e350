package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/internal/cliutil"
)

func planCommand() *cli.Command {
	return &cli.Command{
		Name:  "plan",
		Usage: "print per mailbox what a run would create, update, leave, skip and delete (archive and ledger only, no target)",
		Description: `Compares the archive with the ledger of what earlier runs applied; it never
connects to the target.

Examples:
  iem-import plan --archive /srv/iem/example
  iem-import plan --config iem-import.conf      # run's config: the target settings are not used
  iem-import plan --archive /srv/iem/example --domain-map example.com=example.org`,
		Flags: append(append([]cli.Flag(nil), archiveFlags...),
			&cli.StringFlag{Name: "config", Usage: "read settings from `FILE`, as run does (settings only run uses are ignored)"},
			&cli.StringFlag{Name: "ledger", Usage: "ledger `FILE` (default ARCHIVE/iem-import.ledger)"},
			&cli.StringSliceFlag{Name: "domain-map", Usage: "map a source domain to a target domain: `OLD=NEW` (repeatable)"},
			&cli.BoolFlag{Name: "icewarp-folder-names", Usage: "as for run"},
		),
		Action: func(c *cli.Context) error {
			if p := c.String("config"); p != "" {
				if err := applyPlanConfig(c, p); err != nil {
					return err
				}
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
			im := &importer{domainMap: map[string]string{}, iceNames: c.Bool("icewarp-folder-names")}
			for _, m := range c.StringSlice("domain-map") {
				from, to, ok := strings.Cut(m, "=")
				if !ok || from == "" || to == "" {
					return fmt.Errorf("domain-map: %q is not OLD=NEW", m)
				}
				im.domainMap[strings.ToLower(from)] = strings.ToLower(to)
			}
			for _, f := range folders {
				im.sources = append(im.sources, source{folder: f, view: f.View()})
			}
			if err := im.index(); err != nil {
				return err
			}
			path := c.String("ledger")
			if path == "" {
				path = filepath.Join(c.StringSlice("archive")[0], "iem-import.ledger")
			}
			led, err := openLedgerReadOnly(path)
			if err != nil {
				return err
			}
			if led != nil {
				defer led.db.Close()
			}
			return im.plan(c.App.Writer, led)
		},
	}
}

// applyPlanConfig reads run's config file for plan: the settings plan
// has are applied as cliutil.ApplyConfig does (the command line wins), and
// those only run has (the target's) are skipped. A setting neither knows
// is an error, as for run.
func applyPlanConfig(c *cli.Context, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return cliutil.Usagef("config", "%v", err)
	}
	known, runOnly := map[string]bool{}, map[string]bool{}
	for _, fl := range c.Command.Flags {
		for _, n := range fl.Names() {
			known[n] = true
		}
	}
	for _, fl := range runCommand().Flags {
		for _, n := range fl.Names() {
			runOnly[n] = !known[n]
		}
	}
	var kept strings.Builder
	for _, l := range strings.Split(string(b), "\n") {
		name, _, ok := strings.Cut(strings.TrimSpace(l), "=")
		if ok && runOnly[strings.TrimSpace(name)] {
			kept.WriteString("# (run only)\n") // keeps the line numbers of errors
			continue
		}
		kept.WriteString(l + "\n")
	}
	f, err := os.CreateTemp("", "iem-import-plan-*.conf")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(kept.String()); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	err = cliutil.ApplyConfig(c, f.Name())
	var ue *cliutil.UsageError
	if errors.As(err, &ue) {
		ue.Msg = strings.ReplaceAll(ue.Msg, f.Name(), path)
	}
	return err
}

// openLedgerReadOnly opens an existing ledger without taking the writer's
// lock; a missing ledger (nothing applied yet) gives nil.
func openLedgerReadOnly(path string) (*ledger, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	l := &ledger{db: db}
	err = db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketItems) == nil {
			return errors.New("no items bucket")
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	return l, nil
}

// planRow is one mailbox of the plan.
type planRow struct {
	mailbox                                   string
	create, update, flags, same, skip, delete int
}

// plan compares the archive's logical view with the ledger, the way run
// decides what to write (--rebuild aside), and prints one line per mailbox.
func (im *importer) plan(w io.Writer, led *ledger) error {
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
	}
	tw.Flush()
	fmt.Fprintf(w, "plan: %d mailboxes: %d to create, %d to update, %d flag changes, %d unchanged, %d skipped, %d to delete\n",
		len(rows), t.create, t.update, t.flags, t.same, t.skip, t.delete)
	return nil
}
