package export

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/iemproject/iem/archive"
)

// A FieldError is a problem the user fixes by changing one setting: Field
// names it (the command-line flag and config key).
type FieldError struct{ Field, Reason string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// LockArchive takes the archive folder's writer lock: a second export or
// a repair is refused at once, naming the holder.
func LockArchive(dir, command string, log *slog.Logger) (*archive.DirLock, error) {
	l, err := archive.LockDir(dir, command)
	if err != nil {
		return nil, err
	}
	if l.TookOver != nil {
		log.Warn("took over the archive lock of a writer that is no longer running", "holder", l.TookOver.String())
	}
	return l, nil
}

// OpenArchive opens the archive folder dir (its lock held) and checks that
// a round written with opt can continue it (chain, encryption: a
// *FieldError). A newest round that no writer closed under the lock, or
// that does not open, is read in full and repaired first (archive.Repair),
// with a message. Without create it returns nil for a folder that does not
// exist yet.
func OpenArchive(dir string, opt *archive.FolderOptions, create bool, log *slog.Logger) (*archive.Folder, error) {
	if _, err := os.Stat(dir); err != nil && !create {
		return nil, nil
	}
	folder, err := archive.OpenFolder(dir, opt)
	if err == nil && folder.LastRoundVerified() {
		return checkEncryption(folder, opt)
	}
	if err == nil {
		folder.Close()
		log.Info("checking the newest round in full: it was not closed by a writer holding the archive lock")
	}
	res, rerr := archive.Repair(dir, opt)
	switch {
	case rerr != nil && err != nil:
		return nil, fmt.Errorf("%w (repair: %v)", err, rerr)
	case rerr != nil:
		return nil, rerr
	case err != nil && !res.Repaired():
		return nil, err
	case res.Repaired():
		log.Warn("repaired the archive: " + res.String())
	}
	if folder, err = archive.OpenFolder(dir, opt); err != nil {
		return nil, err
	}
	return checkEncryption(folder, opt)
}

// checkEncryption returns folder, or closes it and returns a *FieldError
// when the archive's encryption is not the one opt writes.
func checkEncryption(folder *archive.Folder, opt *archive.FolderOptions) (*archive.Folder, error) {
	if len(folder.Volumes()) > 0 && folder.Encrypted() != (len(opt.Recipients) > 0) {
		folder.Close()
		if folder.Encrypted() {
			return nil, &FieldError{"encrypt-to", "the archive is encrypted: give the same --encrypt-to or --passphrase-file"}
		}
		return nil, &FieldError{"encrypt-to", "the archive was started without encryption; it cannot change now"}
	}
	return folder, nil
}
