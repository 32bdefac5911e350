package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/iemproject/iem/archive"
)

// contentType of groupware entries on IceWarp's WebDAV (icewarp.md §3).
func contentType(k archive.Kind) string {
	switch k {
	case archive.KindContact, archive.KindDistributionList:
		return "text/vcard; charset=utf-8"
	case archive.KindEvent, archive.KindTask:
		return "text/calendar; charset=utf-8"
	case archive.KindNote:
		return "text/x-vnote; charset=utf-8"
	}
	return ""
}

// groupwarePermissions sets a GroupWare folder's permissions through the
// admin API (setaccountfolderpermissions; IMAP SETACL covers mail folders
// only).
func (im *Engine) groupwarePermissions(ctx context.Context, log *slog.Logger, st *MailboxStats, target string, fi *folderInfo) {
	if fi.acl == nil || im.Sinks.Accounts == nil {
		return
	}
	grants, rep := fi.acl.IceWarpRights()
	for _, l := range rep.Losses {
		log.Warn("permission not mapped exactly", "folder", strings.Join(fi.path, "/"), "loss", l)
	}
	if len(grants) == 0 {
		return
	}
	perms := make([]Permission, len(grants))
	for i, g := range grants {
		who := g.Identifier
		if strings.Contains(who, "@") {
			who = im.mapAddr(who)
		}
		perms[i] = Permission{Account: who, Rights: g.Rights}
	}
	if err := im.Sinks.Accounts.SetFolderPermissions(ctx, target, fi.path, perms); err != nil {
		log.Warn("folder permissions not set", "folder", strings.Join(fi.path, "/"), "err", err)
		st.PermissionsFailed["groupware folder permissions refused by the server"] += len(perms)
		return
	}
	st.Permissions += len(perms)
}

func (im *Engine) putGroupware(ctx context.Context, log *slog.Logger, st *MailboxStats, target string, e *archive.Entry, fi *folderInfo) error {
	ct := contentType(e.Kind)
	if ct == "" {
		st.Skipped[fmt.Sprintf("%s entries are not imported", e.Kind)]++
		return nil
	}
	if im.Sinks.Groupware == nil {
		st.Skipped["no WebDAV endpoint (--webdav-url)"]++
		return nil
	}
	if fi.typ == "M" {
		st.Skipped[fmt.Sprintf("%s in a mail folder", e.Kind)]++
		return nil
	}
	source := e.Mailbox
	prev, known := im.Ledger.get(source, e.ID)
	if prev.Damaged {
		// PUT to the item's own resource name replaces what is there: a
		// damaged record is as good as none.
		known, prev = false, applied{}
	}
	moved := known && !slices.Equal(prev.Folder, fi.path)
	if known && !im.rebuild && !moved && prev.Digest == digestHex(e) {
		st.Unchanged++
		return nil
	}
	rc, err := im.open(e)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return err
	}
	// The name derives from the source identity only, so a changed item,
	// a rerun or --rebuild replaces it (PUT to the same name).
	name := im.Sinks.Groupware.ResourceName(source+"\x00"+e.ID, ct)
	if err := im.Sinks.Groupware.Put(ctx, target, fi.path, name, ct, body); err != nil {
		// Only refused credentials stop the mailbox; a 403 for one item (the
		// server refuses its content) is that item's failure.
		if errors.Is(err, ErrCredentials) || ctx.Err() != nil {
			return err
		}
		log.Warn("groupware item not stored", "folder", strings.Join(fi.path, "/"), "id", e.ID, "err", err)
		st.Failed["webdav put failed"]++
		return nil
	}
	if moved && prev.Resource != "" {
		if err := im.Sinks.Groupware.Delete(ctx, target, prev.Folder, prev.Resource); err != nil {
			log.Warn("moved groupware item not removed from its old folder", "folder", strings.Join(prev.Folder, "/"), "id", e.ID, "err", err)
		}
	}
	if known {
		st.Updated++
	} else {
		st.Appended++
	}
	st.Written[e.Kind.String()]++
	st.Bytes += int64(len(body))
	return im.Ledger.put(source, e.ID, applied{Kind: e.Kind.String(), Folder: fi.path, Resource: name, Digest: digestHex(e)})
}
