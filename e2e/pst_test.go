package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"mime"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"

	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/icewarp/icewarptest"
	"github.com/iemproject/iem/internal/testbed"
)

// pstBed is a PST migration into a real Dovecot: one mailbox of an LDIF
// directory, iem-export run --source pst with a map file, iem-import with
// the master user (accounts through the IceWarp emulator's admin API, as
// newDovecotOpBed does).
type pstBed struct {
	*bed
	d       *testbed.Dovecot
	mailbox string
}

func newPSTBed(t *testing.T) *pstBed {
	t.Helper()
	d := testbed.StartDovecot(t)
	org := ewstest.Generate(3, ewstest.OrgOptions{Domain: fmt.Sprintf("pst%d-%d.example.com", os.Getpid()%10000, time.Now().UnixNano()%100000), Users: 1})
	iw, err := icewarptest.Start(&icewarptest.Options{AdminEmail: d.MasterUser, AdminPassword: d.MasterPassword})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { iw.Close() })
	dir := t.TempDir()
	var ldif bytes.Buffer
	org.WriteLDIF(&ldif)
	for name, body := range map[string]string{
		"ad.ldf": ldif.String(), "iw.pw": d.MasterPassword,
		"import.conf": fmt.Sprintf("api-url = %s\nadmin-user = %s\nimap-addr = %s\nimap-tls = none\nimap-auth = master\npassword-file = %s\nlog-level = warn\n",
			iw.URL(), d.MasterUser, d.Addr, filepath.Join(dir, "iw.pw")),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return &pstBed{bed: &bed{t: t, iw: iw, dir: dir, arch: filepath.Join(dir, "archive")}, d: d, mailbox: org.Users[0].SMTP}
}

// exportPST writes the map (one "file,mailbox,where" line per file) and runs
// iem-export run --source pst.
func (b *pstBed) exportPST(t *testing.T, where string, files ...string) string {
	t.Helper()
	var m strings.Builder
	for _, f := range files {
		fmt.Fprintf(&m, "%s,%s,%s\n", f, b.mailbox, where)
	}
	mapFile := filepath.Join(b.dir, "map.csv")
	if err := os.WriteFile(mapFile, []byte(m.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := b.command("iem-export", "run", "--source", "pst", "--pst-map", mapFile, "--directory-file", filepath.Join(b.dir, "ad.ldf"),
		"--archive", b.arch, "--log-level", "warn").CombinedOutput()
	mustOK(t, "pst export", string(out), err)
	return string(out)
}

func init() { message.CharsetReader = latin1Reader }

// cp1252 are the characters of Windows-1252 bytes 0x80-0x9F (where it differs
// from ISO-8859-1; undefined bytes stay as they are).
var cp1252 = []rune("€‚ƒ„…†‡ˆ‰Š‹ŒŽ" +
	"‘’“”•–—˜™š›œžŸ")

// latin1Reader decodes the two 8-bit charsets of the test files' texts,
// ISO-8859-1 and Windows-1252, for go-message (which knows only UTF-8 and
// US-ASCII without golang.org/x/text, not a dependency of this module).
func latin1Reader(charset string, r io.Reader) (io.Reader, error) {
	cs := strings.ToLower(charset)
	if cs != "iso-8859-1" && cs != "windows-1252" && cs != "latin1" && cs != "cp1252" {
		return nil, fmt.Errorf("unhandled charset %q", charset)
	}
	b, err := io.ReadAll(r)
	var out strings.Builder
	for _, c := range b {
		if c >= 0x80 && c < 0xA0 && cs != "iso-8859-1" && cs != "latin1" {
			out.WriteRune(cp1252[c-0x80])
		} else {
			out.WriteRune(rune(c))
		}
	}
	return strings.NewReader(out.String()), err
}

// mailSum is what the comparison reads of one message.
type mailSum struct {
	Subject, From, MessageID string
	Date                     time.Time
	Attachments              []string // SHA-256 of each attachment's decoded bytes, sorted
	// Generated counts the text/calendar parts readpst makes of a meeting
	// request's properties (an inline part and a copy as i<number>.ics), left out
	// of Attachments: they are readpst's rendering, not stored attachments.
	Generated int
}

func (m mailSum) String() string {
	return fmt.Sprintf("%q from %s at %s id %s, %d attachments", m.Subject, m.From, m.Date.UTC().Format(time.RFC3339), m.MessageID, len(m.Attachments))
}

// summarise parses an RFC 5322 message; attachments are the leaf parts that
// are not a text/plain or text/html body: attachments, inline images and
// embedded messages (message/rfc822, its bytes as stored) alike, since readpst
// marks inline images as attachments and iem as inline with their Content-ID.
func summarise(t *testing.T, what string, raw []byte, byReadpst bool) mailSum {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil && r == nil {
		t.Fatalf("%s: %v", what, err)
	}
	defer r.Close()
	var s mailSum
	s.Subject, _ = r.Header.Subject()
	s.Subject = strings.TrimSpace(s.Subject)
	if from, err := r.Header.AddressList("From"); err == nil && len(from) > 0 {
		s.From = strings.ToLower(from[0].Address)
	}
	s.MessageID = strings.TrimSpace(r.Header.Get("Message-Id"))
	s.Date, _ = r.Header.Date()
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Errorf("%s: %v", what, err)
			break
		}
		mt, params, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if byReadpst && mt == "text/calendar" && p.Header.Get("Content-Id") == "" && readpstICS(params["name"]) {
			s.Generated++
			continue
		}
		if mt != "text/plain" && mt != "text/html" && mt != "" {
			b, _ := io.ReadAll(p.Body)
			sum := sha256.Sum256(b)
			s.Attachments = append(s.Attachments, hex.EncodeToString(sum[:]))
		}
	}
	sort.Strings(s.Attachments)
	return s
}

// readpstICS reports whether name is one readpst gives its own iCal
// rendering of a meeting: none, or i<digits>.ics.
func readpstICS(name string) bool {
	n, ok := strings.CutSuffix(strings.TrimPrefix(name, "i"), ".ics")
	return name == "" || ok && strings.HasPrefix(name, "i") && n != "" && strings.Trim(n, "0123456789") == ""
}

// dovecotMail reads every message of the mailbox back from Dovecot (master
// login), by folder path below prefix ("Archives/enron").
func (b *pstBed) dovecotMail(t *testing.T, prefix string) map[string][]mailSum {
	t.Helper()
	c, err := imapclient.DialInsecure(b.d.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(b.mailbox+"*"+b.d.MasterUser, b.d.MasterPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]mailSum{}
	for _, mb := range list {
		rel, ok := strings.CutPrefix(mb.Mailbox, prefix+"/")
		if !ok {
			continue
		}
		sel, err := c.Select(mb.Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			t.Fatalf("select %s: %v", mb.Mailbox, err)
		}
		out[rel] = []mailSum{}
		if sel.NumMessages == 0 {
			continue
		}
		var seq imap.SeqSet
		seq.AddRange(1, sel.NumMessages)
		msgs, err := c.Fetch(seq, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
		if err != nil {
			t.Fatalf("fetch %s: %v", mb.Mailbox, err)
		}
		for _, m := range msgs {
			for _, sec := range m.BodySection {
				out[rel] = append(out[rel], summarise(t, mb.Mailbox, sec.Bytes, false))
			}
		}
	}
	return out
}

// readpstMail exports file with readpst -e -D -j 0 (one .eml per mail item in
// a folder tree, deleted items included; -j 0 as research/pst.md §10 advises) and reads the mail by
// folder path below readpst's top folder (the store's name); others counts
// the non-mail items (.ics, .vcf) per folder.
func readpstMail(t *testing.T, file string) (mailByFolder map[string][]mailSum, others map[string]int) {
	t.Helper()
	out := t.TempDir()
	if b, err := exec.Command(testbed.Need(t, "readpst"), "-q", "-e", "-D", "-j", "0", "-cv", "-o", out, file).CombinedOutput(); err != nil {
		t.Fatalf("readpst %s: %v\n%s", file, err, b)
	}
	mailByFolder, others = map[string][]mailSum{}, map[string]int{}
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(out, filepath.Dir(p))
		_, folder, _ := strings.Cut(filepath.ToSlash(rel), "/")
		if !strings.HasSuffix(p, ".eml") {
			others[folder]++
			return nil
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		mailByFolder[folder] = append(mailByFolder[folder], summarise(t, p, raw, true))
		return nil
	})
	return mailByFolder, others
}

// pffexportMail exports file with pffexport (libpff, the second oracle) and
// returns the Message-IDs of its mail items (MessageNNNNN and, for meeting
// requests, MeetingNNNNN folders, the
// Message-ID of InternetHeaders.txt, "" when it has none) by folder path below
// the IPM subtree ("Top of Personal Folders", or "Root - Mailbox/IPM_SUBTREE"
// in an OST).
func pffexportMail(t *testing.T, file string) map[string][]string {
	t.Helper()
	target := filepath.Join(t.TempDir(), "x")
	cmd := exec.Command(testbed.Need(t, "pffexport"), "-q", "-t", target, file)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pffexport %s: %v\n%s", file, err, b)
	}
	root := target + ".export"
	out := map[string][]string{}
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() || !isPffItem(d.Name(), "Message") && !isPffItem(d.Name(), "Meeting") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		rel = filepath.ToSlash(rel)
		folder, ok := strings.CutPrefix(rel, "Top of Personal Folders/")
		if !ok {
			folder, ok = strings.CutPrefix(rel, "Root - Mailbox/IPM_SUBTREE/")
		}
		if !ok || strings.Contains(folder, "/Attachments/") { // outside the IPM subtree, or an embedded message
			return filepath.SkipDir
		}
		id := ""
		if h, err := os.ReadFile(filepath.Join(p, "InternetHeaders.txt")); err == nil {
			if m, _ := mail.CreateReader(bytes.NewReader(append(h, "\r\n"...))); m != nil {
				id = strings.TrimSpace(m.Header.Get("Message-Id"))
			}
		}
		out[folder] = append(out[folder], id)
		return filepath.SkipDir
	})
	return out
}

// isPffItem reports whether name is one of pffexport's item folders of kind
// ("Message00001").
func isPffItem(name, kind string) bool {
	n, ok := strings.CutPrefix(name, kind)
	return ok && len(n) == 5 && strings.Trim(n, "0123456789") == ""
}

// pstDifferences are where iem and an oracle disagree on a public file, and
// why (mirrored in format/FIDELITY.md, "PST: iem against readpst and
// pffexport"): file -> folder ("*": any) -> field -> reason.
var pstDifferences = map[string]map[string]map[string]string{
	"32-bit.pst":    {"Calendar": {"folder tree": groupwareFolder}},
	"dist-list.pst": {"Calendar": {"folder tree": groupwareFolder}, "Contacts": {"folder tree": groupwareFolder}},
	"pstextractortest@outlook.com.ost": {"Calendar": {"folder tree": groupwareFolder}, "Calendar/United States holidays": {"folder tree": groupwareFolder},
		"*": {"pffexport Message-ID": pffNoHeaders}},
	"pstextractortestpdf@outlook.com.ost": {"Calendar/United States holidays": {"folder tree": groupwareFolder}, "*": {"pffexport Message-ID": pffNoHeaders}},
}

const (
	// groupwareFolder: a folder of calendar items or contacts is a GroupWare
	// folder on IceWarp, written over CalDAV/CardDAV (replay/icewarpsink/dav.go
	// EnsureFolder), not an IMAP folder; Dovecot has no DAV, so the folder is not
	// made there. readpst writes its items as .ics/.vcf files.
	groupwareFolder = "calendar/contacts folder: GroupWare over DAV on IceWarp, not IMAP; Dovecot has no DAV"
	// pffNoHeaders: pffexport takes the Message-ID only from the transport
	// headers (InternetHeaders.txt), which sent items and the meeting requests
	// of these OSTs do not have; iem and readpst take PidTagInternetMessageId
	// (0x1035, research/pst.md §6). Applies to every folder ("*") of the file,
	// only to messages pffexport names no Message-ID for.
	pffNoHeaders = "no transport headers: pffexport shows no Message-ID, iem and readpst use PidTagInternetMessageId"
	// readpstCalendarParts: for a meeting request readpst adds its own
	// iCalendar rendering of the meeting's properties, an inline text/calendar
	// part and an identical copy named i<number>.ics; they are not stored
	// attachments and iem does not add them (mailSum.Generated). Applies to
	// every file, and only to such parts.
	readpstCalendarParts = "readpst adds its own text/calendar rendering of meeting requests"
)

// explained returns the reason for a difference, "" when none is known.
func explained(file, folder, field string) string {
	return pstDifferences[file][folder][field]
}

// TestPSTAgainstReadpst: the five public files exported with iem-export run
// --source pst (each as a personal archive, Archives/<name>) and imported
// into Dovecot over IMAP, read back, and compared per folder with readpst's
// export of the same files (folder tree, mail items per folder, subjects,
// senders, dates, Message-IDs, the SHA-256 of every attachment) and with
// pffexport's (mail items per folder, Message-IDs). Every difference must be
// in pstDifferences with its reason.
func TestPSTAgainstReadpst(t *testing.T) {
	testbed.Need(t, "readpst")
	testbed.Need(t, "pffexport")
	b := newPSTBed(t)
	var files []string
	for _, f := range testbed.PSTFiles {
		files = append(files, testbed.PSTFile(t, f.Name))
	}
	t.Log(b.exportPST(t, "archive", files...))
	out, err := b.importRun()
	mustOK(t, "import", out, err)
	b.assertExactlyOnce(t)
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			ours := b.dovecotMail(t, "Archives/"+strings.TrimSuffix(name, filepath.Ext(name)))
			theirs, others := readpstMail(t, file)
			pff := pffexportMail(t, file)
			compareWithOracles(t, name, ours, theirs, others, pff)
		})
	}
}

// compareWithOracles compares per folder and field, failing on every
// difference that pstDifferences does not explain, and logs the agreement
// table row of the file.
func compareWithOracles(t *testing.T, name string, ours, theirs map[string][]mailSum, others map[string]int, pff map[string][]string) {
	t.Helper()
	verdict := map[string]string{}
	differ := func(folder, field, format string, args ...any) {
		if why := explained(name, folder, field); why != "" {
			verdict[field] = "differ (" + why + ")"
			return
		}
		verdict[field] = "DIFFER"
		t.Errorf("%s %q %s: %s", name, folder, field, fmt.Sprintf(format, args...))
	}
	// The folder tree: every folder readpst writes exists on the target
	// (readpst writes only folders with items; those holding only calendar
	// items or contacts are compared by name only: Dovecot has no DAV).
	folders := map[string]bool{}
	for f := range theirs {
		folders[f] = true
	}
	for f := range others {
		folders[f] = true
	}
	for f := range pff {
		folders[f] = true
	}
	for f := range folders {
		if _, ok := ours[f]; !ok {
			differ(f, "folder tree", "folder missing on the target (target has %v)", slices.Sorted(maps.Keys(ours)))
		}
	}
	for f, msgs := range ours {
		if len(msgs) > 0 && len(theirs[f]) == 0 {
			differ(f, "items per folder", "%d messages on the target, none in readpst's export", len(msgs))
		}
	}
	for f, want := range theirs {
		got := ours[f]
		if len(got) != len(want) {
			differ(f, "items per folder", "%d messages on the target, readpst %d", len(got), len(want))
		}
		byID := map[string]mailSum{}
		for _, m := range got {
			byID[m.MessageID] = m
		}
		for _, w := range want {
			g, ok := byID[w.MessageID]
			if !ok {
				differ(f, "Message-ID", "readpst's %v not on the target", w)
				continue
			}
			if g.Subject != w.Subject {
				differ(f, "subject", "%q on the target, readpst %q", g.Subject, w.Subject)
			}
			if g.From != w.From {
				differ(f, "sender", "%s: %q on the target, readpst %q", w.MessageID, g.From, w.From)
			}
			if !g.Date.Equal(w.Date) {
				differ(f, "date", "%s: %s on the target, readpst %s", w.MessageID, g.Date, w.Date)
			}
			if !slices.Equal(g.Attachments, w.Attachments) {
				differ(f, "attachment SHA-256", "%s: %v on the target, readpst %v", w.MessageID, g.Attachments, w.Attachments)
			}
		}
	}
	pffNone := 0 // messages pffexport names no Message-ID for, over all folders
	for f, ids := range pff {
		got := map[string]bool{}
		for _, m := range ours[f] {
			got[m.MessageID] = true
		}
		if len(ours[f]) != len(ids) {
			differ(f, "pffexport items per folder", "%d messages on the target, pffexport %d", len(ours[f]), len(ids))
			continue
		}
		// pffexport shows a Message-ID only where the message has transport
		// headers ("" here): those must be exactly the target's messages
		// pffexport names no Message-ID for.
		noHeaders, matched := 0, 0
		for _, id := range ids {
			switch {
			case id == "":
				noHeaders++
			case got[id]:
				matched++
			default:
				differ(f, "pffexport Message-ID", "pffexport's %s not on the target", id)
			}
		}
		if matched+noHeaders != len(ours[f]) {
			differ(f, "pffexport Message-ID", "%d of the target's %d messages match pffexport's Message-IDs, %d have none there", matched, len(ours[f]), noHeaders)
		} else if noHeaders > 0 {
			if why := explained(name, "*", "pffexport Message-ID"); why != "" {
				pffNone += noHeaders
				verdict["pffexport Message-ID"] = fmt.Sprintf("differ (%s: %d items)", why, pffNone)
			} else {
				differ(f, "pffexport Message-ID", "%d messages without a Message-ID in pffexport's export", noHeaders)
			}
		}
	}
	n, generated := 0, 0
	for _, ms := range theirs {
		n += len(ms)
		for _, m := range ms {
			generated += m.Generated
		}
	}
	if generated > 0 && verdict["attachment SHA-256"] == "" {
		verdict["attachment SHA-256"] = fmt.Sprintf("agree, %d parts left out of readpst's (%s)", generated, readpstCalendarParts)
	}
	var row []string
	for _, field := range []string{"folder tree", "items per folder", "Message-ID", "subject", "sender", "date", "attachment SHA-256", "pffexport items per folder", "pffexport Message-ID"} {
		v := verdict[field]
		if v == "" {
			v = "agree"
		}
		row = append(row, field+": "+v)
	}
	t.Logf("agreement %s (%d mail items in readpst's export): %s", name, n, strings.Join(row, "; "))
}

// newPSTEmulatorBed is a PST migration into the IceWarp emulator: one mailbox
// of an LDIF directory.
func newPSTEmulatorBed(t *testing.T) *pstBed {
	t.Helper()
	org := ewstest.Generate(5, ewstest.OrgOptions{Users: 1})
	dir := t.TempDir()
	iw := startIceWarp(t, dir)
	var ldif bytes.Buffer
	org.WriteLDIF(&ldif)
	for name, body := range map[string]string{
		"ad.ldf": ldif.String(), "iw.pw": iw.AdminPassword(),
		"import.conf": fmt.Sprintf("api-url = %s\nadmin-user = %s\nimap-addr = %s\nimap-tls = none\npassword-file = %s\nlog-level = warn\n",
			iw.URL(), iw.AdminEmail(), iw.IMAPAddr(), filepath.Join(dir, "iw.pw")),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return &pstBed{bed: &bed{t: t, iw: iw, dir: dir, arch: filepath.Join(dir, "archive")}, mailbox: org.Users[0].SMTP}
}

// summaryCounts reads the export summary's row of mailbox: found, exported,
// unchanged, deleted.
func summaryCounts(t *testing.T, out, mailbox string) (found, exported, unchanged, deleted int) {
	t.Helper()
	// Columns by the header's names, so a new column (archive) does not
	// shift them.
	var cols []string
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && f[0] == "mailbox" {
			cols = f
		}
		if len(f) == len(cols) && len(f) > 0 && f[0] == mailbox {
			n := map[string]int{}
			for i, c := range cols[1:] {
				var v int
				fmt.Sscan(f[i+1], &v)
				n[c] = v
			}
			return n["found"], n["exported"], n["unchanged"], n["deleted"]
		}
	}
	t.Fatalf("no summary row for %s:\n%s", mailbox, out)
	return
}

// TestPSTRounds: a second ExMerge run of a mailbox writes new PSTs under
// the same names. No real ExMerge export is public and no PST writer is
// validated against readpst yet, so the runs map public files in turn into
// the mailbox root: round 1 alice.pst (the pstextractortest OST); round 2 the
// same alice.pst and a new alice-2.pst (enron.pst): exactly enron's mail is
// exported, nothing of the unchanged file, nothing deleted; round 3 alice.pst
// holds another file (the pstextractortestpdf OST): only what differs under
// the Source's identity (file name, node id: pst/source.go Changes) is
// exported, what is gone is recorded as deleted; round 4, nothing changed,
// moves nothing. Each round is imported into the IceWarp emulator and
// checked (0 missing, 0 duplicated), and the archive's view holds as many
// messages as readpst finds mail in the round's files.
func TestPSTRounds(t *testing.T) {
	testbed.Need(t, "readpst")
	b := newPSTEmulatorBed(t)
	dir := filepath.Join(b.dir, "exmerge")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	const ost, pdf, enron = "pstextractortest@outlook.com.ost", "pstextractortestpdf@outlook.com.ost", "enron.pst"
	mailIn := map[string]int{}
	for _, name := range []string{ost, pdf, enron} {
		mail, _ := readpstMail(t, testbed.PSTFile(t, name))
		for _, ms := range mail {
			mailIn[name] += len(ms)
		}
	}
	// itemsIn: what iem exports of each file alone (mail, and the contacts,
	// events and tasks the Source converts, which readpst's mail count
	// leaves out).
	itemsIn := map[string]int{}
	for _, name := range []string{ost, pdf, enron} {
		one := newPSTEmulatorBed(t)
		p := filepath.Join(one.dir, "alice.pst")
		data, err := os.ReadFile(testbed.PSTFile(t, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		_, itemsIn[name], _, _ = summaryCounts(t, one.exportPST(t, "root", p), one.mailbox)
	}
	rounds := []struct {
		files []string // the public files written as alice.pst, alice-2.pst, ...
		check func(found, exported, unchanged, deleted int) bool
	}{
		{[]string{ost}, func(f, e, u, d int) bool { return e == itemsIn[ost] && d == 0 }},
		{[]string{ost, enron}, func(f, e, u, d int) bool { return e == itemsIn[enron] && d == 0 }},
		// Every message of the other file is new content, so all are exported;
		// of the 14 that are gone, those whose node id the new file reuses (2
		// here) are replaced as updates, the others recorded as deleted.
		{[]string{pdf, enron}, func(f, e, u, d int) bool {
			return e == itemsIn[pdf] && d > 0 && d+e >= itemsIn[ost] && d <= itemsIn[ost]
		}},
		{[]string{pdf, enron}, func(f, e, u, d int) bool { return f == 0 && e == 0 && d == 0 }},
	}
	for i, r := range rounds {
		round := i + 1
		var paths []string
		want := 0
		for j, name := range r.files {
			p := filepath.Join(dir, "alice.pst")
			if j > 0 {
				p = filepath.Join(dir, fmt.Sprintf("alice-%d.pst", j+1))
			}
			data, err := os.ReadFile(testbed.PSTFile(t, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o600); err != nil {
				t.Fatal(err)
			}
			paths = append(paths, p)
			want += mailIn[name]
		}
		out := b.exportPST(t, "root", paths...)
		found, exported, unchanged, deleted := summaryCounts(t, out, b.mailbox)
		t.Logf("round %d %v: found %d, exported %d, unchanged %d, deleted %d", round, r.files, found, exported, unchanged, deleted)
		if !r.check(found, exported, unchanged, deleted) {
			t.Errorf("round %d %v: found %d, exported %d, unchanged %d, deleted %d\n%s", round, r.files, found, exported, unchanged, deleted, out)
		}
		if got := archivedItems(t, b.arch)[b.mailbox+" message"]; got != want {
			t.Errorf("round %d: %d messages in the archive's view, readpst finds %d mail items in %v", round, got, want, r.files)
		}
		b.mustImportOnce(t)
	}
}
