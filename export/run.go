package export

import (
	"context"
	"log/slog"
	"sort"
	"time"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/exchange/directory"
	"github.com/iemproject/iem/internal/progress"
)

// Options are the settings of one round.
type Options struct {
	// Folder is the open archive folder, its writer lock held by the caller.
	Folder *archive.Folder
	// Accounts are recorded in the round's directory entries (with every
	// group of the Source's directory); Mailboxes are exported, Jobs of
	// them at a time (at least 1).
	Accounts  []*directory.Mailbox
	Mailboxes []string
	Jobs      int
	// StartYear filters out items received before it (0: none).
	StartYear int
	// PublicFoldersGroup, when set and the Source is a PublicSource,
	// exports the public folders, to be imported under this group.
	PublicFoldersGroup string
	// SpoolDir holds large items while they are read (default: the
	// system's temporary folder).
	SpoolDir string
	Log      *slog.Logger       // default: discard
	Progress *progress.Progress // nil: no progress
}

// Result is the outcome of [Run], returned also with an error.
type Result struct {
	Round   int  // the round written (0 if none was begun)
	Resumed bool // the round continues an interrupted one
	// Interrupted: ctx was cancelled while the mailboxes ran; what was
	// written is durable and the next Run continues the round.
	Interrupted bool
	// Stats holds one row per mailbox (and "public folders"), by name.
	Stats []*MailboxStats
	// NotReadable lists what the Source cannot read of the organisation
	// ([OrgNotReadable]).
	NotReadable []string
}

// PublicFoldersRow is the Mailbox of the public folders' summary row.
const PublicFoldersRow = "public folders"

// Run writes one round from src into opt.Folder: the directory, the
// mailboxes, the public folders, then closes the round. A mailbox whose
// Source fails is recorded in its row (Err) and the others go on; an
// archive failure stops the round. When ctx is cancelled (an interruption)
// the items being fetched are finished and written, what was written is
// made durable, and Run returns ctx's error: the next Run continues the
// round.
func Run(ctx context.Context, src Source, opt Options) (*Result, error) {
	log := opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	res := &Result{}
	dir, err := src.Directory(ctx)
	if err != nil {
		return res, err
	}
	rw, err := opt.Folder.Begin()
	if err != nil {
		return res, err
	}
	res.Round, res.Resumed = rw.Round(), rw.Resumed
	if rw.Cut != nil {
		log.Warn("continuing an interrupted round: "+rw.Cut.String(), "round", rw.Round())
	} else if rw.Resumed {
		log.Info("continuing an interrupted round", "round", rw.Round(), "volume", rw.Name())
	} else {
		log.Info("starting round", "round", rw.Round(), "volume", rw.Name())
	}
	e := &engine{src: src, dir: dir, folder: opt.Folder, view: opt.Folder.View(), log: log, rw: rw,
		startYear: opt.StartYear, spoolDir: opt.SpoolDir, stats: map[string]*MailboxStats{}, prog: opt.Progress}
	defer func() { res.Stats = e.rows() }()
	e.viewIndex()
	if err := e.writeDirectory(opt.Accounts); err != nil {
		return res, err
	}
	runErr := e.runMailboxes(ctx, opt.Mailboxes, max(opt.Jobs, 1))
	if o, ok := src.(OrgNotReadable); ok {
		res.NotReadable = o.NotReadable()
	}
	if ps, ok := src.(PublicSource); ok && runErr == nil && opt.PublicFoldersGroup != "" {
		runErr = e.exportPublicFolders(ctx, ps, opt.PublicFoldersGroup)
	}
	if runErr != nil {
		// Leave the volume as it is: the next run continues it.
		if ctx.Err() != nil {
			e.checkpoint()
			res.Interrupted = true
		}
		return res, runErr
	}
	return res, rw.Close()
}

func (e *engine) rows() []*MailboxStats {
	e.statsMu.Lock()
	defer e.statsMu.Unlock()
	out := make([]*MailboxStats, 0, len(e.stats))
	for _, s := range e.stats {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Mailbox < out[j].Mailbox })
	return out
}

// interruptGrace bounds how long an interrupted run keeps fetching the
// items already requested.
const interruptGrace = 30 * time.Second
