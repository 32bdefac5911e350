package exchange_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/exchange"
	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/export"
)

// TestSourceAdapter: exchange.NewSource gives the export engine the
// hierarchy with roles, item changes with versions and kinds, MIME as it
// is, and a rejected sync state as export.ErrMarkerRejected with the
// server's own message.
func TestSourceAdapter(t *testing.T) {
	e := start(t, ewstest.Exchange2016, nil, nil, nil)
	ctx := context.Background()
	src := exchange.NewSource(e.c, nil)
	h, err := src.Hierarchy(ctx, alice, nil)
	if err != nil {
		t.Fatal(err)
	}
	inbox := ""
	root := false
	for id, r := range h.Roles {
		switch r {
		case "inbox":
			inbox = id
		case export.RoleRoot:
			root = true
		}
	}
	if inbox == "" || !root || len(h.Changes) == 0 || len(h.Marker) == 0 {
		t.Fatalf("hierarchy: %d changes, roles %v, marker %d bytes", len(h.Changes), h.Roles, len(h.Marker))
	}
	var refs []export.ItemRef
	marker, err := src.Changes(ctx, alice, inbox, nil, func(c export.ItemChange) error {
		if c.Kind != export.Create || c.Ref.Version == "" {
			t.Errorf("first sync change %+v, want a Create with a version", c)
		}
		if c.Ref.Kind == export.KindMail {
			refs = append(refs, c.Ref)
		}
		return nil
	})
	if err != nil || len(refs) == 0 || len(marker) == 0 {
		t.Fatalf("changes: %v, %d mail items, marker %d bytes", err, len(refs), len(marker))
	}
	n := 0
	err = src.Fetch(ctx, alice, export.KindMail, refs, func(it *export.Item) error {
		c, err := it.Open()
		if err != nil {
			return err
		}
		if c.Kind != archive.KindMessage || c.Body == nil || c.Attrs["read"] == "" {
			t.Errorf("item %s: %+v", it.ID, c)
			return nil
		}
		b, err := io.ReadAll(c.Body)
		if err != nil {
			return err
		}
		if want := e.org.MIME(it.ID); want != nil && string(b) != string(want) {
			t.Errorf("item %s: MIME differs", it.ID)
		}
		n++
		return nil
	})
	if err != nil || n != len(refs) {
		t.Fatalf("fetch: %v, %d of %d", err, n, len(refs))
	}
	e.srv.Inject(ewstest.Fault{Kind: ewstest.FaultInvalidSyncState, Op: "SyncFolderItems", Count: 1})
	_, err = src.Changes(ctx, alice, inbox, marker, func(export.ItemChange) error { return nil })
	if !errors.Is(err, export.ErrMarkerRejected) || !errors.Is(err, exchange.ErrInvalidSyncState) || strings.Contains(err.Error(), "export:") {
		t.Errorf("rejected state = %v, want export.ErrMarkerRejected with the server's message", err)
	}
}
