package icewarpsink

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/iemproject/iem/icewarp"
	"github.com/iemproject/iem/icewarp/imapsink"
	"github.com/iemproject/iem/icewarp/mailpath"
	"github.com/iemproject/iem/replay"
)

// Files is replay.MailFiles over IceWarp's mail path: the account folder
// is resolved through the admin API (u_fullmailboxpath), files are written
// with mailpath, and the account is refreshed through the admin API
// (u_directorycache_refreshnow) so that IMAP shows them.
type Files struct {
	admin *icewarp.Admin
	store *mailpath.Store
}

// NewFiles returns the path-mode sink.
func NewFiles(admin *icewarp.Admin, store *mailpath.Store) *Files {
	return &Files{admin: admin, store: store}
}

func (f *Files) Account(ctx context.Context, account string) (replay.AccountFiles, error) {
	dir, err := f.admin.MailboxPath(ctx, account)
	if err != nil {
		return nil, err
	}
	acct, err := f.store.AccountDir(dir)
	if err != nil {
		return nil, err
	}
	return &accountFiles{f: f, account: account, dir: acct}, nil
}

type accountFiles struct {
	f       *Files
	account string
	dir     string
}

// pathSegments maps a folder path to the segments of its directory: the
// same look-alike mapping as IMAP folder names (imapsink.FolderName with
// IceWarp's "/" delimiter), so the folder created over IMAP and the one
// written on disk are the same, and "/", "\", ".." or a leading "~" in an
// archived name stay inside one segment. mailpath checks the result again.
func pathSegments(folder []string) ([]string, error) {
	name, err := imapsink.FolderName(folder, '/')
	if err != nil {
		return nil, err
	}
	return strings.Split(name, "/"), nil
}

func (a *accountFiles) RemoveTemp(folder []string) (int, error) {
	segs, err := pathSegments(folder)
	if err != nil {
		return 0, err
	}
	return a.f.store.RemoveTemp(a.dir, segs)
}

func (a *accountFiles) NewBatch(folder []string) (replay.FileBatch, error) {
	segs, err := pathSegments(folder)
	if err != nil {
		return nil, err
	}
	b, err := a.f.store.NewBatch(a.dir, segs)
	if err != nil {
		return nil, err
	}
	return b, nil
}

func (a *accountFiles) FileSize(folder []string, name string) (int64, error) {
	segs, err := pathSegments(folder)
	if err != nil {
		return 0, err
	}
	rel, err := a.f.store.FolderPath(segs)
	if err != nil {
		return 0, err
	}
	fi, err := os.Stat(filepath.Join(a.dir, rel, name))
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

func (a *accountFiles) Refresh(ctx context.Context) error {
	return a.f.admin.RefreshAccount(ctx, a.account)
}
