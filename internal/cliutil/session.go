package cliutil

import (
	"io"
	"log/slog"

	"github.com/iemproject/iem/internal/progress"
	"github.com/iemproject/iem/internal/report"
)

// A Session is the output side of one run of iem-export or iem-import:
// progress on stderr (live lines on a terminal, a line per mailbox every
// 10 s otherwise), log lines printed above it, and every line also in the
// run's own log file once File is opened in the archive folder.
type Session struct {
	Progress *progress.Progress // nil without --progress
	Log      *slog.Logger       // stderr and the log file
	FileLog  *slog.Logger       // the log file only (what would flood stderr)
	File     *report.RunLog
	Notice   io.Writer // stderr, above the progress lines
}

// StartSession starts the output of a run. opt.Terminal is set from stderr.
func StartSession(stderr io.Writer, showProgress bool, opt progress.Options, level, format string) (*Session, error) {
	s := &Session{File: &report.RunLog{}}
	if showProgress {
		opt.Terminal = progress.IsTerminal(stderr)
		s.Progress = progress.New(stderr, &opt)
	}
	s.Notice = s.Progress.Logs(stderr)
	var err error
	if s.Log, err = Logger(io.MultiWriter(s.Notice, s.File), level, format); err == nil {
		s.FileLog, err = Logger(s.File, level, format)
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close stops the progress lines and closes the log file.
func (s *Session) Close() {
	s.Progress.Close()
	s.File.Close()
}

// Finish ends a run whose engine returned runErr. The progress lines stop
// first, so that what follows stands below the last of them. An
// interrupted run logs how to continue (advice, with attrs) and exits 130;
// a finished one prints its summary, and a partial summary exits 3.
func (s *Session) Finish(runErr error, interrupted bool, advice string, attrs []any, summary func() (partial bool, err error)) error {
	s.Progress.Close()
	if runErr != nil {
		if interrupted {
			s.Log.Warn("interrupted: "+advice, attrs...)
			return Interrupted(runErr)
		}
		return runErr
	}
	partial, err := summary()
	if err == nil && partial {
		err = ErrPartial
	}
	return err
}
