// Package version reports the program version, commit and build date, and
// the archive format versions the program writes and reads.
//
// `make dist` stamps [Version], [Commit] and [Date] with -ldflags -X, taking
// the date from the commit, never from the clock, so that two builds of one
// commit are byte-identical. A plain `go build` leaves Commit and Date empty;
// they then come from the Go build information (vcs stamping), where the
// date is also the commit's time.
package version

import (
	"fmt"
	"runtime/debug"

	"github.com/iemproject/iem/archive"
)

// Stamped by `make dist` (scripts/dist) with -ldflags -X.
var (
	// Version is the release version.
	Version = "0.1.0-dev"
	// Commit is the full commit hash the binary was built from.
	Commit = ""
	// Date is the commit time (RFC 3339).
	Date = ""
)

// Archive format versions (spec/SPEC.md) this build writes and reads.
var (
	WritesFormat = archive.Version
	ReadsFormats = []int{archive.Version}
)

// Info returns one line for --version:
//
//	0.1.0 (commit 0123456789ab, 2026-11-29T01:02:03Z; archive format: writes 1, reads 1)
//
// A commit with uncommitted changes shows as "0123456789ab+dirty"; builds
// without version control information show "unknown".
func Info() string {
	commit, date := stamp()
	reads := ""
	for i, v := range ReadsFormats {
		if i > 0 {
			reads += " "
		}
		reads += fmt.Sprint(v)
	}
	return fmt.Sprintf("%s (commit %s, %s; archive format: writes %d, reads %s)", Version, commit, date, WritesFormat, reads)
}

// Writer names the program in archive manifests, so that every round
// records which build wrote it: "iem-export 0.1.0 (0123456789ab)".
func Writer(prog string) string {
	commit, _ := stamp()
	if commit == "unknown" {
		return prog + " " + Version
	}
	return prog + " " + Version + " (" + commit + ")"
}

// stamp returns the short commit and the commit date, from the -X stamps
// or else from the build information.
func stamp() (commit, date string) {
	commit, date = Commit, Date
	dirty := false
	if commit == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					commit = s.Value
				case "vcs.time":
					if date == "" {
						date = s.Value
					}
				case "vcs.modified":
					dirty = s.Value == "true"
				}
			}
		}
	}
	if commit == "" {
		commit = "unknown"
	}
	if len(commit) > 12 {
		commit = commit[:12]
	}
	if dirty {
		commit += "+dirty"
	}
	if date == "" {
		date = "unknown"
	}
	return commit, date
}
