package replay

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/format"
)

// RulesNotVerified is the reason every translated inbox rule is counted
// as not moved: IceWarp keeps a user's rules in the account property
// U_RulesContentXML (IceWarp's API constants: "Rules content xml"; the
// WebClient reads it through GWOthers 'FILTER_RULES' and parses
// CONTENTFILTER/FILTER elements with TITLE, ACTIVE, ACCEPT, DELETE,
// MARKSPAM, REJECT), but the condition and action elements of a FILTER
// were not found in public IceWarp code, so iem does not write it.
// The rules are translated to an RFC 5228 Sieve script instead, for the
// administrator to apply (docs/GUIDE.md, "Inbox rules").
const RulesNotVerified = "IceWarp rules format not verified; Sieve script in reports/"

// RulesNotWritten replaces RulesNotVerified when the archive folder took
// no Sieve script (read-only, or no room).
const RulesNotWritten = "IceWarp rules format not verified; the Sieve script could not be written to reports/ (see the log)"

// applyRules translates the mailbox's inbox rules (its settings entry e,
// SPEC.md §4 kind 14, "rules") to a Sieve script, written to the archive
// folder's reports/rules-<target>.sieve, and counts every rule in
// st.NotMoved by name: the translated ones with RulesNotVerified, the
// others with why they are not in the script. Folder targets are mapped
// to the folders' target paths, as the import creates them. Writing the
// script again on a rerun gives the same file, so no ledger record.
func (im *Engine) applyRules(log *slog.Logger, st *MailboxStats, e *archive.Entry, target string, folders map[string]*folderInfo) error {
	var set format.MailboxSettings
	if err := im.readJSON(e, &set); err != nil {
		return fmt.Errorf("settings entry: %w", err)
	}
	if len(set.Rules) == 0 {
		return nil
	}
	byRole := map[string][]string{}
	for _, fi := range folders {
		if fi.role != "" && !fi.archive && !fi.skip && fi.typ == "M" {
			byRole[fi.role] = fi.path
		}
	}
	me := []string{target}
	for _, a := range im.mailboxRec[e.Mailbox].Aliases {
		if ma := im.mapAddr(a); !strings.EqualFold(ma, target) {
			me = append(me, ma)
		}
	}
	t := format.SieveTarget{Account: target, Me: me, Trash: byRole["deleteditems"],
		Folder: func(id string) ([]string, bool) {
			if role, ok := strings.CutPrefix(id, "distinguished:"); ok {
				p, ok := byRole[role]
				return p, ok
			}
			fi, ok := folders[id]
			if !ok || fi.skip || fi.typ != "M" {
				return nil, false
			}
			return fi.path, true
		}}
	script, res := format.RulesToSieve(set.Rules, t)
	name := "rules-" + strings.NewReplacer("/", "_", "\\", "_", ":", "_").Replace(target) + ".sieve"
	dir := filepath.Join(im.openEntry[e].Dir(), "reports")
	err := os.MkdirAll(dir, 0o700)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name), []byte(script), 0o600)
	}
	if err != nil {
		// As for the run's report: warn, and import all the same.
		log.Warn("inbox rules: no Sieve script in the archive folder", "err", err)
	}
	for _, r := range res {
		reason := RulesNotVerified + name
		switch {
		case err != nil && r.Translated:
			reason = RulesNotWritten
		case !r.Translated:
			reason = "not translated: " + strings.Join(r.Reasons, "; ")
		}
		st.NotMoved[format.RuleLabel(r.Rule)+": "+reason]++
	}
	return nil
}
