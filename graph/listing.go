package graph

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/iemproject/iem/export"
)

// ChinaGraphHost is the Graph host of Microsoft's China cloud (21Vianet),
// which has no messages/delta [V graph.md §8]: there every mail folder is
// read by a full listing.
const ChinaGraphHost = "microsoftgraph.chinacloudapi.cn"

// listingMagic starts a marker of the full-listing path (a gzip of the
// JSON id -> version and read state follows); a delta marker is a
// deltaLink, an https URL, so the two never mix up.
const listingMagic = "iem-graph-listing/1\n"

// listingState is what a Source remembers for a run about message delta:
// once Graph answered that it has none, every folder is listed.
type listingState struct {
	noDelta atomic.Bool
	logOnce sync.Once
}

// listedMessage is one entry of a folder's message listing.
type listedMessage struct {
	ID        string    `json:"id"`
	ETag      string    `json:"@odata.etag"`
	ChangeKey string    `json:"changeKey"`
	IsRead    *flexBool `json:"isRead"`
}

// listingEntry is what a listing marker keeps per message id: the
// version (the etag, the Version the delta path gives too, so a switch
// between the paths finds archived messages unchanged) and the read state.
type listingEntry struct {
	V string `json:"v"`
	R bool   `json:"r,omitempty"`
}

// messageChanges reads a mail folder's changes by messages/delta or, with
// the China cloud's endpoint or after Graph answered that delta is not
// supported, by a full listing (ListMessageChanges). A marker of the other
// path is rejected ([export.ErrMarkerRejected]), so the engine starts the
// folder again from nil: a clean resync that exports nothing twice.
func (s *Source) messageChanges(ctx context.Context, mailbox, folderID string, mark []byte, fn func(export.ItemChange) error) ([]byte, error) {
	if s.listing.noDelta.Load() || s.c.host() == ChinaGraphHost {
		return s.c.ListMessageChanges(ctx, mailbox, folderID, mark, fn)
	}
	if bytes.HasPrefix(mark, []byte(listingMagic)) {
		return nil, export.MarkerRejected(errors.New("graph: marker of a full listing given to message delta"))
	}
	emitted := false
	next, err := s.c.MessageChanges(ctx, mailbox, folderID, mark, func(ch export.ItemChange) error {
		emitted = true
		return fn(ch)
	})
	if err == nil || emitted || !deltaUnsupported(err) {
		return next, err
	}
	s.listing.noDelta.Store(true)
	s.listing.logOnce.Do(func() {
		slog.Warn("graph: message delta is not supported by this endpoint; mail folders are read by full listings this run",
			"endpoint", s.c.host(), "answer", err.Error())
	})
	return s.c.ListMessageChanges(ctx, mailbox, folderID, mark, fn)
}

// host is the Graph endpoint's host name, in lower case.
func (c *Client) host() string {
	u, err := url.Parse(c.base)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

// deltaUnsupported reports whether err is Graph saying messages/delta does
// not exist at this endpoint. What the China cloud answers is not recorded
// (graph.md §8 only says delta is not available there): 501, a
// NotSupported code or a 400 naming the delta segment are assumed [I].
func deltaUnsupported(err error) bool {
	var gerr *Error
	if !errors.As(err, &gerr) {
		return false
	}
	code := strings.ToLower(gerr.Code)
	return gerr.Status == http.StatusNotImplemented || code == "notsupported" || code == "notimplemented" ||
		(gerr.Status == http.StatusBadRequest && strings.Contains(gerr.Message, "'delta'"))
}

// ListMessageChanges is [Client.MessageChanges] without messages/delta:
// it lists the folder's messages (id, etag, read state; 1,000 a page, the
// largest $top assumed for messages [I]) and compares them with the
// listing held in marker (nil: every message, as created). It reports
// the changes as the delta path does: in a later round a new or changed
// message as an [export.ReadFlagChange] and an [export.Update], a message
// whose version is unchanged but whose read state differs as a
// ReadFlagChange only, and a message no longer listed (deleted or moved
// out) as an [export.Delete]. It returns the new listing as the next
// marker; a marker that is not a listing matches
// [export.ErrMarkerRejected].
func (c *Client) ListMessageChanges(ctx context.Context, mailbox, folderID string, marker []byte, fn func(export.ItemChange) error) ([]byte, error) {
	var prev map[string]listingEntry
	if marker != nil {
		var err error
		if prev, err = decodeListing(marker); err != nil {
			return nil, export.MarkerRejected(err)
		}
	}
	cur := map[string]listingEntry{}
	path := mailboxPath(mailbox) + "/mailFolders/" + url.PathEscape(folderID) + "/messages?$select=id,isRead,changeKey&$top=1000"
	_, err := Pages(ctx, c, path, func(m listedMessage) error {
		v := m.ETag
		if v == "" {
			v = m.ChangeKey
		}
		cur[m.ID] = listingEntry{V: v, R: m.IsRead != nil && bool(*m.IsRead)}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list messages of folder %s: %w", folderID, err)
	}
	for _, id := range slices.Sorted(maps.Keys(cur)) {
		e := cur[id]
		ref := export.ItemRef{ID: id, Version: e.V, Kind: export.KindMail}
		old, seen := prev[id]
		switch {
		case prev == nil:
			err = fn(export.ItemChange{Kind: export.Create, Ref: ref})
		case !seen || old.V != e.V:
			if err = fn(export.ItemChange{Kind: export.ReadFlagChange, Ref: export.ItemRef{ID: id, Kind: export.KindMail}, IsRead: e.R}); err == nil {
				err = fn(export.ItemChange{Kind: export.Update, Ref: ref})
			}
		case old.R != e.R:
			err = fn(export.ItemChange{Kind: export.ReadFlagChange, Ref: export.ItemRef{ID: id, Kind: export.KindMail}, IsRead: e.R})
		}
		if err != nil {
			return nil, err
		}
	}
	var gone []string
	for id := range prev {
		if _, ok := cur[id]; !ok {
			gone = append(gone, id)
		}
	}
	slices.Sort(gone)
	for _, id := range gone {
		if err := fn(export.ItemChange{Kind: export.Delete, Ref: export.ItemRef{ID: id, Kind: export.KindMail}}); err != nil {
			return nil, err
		}
	}
	return encodeListing(cur)
}

// encodeListing makes a listing marker: listingMagic and the gzipped JSON
// of the listing (map keys are sorted, so equal listings give equal
// markers).
func encodeListing(l map[string]listingEntry) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(listingMagic)
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(l); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decodeListing reads a listing marker.
func decodeListing(marker []byte) (map[string]listingEntry, error) {
	rest, ok := bytes.CutPrefix(marker, []byte(listingMagic))
	if !ok {
		return nil, errors.New("graph: marker is not a message listing (a delta marker?)")
	}
	zr, err := gzip.NewReader(bytes.NewReader(rest))
	if err != nil {
		return nil, fmt.Errorf("graph: listing marker: %w", err)
	}
	data, err := io.ReadAll(zr) // to EOF, so gzip checks its checksum
	if err != nil {
		return nil, fmt.Errorf("graph: listing marker: %w", err)
	}
	l := map[string]listingEntry{}
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("graph: listing marker: %w", err)
	}
	return l, nil
}
