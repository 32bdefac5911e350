// Package version reports the program version, commit and build date from
// the Go build information (vcs stamping), so builds stay reproducible: the
// "date" is the commit's time, not the time of the build.
package version

import (
	"fmt"
	"runtime/debug"

	"github.com/iemproject/iem/archive"
)

// Version is the release version; `make dist` may set it with -ldflags -X.
var Version = "0.1.0-dev"

// Info returns "VERSION (commit COMMIT, DATE; archive format N)".
func Info() string {
	commit, date, dirty := "unknown", "unknown", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
				if len(commit) > 12 {
					commit = commit[:12]
				}
			case "vcs.time":
				date = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
	}
	return fmt.Sprintf("%s (commit %s%s, %s; archive format %d)", Version, commit, dirty, date, archive.Version)
}

// Writer names the program in archive manifests: "iem-export 0.1.0-dev".
func Writer(prog string) string { return prog + " " + Version }
