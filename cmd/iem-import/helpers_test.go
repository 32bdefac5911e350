package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/exchange/directory"
	"github.com/iemproject/iem/format"
	"github.com/iemproject/iem/icewarp/icewarptest"
	"github.com/iemproject/iem/icewarp/imapsink"
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

// emulatorBed is the IceWarp emulator with its mail path (root) and an
// empty archive folder (arch) in a new folder dir, and the admin password
// in a file (pw).
type emulatorBed struct {
	iw                  *icewarptest.Server
	dir, root, arch, pw string
}

// newEmulatorBed starts the emulator with opt, its MailRoot set to the
// bed's mail path; it is closed when the test ends.
func newEmulatorBed(t testing.TB, opt icewarptest.Options) *emulatorBed {
	t.Helper()
	dir := t.TempDir()
	b := &emulatorBed{dir: dir, root: filepath.Join(dir, "mail"), arch: filepath.Join(dir, "archive")}
	os.Mkdir(b.root, 0o700)
	opt.MailRoot = b.root
	iw, err := icewarptest.Start(&opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { iw.Close() })
	b.iw = iw
	os.Mkdir(b.arch, 0o700)
	b.pw = writeFile(t, dir, "pw", iw.AdminPassword())
	return b
}

// args are the run arguments for the archive, the admin API and IMAP
// without TLS, then extra.
func (b *emulatorBed) args(extra ...string) []string {
	return append([]string{"--archive", b.arch, "--api-url", b.iw.URL(), "--admin-user", b.iw.AdminEmail(),
		"--password-file", b.pw, "--imap-addr", b.iw.IMAPAddr(), "--imap-tls", "none"}, extra...)
}

// pathArgs are args for path mode into the bed's mail path, logging only
// errors, with the passwords report in dir, then extra.
func (b *emulatorBed) pathArgs(extra ...string) []string {
	return b.args(append([]string{"--mail-mode", "path", "--mail-path", b.root, "--log-level", "error",
		"--passwords-report", filepath.Join(b.dir, "pw.csv")}, extra...)...)
}

// dial opens the mailbox email over IMAP as the administrator.
func (b *emulatorBed) dial(t testing.TB, email string) *imapsink.Mailbox {
	t.Helper()
	mb, err := imapsink.Dial(context.Background(), imapsink.Options{Addr: b.iw.IMAPAddr(), AdminUser: b.iw.AdminEmail(),
		AdminPassword: b.iw.AdminPassword(), TLS: imapsink.TLSNone, Connections: 1}, email)
	if err != nil {
		t.Fatal(err)
	}
	return mb
}

// runKilled starts "iem-import run args…" as a child process and kills it
// (SIGKILL) after the given time unless it ends first. It reports whether
// it was killed, and the error and output of a run that ended.
func runKilled(t testing.TB, after time.Duration, args []string) (killed bool, out string, err error) {
	t.Helper()
	cmd := command(append([]string{"run"}, args...)...)
	b := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = b, b
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return false, b.String(), err
	case <-time.After(after):
		cmd.Process.Kill()
		<-done
		return true, b.String(), nil
	}
}

// tempFiles are the temporary files (".iem-…") under root.
func tempFiles(root string) []string {
	var temps []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".iem-") {
			temps = append(temps, p)
		}
		return nil
	})
	return temps
}

// only are the messages of want in the mailbox mbx.
func only(want []msg, mbx string) []msg {
	var out []msg
	for _, m := range want {
		if m.mbx == mbx {
			out = append(out, m)
		}
	}
	return out
}
