package graphtest

import (
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/iemproject/iem/exchange/ewstest"
)

// restID turns an EWS id into its REST form (URL-safe base64 of the same
// bytes) [I: Microsoft Learn user: translateExchangeIds (ewsId/restId)].
var toREST, toEWS = strings.NewReplacer("+", "-", "/", "_"), strings.NewReplacer("-", "+", "_", "/")

func restID(ews string) string { return toREST.Replace(ews) }

func ewsID(rest string) string { return toEWS.Replace(rest) }

type folderView struct {
	snap   ewstest.FolderSnapshot
	parent string
	kids   int
}

// folders returns the mailbox's folders below msgfolderroot with REST ids
// and parents; top-level folders get parent "msgfolderroot:"+smtp [I].
func (e *Emulator) folders(u *ewstest.User) []folderView {
	snaps := e.Org.Folders(u.SMTP)
	byPath := map[string]int{}
	var out []folderView
	for _, s := range snaps {
		fv := folderView{snap: s, parent: restID("msgfolderroot:" + u.SMTP)}
		if len(s.Path) > 1 {
			if i, ok := byPath[strings.Join(s.Path[:len(s.Path)-1], "\x00")]; ok {
				fv.parent = restID(out[i].snap.ID)
				out[i].kids++
			}
		}
		byPath[strings.Join(s.Path, "\x00")] = len(out)
		out = append(out, fv)
	}
	return out
}

// folderJSON renders a mailFolder [V graph.md §4.1 GDOC user-list-mailfolders.md].
func folderJSON(f folderView) map[string]any {
	unread := 0
	for _, it := range f.snap.Items {
		if !it.IsRead {
			unread++
		}
	}
	m := map[string]any{"id": restID(f.snap.ID), "displayName": f.snap.Path[len(f.snap.Path)-1], "parentFolderId": f.parent,
		"childFolderCount": f.kids, "unreadItemCount": unread, "totalItemCount": len(f.snap.Items), "isHidden": false}
	return m
}

func (e *Emulator) mailbox(w http.ResponseWriter, r *http.Request, id string, rest []string) {
	u := e.findUser(id)
	if u == nil {
		graphError(w, http.StatusNotFound, "ErrorInvalidUser", "The requested user '"+id+"' is invalid.")
		return
	}
	if len(rest) == 0 {
		writeJSON(w, userJSON(u))
		return
	}
	e.mu.Lock()
	blk := e.blocked[strings.ToLower(u.SMTP)]
	e.mu.Unlock()
	if _, f := e.take(r.URL.Path, FaultBlocked); blk || f {
		graphError(w, http.StatusForbidden, "ErrorAccessDenied", "Access to OData is disabled.")
		return
	}
	fs := e.folders(u)
	find := func(key string) *folderView {
		for i := range fs {
			d := fs[i].snap.Distinguished
			if restID(fs[i].snap.ID) == key || fs[i].snap.ID == ewsID(key) || strings.EqualFold(d[len(d)-1], key) {
				return &fs[i]
			}
		}
		return nil
	}
	switch {
	case rest[0] == "mailFolders" && len(rest) == 1:
		var items []any
		for _, f := range fs {
			if len(f.snap.Path) == 1 && f.snap.Class == "IPF.Note" {
				items = append(items, folderJSON(f))
			}
		}
		e.collection(w, r, "users('"+id+"')/mailFolders", items, 10)
	case rest[0] == "mailFolders" && len(rest) == 2 && rest[1] == "delta":
		var items []any
		for _, f := range fs {
			if f.snap.Class == "IPF.Note" {
				items = append(items, folderJSON(f))
			}
		}
		e.delta(w, r, "Collection(mailFolder)", items)
	case rest[0] == "mailFolders" && len(rest) >= 2:
		f := find(rest[1])
		if f == nil {
			graphError(w, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
			return
		}
		switch {
		case len(rest) == 2:
			writeJSON(w, folderJSON(*f))
		case len(rest) == 3 && rest[2] == "messageRules":
			e.messageRules(w, r, u, fs, f)
		case len(rest) == 3 && rest[2] == "childFolders":
			var items []any
			for _, c := range fs {
				if c.parent == restID(f.snap.ID) {
					items = append(items, folderJSON(c))
				}
			}
			e.collection(w, r, "users('"+id+"')/mailFolders('"+rest[1]+"')/childFolders", items, 10)
		case len(rest) == 3 && rest[2] == "messages":
			e.listMessages(w, r, f)
		case len(rest) == 4 && rest[2] == "messages" && rest[3] == "delta" && e.messageDeltaOff():
			noMessageDelta(w)
		case len(rest) == 4 && rest[2] == "messages" && rest[3] == "delta":
			if _, ok := e.take(r.URL.Path, FaultDeltaExpired); ok && r.URL.Query().Get("$deltatoken") != "" {
				e.deltaGone(w, r)
				return
			}
			var items []any
			for _, it := range f.snap.Items {
				items = append(items, messageJSON(it, restID(f.snap.ID)))
			}
			e.delta(w, r, "Collection(message)", items)
		case len(rest) >= 4 && rest[2] == "messages":
			e.message(w, r, u, rest[3], rest[4:])
		default:
			graphError(w, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+strings.Join(rest, "/")+"'.")
		}
	case len(rest) == 1 && rest[0] == "mailboxSettings":
		writeJSON(w, e.mailboxSettings(u))
	case e.todo(w, r, fs, rest), e.calendarExtra(w, r, fs, rest), e.pim(w, r, fs, rest):
	case rest[0] == "messages" && len(rest) >= 2:
		e.message(w, r, u, rest[1], rest[2:])
	default:
		graphError(w, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+strings.Join(rest, "/")+"'.")
	}
}

// messageJSON renders a message with the fields an export selects
// [V graph.md §4.3 GDOC message-get.md]: categories and importance as the
// EWS emulator serves them (importance in lower camel case, "normal" when
// unset), sentDateTime a minute before the received time as its
// DateTimeSent.
func messageJSON(it ewstest.ItemSnapshot, folder string) map[string]any {
	flag := "notFlagged"
	switch it.Flag {
	case 2:
		flag = "flagged"
	case 1:
		flag = "complete"
	}
	// The etag is the item's change key, which never repeats, as Exchange
	// Online's does not [I]; a content hash would come back after a flag
	// is set and cleared again.
	h := fnv.New64a()
	fmt.Fprintf(h, "%s|%s", it.ID, it.ChangeKey)
	return map[string]any{"@odata.type": "#microsoft.graph.message", "@odata.etag": fmt.Sprintf(`W/"CQAAABYAAA%x"`, h.Sum64()),
		"id": restID(it.ID), "subject": it.Subject, "isRead": it.IsRead, "flag": map[string]any{"flagStatus": flag},
		"categories": nonNilStrings(it.Categories), "receivedDateTime": it.Received.UTC().Format(time.RFC3339),
		"sentDateTime": it.Received.Add(-time.Minute).UTC().Format(time.RFC3339), "internetMessageId": it.MessageID,
		"parentFolderId": folder, "isDraft": false, "importance": importance(it.Importance)}
}

// message serves GET /users/{id}/messages/{id} and .../$value (the MIME,
// Content-type text/plain as in the sample [V graph.md §11 W4]).
func (e *Emulator) message(w http.ResponseWriter, r *http.Request, u *ewstest.User, id string, rest []string) {
	item, folderID, ok := e.Org.Item(u.SMTP, func(ews string) bool { return restID(ews) == id || ews == ewsID(id) })
	found, folder := &item, restID(folderID)
	if !ok {
		e.count(func(c *Counters) { c.Removed404++ })
		// [I: Microsoft Learn "Microsoft Graph error responses"; Outlook code ErrorItemNotFound]
		graphError(w, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
		return
	}
	switch {
	case len(rest) == 0:
		writeJSON(w, messageJSON(*found, folder))
	case len(rest) == 1 && rest[0] == "$value":
		w.Header().Set("Content-Type", "text/plain")
		if found.LargeSize > 0 {
			io.Copy(w, ewstest.LargeMIME(found.LargeSize, found.LargeSeed))
			return
		}
		w.Write(found.MIME)
	default:
		graphError(w, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+strings.Join(rest, "/")+"'.")
	}
}
