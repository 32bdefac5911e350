package graph

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/iemproject/iem/export"
)

// deltaMessage is one entry of messages/delta (graph.md §11 W1-W3).
type deltaMessage struct {
	ID      string          `json:"id"`
	ETag    string          `json:"@odata.etag"`
	Removed json.RawMessage `json:"@removed"`
}

// rejected reports whether err is Graph refusing a delta token. The codes
// are not in graph.md: 410 Gone and the sync-state codes are assumed [I]
// and must be checked against a real tenant (graph.md §13).
func rejected(err error) bool {
	var gerr *Error
	if !errors.As(err, &gerr) {
		return false
	}
	code := strings.ToLower(gerr.Code)
	return gerr.Status == http.StatusGone || strings.Contains(code, "syncstate") || code == "resyncrequired"
}

// MessageChanges calls fn per message change of a mail folder since
// marker (a deltaLink; nil: every message, as created) and returns the
// deltaLink the next round starts from. It has the shape of
// [export.Source.Changes]; a refused deltaLink matches
// [export.ErrMarkerRejected].
func (c *Client) MessageChanges(ctx context.Context, mailbox, folderID string, marker []byte, fn func(export.ItemChange) error) ([]byte, error) {
	path := string(marker)
	kind := export.Update
	if marker == nil {
		path = "users/" + url.PathEscape(mailbox) + "/mailFolders/" + url.PathEscape(folderID) + "/messages/delta?$select=id"
		kind = export.Create
	}
	delta, err := Pages(ctx, c, path, func(m deltaMessage) error {
		ch := export.ItemChange{Kind: kind, Ref: export.ItemRef{ID: m.ID, Version: m.ETag, Kind: export.KindMail}}
		if m.Removed != nil {
			ch = export.ItemChange{Kind: export.Delete, Ref: export.ItemRef{ID: m.ID, Kind: export.KindMail}}
		}
		return fn(ch)
	})
	if err != nil {
		if marker != nil && rejected(err) {
			return nil, export.MarkerRejected(err)
		}
		return nil, err
	}
	return []byte(delta), nil
}
