package icewarpsink

import (
	"context"
	"strings"

	"github.com/iemproject/iem/icewarp"
	"github.com/iemproject/iem/icewarp/mailpath"
	"github.com/iemproject/iem/replay"
)

// PathDefaults is replay.DefaultFolderSetter in path mode: it merges the
// account's ~webmail/settings.xml <default_folders> (icewarp.md §1.7),
// found through the admin API's u_fullmailboxpath as the message files are.
type PathDefaults struct{ f *Files }

// Defaults returns the path-mode default-folder setter of the Files sink.
func (f *Files) Defaults() *PathDefaults { return &PathDefaults{f} }

func (p *PathDefaults) SetDefaultFolders(ctx context.Context, account string, d replay.DefaultFolders) error {
	dir, err := p.f.admin.MailboxPath(ctx, account)
	if err != nil {
		return err
	}
	return p.f.store.SetDefaultFolders(dir, defaultValues(account, d))
}

func (p *PathDefaults) DefaultFolders(ctx context.Context, account string) (replay.DefaultFolders, error) {
	dir, err := p.f.admin.MailboxPath(ctx, account)
	if err != nil {
		return nil, err
	}
	m, err := p.f.store.ReadDefaultFolders(dir)
	if err != nil {
		return nil, err
	}
	return parseDefaults(account, m), nil
}

// parseDefaults maps "<email>/<folder>" values back to folder paths; a
// value for another account, or none, is left out.
func parseDefaults(account string, m map[string]string) replay.DefaultFolders {
	d := replay.DefaultFolders{}
	for k, v := range m {
		if len(v) > len(account)+1 && strings.EqualFold(v[:len(account)], account) && v[len(account)] == '/' {
			d[k] = strings.Split(v[len(account)+1:], "/")
		}
	}
	return d
}

// WebClientDefaults is replay.DefaultFolderSetter without the mail path:
// the account's WebClient settings through a WebClient session the
// administrator opens for it (icewarp.Admin.SetWebClientDefaultFolders;
// the chain is VERIFIED from IceWarp staff scripts, the set request is
// INFERRED).
type WebClientDefaults struct{ admin *icewarp.Admin }

// NewWebClientDefaults returns the default-folder setter over the admin API.
func NewWebClientDefaults(admin *icewarp.Admin) *WebClientDefaults { return &WebClientDefaults{admin} }

func (w *WebClientDefaults) SetDefaultFolders(ctx context.Context, account string, d replay.DefaultFolders) error {
	return w.admin.SetWebClientDefaultFolders(ctx, account, defaultValues(account, d))
}

func (w *WebClientDefaults) DefaultFolders(ctx context.Context, account string) (replay.DefaultFolders, error) {
	m, err := w.admin.WebClientDefaultFolders(ctx, account)
	if err != nil {
		return nil, err
	}
	return parseDefaults(account, m), nil
}

// defaultValues writes folder paths as settings.xml values.
func defaultValues(account string, d replay.DefaultFolders) map[string]string {
	set := map[string]string{}
	for k, folder := range d {
		set[k] = mailpath.DefaultFolderValue(account, folder)
	}
	return set
}
