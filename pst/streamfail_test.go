package pst

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/export"
)

// largestStreamed returns the message of f with the largest attachment left in the file
// (streamed), the folder holding it, that attachment's name and its data blocks.
func largestStreamed(t *testing.T, f *File) (nid uint32, folder, name string, blocks []uint64) {
	t.Helper()
	size := 0
	eachMessage(t, f, func(fo *Folder, row Props, m *Message) {
		for i, a := range m.Attachments {
			if a.lazy == 0 {
				continue
			}
			bs, err := f.leafBlocks(a.lazy)
			if err != nil {
				t.Fatal(err)
			}
			if len(bs) > size {
				nid, folder, name, blocks, size = m.NID, fo.Name, a.name(i, len(m.Attachments)), bs, len(bs)
			}
		}
	})
	if size < 3 {
		t.Fatalf("largest streamed attachment has %d blocks; want 3 or more", size)
	}
	return nid, folder, name, blocks
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
// (its attachments checked by dropDamaged) and before its stream is read: the
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
// its folder, that attachment's name and the file offset of the trailer of a block in
// the middle of it.
func enronCopy(t *testing.T) (src *Source, p string, nid uint32, folder, name string, off int64) {
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
	nid, folder, name, blocks := largestStreamed(t, src.files[0].f)
	off = trailerOffset(t, src.files[0].f, blocks[len(blocks)/2])
	t.Logf("message 0x%x in %q: block %d of %d of %q damaged", nid, folder, len(blocks)/2, len(blocks), name)
	return src, p, nid, folder, name, off
}

// damagedRun is an export.Run of a damaged file into a new archive.
type damagedRun struct {
	af      *archive.Folder
	st      *export.MailboxStats
	summary string
}

// runDamaged runs export.Run of src into a new archive and checks what holds whatever
// the damage: the mailbox did not fail, every item found is accounted for, no spool
// file is left, and the archive verifies.
func runDamaged(t *testing.T, src export.Source) damagedRun {
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
	t.Cleanup(func() { af.Close() })
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
	if err := af.Verify(); err != nil {
		t.Error(err)
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
	t.Logf("%d found, %d exported, failed %v, rebuilt %v", st.Found, st.Exported, st.Failed, st.Rebuilt)
	return damagedRun{af: af, st: st, summary: sb.String()}
}

// entryOf returns the archive entry of message nid of the file of ids, or nil.
func (r damagedRun) entryOf(ids *Source, nid uint32) *archive.Entry {
	for _, e := range r.af.View().Entries() {
		if _, n, ok := ids.itemNID(e.ID); ok && n == nid {
			return e
		}
	}
	return nil
}

// exportFailsOne runs export.Run of src (over the file of ids) and checks that message
// nid, and only it, failed with reason want; that the summary names it; and that none
// of it was archived (runDamaged checks the rest).
func exportFailsOne(t *testing.T, src export.Source, ids *Source, nid uint32, want string) {
	t.Helper()
	r := runDamaged(t, src)
	if len(r.st.Failed) != 1 || r.st.Failed[want] != 1 {
		t.Errorf("failed %v, want {%q: 1}", r.st.Failed, want)
	}
	if e := r.entryOf(ids, nid); e != nil {
		t.Errorf("message 0x%x archived as %s (%s)", nid, e.ID, e.Kind)
	}
	if !strings.Contains(r.summary, fmt.Sprintf("0x%x", nid)) {
		t.Errorf("summary does not name message 0x%x:\n%s", nid, r.summary)
	}
}

// TestStreamFailsMidway: the largest attachment of a copy of enron.pst loses a block
// (its trailer overwritten) after the message was checked and opened, so its stream
// fails after the first bytes; export.Run counts that message as failed, with its node
// id and folder in the reason, and writes nothing of it (exportFailsOne).
func TestStreamFailsMidway(t *testing.T) {
	src, p, nid, folder, _, off := enronCopy(t)
	d := &damageOnOpen{Source: src, nid: nid, damage: func() { corruptTrailer(t, p, off) }}
	exportFailsOne(t, d, src, nid, fmt.Sprintf("pst message 0x%x in folder %q of enron-damaged.pst: attachment unreadable while streaming", nid, folder))
	if d.opened != 1 {
		t.Errorf("message 0x%x opened %d times with a stream; want 1", nid, d.opened)
	}
}

// TestDamagedAttachmentDropped: the same block damaged before the export starts is
// found when the message is opened (dropDamaged): the message is archived without that
// attachment, never with a truncated copy, and the summary names the message, its folder
// and the attachment dropped. Its other parts (headers, body, the other attachments)
// are all there.
func TestDamagedAttachmentDropped(t *testing.T) {
	src, p, nid, folder, name, off := enronCopy(t)
	whole := emlOf(t, src.files[0].f, nid)
	corruptTrailer(t, p, off)
	r := runDamaged(t, src)
	if len(r.st.Failed) != 0 {
		t.Errorf("failed %v, want none", r.st.Failed)
	}
	want := fmt.Sprintf("pst message 0x%x in folder %q of enron-damaged.pst: archived without its damaged attachment %q", nid, folder, name)
	n := 0
	for reason, c := range r.st.Rebuilt {
		if reason == want {
			n += c
		}
	}
	if n != 1 {
		t.Errorf("rebuilt %v, want one %q", r.st.Rebuilt, want)
	}
	if !strings.Contains(r.summary, fmt.Sprintf("0x%x", nid)) || !strings.Contains(r.summary, name) {
		t.Errorf("summary does not name message 0x%x and %q:\n%s", nid, name, r.summary)
	}
	e := r.entryOf(src, nid)
	if e == nil {
		t.Fatalf("message 0x%x not archived", nid)
	}
	rc, err := r.af.Open(e)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	wantAtt, gotAtt := attachmentSums(t, whole), attachmentSums(t, got)
	if len(gotAtt) != len(wantAtt)-1 {
		t.Fatalf("archived message has %d attachments, the undamaged one %d; want one fewer", len(gotAtt), len(wantAtt))
	}
	if gotID, _ := emlSummary(t, got); gotID == "" {
		t.Error("archived message has no Message-ID")
	} else if wantID, _ := emlSummary(t, whole); gotID != wantID {
		t.Errorf("archived message %s, undamaged %s", gotID, wantID)
	}
	missing := 0
	for _, w := range wantAtt {
		if !slices.Contains(gotAtt, w) {
			missing++
		}
	}
	if missing != 1 {
		t.Errorf("attachments archived %v, undamaged %v: want all but one", gotAtt, wantAtt)
	}
}

// attachmentSums is the SHA-256 prefixes of the attachments of EML b (walkParts).
func attachmentSums(t *testing.T, b []byte) []string {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var sums []string
	walkParts(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Header.Get("Content-Disposition"), m.Body, &sums, 0)
	return sums
}

// emlOf is message nid of f as EML.
func emlOf(t *testing.T, f *File, nid uint32) []byte {
	t.Helper()
	m, err := f.Message(nid)
	if err != nil {
		t.Fatal(err)
	}
	r, _, err := m.EMLStream(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
