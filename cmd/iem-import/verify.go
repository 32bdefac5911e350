package main

import (
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/urfave/cli/v2"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/internal/settings"
	"github.com/iemproject/iem/replay"
)

var archiveFlags = []cli.Flag{
	&cli.StringSliceFlag{Name: "archive", Usage: "archive `DIR` (repeat for the shards of a sharded export; required)"},
	&cli.StringSliceFlag{Name: "identity", Usage: "age identity `FILE` for an encrypted archive"},
	&cli.StringFlag{Name: "passphrase-file", Usage: "`FILE` holding the passphrase of an encrypted archive"},
}

// openArchives opens each --archive folder, checking its round chain.
func openArchives(c *cli.Context) ([]*archive.Folder, error) {
	_, ids, err := settings.ArchiveKeys(c)
	if err != nil {
		return nil, err
	}
	if len(c.StringSlice("archive")) == 0 {
		return nil, cliutil.Usagef("archive", "required: the archive folder iem-export wrote")
	}
	for _, dir := range c.StringSlice("archive") {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, cliutil.Usagef("archive", "%s is not a folder", dir)
		}
	}
	folders, err := replay.OpenArchives(c.StringSlice("archive"), ids)
	if errors.Is(err, archive.ErrNoArchive) {
		return nil, cliutil.Usagef("archive", "%v", err)
	}
	return folders, err
}

func closeAll(folders []*archive.Folder) {
	for _, f := range folders {
		f.Close()
	}
}

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:  "verify",
		Usage: "check every checksum and the round chain of an archive, without a target",
		Description: `Reads every volume of the archive and checks each entry's checksum and the chain
of rounds; run it after copying an archive to the IceWarp side.

Examples:
  iem-import verify --archive /srv/iem/example
  iem-import verify --archive /srv/iem/example --identity key.txt     # an encrypted archive`,
		Flags: archiveFlags,
		Action: func(c *cli.Context) error {
			folders, err := openArchives(c)
			if err != nil {
				return err
			}
			defer closeAll(folders)
			w := c.App.Writer
			for i, f := range folders {
				dir := c.StringSlice("archive")[i]
				inv, err := replay.Verify(f)
				if err != nil {
					return fmt.Errorf("archive %s: %w", dir, err)
				}
				fmt.Fprintf(w, "archive %s: %d volumes, %d complete rounds, %d entries, %d body bytes stored\n",
					dir, len(f.Volumes()), f.LastRound(), inv.Entries, inv.Bytes)
				for _, v := range f.Volumes() {
					state := "closed"
					if v.Torn {
						state = "torn (export still running or crashed; run iem-export again)"
					} else if v.Info.Final {
						state = "closed, final part of its round"
					}
					fmt.Fprintf(w, "  %s  round %d part %d  %d entries  %s  %s\n", v.Name, v.Info.Round, v.Info.Part,
						len(v.Entries()), v.Info.Writer, state)
				}
				var ks []int
				for k := range inv.Kinds {
					ks = append(ks, int(k))
				}
				sort.Ints(ks)
				for _, k := range ks {
					fmt.Fprintf(w, "  %-18s %d\n", archive.Kind(k), inv.Kinds[archive.Kind(k)])
				}
				fmt.Fprintf(w, "archive %s: ok, every checksum and the round chain verified\n", dir)
			}
			return nil
		},
	}
}
