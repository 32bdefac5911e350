package pst

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/pst/internal/pstwrite"
)

// These tests read files written by pst/internal/pstwrite (validated against readpst
// in its own tests) through the Source, as iem-export does: larger ANSI files than
// the public samples, and damaged ones whose damage is known exactly.

// fetchAll opens every mail item of every folder of the file p through the Source
// and returns, by item id, nil for an item archived whole, the RebuiltWhy of one
// archived in part, or the error of one that could not be read.
func fetchAll(t *testing.T, p string) map[string]error {
	t.Helper()
	ctx := context.Background()
	src, err := NewSource("user", "user@example.com", "", []string{p}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	h, err := src.Hierarchy(ctx, "user@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]error{}
	for _, fc := range h.Changes {
		var refs []export.ItemRef
		if _, err := src.Changes(ctx, "user@example.com", fc.Folder.ID, nil, func(c export.ItemChange) error {
			refs = append(refs, c.Ref)
			return nil
		}); err != nil {
			t.Errorf("folder %s: %v", fc.Folder.ID, err)
		}
		err := src.Fetch(ctx, "user@example.com", export.KindMail, refs, func(it *export.Item) error {
			c, err := it.Open()
			if err != nil {
				out[it.ID] = err
				return nil
			}
			body := c.Data
			if c.Body != nil {
				body, _ = io.ReadAll(c.Body)
			}
			if _, err := mail.ReadMessage(bytes.NewReader(body)); err != nil {
				t.Errorf("item %s: %v", it.ID, err)
			}
			out[it.ID] = nil
			if c.Rebuilt {
				out[it.ID] = fmt.Errorf("rebuilt: %w", c.RebuiltWhy)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func writeTemp(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "written.pst")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// nidOf is the node id a reader error names.
func nidOf(err error) uint32 {
	var e *Error
	if errors.As(err, &e) {
		return e.NID
	}
	return 0
}

// TestWrittenSource archives all 1,000 messages of pstwrite.Sample whole.
func TestWrittenSource(t *testing.T) {
	got := fetchAll(t, writeTemp(t, pstwrite.Write("Top of Personal Folders", pstwrite.Sample(1000))))
	if len(got) != 1000 {
		t.Errorf("%d items, want 1000", len(got))
	}
	for id, err := range got {
		if err != nil {
			t.Errorf("item %s: %v", id, err)
		}
	}
}

// TestWrittenTruncated cuts the file inside the blocks of its last 10 messages:
// those 10 fail one by one, each naming a block of that message past the cut (the
// reader's block errors name the block, not the node), and the other 290 are
// archived whole.
func TestWrittenTruncated(t *testing.T) {
	file, _, gone := pstwrite.Truncated(300, 10)
	got := fetchAll(t, writeTemp(t, file))
	failed, nids := 0, map[uint32]bool{}
	for id, err := range got {
		switch {
		case err == nil:
		case strings.HasPrefix(err.Error(), "rebuilt"):
			t.Errorf("item %s archived in part: %v", id, err)
		default:
			var p *export.Problem
			var e *Error
			if !errors.As(err, &p) || !p.Failed || !errors.As(err, &e) || gone[uint32(e.BID)] == 0 || e.BID>>32 != 0 {
				t.Errorf("item %s: %v, not a block of the lost messages", id, err)
				continue
			}
			nids[gone[uint32(e.BID)]] = true
			failed++
		}
	}
	if len(got) != 300 || failed != 10 || len(nids) != 10 {
		t.Errorf("%d items listed, %d failed (%d messages); want 300 and 10", len(got), failed, len(nids))
	}
}

// TestWrittenCorrupted damages two blocks: the message whose property context is
// gone fails alone, naming its node; the message whose attachment lost a block is
// archived without that attachment (never cut short as if whole), its reason naming
// its node and, through its error, the block; the other 298 are whole.
func TestWrittenCorrupted(t *testing.T) {
	file, _, badPC, badAttach, badBlock := pstwrite.Corrupted(300)
	got := fetchAll(t, writeTemp(t, file))
	failed, rebuilt := map[uint64]error{}, map[uint64]error{}
	for id, err := range got {
		var p *export.Problem
		switch {
		case err == nil:
		case strings.HasPrefix(err.Error(), "rebuilt") && strings.Contains(err.Error(), fmt.Sprintf("pst message 0x%x ", badAttach)):
			rebuilt[uint64(badAttach)] = err
		case strings.HasPrefix(err.Error(), "rebuilt"):
			t.Errorf("item %s archived in part: %v", id, err)
		case errors.As(err, &p) && p.Failed:
			failed[uint64(nidOf(err))] = err
		default:
			t.Errorf("item %s: %v", id, err)
		}
	}
	if len(got) != 300 || len(failed) != 1 || failed[uint64(badPC)] == nil || len(rebuilt) != 1 {
		t.Fatalf("%d items, failed %v, rebuilt %v; want 300, node 0x%x failed and 0x%x without its attachment", len(got), failed, rebuilt, badPC, badAttach)
	}
	var e *Error
	if err := rebuilt[uint64(badAttach)]; !errors.As(err, &e) || e.BID != uint64(badBlock) {
		t.Errorf("attachment damage %v; want block 0x%x", err, badBlock)
	}
}

// TestWrittenRebuiltHeaders: a message without transport headers (readpst rebuilds
// From, Date, Subject and Message-Id from its properties: pstwrite's
// TestReadpstWithoutHeaders) gets the same headers here.
func TestWrittenRebuiltHeaders(t *testing.T) {
	when := time.Date(2006, 3, 14, 9, 26, 53, 0, time.UTC)
	folders := []*pstwrite.Folder{{Name: "Inbox", Messages: []*pstwrite.Message{{
		Subject: "Hello from ExMerge", SenderName: "Alice Example", SenderEmail: "alice@example.com",
		MessageID: "<m1@example.com>", Body: "Plain body.\r\n", Delivery: when, Read: true,
	}}}}
	file := pstwrite.Write("Top", folders)
	f, err := NewFile(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	m, err := f.Message(folders[0].Messages[0].NID)
	if err != nil {
		t.Fatal(err)
	}
	eml, err := m.EML()
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(eml))
	if err != nil {
		t.Fatal(err)
	}
	from, _ := msg.Header.AddressList("From")
	date, _ := msg.Header.Date()
	if len(from) != 1 || from[0].Name != "Alice Example" || from[0].Address != "alice@example.com" ||
		!date.Equal(when) || msg.Header.Get("Subject") != "Hello from ExMerge" || msg.Header.Get("Message-Id") != "<m1@example.com>" {
		t.Errorf("headers %v", msg.Header)
	}
}
