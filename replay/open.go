package replay

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"filippo.io/age"

	"github.com/iemproject/iem/archive"
)

// OpenArchives opens each archive folder of dirs (the shards of one
// export), checking its round chain. A folder that holds no archive is
// archive.ErrNoArchive as OpenFolder returns it; other errors name the
// folder.
func OpenArchives(dirs []string, ids []age.Identity) ([]*archive.Folder, error) {
	var out []*archive.Folder
	for _, dir := range dirs {
		f, err := archive.OpenFolder(dir, &archive.FolderOptions{Identities: ids, Existing: true})
		if err != nil {
			for _, o := range out {
				o.Close()
			}
			if errors.Is(err, archive.ErrNoArchive) {
				return nil, err
			}
			return nil, fmt.Errorf("archive %s: %w", dir, err)
		}
		out = append(out, f)
	}
	return out, nil
}

// WarnIncomplete logs, for each folder (opened from dirs[i]) whose newest
// round is still being written or arrived cut short, that only the
// complete rounds are imported.
func WarnIncomplete(folders []*archive.Folder, dirs []string, log *slog.Logger) {
	for i, f := range folders {
		// Only complete rounds are imported: a round still being
		// written, or whose volume arrived cut short, waits for the next run.
		if vs := f.Volumes(); len(vs) > 0 && vs[len(vs)-1].Info.Round > f.LastRound() {
			v := vs[len(vs)-1]
			log.Warn(fmt.Sprintf("round %d is not complete in %s (%s is not its closed final part: the export is still running, or the copy was cut short): importing rounds up to %d; ship the volume again when the export has finished",
				v.Info.Round, dirs[i], v.Name, f.LastRound()))
		}
	}
}

// ReadPasswords reads a CSV file of email,password lines (the passwords
// of new accounts), by lower-case address; an empty path is none.
func ReadPasswords(path string) (map[string]string, error) {
	out := map[string]string{}
	if path == "" {
		return out, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, err
	}
	for i, r := range recs {
		if len(r) < 2 || !strings.Contains(r[0], "@") || r[1] == "" {
			return nil, fmt.Errorf("line %d: want email,password", i+1)
		}
		out[strings.ToLower(r[0])] = r[1]
	}
	return out, nil
}

// OpenRunLedger opens the ledger at path for a run against target: it
// fails at once if another run holds it (or waits, opt.Wait), and refuses
// a ledger of another target (*TargetMismatchError) unless the engine
// rebuilds, which it says.
func (im *Engine) OpenRunLedger(ctx context.Context, path string, target Target, opt LedgerOptions) (*Ledger, error) {
	opt.Notice = im.Notice()
	led, err := OpenLedgerWith(ctx, path, opt)
	if err != nil {
		return nil, err
	}
	prev, err := led.UseFor(target, im.rebuild)
	if err != nil {
		led.Close()
		return nil, err
	}
	if prev != nil {
		im.Tell(fmt.Sprintf("ledger %s recorded another target (%s); with --rebuild it now records %s", path, prev, target),
			"ledger", path, "previous", prev.String(), "target", target.String())
	}
	return led, nil
}
