//go:build linux

package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/internal/testbed"
)

// pstRead measures iem-export run --source pst on the three npm test files
// (enron.pst and the two Outlook.com OSTs, research/pst.md §9) against readpst
// exporting the same file in the same run (readpst -e -D -j 0: one file per
// item, as research/pst.md §10 advises): MB of PST read per second and peak
// RSS, best of three runs each (the machine is shared). Both write a full
// export: iem its archive (compressed, hashed), readpst an EML tree.
func (h *harness) pstRead() {
	readpst := testbed.Need(h.b, "readpst")
	dir := filepath.Join(h.dir, "pst")
	os.MkdirAll(dir, 0o700)
	org := ewstest.Generate(1, ewstest.OrgOptions{Users: 1})
	var ldif bytes.Buffer
	org.WriteLDIF(&ldif)
	ad := filepath.Join(dir, "ad.ldf")
	os.WriteFile(ad, ldif.Bytes(), 0o600)
	export := func(file, archive string) pstRun {
		mapFile := filepath.Join(dir, filepath.Base(archive)+".csv")
		os.WriteFile(mapFile, []byte(file+","+org.Users[0].SMTP+",archive\n"), 0o600)
		return h.pstCommand(filepath.Join(h.bin, "iem-export"), "run", "--source", "pst", "--pst-map", mapFile,
			"--directory-file", ad, "--archive", archive, "--log-level", "error")
	}
	// The fixed cost of a run (start, directory, archive set-up, summary):
	// the one-item ANSI file of 64 KB, best of three.
	var floor pstRun
	for i := range 3 {
		floor = floor.best(export(testbed.PSTFile(h.b, "32-bit.pst"), filepath.Join(dir, fmt.Sprintf("archive-floor-%d", i))))
	}
	for _, name := range []string{"enron.pst", "pstextractortest@outlook.com.ost", "pstextractortestpdf@outlook.com.ost"} {
		file := testbed.PSTFile(h.b, name)
		fi, err := os.Stat(file)
		if err != nil {
			h.b.Fatal(err)
		}
		var iem, base pstRun
		for i := range 3 {
			iem = iem.best(export(file, filepath.Join(dir, fmt.Sprintf("archive-%s-%d", name, i))))
			out := filepath.Join(dir, fmt.Sprintf("readpst-%s-%d", name, i))
			os.MkdirAll(out, 0o700)
			base = base.best(h.pstCommand(readpst, "-q", "-e", "-D", "-j", "0", "-o", out, file))
		}
		mb := float64(fi.Size()) / 1e6
		ims, rms := mb/iem.wall.Seconds(), mb/base.wall.Seconds()
		h.add(row{measure: "PST read (" + name + "): MB/s", iem: fmt.Sprintf("%.1f MB/s (%.1f MB in %s)", ims, mb, iem.wall.Round(time.Millisecond)),
			baseline: fmt.Sprintf("readpst %.1f MB/s (%s)", rms, base.wall.Round(time.Millisecond)), ratio: ims / rms, noGoal: true,
			note: fmt.Sprintf("iem-export run --source pst into a new archive vs readpst -e -D -j 0 into an EML tree; best of 3 each; a run's fixed cost (32-bit.pst, 64 KB) is %s", floor.wall.Round(time.Millisecond))})
		h.add(row{measure: "PST read (" + name + "): peak RSS", iem: fmt.Sprintf("%.0f MB", float64(iem.rss)/1e6),
			baseline: fmt.Sprintf("readpst %.0f MB", float64(base.rss)/1e6), ratio: float64(iem.rss) / float64(base.rss),
			goal: "< 200 MB", pass: iem.rss < 200e6})
	}
}

// pstRun is one timed run: wall time and peak RSS.
type pstRun struct {
	wall time.Duration
	rss  int64
}

// best keeps the shorter wall time and the lower peak RSS of two runs (the
// zero run counts as none).
func (r pstRun) best(o pstRun) pstRun {
	if r.wall == 0 {
		return o
	}
	return pstRun{wall: min(r.wall, o.wall), rss: min(r.rss, o.rss)}
}

// pstCommand runs a command under runPeak; exit 3 (iem-export: items
// skipped, here the OSTs' calendar items) is a finished run.
func (h *harness) pstCommand(name string, args ...string) pstRun {
	h.b.Helper()
	cmd := exec.Command(name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	rss, err := runPeak(cmd)
	wall := time.Since(t0)
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 3) {
		h.b.Fatalf("%s: %v\n%s", name, err, out.String())
	}
	return pstRun{wall: wall, rss: rss}
}
