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
	// IsRead is selected on delta ($select=id,isRead [V graph.md §4.2:
	// $select on messages/delta]); nil on the pages of a deltaLink made
	// before it was selected.
	IsRead *flexBool `json:"isRead"`
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
// deltaLink the next round starts from. Delta reports a message whose
// read state changed as updated, like any other change; whether its etag
// changes with the read state is not documented [I]. So in a later round
// every updated message with its read state is also reported as a
// [export.ReadFlagChange]: the engine records the new read state of an
// archived message whose version is unchanged (as the EWS Source's
// ReadFlagChange does) and ignores it where the state is what the
// archive holds. It has the shape of
// [export.Source.Changes]; a refused deltaLink matches
// [export.ErrMarkerRejected].
func (c *Client) MessageChanges(ctx context.Context, mailbox, folderID string, marker []byte, fn func(export.ItemChange) error) ([]byte, error) {
	path := string(marker)
	kind := export.Update
	if marker == nil {
		path = "users/" + url.PathEscape(mailbox) + "/mailFolders/" + url.PathEscape(folderID) + "/messages/delta?$select=id,isRead"
		kind = export.Create
	}
	delta, err := Pages(ctx, c, path, func(m deltaMessage) error {
		ch := export.ItemChange{Kind: kind, Ref: export.ItemRef{ID: m.ID, Version: m.ETag, Kind: export.KindMail}}
		if m.Removed != nil {
			return fn(export.ItemChange{Kind: export.Delete, Ref: export.ItemRef{ID: m.ID, Kind: export.KindMail}})
		}
		if kind == export.Update && m.IsRead != nil {
			if err := fn(export.ItemChange{Kind: export.ReadFlagChange, Ref: export.ItemRef{ID: m.ID, Kind: export.KindMail}, IsRead: bool(*m.IsRead)}); err != nil {
				return err
			}
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
