package pst

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/export"
)

// largestStreamed returns the message of f with the largest attachment left in the file
// (streamed), the folder holding it and that attachment's data blocks.
func largestStreamed(t *testing.T, f *File) (nid uint32, folder string, blocks []uint64) {
	t.Helper()
	size := 0
	eachMessage(t, f, func(fo *Folder, row Props, m *Message) {
		for _, a := range m.Attachments {
			if a.lazy == 0 {
				continue
			}
			bs, err := f.leafBlocks(a.lazy)
			if err != nil {
				t.Fatal(err)
			}
			if len(bs) > size {
				nid, folder, blocks, size = m.NID, fo.Name, bs, len(bs)
			}
		}
	})
	if size < 3 {
		t.Fatalf("largest streamed attachment has %d blocks; want 3 or more", size)
	}
	return nid, folder, blocks
}

// trailerOffset is where the BLOCKTRAILER of data block bid starts in the file
// ([MS-PST] 2.2.2.8.1: cb bytes of data, padding to 64, then the trailer last).
func trailerOffset(t *testing.T, f *File, bid uint64) int64 {
	t.Helper()
	e, err := f.lookup(f.bbt, ptypeBBT, bid&^1, ^uint64(1))
	if err != nil {
		t.Fatal(err)
	}
	n := f.idSize()
	ib := int64(f.id(e[n:]))
	cb := int(binary.LittleEndian.Uint16(e[2*n:]))
	if f.Format != FormatUnicode {
		t.Fatalf("format %v; the test corrupts Unicode trailers", f.Format)
	}
	return ib + int64((cb+16+63)&^63-16)
}

// corruptTrailer overwrites the bid of the trailer at off (8 bytes at offset 8 of a
// Unicode trailer) in the file at p, through a descriptor of its own.
func corruptTrailer(t *testing.T, p string, off int64) {
	t.Helper()
	w, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteAt([]byte{0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE}, off+8); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// damageOnOpen is a Source whose file is damaged once message nid has been opened
// (its attachments checked by checkStreams) and before its stream is read: the
// attachment's data tree fails after the first bytes were streamed.
type damageOnOpen struct {
	*Source
	nid    uint32
	damage func()
	opened int
}

func (d *damageOnOpen) Fetch(ctx context.Context, mbx string, kind export.ItemKind, refs []export.ItemRef, fn func(*export.Item) error) error {
	return d.Source.Fetch(ctx, mbx, kind, refs, func(it *export.Item) error {
		if _, nid, ok := d.itemNID(it.ID); ok && nid == d.nid && it.Open != nil {
			open := it.Open
			it.Open = func() (*export.Content, error) {
				c, err := open()
				if err == nil && c.Body != nil {
					d.opened++
					d.damage()
				}
				return c, err
			}
		}
		return fn(it)
	})
}

// TestStreamFailsMidway: the largest attachment of a copy of enron.pst loses a block
// (its trailer overwritten) after the message was checked and opened; export.Run counts
// that message as failed, with its node id and folder in the reason, archives every
// other message, leaves no entry and no spool file of it, and the archive verifies.
func TestStreamFailsMidway(t *testing.T) {
	b, err := os.ReadFile(testFiles[2].path(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "enron-damaged.pst")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := NewSource("user", "user@example.com", "", []string{p}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	nid, folder, blocks := largestStreamed(t, src.files[0].f)
	off := trailerOffset(t, src.files[0].f, blocks[len(blocks)/2])
	d := &damageOnOpen{Source: src, nid: nid, damage: func() { corruptTrailer(t, p, off) }}

	arch := filepath.Join(dir, "archive")
	if err := os.Mkdir(arch, 0o755); err != nil {
		t.Fatal(err)
	}
	af, err := archive.OpenFolder(arch, &archive.FolderOptions{Writer: "pst test"})
	if err != nil {
		t.Fatal(err)
	}
	defer af.Close()
	spool := filepath.Join(dir, "spool")
	if err := os.Mkdir(spool, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := export.Run(ctx, d, export.Options{Folder: af, Mailboxes: []string{"user@example.com"}, Jobs: 1, SpoolDir: spool})
	if err != nil {
		t.Fatal(err)
	}
	if d.opened != 1 {
		t.Fatalf("message 0x%x opened %d times with a stream; want 1", nid, d.opened)
	}
	st := res.Stats[0]
	if st.Err != "" {
		t.Fatalf("mailbox failed: %s", st.Err)
	}
	want := fmt.Sprintf("pst message 0x%x in folder %q of enron-damaged.pst: attachment unreadable while streaming", nid, folder)
	if len(st.Failed) != 1 || st.Failed[want] != 1 {
		t.Errorf("failed %v, want {%q: 1}", st.Failed, want)
	}
	if err := af.Verify(); err != nil {
		t.Error(err)
	}
	for _, e := range af.View().Entries() {
		if e.Kind != archive.KindMessage {
			continue
		}
		if _, n, ok := src.itemNID(e.ID); ok && n == nid {
			t.Errorf("message 0x%x archived as %s (%s)", nid, e.ID, e.Kind)
		}
	}
	if st.Exported < 50 || st.Exported+sum(st.Skipped)+sum(st.Failed)+sum(st.Filtered) != st.Found {
		t.Errorf("found %d, exported %d, skipped %v, failed %v, filtered %v", st.Found, st.Exported, st.Skipped, st.Failed, st.Filtered)
	}
	left, _ := filepath.Glob(filepath.Join(spool, ".iem-item-*"))
	if len(left) != 0 {
		t.Errorf("spool files left: %v", left)
	}
	var sb strings.Builder
	if _, err := export.WriteSummary(&sb, res, export.SummaryOptions{Folder: af, ArchiveDir: arch, Started: time.Now(), Log: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sb.String(), fmt.Sprintf("0x%x", nid)) {
		t.Errorf("summary does not name message 0x%x:\n%s", nid, sb.String())
	}
	t.Logf("message 0x%x in %q: block %d of %d lost mid-stream; %d exported, failed %v", nid, folder, len(blocks)/2, len(blocks), st.Exported, st.Failed)
}
