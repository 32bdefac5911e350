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

// enronCopy copies enron.pst into a temporary directory, opens a Source on the copy and
// returns it with the copy's path, the message with the largest streamed attachment,
// its folder and the file offset of the trailer of a block in the middle of it.
func enronCopy(t *testing.T) (src *Source, p string, nid uint32, folder string, off int64) {
	t.Helper()
	b, err := os.ReadFile(testFiles[2].path(t))
	if err != nil {
		t.Fatal(err)
	}
	p = filepath.Join(t.TempDir(), "enron-damaged.pst")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if src, err = NewSource("user", "user@example.com", "", []string{p}, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	nid, folder, blocks := largestStreamed(t, src.files[0].f)
	off = trailerOffset(t, src.files[0].f, blocks[len(blocks)/2])
	t.Logf("message 0x%x in %q: block %d of %d damaged", nid, folder, len(blocks)/2, len(blocks))
	return src, p, nid, folder, off
}

// exportFailsOne runs export.Run of src (over the file of ids) into a new archive and
// checks that message nid, and only it, failed with reason want; that the summary names
// it; that every other message was archived, none of it, and no spool file is left; and
// that the archive verifies.
func exportFailsOne(t *testing.T, src export.Source, ids *Source, nid uint32, want string) {
	t.Helper()
	dir := t.TempDir()
	arch, spool := filepath.Join(dir, "archive"), filepath.Join(dir, "spool")
	for _, d := range []string{arch, spool} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	af, err := archive.OpenFolder(arch, &archive.FolderOptions{Writer: "pst test"})
	if err != nil {
		t.Fatal(err)
	}
	defer af.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := export.Run(ctx, src, export.Options{Folder: af, Mailboxes: []string{"user@example.com"}, Jobs: 1, SpoolDir: spool})
	if err != nil {
		t.Fatal(err)
	}
	st := res.Stats[0]
	if st.Err != "" {
		t.Fatalf("mailbox failed: %s", st.Err)
	}
	if len(st.Failed) != 1 || st.Failed[want] != 1 {
		t.Errorf("failed %v, want {%q: 1}", st.Failed, want)
	}
	if err := af.Verify(); err != nil {
		t.Error(err)
	}
	for _, e := range af.View().Entries() {
		if _, n, ok := ids.itemNID(e.ID); ok && n == nid {
			t.Errorf("message 0x%x archived as %s (%s)", nid, e.ID, e.Kind)
		}
	}
	if st.Exported < 50 || st.Exported+sum(st.Skipped)+sum(st.Failed)+sum(st.Filtered) != st.Found {
		t.Errorf("found %d, exported %d, skipped %v, failed %v, filtered %v", st.Found, st.Exported, st.Skipped, st.Failed, st.Filtered)
	}
	if left, _ := filepath.Glob(filepath.Join(spool, ".iem-item-*")); len(left) != 0 {
		t.Errorf("spool files left: %v", left)
	}
	var sb strings.Builder
	if _, err := export.WriteSummary(&sb, res, export.SummaryOptions{Folder: af, ArchiveDir: arch, Started: time.Now(), Log: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sb.String(), fmt.Sprintf("0x%x", nid)) {
		t.Errorf("summary does not name message 0x%x:\n%s", nid, sb.String())
	}
	t.Logf("%d found, %d exported, failed %v", st.Found, st.Exported, st.Failed)
}

// TestStreamFailsMidway: the largest attachment of a copy of enron.pst loses a block
// (its trailer overwritten) after the message was checked and opened, so its stream
// fails after the first bytes; export.Run counts that message as failed, with its node
// id and folder in the reason, and writes nothing of it (exportFailsOne).
func TestStreamFailsMidway(t *testing.T) {
	src, p, nid, folder, off := enronCopy(t)
	d := &damageOnOpen{Source: src, nid: nid, damage: func() { corruptTrailer(t, p, off) }}
	exportFailsOne(t, d, src, nid, fmt.Sprintf("pst message 0x%x in folder %q of enron-damaged.pst: attachment unreadable while streaming", nid, folder))
	if d.opened != 1 {
		t.Errorf("message 0x%x opened %d times with a stream; want 1", nid, d.opened)
	}
}

// TestDamagedAttachmentFails: the same block damaged before the export starts is found
// by checkStreams when the message is opened: the message fails as a whole, named in the
// summary, rather than being archived with a truncated attachment.
func TestDamagedAttachmentFails(t *testing.T) {
	src, p, nid, folder, off := enronCopy(t)
	corruptTrailer(t, p, off)
	exportFailsOne(t, src, src, nid, fmt.Sprintf("pst message 0x%x in folder %q of enron-damaged.pst: attachment data tree damaged", nid, folder))
}
