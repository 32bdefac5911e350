package replay

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
)

// DefaultFolders are the mail folders an account's client files sent
// messages, drafts, deleted and junk messages into, by key ("sent",
// "drafts", "trash", "spam"), as target folder paths.
type DefaultFolders map[string][]string

// DefaultFolderSetter points an account's default folders at folders of
// its mailbox (IceWarp: the WebClient's default_folders, icewarp.md §1.7).
type DefaultFolderSetter interface {
	// SetDefaultFolders sets the given keys, leaving the others as they are.
	SetDefaultFolders(ctx context.Context, account string, d DefaultFolders) error
	// DefaultFolders returns what the account's default folders point at
	// (a key not set is absent).
	DefaultFolders(ctx context.Context, account string) (DefaultFolders, error)
}

// defaultRoles maps Exchange's distinguished folder ids to the default
// folder they were [V MSDOCS distinguishedfolderid.md]: found by id, so a
// localised mailbox ("Gesendete Elemente") points at the same folder.
var defaultRoles = map[string]string{
	"sentitems": "sent", "drafts": "drafts", "deleteditems": "trash", "junkemail": "spam",
}

// wantDefaults returns where an account's default folders should point:
// the target paths of the folders that were Exchange's well-known ones.
func wantDefaults(folders map[string]*folderInfo) DefaultFolders {
	d := DefaultFolders{}
	for _, fi := range folders {
		if key, ok := defaultRoles[fi.role]; ok && !fi.skip && fi.typ == "M" && len(fi.path) > 0 {
			d[key] = fi.path
		}
	}
	return d
}

// setDefaultFolders points the account's default folders at its Exchange
// ones after its folders exist; a target that refuses it is told to the
// operator and the mailbox goes on (its mail does not depend on it).
func (im *Engine) setDefaultFolders(ctx context.Context, log *slog.Logger, source, target string, folders map[string]*folderInfo) error {
	if im.Sinks.Defaults == nil || source == "" {
		return nil
	}
	d := wantDefaults(folders)
	if len(d) == 0 {
		return nil
	}
	st := im.statsFor(source)
	if err := im.Sinks.Defaults.SetDefaultFolders(ctx, target, d); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		im.Tell(fmt.Sprintf("%s: default folders not set (set Sent, Drafts, Trash by hand): %v", target, err), "mailbox", source)
		im.statsMu.Lock()
		st.DefaultFoldersError = err.Error()
		im.statsMu.Unlock()
		return nil
	}
	im.statsMu.Lock()
	st.DefaultFolders = map[string]string{}
	for k, p := range d {
		st.DefaultFolders[k] = strings.Join(p, "/")
	}
	im.statsMu.Unlock()
	log.Info("default folders set", "sent", strings.Join(d["sent"], "/"), "drafts", strings.Join(d["drafts"], "/"),
		"trash", strings.Join(d["trash"], "/"), "spam", strings.Join(d["spam"], "/"))
	return nil
}

// checkDefaults prints a "~" line for each default folder of target that
// does not point where the archive says, and returns how many.
func (im *Engine) checkDefaults(ctx context.Context, w io.Writer, source, target string, folders map[string]*folderInfo) int {
	if im.Sinks.Defaults == nil || source == "" {
		return 0
	}
	want := wantDefaults(folders)
	if len(want) == 0 {
		return 0
	}
	got, err := im.Sinks.Defaults.DefaultFolders(ctx, target)
	if err != nil {
		fmt.Fprintf(w, "~ %s: default folders not readable: %v\n", target, err)
		return 1
	}
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	bad := 0
	for _, k := range keys {
		if g, ok := got[k]; !ok || !slices.Equal(g, want[k]) {
			bad++
			have := "not set"
			if ok {
				have = fmt.Sprintf("%q", strings.Join(g, "/"))
			}
			fmt.Fprintf(w, "~ %s default folder %s: %s, want %q\n", target, k, have, strings.Join(want[k], "/"))
		}
	}
	return bad
}

// adoptDefaults, with --icewarp-folder-names, files the well-known folders
// into the account's own IceWarp default folders where it has them set
// (named by IceWarp in the account's language, e.g. Czech "Odesláno"
// [V icewarp.md §1.7: SS22 admin languages; MS imapsync.sh]), so that
// their mail merges into that folder instead of an English "Sent" beside
// it. Subfolders move along. Where the account has none set, IceWarp's
// English names stay (format.FolderTarget). Outlook names (the default)
// are never changed: the default folders are pointed at them instead.
func (im *Engine) adoptDefaults(ctx context.Context, target string, folders map[string]*folderInfo) {
	if !im.iceNames || im.Sinks.Defaults == nil || target == "" {
		return
	}
	have, err := im.Sinks.Defaults.DefaultFolders(ctx, target)
	if err != nil {
		im.log.Warn("default folders not read; IceWarp's English names are used", "account", target, "err", err)
		return
	}
	for _, fi := range folders {
		key, ok := defaultRoles[fi.role]
		to := have[key]
		if !ok || fi.typ != "M" || len(fi.path) != 1 || len(to) == 0 || slices.Equal(to, fi.path) {
			continue
		}
		from := fi.path
		for _, o := range folders {
			if len(o.path) >= len(from) && slices.Equal(o.path[:len(from)], from) {
				o.path = append(slices.Clone(to), o.path[len(from):]...)
			}
		}
	}
}
