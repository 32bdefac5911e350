package ewstest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/iemproject/iem/internal/xmltree"
)

// opFault is a SOAP fault decided before any response byte is written.
type opFault struct{ code, msg string }

func schemaFault(msg string) *opFault {
	return &opFault{"ErrorSchemaValidation", "The request failed schema validation: " + msg}
}

// dispatch renders the response under the organisation's lock, then
// releases it before writing to the network, so that a slow client or a
// large MimeContent does not hold up other requests: MIME streams are
// recorded as sources while rendering and encoded afterwards.
func (s *Server) dispatch(rw http.ResponseWriter, r *req) {
	o := s.Org
	o.mu.Lock()
	locked := true
	defer func() {
		if locked {
			o.mu.Unlock()
		}
	}()
	var render func(b *w)
	var f *opFault
	streaming := false
	if af := archiveIDFault(r); af != nil {
		s.fault(rw, r.personality, af.code, af.msg, 0)
		return
	}
	switch r.op {
	case "GetFolder":
		render, f = s.getFolder(r)
	case "FindFolder":
		render, f = s.findFolder(r)
	case "SyncFolderHierarchy":
		render, f = s.syncFolderHierarchy(r)
	case "SyncFolderItems":
		render, f = s.syncFolderItems(r)
	case "FindItem":
		render, f = s.findItem(r)
	case "GetItem":
		render, f, streaming = s.getItem(r)
	case "GetUserOofSettingsRequest":
		render, f = s.getUserOofSettings(r)
	case "GetInboxRules":
		render, f = s.getInboxRules(r)
	case "GetDelegate":
		render, f = s.getDelegate(r)
	default:
		f = &opFault{"ErrorInvalidRequest", "The request is invalid: operation " + r.op + " is not supported by ewstest."}
	}
	if f != nil {
		s.fault(rw, r.personality, f.code, f.msg, 0)
		return
	}
	if _, ok := s.take(r.op, FaultInnerBusy); ok {
		streaming = false
		render = func(b *w) {
			// [V ews.md §3.1 C, with the inner code of §3.2 Table 4]
			b.printf(`<m:%sResponseMessage ResponseClass="Error"><m:MessageText>An internal server error occurred. The operation failed.</m:MessageText>`+
				`<m:ResponseCode>ErrorInternalServerError</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey><m:MessageXml>`+
				`<t:Value Name="InnerErrorMessageText">The server cannot service this request right now. Try again later.</t:Value>`+
				`<t:Value Name="InnerErrorResponseCode">ErrorServerBusy</t:Value><t:Value Name="InnerErrorDescriptiveLinkKey">0</t:Value>`+
				`</m:MessageXml></m:%sResponseMessage>`, r.op, r.op)
		}
	}
	rw.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, trunc := s.take(r.op, FaultTruncated)
	var buf bytes.Buffer
	b := &w{Writer: bufio.NewWriter(&buf), illegal: r.illegal}
	if !streaming {
		envelope(b, r.personality, r.op, func() { render(b) })
		b.Flush()
		o.mu.Unlock()
		locked = false
		data := buf.Bytes()
		if trunc {
			data = append(data[:len(data)/2:len(data)/2], "=== Truncated Data ==="...)
		}
		rw.Write(data)
		return
	}
	var segs []segment
	b.mime = func(src io.Reader) { // called while rendering, under the lock
		b.Flush()
		segs = append(segs, segment{text: bytes.Clone(buf.Bytes())}, segment{mime: src})
		buf.Reset()
	}
	envelope(b, r.personality, r.op, func() { render(b) })
	b.Flush()
	segs = append(segs, segment{text: buf.Bytes()})
	_, abort := s.take(r.op, FaultResetMidBody)
	o.mu.Unlock()
	locked = false

	var out io.Writer = rw
	if trunc {
		out = &truncWriter{w: rw, limit: 1200}
	}
	if abort {
		out = &abortWriter{w: rw, limit: 1500}
	}
	bw := bufio.NewWriterSize(out, 32<<10)
	for _, sg := range segs {
		if sg.mime == nil {
			bw.Write(sg.text)
			continue
		}
		enc := base64.NewEncoder(base64.StdEncoding, bw)
		io.Copy(enc, sg.mime)
		enc.Close()
	}
	bw.Flush()
}

// segment is a piece of a streamed response: rendered text, or a MIME
// source to be base64-encoded while it is written.
type segment struct {
	text []byte
	mime io.Reader
}

// abortWriter passes limit bytes, flushes them to the client and aborts
// the connection.
type abortWriter struct {
	w     http.ResponseWriter
	limit int
}

func (a *abortWriter) Write(p []byte) (int, error) {
	if len(p) <= a.limit {
		a.limit -= len(p)
		return a.w.Write(p)
	}
	a.w.Write(p[:a.limit])
	if fl, ok := a.w.(http.Flusher); ok {
		fl.Flush()
	}
	panic(http.ErrAbortHandler)
}

// folderRef resolves a FolderId or DistinguishedFolderId element.
func (s *Server) folderRef(r *req, n *xmltree.Node) *Folder {
	if n == nil {
		return nil
	}
	switch n.Local {
	case "DistinguishedFolderId":
		u := r.mailbox
		if mb := n.Path("Mailbox", "EmailAddress"); mb != nil {
			u = s.Org.Mailbox(mb.Text())
		}
		return s.Org.findFolder(u, n.Attr("Id"))
	case "FolderId":
		f := s.Org.folders[n.Attr("Id")]
		if f == nil || f.deleted {
			return nil
		}
		if f.owner != nil && f.owner != r.mailbox {
			return nil
		}
		return f
	}
	return nil
}

// shape is a parsed FolderShape or ItemShape.
type shape struct {
	all  bool
	mime bool
	uris map[string]bool
	ext  []string // ExtendedFieldURI PropertyTag values requested
}

func parseShape(n *xmltree.Node) shape {
	sh := shape{uris: map[string]bool{}}
	bs := n.Child("BaseShape").Text()
	sh.all = bs == "AllProperties" || bs == "Default"
	sh.mime = n.Child("IncludeMimeContent").Text() == "true"
	ap := n.Child("AdditionalProperties")
	if ap == nil { // IdOnly and AllProperties requests may omit it
		return sh
	}
	for _, k := range ap.Children {
		switch k.Local {
		case "FieldURI":
			sh.uris[k.Attr("FieldURI")] = true
		case "ExtendedFieldURI":
			sh.ext = append(sh.ext, k.Attr("PropertyTag"))
		}
	}
	// MimeContent may also be asked for as a property, as exchangelib
	// does (item:MimeContent is a FieldURI of the EWS schema) [I].
	if sh.uris["item:MimeContent"] {
		sh.mime = true
	}
	return sh
}

func (sh shape) want(uri string) bool { return sh.all || sh.uris[uri] }

// writeFolder renders a folder [V ews.md §2.2 SyncFolderHierarchy and
// FindFolder samples; §2.4 GetFolder PermissionSet sample].
func (s *Server) writeFolder(b *w, r *req, f *Folder, sh shape) {
	b.WriteString("<t:" + f.Type + ">")
	b.printf(`<t:FolderId Id="%s" ChangeKey="%s"/>`, f.ID, ck(f.ck))
	if f.parent != nil && sh.want("folder:ParentFolderId") {
		b.printf(`<t:ParentFolderId Id="%s" ChangeKey="%s"/>`, f.parent.ID, ck(f.parent.ck))
	}
	if f.Class != "" && sh.want("folder:FolderClass") {
		b.el("t:FolderClass", f.Class)
	}
	if sh.want("folder:DisplayName") {
		b.dirty("t:DisplayName", f.Name)
	}
	if sh.want("folder:TotalCount") {
		b.printf(`<t:TotalCount>%d</t:TotalCount>`, len(f.items))
	}
	if sh.want("folder:ChildFolderCount") {
		n := 0
		for _, c := range f.children {
			if !c.deleted {
				n++
			}
		}
		b.printf(`<t:ChildFolderCount>%d</t:ChildFolderCount>`, n)
	}
	// 2013+ leaves permissions out of AllProperties [V ews.md §2.4 "Version differences"].
	if sh.uris["folder:PermissionSet"] || (sh.all && r.personality <= Exchange2010SP2) {
		writePermissions(b, f)
	}
	if (f.Type == "Folder" || f.Type == "TasksFolder") && sh.want("folder:UnreadCount") {
		n := 0
		for _, it := range f.items {
			if !it.IsRead && it.Type != "Contact" && it.Type != "Task" {
				n++
			}
		}
		b.printf(`<t:UnreadCount>%d</t:UnreadCount>`, n)
	}
	b.WriteString("</t:" + f.Type + ">")
}

// permission flags per level: CreateItems, CreateSubFolders, Owner,
// Visible, Contact, Edit, Delete, Read [V ews.md §2.4 Table 2].
var permFlags = map[string][8]string{
	"Owner":                             {"true", "true", "true", "true", "true", "All", "All", "FullDetails"},
	"PublishingEditor":                  {"true", "true", "false", "true", "false", "All", "All", "FullDetails"},
	"Editor":                            {"true", "false", "false", "true", "false", "All", "All", "FullDetails"},
	"PublishingAuthor":                  {"true", "true", "false", "true", "false", "Owned", "Owned", "FullDetails"},
	"Author":                            {"true", "false", "false", "true", "false", "Owned", "Owned", "FullDetails"},
	"NoneditingAuthor":                  {"true", "false", "false", "true", "false", "None", "Owned", "FullDetails"},
	"Reviewer":                          {"false", "false", "false", "true", "false", "None", "None", "FullDetails"},
	"Contributor":                       {"true", "false", "false", "true", "false", "None", "None", "None"},
	"None":                              {"false", "false", "false", "false", "false", "None", "None", "None"},
	"FreeBusyTimeOnly":                  {"false", "false", "false", "false", "false", "None", "None", "TimeOnly"},                  // [I]
	"FreeBusyTimeAndSubjectAndLocation": {"false", "false", "false", "false", "false", "None", "None", "TimeAndSubjectAndLocation"}, // [I]
}

func writePermissions(b *w, f *Folder) {
	cal := f.Type == "CalendarFolder"
	list, entry, level := "Permissions", "Permission", "PermissionLevel"
	if cal {
		// [V ews.md §2.4 permissionset-calendarpermissionsettype.md]
		list, entry, level = "CalendarPermissions", "CalendarPermission", "CalendarPermissionLevel"
	}
	b.WriteString("<t:PermissionSet><t:" + list + ">")
	for _, p := range f.perms {
		b.WriteString("<t:" + entry + "><t:UserId>")
		if p.User == "Default" || p.User == "Anonymous" {
			b.el("t:DistinguishedUser", p.User)
		} else {
			b.el("t:PrimarySmtpAddress", p.User)
		}
		b.WriteString("</t:UserId>")
		fl := permFlags[p.Level]
		b.printf(`<t:CanCreateItems>%s</t:CanCreateItems><t:CanCreateSubFolders>%s</t:CanCreateSubFolders><t:IsFolderOwner>%s</t:IsFolderOwner><t:IsFolderVisible>%s</t:IsFolderVisible><t:IsFolderContact>%s</t:IsFolderContact><t:EditItems>%s</t:EditItems><t:DeleteItems>%s</t:DeleteItems><t:ReadItems>%s</t:ReadItems>`,
			fl[0], fl[1], fl[2], fl[3], fl[4], fl[5], fl[6], fl[7])
		b.el("t:"+level, p.Level)
		b.WriteString("</t:" + entry + ">")
	}
	b.WriteString("</t:" + list + "></t:PermissionSet>")
}

func (s *Server) getFolder(r *req) (func(*w), *opFault) {
	sh := parseShape(r.body.Child("FolderShape"))
	ids := r.body.Child("FolderIds")
	if ids == nil {
		return nil, schemaFault("FolderIds missing.")
	}
	return func(b *w) {
		for _, n := range ids.Children {
			f := s.folderRef(r, n)
			if f == nil {
				if r.mailbox == nil && n.Local == "DistinguishedFolderId" && n.Attr("Id") != "publicfoldersroot" {
					errorMessage(b, "GetFolder", "ErrorNonExistentMailbox", "The SMTP address has no mailbox associated with it.", 0, "<m:Folders/>")
				} else {
					errorMessage(b, "GetFolder", "ErrorFolderNotFound", "The specified folder could not be found in the store.", 0, "<m:Folders/>")
				}
				continue
			}
			// [V ews.md §2.4 GetFolder response sample]
			b.WriteString(`<m:GetFolderResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Folders>`)
			s.writeFolder(b, r, f, sh)
			b.WriteString(`</m:Folders></m:GetFolderResponseMessage>`)
		}
	}, nil
}

func (s *Server) findFolder(r *req) (func(*w), *opFault) {
	sh := parseShape(r.body.Child("FolderShape"))
	deep := r.body.Attr("Traversal") == "Deep"
	view := r.body.Child("IndexedPageFolderView")
	max, off := pageView(view)
	parents := r.body.Child("ParentFolderIds")
	if parents == nil || len(parents.Children) != 1 {
		return nil, schemaFault("ParentFolderIds must name one folder.")
	}
	p := s.folderRef(r, parents.Children[0])
	return func(b *w) {
		if p == nil {
			errorMessage(b, "FindFolder", "ErrorFolderNotFound", "The specified folder could not be found in the store.", 0, "")
			return
		}
		if deep && p.owner == nil {
			// Public folders do not support Deep traversal [V ews.md §2.3 public-folder-access-with-ews-in-exchange.md].
			errorMessage(b, "FindFolder", "ErrorInvalidOperation", "Deep traversal is not supported for public folders.", 0, "")
			return
		}
		var all []*Folder
		if deep {
			all = sortedFolders(p)
		} else {
			for _, c := range p.children {
				if !c.deleted {
					all = append(all, c)
				}
			}
		}
		page, next, last := paginate(len(all), off, max)
		// [V ews.md §2.2 FindFolder response excerpt]
		b.printf(`<m:FindFolderResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:RootFolder IndexedPagingOffset="%d" TotalItemsInView="%d" IncludesLastItemInRange="%t"><t:Folders>`, next, len(all), last)
		for _, f := range all[page[0]:page[1]] {
			s.writeFolder(b, r, f, sh)
		}
		b.WriteString(`</t:Folders></m:RootFolder></m:FindFolderResponseMessage>`)
	}, nil
}

func pageView(view *xmltree.Node) (max, off int) {
	max, off = 1000, 0
	if view != nil {
		if v, err := strconv.Atoi(view.Attr("MaxEntriesReturned")); err == nil && v > 0 {
			max = v
		}
		off, _ = strconv.Atoi(view.Attr("Offset"))
	}
	return max, off
}

// paginate returns the [from,to) window, the next offset and whether it
// is the last page [V ews.md §2.6 Table 1: next Offset = IndexedPagingOffset].
func paginate(total, off, max int) ([2]int, int, bool) {
	from := min(off, total)
	to := min(from+max, total)
	return [2]int{from, to}, to, to >= total
}

// --- sync states -----------------------------------------------------

// A sync state is "kind\nscope\n" plus one "id ck read" line per item,
// gzip-compressed and base64-encoded, so it starts "H4sI" like real ones
// [V ews.md §2.5 "real values start H4sI = gzip magic"].
func encodeState(kind, scope string, m map[string]stateEntry) string {
	var raw bytes.Buffer
	raw.WriteString(kind + "\n" + scope + "\n")
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		e := m[k]
		fmt.Fprintf(&raw, "%s %d %t\n", k, e.ck, e.read)
	}
	var z bytes.Buffer
	zw, _ := gzipWriters.Get().(*gzip.Writer)
	if zw == nil {
		zw = gzip.NewWriter(&z)
	} else {
		zw.Reset(&z)
	}
	zw.Write(raw.Bytes())
	zw.Close()
	gzipWriters.Put(zw)
	return base64.StdEncoding.EncodeToString(z.Bytes())
}

// gzipWriters keeps gzip writers (about 1 MB of deflate state each) for
// encodeState.
var gzipWriters sync.Pool

type stateEntry struct {
	ck   int
	read bool
}

func decodeState(kind, scope, s string) (map[string]stateEntry, bool) {
	m := map[string]stateEntry{}
	if s == "" {
		return m, true
	}
	z, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, false
	}
	zr, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, false
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, false
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	if len(lines) < 2 || lines[0] != kind || lines[1] != scope {
		return nil, false
	}
	for _, l := range lines[2:] {
		var id string
		var e stateEntry
		if _, err := fmt.Sscanf(l, "%s %d %t", &id, &e.ck, &e.read); err != nil {
			return nil, false
		}
		m[id] = e
	}
	return m, true
}

func (s *Server) syncFolderHierarchy(r *req) (func(*w), *opFault) {
	if r.mailbox == nil {
		return nil, &opFault{"ErrorNonExistentMailbox", "SyncFolderHierarchy needs a mailbox (impersonation)."}
	}
	sfid := r.body.Child("SyncFolderId")
	if sfid != nil && r.schema2007() {
		// Only 2010+ [V ews.md §1.1 aa580990(v=exchg.80) vs (v=exchg.140)].
		return nil, schemaFault("The element 'SyncFolderHierarchy' has invalid child element 'SyncFolderId'.")
	}
	top := r.mailbox.root
	if sfid != nil && len(sfid.Children) > 0 {
		top = s.folderRef(r, sfid.Children[0])
		if top == nil {
			return nil, &opFault{"ErrorFolderNotFound", "The specified folder could not be found in the store."}
		}
	}
	sh := parseShape(r.body.Child("FolderShape"))
	state := r.body.Child("SyncState").Text()
	return func(b *w) {
		old, ok := decodeState("h1", top.ID, state)
		if !ok {
			errorMessage(b, "SyncFolderHierarchy", "ErrorInvalidSyncStateData", "Synchronization state data is corrupt or otherwise invalid.", 0,
				"<m:SyncState/><m:IncludesLastFolderInRange>true</m:IncludesLastFolderInRange>")
			return
		}
		cur := map[string]stateEntry{}
		var body bytes.Buffer
		cb := &w{Writer: bufio.NewWriter(&body), illegal: b.illegal}
		for _, f := range sortedFolders(top) {
			cur[f.ID] = stateEntry{ck: f.ck}
			prev, seen := old[f.ID]
			switch {
			case !seen:
				cb.WriteString("<t:Create>")
				s.writeFolder(cb, r, f, sh)
				cb.WriteString("</t:Create>")
			case prev.ck != f.ck:
				cb.WriteString("<t:Update>")
				s.writeFolder(cb, r, f, sh)
				cb.WriteString("</t:Update>")
			}
		}
		ids := make([]string, 0)
		for id := range old {
			if _, ok := cur[id]; !ok {
				ids = append(ids, id)
			}
		}
		sort.Strings(ids)
		for _, id := range ids {
			cb.printf(`<t:Delete><t:FolderId Id="%s"/></t:Delete>`, id)
		}
		cb.Flush()
		// [V ews.md §2.2 SyncFolderHierarchy response (2007 server)]
		b.WriteString(`<m:SyncFolderHierarchyResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>`)
		b.el("m:SyncState", encodeState("h1", top.ID, cur))
		b.WriteString(`<m:IncludesLastFolderInRange>true</m:IncludesLastFolderInRange><m:Changes>`)
		b.Write(body.Bytes())
		b.WriteString(`</m:Changes></m:SyncFolderHierarchyResponseMessage>`)
	}, nil
}

type change struct {
	kind string // Create, Update, Delete, ReadFlagChange
	id   string
	it   *Item
}

func (s *Server) syncFolderItems(r *req) (func(*w), *opFault) {
	if r.body.Child("SyncScope") != nil && r.schema2007() {
		// Only 2010+ [V ews.md §1.1, §2.5].
		return nil, schemaFault("The element 'SyncFolderItems' has invalid child element 'SyncScope'.")
	}
	max, err := strconv.Atoi(r.body.Child("MaxChangesReturned").Text())
	if err != nil || max < 1 || max > 512 {
		// MaxChangesReturned must be 1–512 [V ews.md §2.5 maxchangesreturned.md].
		return nil, schemaFault("MaxChangesReturned must be between 1 and 512.")
	}
	sfid := r.body.Child("SyncFolderId")
	var f *Folder
	if sfid != nil && len(sfid.Children) > 0 {
		f = s.folderRef(r, sfid.Children[0])
	}
	sh := parseShape(r.body.Child("ItemShape"))
	state := r.body.Child("SyncState").Text()
	_, invalid := s.take("SyncFolderItems", FaultInvalidSyncState)
	busy, isBusy := s.take("SyncFolderItems", FaultBusyInBody)
	return func(b *w) {
		const op = "SyncFolderItems"
		if isBusy {
			// [V ews.md §3.1 B EWSRS soap.rs deserialize_envelope_with_server_busy_error]
			errorMessage(b, op, "ErrorServerBusy", fmt.Sprintf("The server cannot service this request right now. Try again later., This operation exceeds the throttling budget for policy part 'ConcurrentSyncCalls', policy value '5',  Budget type: 'Ews'.  Suggested backoff time %d ms.", busy.BackOff.Milliseconds()),
				busy.BackOff, "<m:SyncState/><m:IncludesLastItemInRange>true</m:IncludesLastItemInRange>")
			return
		}
		if f == nil {
			errorMessage(b, op, "ErrorSyncFolderNotFound", "The specified folder could not be found in the store.", 0, "<m:SyncState/><m:IncludesLastItemInRange>true</m:IncludesLastItemInRange>")
			return
		}
		if f.owner == nil {
			// Not supported on public folders [V ews.md §2.3].
			errorMessage(b, op, "ErrorInvalidOperation", "SyncFolderItems is not supported for public folders.", 0, "<m:SyncState/><m:IncludesLastItemInRange>true</m:IncludesLastItemInRange>")
			return
		}
		old, ok := decodeState("i1", f.ID, state)
		if !ok || invalid {
			// [V ews.md §2.5 invalid state sample]
			errorMessage(b, op, "ErrorInvalidSyncStateData", "Synchronization state data is corrupt or otherwise invalid.", 0, "<m:SyncState/><m:IncludesLastItemInRange>true</m:IncludesLastItemInRange>")
			return
		}
		var changes []change
		items := append([]*Item(nil), f.items...)
		if r.personality >= Exchange2010SP2 {
			// Newest first from 2010 SP2 [V ews.md §2.5 mailbox-synchronization-and-ews-in-exchange.md].
			for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
				items[i], items[j] = items[j], items[i]
			}
		}
		present := map[string]bool{}
		for _, it := range items {
			present[it.ID] = true
			prev, seen := old[it.ID]
			switch {
			case !seen:
				changes = append(changes, change{"Create", it.ID, it})
			case prev.ck != it.ck:
				changes = append(changes, change{"Update", it.ID, it})
			case prev.read != it.IsRead:
				changes = append(changes, change{"ReadFlagChange", it.ID, it})
			}
		}
		var gone []string
		for id := range old {
			if !present[id] {
				gone = append(gone, id)
			}
		}
		sort.Strings(gone)
		for _, id := range gone {
			changes = append(changes, change{"Delete", id, nil})
		}
		last := len(changes) <= max
		if !last {
			changes = changes[:max]
		}
		next := map[string]stateEntry{}
		for k, v := range old {
			next[k] = v
		}
		for _, c := range changes {
			if c.kind == "Delete" {
				delete(next, c.id)
			} else {
				next[c.id] = stateEntry{ck: c.it.ck, read: c.it.IsRead}
			}
		}
		// [V ews.md §2.5 SyncFolderItems success (2007 8.0.628) and later-round kinds (2013 sample)]
		b.WriteString(`<m:SyncFolderItemsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>`)
		if len(changes) == 0 && state != "" {
			// Nothing changed: the state given is still current. Encoding
			// a folder's whole state again was most of an unchanged
			// round's server time.
			b.el("m:SyncState", state)
		} else {
			b.el("m:SyncState", encodeState("i1", f.ID, next))
		}
		b.printf(`<m:IncludesLastItemInRange>%t</m:IncludesLastItemInRange><m:Changes>`, last)
		for _, c := range changes {
			switch c.kind {
			case "Delete":
				b.printf(`<t:Delete><t:ItemId Id="%s" ChangeKey="%s"/></t:Delete>`, c.id, ck(old[c.id].ck))
			case "ReadFlagChange":
				b.printf(`<t:ReadFlagChange><t:ItemId Id="%s" ChangeKey="%s"/><t:IsRead>%t</t:IsRead></t:ReadFlagChange>`, c.id, ck(c.it.ck), c.it.IsRead)
			default:
				b.WriteString("<t:" + c.kind + ">")
				s.writeItem(b, r, c.it, sh, nil)
				b.WriteString("</t:" + c.kind + ">")
			}
		}
		b.WriteString(`</m:Changes></m:SyncFolderItemsResponseMessage>`)
	}, nil
}

func (s *Server) findItem(r *req) (func(*w), *opFault) {
	sh := parseShape(r.body.Child("ItemShape"))
	sh.mime = false
	if r.body.Attr("Traversal") == "Deep" {
		return nil, &opFault{"ErrorInvalidRequest", "Deep traversal is not supported by FindItem."}
	}
	max, off := pageView(r.body.Child("IndexedPageItemView"))
	parents := r.body.Child("ParentFolderIds")
	if parents == nil || len(parents.Children) != 1 {
		return nil, schemaFault("ParentFolderIds must name one folder.")
	}
	f := s.folderRef(r, parents.Children[0])
	return func(b *w) {
		if f == nil {
			errorMessage(b, "FindItem", "ErrorFolderNotFound", "The specified folder could not be found in the store.", 0, "")
			return
		}
		page, next, last := paginate(len(f.items), off, max)
		// [V ews.md §2.6 FindItem paging response]
		b.printf(`<m:FindItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:RootFolder IndexedPagingOffset="%d" TotalItemsInView="%d" IncludesLastItemInRange="%t"><t:Items>`, next, len(f.items), last)
		for _, it := range f.items[page[0]:page[1]] {
			s.writeItem(b, r, it, sh, nil)
		}
		b.WriteString(`</t:Items></m:RootFolder></m:FindItemResponseMessage>`)
	}, nil
}

func (s *Server) getItem(r *req) (func(*w), *opFault, bool) {
	sh := parseShape(r.body.Child("ItemShape"))
	ids := r.body.Child("ItemIds")
	if ids == nil {
		return nil, schemaFault("ItemIds missing."), false
	}
	type res struct {
		it      *Item
		code    string
		text    string
		backoff time.Duration
	}
	var out []res
	var busyFrom *Fault
	for _, n := range ids.Children {
		var it *Item
		switch n.Local {
		case "ItemId":
			it = s.Org.items[n.Attr("Id")]
		case "OccurrenceItemId":
			// [V ews.md §4.3 how-to-access-a-recurring-series-by-using-ews-in-exchange.md]
			if m := s.Org.items[n.Attr("RecurringMasterId")]; m != nil {
				if i, _ := strconv.Atoi(n.Attr("InstanceIndex")); i >= 1 && i <= len(m.occurrences) {
					it = m.occurrences[i-1]
				}
			}
		}
		if it != nil && it.folder.owner != r.mailbox {
			it = nil
		}
		if it == nil {
			out = append(out, res{code: "ErrorItemNotFound", text: "The specified object was not found in the store."})
			continue
		}
		if sh.mime {
			// Once a request is throttled, the rest of its items are too; one
			// injected fault is one throttled request, as clients count them.
			if busyFrom != nil {
				out = append(out, res{code: "ErrorServerBusy", text: "The server cannot service this request right now. Try again later.", backoff: busyFrom.BackOff})
				continue
			}
			if b, ok := s.take("GetItem", FaultBusyInBody); ok {
				busyFrom = &b
				out = append(out, res{code: "ErrorServerBusy", text: "The server cannot service this request right now. Try again later.", backoff: b.BackOff})
				continue
			}
			switch {
			case it.Type == "Task" || it.Type == "DistributionList" || (it.Type == "Contact" && r.schema2007()):
				// [V ews.md §4.1 getitem-operation-contact.md, responsecode.md]
				out = append(out, res{code: "ErrorUnsupportedMimeConversion", text: "Mime conversion is not supported for this item type."})
				continue
			}
			if f, ok := s.take("GetItem", FaultMimeConversion, FaultItemCorrupt); ok {
				if f.Kind == FaultMimeConversion {
					out = append(out, res{code: "ErrorMimeContentConversionFailed", text: "Content conversion failed."})
				} else {
					out = append(out, res{code: "ErrorItemCorrupt", text: "The item is corrupt."})
				}
				continue
			}
		}
		out = append(out, res{it: it})
	}
	return func(b *w) {
		for _, x := range out {
			if x.it == nil {
				// [V ews.md §3.1 D PYEX ITEM_DOES_NOT_EXIST]
				errorMessage(b, "GetItem", x.code, x.text, x.backoff, "<m:Items/>")
				continue
			}
			// [V ews.md §2.7 GetItem MimeContent response]
			b.WriteString(`<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items>`)
			var mimeFn func()
			if sh.mime {
				it := x.it
				mimeFn = func() {
					b.WriteString(`<t:MimeContent CharacterSet="UTF-8">`)
					b.mimeContent(s.mimeSource(it))
					b.WriteString(`</t:MimeContent>`)
				}
			}
			s.writeItem(b, r, x.it, sh, mimeFn)
			b.WriteString(`</m:Items></m:GetItemResponseMessage>`)
		}
	}, nil, sh.mime
}

// mimeSource returns a reader of the item's MIME content, safe to read
// after the organisation's lock is released: stored MIME is never changed
// in place, large MIME is generated, the rest is rendered now.
func (s *Server) mimeSource(it *Item) io.Reader {
	switch {
	case it.largeSize > 0:
		return LargeMIME(it.largeSize, it.largeSeed)
	case it.mime != nil:
		return bytes.NewReader(it.mime)
	}
	var dst bytes.Buffer
	switch {
	case it.Type == "Contact":
		// 2010+ give contacts as vCard [V ews.md §4.1 OfficeDev/ews-managed-api#25 sample].
		fmt.Fprintf(&dst, "BEGIN:VCARD\r\nPROFILE:VCARD\r\nVERSION:3.0\r\nMAILER:Microsoft Exchange\r\nPRODID:Microsoft Exchange\r\nFN:%s %s\r\nN:%s;%s;;;\r\nEMAIL;TYPE=INTERNET:%s\r\nTEL;TYPE=WORK:%s\r\nEND:VCARD\r\n",
			it.given, it.surname, it.surname, it.given, it.email, it.phone)
	case it.Type == "CalendarItem":
		// [V ews.md §4.1 OfficeDev/ews-managed-api#254 sample, trimmed]
		fmt.Fprintf(&dst, "BEGIN:VCALENDAR\r\nMETHOD:PUBLISH\r\nPRODID:Microsoft Exchange Server 2010\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:%s\r\nSUMMARY:%s\r\nDTSTART:%s\r\nDTEND:%s\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
			it.uid, it.Subject, it.start.UTC().Format("20060102T150405Z"), it.end.UTC().Format("20060102T150405Z"))
	}
	return &dst
}

func (it *Item) size() int64 {
	if it.largeSize > 0 {
		return it.largeSize
	}
	if it.mime != nil {
		return int64(len(it.mime))
	}
	return int64(300 + len(it.Subject) + len(it.body))
}

func mailbox(b *w, name, addr, routing string) {
	b.WriteString("<t:Mailbox>")
	b.el("t:Name", name)
	b.el("t:EmailAddress", addr)
	b.el("t:RoutingType", routing)
	b.WriteString("</t:Mailbox>")
}

// writeItem renders an item element in schema order (ItemType, then the
// type's own fields). Shapes: [V ews.md §2.5 SyncFolderItems Create,
// §2.7 GetItem, §4.3 recurring master (PYEX GET_RECURRING_MASTER_WEEKLY_EVENT),
// §4.3 StartTimeZone (exchangelib#846)]; the full property lists are [I]
// from the EWS schema.
func (s *Server) writeItem(b *w, r *req, it *Item, sh shape, mimeFn func()) {
	b.WriteString("<t:" + it.Type + ">")
	if mimeFn != nil {
		mimeFn()
	}
	b.printf(`<t:ItemId Id="%s" ChangeKey="%s"/>`, it.ID, ck(it.ck))
	if sh.want("item:ParentFolderId") {
		b.printf(`<t:ParentFolderId Id="%s" ChangeKey="%s"/>`, it.folder.ID, ck(it.folder.ck))
	}
	if sh.want("item:ItemClass") {
		b.el("t:ItemClass", it.Class)
	}
	if sh.want("item:Subject") {
		b.dirty("t:Subject", it.Subject)
	}
	if sh.want("item:Sensitivity") {
		b.el("t:Sensitivity", "Normal")
	}
	if sh.all || sh.uris["item:Body"] {
		b.WriteString(`<t:Body BodyType="Text">`)
		b.esc(it.body)
		if b.illegal {
			b.WriteString("&#x1;")
		}
		b.WriteString(`</t:Body>`)
	}
	if (it.Type == "Message" || it.Type == "PostItem") && sh.want("item:DateTimeReceived") {
		b.el("t:DateTimeReceived", ts(it.Received))
	}
	if sh.want("item:Size") {
		b.printf(`<t:Size>%d</t:Size>`, it.size())
	}
	if len(it.Categories) > 0 && sh.want("item:Categories") {
		b.WriteString("<t:Categories>")
		for _, c := range it.Categories {
			b.el("t:String", c)
		}
		b.WriteString("</t:Categories>")
	}
	if sh.want("item:Importance") {
		imp := it.Importance
		if imp == "" {
			imp = "Normal"
		}
		b.el("t:Importance", imp)
	}
	if (it.Type == "Message" || it.Type == "PostItem") && sh.want("item:DateTimeSent") {
		b.el("t:DateTimeSent", ts(it.Received.Add(-time.Minute)))
	}
	created := it.Received
	if created.IsZero() {
		created = s.Org.base
	}
	if sh.want("item:DateTimeCreated") {
		b.el("t:DateTimeCreated", ts(created))
	}
	if sh.want("item:HasAttachments") {
		b.printf("<t:HasAttachments>%t</t:HasAttachments>", it.mime != nil && bytes.Contains(it.mime, []byte("Content-Disposition: attachment")))
	}
	for _, tag := range sh.ext {
		// Request tags may be decimal; responses echo hex [V ews.md §2.2 "PropertyTag=4340 ... echoes 0x10f4"].
		v, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(tag), "0x"), 16, 32)
		if !strings.HasPrefix(strings.ToLower(tag), "0x") {
			v, err = strconv.ParseUint(tag, 10, 32)
		}
		if err != nil {
			continue
		}
		switch v {
		case 0x1090:
			b.printf(`<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag="0x1090" PropertyType="Integer"/><t:Value>%d</t:Value></t:ExtendedProperty>`, it.Flag)
		case 0x3008:
			b.printf(`<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag="0x3008" PropertyType="SystemTime"/><t:Value>%s</t:Value></t:ExtendedProperty>`, ts(created.Add(time.Duration(it.ck)*time.Minute)))
		}
	}
	if !r.schema2007() && sh.want("item:LastModifiedTime") {
		b.el("t:LastModifiedTime", ts(created.Add(time.Duration(it.ck)*time.Minute)))
	}
	switch it.Type {
	case "Message", "PostItem":
		s.writeMessageFields(b, it, sh)
	case "Contact":
		writeContact(b, it, sh)
	case "DistributionList":
		if sh.want("contacts:DisplayName") {
			b.el("t:DisplayName", it.Subject)
		}
		if !r.schema2007() && sh.want("distributionlist:Members") {
			b.WriteString("<t:Members>")
			for _, m := range it.members {
				b.WriteString("<t:Member>")
				b.WriteString("<t:Mailbox>")
				b.el("t:EmailAddress", m)
				b.el("t:RoutingType", "SMTP")
				b.el("t:MailboxType", "Mailbox")
				b.WriteString("</t:Mailbox><t:Status>Normal</t:Status></t:Member>")
			}
			b.WriteString("</t:Members>")
		}
	case "CalendarItem":
		s.writeCalendar(b, r, it, sh)
	case "Task":
		if sh.want("task:DueDate") && !it.due.IsZero() {
			b.el("t:DueDate", ts(it.due))
		}
		if sh.want("task:IsComplete") {
			b.printf("<t:IsComplete>%t</t:IsComplete>", it.status == "Completed")
		}
		if sh.want("task:PercentComplete") {
			b.printf("<t:PercentComplete>%d</t:PercentComplete>", it.percent)
		}
		if sh.want("task:Status") {
			b.el("t:Status", it.status)
		}
	}
	b.WriteString("</t:" + it.Type + ">")
}

func (s *Server) writeMessageFields(b *w, it *Item, sh shape) {
	var from *User
	if it.mime != nil {
		// The From header of the stored MIME names the sender.
		for _, u := range s.Org.Users {
			if bytes.Contains(it.mime[:min(len(it.mime), 400)], []byte("<"+u.SMTP+">")) {
				from = u
				break
			}
		}
	}
	if from != nil && sh.want("message:From") && it.Type == "Message" {
		b.WriteString("<t:From>")
		mailbox(b, from.DisplayName, from.SMTP, "SMTP")
		b.WriteString("</t:From>")
	}
	if it.MessageID != "" && sh.want("message:InternetMessageId") {
		b.el("t:InternetMessageId", it.MessageID)
	}
	if sh.want("message:IsRead") {
		b.printf("<t:IsRead>%t</t:IsRead>", it.IsRead)
	}
	if it.Type == "PostItem" && sh.want("postitem:PostedTime") {
		b.el("t:PostedTime", ts(it.Received))
	}
}

func writeContact(b *w, it *Item, sh shape) {
	if sh.want("contacts:FileAs") {
		b.el("t:FileAs", it.surname+", "+it.given)
	}
	if sh.want("contacts:DisplayName") {
		b.el("t:DisplayName", it.given+" "+it.surname)
	}
	if sh.want("contacts:GivenName") {
		b.el("t:GivenName", it.given)
	}
	if it.company != "" && sh.want("contacts:CompanyName") {
		b.el("t:CompanyName", it.company)
	}
	if it.email != "" && sh.want("contacts:EmailAddresses") {
		b.WriteString(`<t:EmailAddresses><t:Entry Key="EmailAddress1">`)
		b.esc(it.email)
		b.WriteString(`</t:Entry></t:EmailAddresses>`)
	}
	if it.phone != "" && sh.want("contacts:PhoneNumbers") {
		b.WriteString(`<t:PhoneNumbers><t:Entry Key="BusinessPhone">`)
		b.esc(it.phone)
		b.WriteString(`</t:Entry></t:PhoneNumbers>`)
	}
	if sh.want("contacts:Surname") {
		b.el("t:Surname", it.surname)
	}
}

func (s *Server) writeCalendar(b *w, r *req, it *Item, sh shape) {
	if sh.want("calendar:UID") && it.uid != "" {
		b.el("t:UID", it.uid)
	}
	if sh.want("calendar:Start") {
		if it.allDay {
			// All-day events are midnight in the creation zone [V ews.md §4.3 time-zones-and-ews-in-exchange.md].
			b.el("t:Start", it.start.Add(-time.Hour).Format("2006-01-02T15:04:05Z"))
		} else {
			b.el("t:Start", ts(it.start))
		}
	}
	if sh.want("calendar:End") {
		if it.allDay {
			b.el("t:End", it.end.Add(-time.Hour).Format("2006-01-02T15:04:05Z"))
		} else {
			b.el("t:End", ts(it.end))
		}
	}
	if it.master != nil && sh.want("calendar:OriginalStart") {
		b.el("t:OriginalStart", ts(it.originalStart))
	}
	if sh.want("calendar:IsAllDayEvent") {
		b.printf("<t:IsAllDayEvent>%t</t:IsAllDayEvent>", it.allDay)
	}
	if sh.want("calendar:LegacyFreeBusyStatus") {
		b.el("t:LegacyFreeBusyStatus", "Busy")
	}
	if it.location != "" && sh.want("calendar:Location") {
		b.el("t:Location", it.location)
	}
	if sh.want("calendar:IsMeeting") {
		b.printf("<t:IsMeeting>%t</t:IsMeeting>", len(it.attendees) > 0)
	}
	if sh.want("calendar:IsRecurring") {
		b.printf("<t:IsRecurring>%t</t:IsRecurring>", it.recurring || it.master != nil)
	}
	if sh.want("calendar:CalendarItemType") {
		t := "Single"
		switch {
		case it.recurring:
			t = "RecurringMaster"
		case it.master != nil:
			t = "Exception"
		}
		b.el("t:CalendarItemType", t)
	}
	if it.organizer != nil && sh.want("calendar:Organizer") {
		// Internal addresses come as EX legacyExchangeDN [V ews.md §5.3].
		b.WriteString("<t:Organizer>")
		mailbox(b, it.organizer.DisplayName, it.organizer.LegacyDN, "EX")
		b.WriteString("</t:Organizer>")
	}
	if len(it.attendees) > 0 && sh.want("calendar:RequiredAttendees") {
		b.WriteString("<t:RequiredAttendees>")
		for i, a := range it.attendees {
			b.WriteString("<t:Attendee>")
			if i%2 == 0 {
				mailbox(b, a.DisplayName, a.SMTP, "SMTP")
			} else {
				mailbox(b, a.DisplayName, a.LegacyDN, "EX")
			}
			b.WriteString("<t:ResponseType>Accept</t:ResponseType></t:Attendee>")
		}
		b.WriteString("</t:RequiredAttendees>")
	}
	if it.recurring && sh.want("calendar:Recurrence") {
		// [V ews.md §4.3 PYEX GET_RECURRING_MASTER_WEEKLY_EVENT; dates carry a zone suffix]
		b.WriteString("<t:Recurrence><t:WeeklyRecurrence><t:Interval>1</t:Interval>")
		b.el("t:DaysOfWeek", it.start.Weekday().String())
		b.WriteString("</t:WeeklyRecurrence><t:EndDateRecurrence>")
		b.el("t:StartDate", it.start.Format("2006-01-02")+"+01:00")
		b.el("t:EndDate", it.start.Add(10*7*24*time.Hour).Format("2006-01-02")+"+01:00")
		b.WriteString("</t:EndDateRecurrence></t:Recurrence>")
	}
	if len(it.occurrences) > 0 && sh.want("calendar:ModifiedOccurrences") {
		// [V ews.md §4.3 modifiedoccurrences.md]
		b.WriteString("<t:ModifiedOccurrences>")
		for _, o := range it.occurrences {
			b.printf(`<t:Occurrence><t:ItemId Id="%s" ChangeKey="%s"/>`, o.ID, ck(o.ck))
			b.el("t:Start", ts(o.start))
			b.el("t:End", ts(o.end))
			b.el("t:OriginalStart", ts(o.originalStart))
			b.WriteString("</t:Occurrence>")
		}
		b.WriteString("</t:ModifiedOccurrences>")
	}
	if len(it.deletedOcc) > 0 && sh.want("calendar:DeletedOccurrences") {
		// [V ews.md §4.3 deletedoccurrence.md]
		b.WriteString("<t:DeletedOccurrences>")
		for _, d := range it.deletedOcc {
			b.WriteString("<t:DeletedOccurrence>")
			b.el("t:Start", ts(d))
			b.WriteString("</t:DeletedOccurrence>")
		}
		b.WriteString("</t:DeletedOccurrences>")
	}
	if r.schema2007() {
		if sh.want("calendar:MeetingTimeZone") {
			// Exchange2007_SP1 schema [V ews.md §4.3 PYEX MeetingTimeZone sample; time-zones-and-ews-in-exchange.md Table 2].
			b.WriteString(`<t:MeetingTimeZone TimeZoneName="W. Europe Standard Time"><t:BaseOffset>-PT60M</t:BaseOffset>` +
				`<t:Standard TimeZoneName="Standard"><t:Offset>PT0M</t:Offset><t:RelativeYearlyRecurrence><t:DaysOfWeek>Sunday</t:DaysOfWeek>` +
				`<t:DayOfWeekIndex>Last</t:DayOfWeekIndex><t:Month>October</t:Month></t:RelativeYearlyRecurrence><t:Time>03:00:00</t:Time></t:Standard>` +
				`<t:Daylight TimeZoneName="Daylight"><t:Offset>-PT60M</t:Offset><t:RelativeYearlyRecurrence><t:DaysOfWeek>Sunday</t:DaysOfWeek>` +
				`<t:DayOfWeekIndex>Last</t:DayOfWeekIndex><t:Month>March</t:Month></t:RelativeYearlyRecurrence><t:Time>02:00:00</t:Time></t:Daylight></t:MeetingTimeZone>`)
		}
		return
	}
	for _, el := range []string{"StartTimeZone", "EndTimeZone"} {
		if sh.want("calendar:" + el) {
			// 2010+ [V ews.md §4.3 exchangelib#846 StartTimeZone Name/Id/Periods]; Periods content [I].
			b.WriteString(`<t:` + el + ` Name="(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna" Id="W. Europe Standard Time">` +
				`<t:Periods><t:Period Bias="-PT1H" Name="Standard" Id="trule:Microsoft/Registry/W. Europe Standard Time/2006-Standard"/>` +
				`<t:Period Bias="-PT2H" Name="Daylight" Id="trule:Microsoft/Registry/W. Europe Standard Time/2006-Daylight"/></t:Periods></t:` + el + `>`)
		}
	}
}
