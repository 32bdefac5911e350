package icewarpsink

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/icewarp"
	"github.com/iemproject/iem/icewarp/icewarptest"
	"github.com/iemproject/iem/icewarp/imapsink"
	"github.com/iemproject/iem/icewarp/mailpath"
	"github.com/iemproject/iem/internal/archivetest"
	"github.com/iemproject/iem/replay"
)

var _ replay.DefaultFolderSetter = (*PathDefaults)(nil)

// mailboxFolders are the well-known folders of an English and a German
// Exchange mailbox: distinguished folder id → display name.
var mailboxFolders = map[string]map[string]string{
	"alice@example.com": {"inbox": "Inbox", "sentitems": "Sent Items", "drafts": "Drafts",
		"deleteditems": "Deleted Items", "junkemail": "Junk E-mail"},
	"hans@example.com": {"inbox": "Posteingang", "sentitems": "Gesendete Elemente", "drafts": "Entwürfe",
		"deleteditems": "Gelöschte Elemente", "junkemail": "Junk-E-Mail"},
}

// importBed writes an archive of the mailboxes of mailboxFolders (one
// message in each Sent folder) and imports it into a fresh emulator: mode
// "path" (files, settings.xml written directly), "imap" (APPEND, the
// default folders through a WebClient session), "none" (path mode without
// Sinks.Defaults).
func importBed(t *testing.T, mode string) (*icewarptest.Server, *replay.Engine, *Files) {
	return importBedOpt(t, mode, false, nil)
}

// importBedOpt is importBed with --icewarp-folder-names (iceNames) and a
// hook before that runs once the accounts exist.
func importBedOpt(t *testing.T, mode string, iceNames bool, before func(*icewarptest.Server, *icewarp.Admin)) (*icewarptest.Server, *replay.Engine, *Files) {
	t.Helper()
	dir := t.TempDir()
	arch := filepath.Join(dir, "archive")
	if err := os.Mkdir(arch, 0o700); err != nil {
		t.Fatal(err)
	}
	archivetest.Write(t, arch, "defaults test", func(r *archivetest.Round) {
		for mbx, fs := range mailboxFolders {
			r.Mailbox(mbx)
			r.PutJSON(&archive.Header{Kind: archive.KindFolder, Mailbox: mbx, ID: "root"},
				replay.FolderRecord{ID: "root", DisplayName: "Top of Information Store", Distinguished: "msgfolderroot"})
			for role, name := range fs {
				r.PutJSON(&archive.Header{Kind: archive.KindFolder, Mailbox: mbx, ID: role},
					replay.FolderRecord{ID: role, ParentID: "root", DisplayName: name, Path: []string{name}, Class: "IPF.Note", Distinguished: role})
			}
			body := fmt.Sprintf("From: %s\r\nMessage-ID: <sent-%s>\r\nSubject: sent\r\n\r\nx\r\n", mbx, mbx)
			r.Put(&archive.Header{Kind: archive.KindMessage, Mailbox: mbx, Folder: "sentitems", ID: "s1",
				Received: time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC), Attrs: map[string]string{"message-id": "<sent-" + mbx + ">", "read": "1"}},
				[]byte(body))
		}
	})
	iw, err := icewarptest.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { iw.Close() })
	ctx := context.Background()
	admin := loginAdmin(t, iw)
	f, err := archive.OpenFolder(arch, &archive.FolderOptions{Existing: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	im, err := replay.New([]*archive.Folder{f}, replay.Options{PasswordReport: filepath.Join(dir, "pw.csv"), IceWarpNames: iceNames})
	if err != nil {
		t.Fatal(err)
	}
	led, err := replay.OpenLedger(filepath.Join(dir, "ledger"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { led.Close() })
	if _, err := led.UseFor(replay.Target{API: iw.URL(), IMAP: iw.IMAPAddr(), MailPath: iw.MailRoot()}, false); err != nil {
		t.Fatal(err)
	}
	store, err := mailpath.Open(iw.MailRoot())
	if err != nil {
		t.Fatal(err)
	}
	im.Ledger, im.Sinks = led, replay.Sinks{Accounts: NewAccounts(admin, ""),
		Mail: NewMail(imapsink.Options{Addr: iw.IMAPAddr(), TLS: imapsink.TLSNone, AdminUser: iw.AdminEmail(), AdminPassword: iw.AdminPassword()})}
	files := NewFiles(admin, store)
	switch mode {
	case "path":
		im.Sinks.Files, im.Sinks.Defaults = files, files.Defaults()
	case "imap":
		im.Sinks.Defaults = NewWebClientDefaults(admin)
	case "none":
		im.Sinks.Files = files
	}
	if err := im.CreateAccounts(ctx); err != nil {
		t.Fatal(err)
	}
	if before != nil {
		before(iw, admin)
	}
	if err := im.Run(ctx, 2); err != nil {
		t.Fatal(err)
	}
	for _, s := range im.Stats() {
		if s.Err != "" || s.Appended != 1 {
			t.Fatalf("%s: %+v", s.Mailbox, s)
		}
	}
	return iw, im, files
}

// TestWebClientSendAfterImport: after a path-mode import, a message sent
// from the WebClient lands in the folder that was Exchange's sentitems
// ("Sent Items", also for the German mailbox, found by distinguished id),
// no "Sent" folder appears, the mail path holds nothing the checker
// rejects, and iem-import check finds the default folders where they
// should be. Without Sinks.Defaults the WebClient makes a second "Sent"
// and check reports the account, which proves both can fail.
func TestWebClientSendAfterImport(t *testing.T) {
	for _, mode := range []string{"path", "imap"} {
		t.Run(mode, func(t *testing.T) { testWebClientSend(t, mode) })
	}
	t.Run("none", testNoDefaults)
}

func testWebClientSend(t *testing.T, mode string) {
	iw, im, _ := importBed(t, mode)
	var out bytes.Buffer
	if err := im.Check(context.Background(), &out); err != nil || strings.Contains(out.String(), "default folder") {
		t.Errorf("check: %v\n%s", err, out.String())
	}
	for mbx := range mailboxFolders {
		before := iw.MailFolders(mbx)
		got, err := iw.WebClientSend(mbx, []byte("From: "+mbx+"\r\nSubject: hello\r\n\r\nsent from the WebClient\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		if got != "Sent Items" {
			t.Errorf("%s: the WebClient saved its sent message in %q, want \"Sent Items\"", mbx, got)
		}
		if n, err := iw.MailboxStatus(mbx, "Sent Items"); err != nil || n != 2 {
			t.Errorf("%s: Sent Items holds %d messages (%v), want the imported one and the new one", mbx, n, err)
		}
		if after := iw.MailFolders(mbx); !slices.Equal(before, after) || slices.Contains(after, "Sent") {
			t.Errorf("%s: folders %q before sending, %q after; want no new folder", mbx, before, after)
		}
		d, err := iw.DefaultFolders(mbx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"sent": "Sent Items", "drafts": "Drafts", "trash": "Deleted Items", "spam": "Junk E-mail"}
		for k, v := range want {
			if d[k] != v {
				t.Errorf("%s: default folder %s = %q, want %q", mbx, k, d[k], v)
			}
		}
	}
	if got := specialUse(t, iw, "hans@example.com"); got[imap.MailboxAttrSent] != "Sent Items" || got[imap.MailboxAttrTrash] != "Deleted Items" ||
		got[imap.MailboxAttrJunk] != "Junk E-mail" || got[imap.MailboxAttrDrafts] != "Drafts" {
		t.Errorf("LIST RETURN (SPECIAL-USE) = %v", got)
	}
	if x := xlist(t, iw, "hans@example.com"); !slices.Contains(x, `* XLIST (\HasNoChildren \Sent) "/" "Sent Items"`) ||
		!slices.Contains(x, `* XLIST (\HasNoChildren \Inbox) "/" "INBOX"`) || !slices.Contains(x, `* XLIST (\HasNoChildren \Junk) "/" "Junk E-mail"`) {
		t.Errorf("XLIST = %q", x)
	}
	if probs, err := iw.MailPathProblems(); err != nil || len(probs) > 0 {
		t.Errorf("mail path problems: %v, %v", probs, err)
	}
}

func testNoDefaults(t *testing.T) {
	iw2, im2, files2 := importBed(t, "none")
	im2.Sinks.Defaults = files2.Defaults()
	var out bytes.Buffer
	err := im2.Check(context.Background(), &out)
	for _, line := range []string{`~ alice@example.com default folder sent: not set, want "Sent Items"`,
		`~ hans@example.com default folder trash: not set, want "Deleted Items"`, "check: 8 default folders do not point where they should"} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("check without default folders set: no line %q in\n%s", line, out.String())
		}
	}
	if !errors.Is(err, replay.ErrDifferences) {
		t.Errorf("check without default folders set: %v, want ErrDifferences", err)
	}
	if got, err := iw2.WebClientSend("alice@example.com", []byte("Subject: x\r\n\r\nx\r\n")); err != nil || got != "Sent" {
		t.Errorf("without default folders the WebClient saved in %q (%v), want IceWarp's own \"Sent\"", got, err)
	}
}

// specialUse lists an account's folders with RETURN (SPECIAL-USE) over
// IMAP (AUTHENTICATE PLAIN as the administrator) and returns the folder of
// each attribute.
func specialUse(t *testing.T, iw *icewarptest.Server, user string) map[imap.MailboxAttr]string {
	t.Helper()
	c, err := imapclient.DialInsecure(iw.IMAPAddr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Authenticate(sasl.NewPlainClient(user, iw.AdminEmail(), iw.AdminPassword())); err != nil {
		t.Fatal(err)
	}
	list, err := c.List("", "*", &imap.ListOptions{ReturnSpecialUse: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	out := map[imap.MailboxAttr]string{}
	for _, l := range list {
		for _, a := range l.Attrs {
			out[a] = l.Mailbox
		}
	}
	return out
}

// loginAdmin logs in to the emulator's admin API.
func loginAdmin(t *testing.T, iw *icewarptest.Server) *icewarp.Admin {
	t.Helper()
	admin, err := icewarp.New(icewarp.Options{URL: iw.URL(), Username: iw.AdminEmail(), Password: iw.AdminPassword()})
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	return admin
}

// TestIceWarpNamesMergeIntoLocalDefaults: with --icewarp-folder-names, an
// account whose IceWarp default folders are Czech ("Odesláno", "Koš",
// set and used before the import) gets Exchange's Sent Items and Deleted
// Items merged into them, with no English "Sent" or "Trash" beside them;
// its Drafts, which it has not set, and the other account's folders get
// IceWarp's English names; check finds everything in place.
func TestIceWarpNamesMergeIntoLocalDefaults(t *testing.T) {
	for _, mode := range []string{"path", "imap"} {
		t.Run(mode, func(t *testing.T) {
			const hans, alice = "hans@example.com", "alice@example.com"
			iw, im, _ := importBedOpt(t, mode, true, func(iw *icewarptest.Server, admin *icewarp.Admin) {
				err := NewWebClientDefaults(admin).SetDefaultFolders(context.Background(), hans,
					replay.DefaultFolders{"sent": {"Odesláno"}, "trash": {"Koš"}})
				if err != nil {
					t.Fatal(err)
				}
				if got, err := iw.WebClientSend(hans, []byte("Subject: before\r\n\r\nx\r\n")); err != nil || got != "Odesláno" {
					t.Fatalf("WebClientSend before the import: %q, %v", got, err)
				}
			})
			if n, err := iw.MailboxStatus(hans, "Odesláno"); err != nil || n != 2 {
				t.Errorf("Odesláno holds %d messages (%v), want the one sent before and the imported one", n, err)
			}
			folders := iw.MailFolders(hans)
			for _, f := range []string{"Sent", "Trash", "Sent Items", "Deleted Items"} {
				if slices.Contains(folders, f) {
					t.Errorf("hans has a folder %q beside his Czech default folders: %q", f, folders)
				}
			}
			if !slices.Contains(folders, "Koš") || !slices.Contains(folders, "Drafts") || !slices.Contains(folders, "Spam") {
				t.Errorf("hans's folders = %q", folders)
			}
			if n, err := iw.MailboxStatus(alice, "Sent"); err != nil || n != 1 {
				t.Errorf("alice's Sent holds %d messages (%v), want 1", n, err)
			}
			d, err := iw.DefaultFolders(hans)
			if err != nil || d["sent"] != "Odesláno" || d["trash"] != "Koš" || d["drafts"] != "Drafts" {
				t.Errorf("hans's default folders = %v, %v", d, err)
			}
			// The message sent before the import is the one line only on
			// the target; nothing is missing and no default folder is off.
			var out bytes.Buffer
			im.Check(context.Background(), &out)
			if !strings.Contains(out.String(), "check: 2 same, 0 missing on target, 1 extra") || strings.Contains(out.String(), "~") {
				t.Errorf("check:\n%s", out.String())
			}
		})
	}
}

// xlist sends XLIST "" "*" as the administrator on behalf of user
// (AUTHENTICATE PLAIN, icewarp.md §4) and returns the untagged lines.
func xlist(t *testing.T, iw *icewarptest.Server, user string) []string {
	t.Helper()
	conn, err := net.Dial("tcp", iw.IMAPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	read := func() string {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimRight(line, "\r\n")
	}
	read() // greeting
	fmt.Fprintf(conn, "a AUTHENTICATE PLAIN\r\n")
	if l := read(); !strings.HasPrefix(l, "+") {
		t.Fatalf("AUTHENTICATE: %s", l)
	}
	fmt.Fprintf(conn, "%s\r\n", base64.StdEncoding.EncodeToString([]byte(user+"\x00"+iw.AdminEmail()+"\x00"+iw.AdminPassword())))
	for l := read(); !strings.HasPrefix(l, "a "); l = read() {
	}
	fmt.Fprintf(conn, "b XLIST \"\" \"*\"\r\n")
	var out []string
	for l := read(); ; l = read() {
		if strings.HasPrefix(l, "b ") {
			if !strings.HasPrefix(l, "b OK") {
				t.Fatalf("XLIST: %s", l)
			}
			return out
		}
		out = append(out, l)
	}
}
