package pstwrite

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iemproject/iem/internal/testbed"
)

// exported is one .eml readpst wrote: its folder below the top folder and the message.
type exported struct {
	folder string
	msg    *mail.Message
	body   string            // the text/plain part
	files  map[string][]byte // attachments by file name
}

// readpst exports p with Debian's readpst (-e: one .eml per message in a folder
// tree, -D: deleted items too, -j 0: no child processes) and parses what it wrote.
func readpst(t *testing.T, p string) []exported {
	t.Helper()
	bin := testbed.Need(t, "readpst")
	out := t.TempDir()
	cmd := exec.Command(bin, "-q", "-e", "-D", "-j", "0", "-o", out, p)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("readpst: %v\n%s", err, b)
	}
	var got []exported
	filepath.WalkDir(out, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !strings.HasSuffix(path, ".eml") {
			t.Errorf("readpst wrote %s, not a message", path)
			return nil
		}
		b, _ := os.ReadFile(path)
		m, err := mail.ReadMessage(bytes.NewReader(b))
		if err != nil {
			t.Errorf("readpst wrote %s: %v", path, err)
			return nil
		}
		rel, _ := filepath.Rel(out, filepath.Dir(path))
		e := exported{folder: filepath.ToSlash(rel), msg: m, files: map[string][]byte{}}
		parseParts(t, m.Header.Get("Content-Type"), m.Body, &e)
		got = append(got, e)
		return nil
	})
	return got
}

// parseParts collects the text/plain body and the attachments of a MIME entity.
func parseParts(t *testing.T, ctype string, body io.Reader, e *exported) {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		t.Errorf("content type %q: %v", ctype, err)
		return
	}
	if !strings.HasPrefix(mt, "multipart/") {
		b, _ := io.ReadAll(body)
		e.body += string(b)
		return
	}
	mr := multipart.NewReader(body, params["boundary"])
	for {
		part, err := mr.NextPart() // decodes quoted-printable, not base64
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Errorf("multipart: %v", err)
			return
		}
		if name := part.FileName(); name != "" {
			b, _ := io.ReadAll(part)
			if strings.EqualFold(part.Header.Get("Content-Transfer-Encoding"), "base64") {
				b = decodeBase64(t, b)
			}
			e.files[name] = b
			continue
		}
		parseParts(t, part.Header.Get("Content-Type"), part, e)
	}
}

// TestReadpstOneMessage checks the smallest file with readpst: one folder, one
// message, with the headers readpst takes from the transport headers, the read
// state it writes as Status, and the plain body.
func TestReadpstOneMessage(t *testing.T) {
	got := readpst(t, writeFile(t, oneMessage()))
	if len(got) != 1 {
		t.Fatalf("readpst wrote %d messages, want 1", len(got))
	}
	e := got[0]
	if e.folder != "Top of Personal Folders/Inbox" {
		t.Errorf("folder %q", e.folder)
	}
	h := e.msg.Header
	for k, want := range map[string]string{"Subject": "Hello from ExMerge", "Message-Id": "<m1@example.com>",
		"From": "Alice Example <alice@example.com>", "Status": "RO"} {
		if got := h.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if !strings.Contains(e.body, "Plain body.\r\nSecond line.") && !strings.Contains(e.body, "Plain body.\nSecond line.") {
		t.Errorf("body %q", e.body)
	}
}

func decodeBase64(t *testing.T, b []byte) []byte {
	out, err := base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(b)))
	if err != nil {
		t.Errorf("base64: %v", err)
	}
	return out
}

// TestReadpstWithoutHeaders: a message without transport headers, which readpst
// rebuilds from the properties: From from PidTagSentRepresentingName and
// ...EmailAddress, Date from PidTagClientSubmitTime, Message-Id from
// PidTagInternetMessageId, Subject from PidTagSubject.
func TestReadpstWithoutHeaders(t *testing.T) {
	folders := oneMessage()
	folders[0].Messages[0].Headers = ""
	got := readpst(t, writeFile(t, folders))
	if len(got) != 1 {
		t.Fatalf("readpst wrote %d messages, want 1", len(got))
	}
	h := got[0].msg.Header
	for k, want := range map[string]string{"Subject": "Hello from ExMerge", "Message-Id": "<m1@example.com>",
		"From": `"Alice Example" <alice@example.com>`, "Date": "Tue, 14 Mar 2006 09:26:53 +0000", "Status": "RO"} {
		if got := h.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
}
