package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/exchange/directory"
	"github.com/iemproject/iem/format"
	"github.com/iemproject/iem/internal/archivetest"
	"github.com/iemproject/iem/replay"
)

// TestMain lets the test binary stand in for the command: with
// IEM_IMPORT_AS_MAIN=1 it runs main, so the SIGKILL tests kill a real
// iem-import process without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("IEM_IMPORT_AS_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// round writes one round of an archive folder, as iem-export would.
type round struct{ *archivetest.Round }

func writeRound(t testing.TB, dir string, fn func(r *round)) {
	t.Helper()
	archivetest.Write(t, dir, "iem-import test", func(r *archivetest.Round) { fn(&round{r}) })
}

func (r *round) put(h *archive.Header, body []byte) { r.Put(h, body) }
func (r *round) putJSON(h *archive.Header, v any)   { r.PutJSON(h, v) }
func (r *round) mailbox(email string)               { r.Mailbox(email) }

func (r *round) group(email string, members ...string) {
	r.putJSON(&archive.Header{Kind: archive.KindGroup, ID: email},
		directory.Group{Name: strings.Split(email, "@")[0], PrimarySMTP: email, Members: members})
}

// folder is a folder record: id, parent id, display name, class
// ("IPF.Note", "IPF.Contact", …), distinguished id and ACL.
type folder struct {
	id, parent, name, class, dist string
	acl                           *format.ACL
}

func (r *round) folder(mbx string, f folder) {
	path := []string{f.name}
	r.putJSON(&archive.Header{Kind: archive.KindFolder, Mailbox: mbx, Folder: f.parent, ID: f.id},
		replay.FolderRecord{ID: f.id, ParentID: f.parent, DisplayName: f.name, Path: path, Class: f.class, Distinguished: f.dist, ACL: f.acl})
}

// publicFolder is a public folder under the public folders group.
func (r *round) publicFolder(id string, path []string, acl *format.ACL) {
	r.putJSON(&archive.Header{Kind: archive.KindPublicFolder, ID: id},
		replay.FolderRecord{ID: id, DisplayName: path[len(path)-1], Path: path, Class: "IPF.Note", Group: "Public Folders", ACL: acl})
}

// msg is one test message.
type msg struct {
	mbx, folder, id string
	read, flagged   bool
	received        time.Time
	size            int  // body padding
	noID            bool // no Message-ID header: found by date and size only
}

func (m msg) messageID() string { return m.id + "@iem.test" }

// key is how expectMail tells messages apart: the Message-ID, or the
// internal date and size of one without.
func (m msg) key() string {
	if m.noID {
		return fmt.Sprintf("@%d/%d", m.received.Unix(), len(m.body()))
	}
	return m.messageID()
}

func (m msg) body() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: sender@example.org\r\nTo: %s\r\nSubject: test %s\r\n", m.mbx, m.id)
	if !m.noID {
		fmt.Fprintf(&b, "Message-ID: <%s>\r\n", m.messageID())
	}
	fmt.Fprintf(&b, "Date: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbody of %s\r\n",
		m.received.Format(time.RFC1123Z), m.id)
	for b.Len() < m.size {
		b.WriteString("lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor\r\n")
	}
	return b.Bytes()
}

func (r *round) message(m msg) {
	attrs := map[string]string{"read": "0", "class": "IPM.Note"}
	if !m.noID {
		attrs["message-id"] = "<" + m.messageID() + ">"
	}
	if m.read {
		attrs["read"] = "1"
	}
	if m.flagged {
		attrs["flag"] = "flagged"
	}
	r.put(&archive.Header{Kind: archive.KindMessage, Mailbox: m.mbx, Folder: m.folder, ID: m.id, Received: m.received, Attrs: attrs}, m.body())
}

func (r *round) item(kind archive.Kind, mbx, folder, id string, body string) {
	r.put(&archive.Header{Kind: kind, Mailbox: mbx, Folder: folder, ID: id}, []byte(strings.ReplaceAll(body, "\n", "\r\n")))
}

func level(addr, lvl string) *format.ACL {
	rights, _ := format.LevelRights(lvl)
	return &format.ACL{Entries: []format.ACLEntry{{Grantee: format.Grantee{Kind: format.GranteeUser, Address: addr}, Level: lvl, Rights: rights}}}
}

// summaryOf is the --summary-json file.
type summaryOf struct {
	Mailboxes []replay.MailboxStats `json:"mailboxes"`
	Throttled float64               `json:"throttledSeconds"`
}

// totals adds up the mailboxes of a summary.
type totals struct {
	InArchive, Appended, Updated, Unchanged, Found, Deleted, Skipped, Failed, Permissions, PermissionsFailed int
}

func (s summaryOf) total() (t totals) {
	for _, m := range s.Mailboxes {
		t.InArchive += m.InArchive
		t.Appended += m.Appended
		t.Updated += m.Updated
		t.Unchanged += m.Unchanged
		t.Found += m.Found
		t.Deleted += m.Deleted
		t.Permissions += m.Permissions
		for _, n := range m.Skipped {
			t.Skipped += n
		}
		for _, n := range m.Failed {
			t.Failed += n
		}
		for _, n := range m.PermissionsFailed {
			t.PermissionsFailed += n
		}
	}
	return t
}

// runIn runs "iem-import run" in process with the given arguments.
func runIn(t testing.TB, args ...string) (summaryOf, string, error) {
	t.Helper()
	sum := filepath.Join(t.TempDir(), "summary.json")
	var out bytes.Buffer
	err := newApp(&out, &out).RunContext(context.Background(), append([]string{"iem-import", "run", "--summary-json", sum}, args...))
	var s summaryOf
	if b, rerr := os.ReadFile(sum); rerr == nil {
		json.Unmarshal(b, &s)
	}
	return s, out.String(), err
}

// command returns "iem-import args…" as a child process (this test binary).
func command(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "IEM_IMPORT_AS_MAIN=1", "IEM_ICEWARP_PASSWORD=")
	return cmd
}

func writeFile(t testing.TB, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkIn runs "iem-import check" in process with the run arguments (minus
// those only run takes) and fails unless the target matches the archive.
func checkIn(t testing.TB, args ...string) {
	t.Helper()
	var ca []string
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "--passwords-report", "--passwords-from", "--summary-json":
			i++
			continue
		case "--rebuild":
			continue
		}
		ca = append(ca, args[i])
	}
	var out bytes.Buffer
	err := newApp(&out, &out).RunContext(context.Background(), append([]string{"iem-import", "check"}, ca...))
	if err != nil || !strings.Contains(out.String(), " 0 missing on target, 0 extra or duplicated on target, 0 errors") {
		var bad []string
		for _, l := range strings.Split(out.String(), "\n") {
			if !strings.HasPrefix(l, "= ") {
				bad = append(bad, l)
			}
		}
		t.Errorf("check: %v\n%s", err, strings.Join(bad, "\n"))
	}
}

// planIn runs "iem-import plan" and returns its last line.
func planIn(t testing.TB, archiveDir, ledger string) string {
	t.Helper()
	var out bytes.Buffer
	if err := newApp(&out, &out).RunContext(context.Background(), []string{"iem-import", "plan", "--archive", archiveDir, "--ledger", ledger}); err != nil {
		t.Fatalf("plan: %v\n%s", err, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	return lines[len(lines)-1]
}

func readDirNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, err
}

// targetName is the mail folder name the importer makes of a top-level
// display name: format.FolderTarget, then "\\" as a look-alike.
func targetName(n string) string {
	return strings.ReplaceAll(format.FolderTarget("", n, nil).Name, `\`, "⧵")
}
