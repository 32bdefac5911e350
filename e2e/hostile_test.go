package e2e

import (
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/exchange/ewstest"
)

// TestArchiveBitFlips flips one bit at 1,000 random offsets of a real
// archive (made by the exporter) and requires every flip to be detected:
// the folder does not open, Verify fails, the volume is torn (which the
// importer refuses), or reading an entry fails. Nothing may panic.
func TestArchiveBitFlips(t *testing.T) {
	b := newBed(t, ewstest.OrgOptions{Users: 2, MessagesPerFolder: 3, Contacts: 1, Tasks: 1}, nil)
	for round := 1; round <= 2; round++ {
		if round > 1 {
			b.ews.NextRound(int64(round))
		}
		b.mustExport(t)
	}
	vols := volumes(t, b.arch)
	orig := make([][]byte, len(vols))
	for i, v := range vols {
		var err error
		if orig[i], err = os.ReadFile(v); err != nil {
			t.Fatal(err)
		}
	}
	work := t.TempDir()
	for i, v := range vols {
		os.WriteFile(filepath.Join(work, filepath.Base(v)), orig[i], 0o600)
	}
	rng := rand.New(rand.NewPCG(1000, 6))
	how := map[string]int{}
	const flips = 1000
	for n := range flips {
		vi := rng.IntN(len(vols))
		off := rng.IntN(len(orig[vi]))
		bit := byte(1) << rng.IntN(8)
		name := filepath.Join(work, filepath.Base(vols[vi]))
		damaged := append([]byte(nil), orig[vi]...)
		damaged[off] ^= bit
		if err := os.WriteFile(name, damaged, 0o600); err != nil {
			t.Fatal(err)
		}
		caught, err := detect(work)
		if caught == "" {
			t.Errorf("flip %d: bit %#x at offset %d of %s not detected", n, bit, off, filepath.Base(name))
		}
		if err != nil && strings.Contains(err.Error(), "panic") {
			t.Errorf("flip %d: %v", n, err)
		}
		how[caught]++
		os.WriteFile(name, orig[vi], 0o600)
	}
	t.Logf("%d bit flips in %d volumes (%d bytes): detected by %v", flips, len(vols), len(orig[0])+len(orig[len(orig)-1]), how)
}

// detect opens and reads the whole archive and says which check caught
// the damage ("" for none).
func detect(dir string) (caught string, err error) {
	defer func() {
		if r := recover(); r != nil {
			caught, err = "panic", fmt.Errorf("panic: %v", r)
		}
	}()
	f, err := archive.OpenFolder(dir, nil)
	if err != nil {
		return "open", err
	}
	defer f.Close()
	for _, v := range f.Volumes() {
		if v.Torn {
			return "torn", nil
		}
	}
	if err := f.Verify(); err != nil {
		return "verify", err
	}
	err = f.Walk(func(e *archive.Entry) error {
		if e.Ref != nil {
			return nil
		}
		r, err := f.Open(e)
		if err != nil {
			return err
		}
		defer r.Close()
		_, err = io.Copy(io.Discard, r)
		return err
	})
	if err != nil {
		return "read", err
	}
	return "", nil
}

// TestHostileNames migrates public folders whose names hold "..", "/",
// "\", NUL, 300 characters and invalid UTF-8, and messages with malformed
// MIME, in IMAP and path mode: every item arrives exactly once, and
// nothing is written outside the mail path and the archive.
func TestHostileNames(t *testing.T) {
	names := []string{"..", "../../../../etc", "a/b", `c:\windows\system32`, "nul\x00byte", strings.Repeat("x", 300),
		"bad\xff\xfeutf8", ".", "CON", "trailing. ", "Inbox"}
	// Each malformed message carries the Message-ID Exchange reports for
	// it (none for the first two). A header line without a colon is left
	// out: the emulator's IMAP ENVELOPE then loses the Message-ID, so
	// check cannot match the message (a real server keeps it).
	mimes := map[string]string{
		"":                 "just a line of text\r\n",
		" ":                "\x00\x01\x02\xff\xfe\r\n\r\n\x00body\x00",
		"<open-mp@h.test>": "Message-ID: <open-mp@h.test>\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nno end",
		"<8bit@h.test>":    "Message-ID: <8bit@h.test>\r\nSubject: \xff\xfe caf\xe9\r\n\r\nbody\r\n",
		"<lf@h.test>":      "Message-ID: <lf@h.test>\nSubject: lf\n\nline\rline\n",
		"<long@h.test>":    "Message-ID: <long@h.test>\r\nSubject: " + strings.Repeat("y", 100000) + "\r\n\r\nbody\r\n",
		"<ew@h.test>":      "Message-ID: <ew@h.test>\r\nSubject: =?utf-8?B?!!!?= =?x-unknown?Q?a?=\r\n\r\nbody\r\n",
	}
	for _, mode := range []string{"imap", "path"} {
		t.Run(mode, func(t *testing.T) {
			b := newBed(t, ewstest.OrgOptions{Users: 1, MessagesPerFolder: 2, Contacts: 1, Tasks: 1}, nil)
			for _, n := range names {
				id := b.ews.Org.AddPublicFolder("", n)
				if id == "" {
					t.Fatalf("AddPublicFolder(%q) failed", n)
				}
				b.ews.Org.AddMessages("", id, 2)
				sub := b.ews.Org.AddPublicFolder(id, n)
				b.ews.Org.AddMessages("", sub, 1)
			}
			smtp := b.ews.Org.Users[0].SMTP
			for id, m := range mimes {
				if b.ews.Org.AddMessage(smtp, "inbox", []byte(m), time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), strings.TrimSpace(id)) == "" {
					t.Fatal("AddMessage failed")
				}
			}
			outside := tree(t, b.dir)
			b.mustExport(t)
			b.assertArchiveMatchesOrg(t)
			var extra []string
			if mode == "path" {
				extra = []string{"--mail-mode", "path", "--mail-path", b.iw.MailRoot()}
			}
			out, err := b.importRun(extra...)
			mustOK(t, "import", out, err)
			b.assertExactlyOnce(t)
			// Nothing outside the mail path, the archive and the ledger.
			after := tree(t, b.dir)
			for p := range after {
				if _, ok := outside[p]; ok {
					continue
				}
				top := strings.Split(filepath.ToSlash(p), "/")[0]
				if top != "mail" && top != "archive" {
					t.Errorf("written outside the mail path and the archive: %q", p)
				}
			}
			root, _ := filepath.EvalSymlinks(b.iw.MailRoot())
			filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.Type()&fs.ModeSymlink != 0 {
					t.Errorf("symlink in the mail path: %s", p)
				}
				return nil
			})
		})
	}
}
