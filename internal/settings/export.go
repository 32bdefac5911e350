package settings

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/iemproject/iem/exchange"
	"github.com/iemproject/iem/exchange/directory"
	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/internal/progress"
)

// Export is the validated form of iem-export's settings.
type Export struct {
	Source             string // ews or graph
	EWS                exchange.Options
	Graph              Graph
	PST                []PSTMapping // --source pst: the files and the mailboxes they belong to
	Directory          *directory.Options
	DirectoryFile      string
	Selector           directory.Selector
	Shard              export.Shard
	PublicFoldersGroup string
	StartYear          int
	Jobs               int
	ArchiveDir         string
	VolumeSize         int64
	Recipients         []age.Recipient
	Identities         []age.Identity
	LogLevel           string
	LogFormat          string
	Summary            string
	Progress           bool
	// Watch, set by a front end that shows the run itself (the web
	// console), receives the progress events the terminal lines show.
	Watch progress.Observer
}

// ExportSettings reads iem-export's settings and checks every field
// before any network call; the archive ones only when needArchive.
func ExportSettings(c Values, needArchive bool) (*Export, error) {
	cfg := &Export{StartYear: c.Int("start-year"), Jobs: c.Int("jobs"), PublicFoldersGroup: c.String("public-folders-group"),
		LogLevel: c.String("log-level"), LogFormat: c.String("log-format")}
	if _, err := cliutil.Logger(io.Discard, cfg.LogLevel, cfg.LogFormat); err != nil {
		return nil, err
	}
	var err error
	switch cfg.Source = c.String("source"); cfg.Source {
	case "ews":
		if cfg.EWS, err = EWS(c); err != nil {
			return nil, err
		}
		if cfg.Directory, cfg.DirectoryFile, err = Directory(c); err != nil {
			return nil, err
		}
	case "pst": // PST/OST files, the directory from AD or an LDIF file
		if cfg.PST, err = PSTMap(c.String("pst-map")); err != nil {
			return nil, err
		}
		if cfg.Directory, cfg.DirectoryFile, err = Directory(c); err != nil {
			return nil, err
		}
	case "graph": // the directory comes from Graph too
		if cfg.Graph, err = GraphSource(c); err != nil {
			return nil, err
		}
	default:
		return nil, cliutil.Usagef("source", "%q is not ews, graph or pst", cfg.Source)
	}
	cfg.Selector = directory.Selector{Mailboxes: c.StringSlice("mailbox"), Groups: c.StringSlice("group")}
	if p := c.String("mailboxes-from"); p != "" {
		if cfg.Selector, err = SelectorFromFile(cfg.Selector, p); err != nil {
			return nil, err
		}
	}
	if cfg.StartYear < 1900 || cfg.StartYear > time.Now().Year()+1 {
		return nil, cliutil.Usagef("start-year", "%d is not between 1900 and %d", cfg.StartYear, time.Now().Year()+1)
	}
	if cfg.Shard, err = ParseShard(c.String("shard")); err != nil {
		return nil, err
	}
	if cfg.Jobs < 1 || cfg.Jobs > 64 {
		return nil, cliutil.Usagef("jobs", "%d is not between 1 and 64", cfg.Jobs)
	}
	cfg.ArchiveDir = c.String("archive")
	if !needArchive {
		return cfg, nil
	}
	if err := ArchiveSettings(c, cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// ArchiveSettings reads and checks the archive settings of a run into cfg
// (archive, volume-size, the keys, summary-json, progress): the part of
// [ExportSettings] a front end can check before the source is known.
func ArchiveSettings(c Values, cfg *Export) error {
	cfg.ArchiveDir = c.String("archive")
	if cfg.ArchiveDir == "" {
		return cliutil.Usagef("archive", "required: the folder the archive is written to")
	}
	if st, err := os.Stat(cfg.ArchiveDir); err == nil && !st.IsDir() {
		return cliutil.Usagef("archive", "%s exists and is not a folder", cfg.ArchiveDir)
	}
	cfg.VolumeSize = c.Int64("volume-size")
	if cfg.VolumeSize < 1<<20 {
		return cliutil.Usagef("volume-size", "%d bytes is below the minimum of 1 MiB", cfg.VolumeSize)
	}
	var err error
	if cfg.Recipients, cfg.Identities, err = ArchiveKeys(c); err != nil {
		return err
	}
	cfg.Summary = c.String("summary-json")
	cfg.Progress = c.Bool("progress")
	return nil
}

// SelectorFromFile adds the addresses listed in file (one per line, '#'
// comments) to sel.
func SelectorFromFile(sel directory.Selector, file string) (directory.Selector, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return sel, cliutil.Usagef("mailboxes-from", "%v", err)
	}
	out := directory.Selector{Mailboxes: slices.Clone(sel.Mailboxes), Groups: slices.Clone(sel.Groups)}
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out.Mailboxes = append(out.Mailboxes, l)
			n++
		}
	}
	if n == 0 {
		return sel, cliutil.Usagef("mailboxes-from", "%s lists no mailbox", file)
	}
	return out, nil
}

// ParseSelection reads the selection typed in init: "all", or words that
// are addresses or patterns, @group, or <file.
func ParseSelection(v string) (sel directory.Selector, file string, err error) {
	for _, f := range strings.Fields(v) {
		switch {
		case strings.EqualFold(f, "all"):
		case strings.HasPrefix(f, "@") && len(f) > 1:
			sel.Groups = append(sel.Groups, f[1:])
		case strings.HasPrefix(f, "<") && len(f) > 1:
			if file != "" {
				return sel, "", cliutil.Usagef("mailboxes-from", "give one <file at most")
			}
			if file, err = filepath.Abs(f[1:]); err != nil {
				return sel, "", cliutil.Usagef("mailboxes-from", "%v", err)
			}
		default:
			sel.Mailboxes = append(sel.Mailboxes, f)
		}
	}
	return sel, file, nil
}

// SelectMailboxes applies the selection; an unknown mailbox or group is a usage error.
func SelectMailboxes(s *directory.Snapshot, sel directory.Selector) ([]*directory.Mailbox, error) {
	ms, err := s.Lookup(sel)
	if err != nil {
		var nf *directory.NotFoundError
		if errors.As(err, &nf) {
			field := "mailbox"
			if nf.Kind == "group" {
				field = "group"
			}
			return nil, cliutil.Usagef(field, "%v", err)
		}
		return nil, err
	}
	if len(ms) == 0 {
		return nil, cliutil.Usagef("mailbox", "the selection matches no mailbox")
	}
	return ms, nil
}

// ParseShard reads --shard i/n; "" is not sharded.
func ParseShard(s string) (export.Shard, error) {
	if s == "" {
		return export.Shard{}, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || n < 1 || n > 100000 || i < 1 || i > n {
		return export.Shard{}, cliutil.Usagef("shard", "%q is not i/n with 1 ≤ i ≤ n (e.g. 2/4)", s)
	}
	return export.Shard{Index: i, Count: n}, nil
}
