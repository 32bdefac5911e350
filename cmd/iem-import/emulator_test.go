package main

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/format"
	"github.com/iemproject/iem/icewarp"
	"github.com/iemproject/iem/icewarp/icewarptest"
)

// TestEmulatorPathMode imports into the IceWarp emulator with
// --mail-mode path: message files in the mail path (checked by the
// emulator's mail path checker after every run), the refresh call, flags
// over IMAP; mail and GroupWare folder permissions; a group and the public
// folders group; notes and other GroupWare over WebDAV, with WebDAV 503s
// retried; rounds, reruns and a run whose folder permissions the server
// refuses (counted apart from the items).
func TestEmulatorPathMode(t *testing.T) {
	// Alphabetical sorting nests accounts (icewarp.md §1.2): the importer
	// must ask for u_fullmailboxpath.
	b := newEmulatorBed(t, icewarptest.Options{SortingPrefix: 4})
	dir, root, arch, iw := b.dir, b.root, b.arch, b.iw
	args := b.pathArgs("--webdav-url", iw.WebDAVURL(), "--ledger", filepath.Join(dir, "ledger"))

	const alice, bob, team = "alice@example.com", "bob@example.com", "team@example.com"
	pfGroup := icewarp.PublicFoldersGroup("example.com", "Public Folders").Email
	day := time.Date(2024, 5, 6, 7, 8, 9, 0, time.Local)
	msgs := map[string]msg{}
	add := func(m msg) msg {
		m.received = day.Add(time.Duration(len(msgs)) * time.Hour)
		msgs[m.id] = m
		return m
	}
	// Folder names that would climb out of the account folder, or into
	// IceWarp's system folders, if written to disk as they are.
	escapes := []string{"..", ".", "../../etc", `..\..\windows`, "~webmail", "/abs", "a\x00b", "trail.", "a...b", "Ünïcødé",
		`c:\windows\system32`, strings.Repeat("x", 300), "CON", "trailing. "}
	paths := map[string][]string{"inbox": {"INBOX"}, "shared": {"Shared"}}
	for i, n := range escapes {
		paths["esc"+string(rune('a'+i))] = []string{targetName(n)}
	}
	everyone := &format.ACL{Entries: []format.ACLEntry{{Grantee: format.Grantee{Kind: format.GranteeDefault}, Level: "Reviewer"}}}
	everyone.Entries[0].Rights, _ = format.LevelRights("Reviewer")

	steps := []struct {
		name        string
		round       func(*round)
		faults      []icewarptest.Fault
		sum         totals // compared field by field where non-zero, failures always
		permsFailed int
	}{
		{name: "round 1", round: func(r *round) {
			r.mailbox(alice)
			r.mailbox(bob)
			r.group(team, alice, bob)
			r.folder(alice, folder{id: "inbox", name: "Inbox", class: "IPF.Note", dist: "inbox"})
			r.folder(alice, folder{id: "shared", name: "Shared", class: "IPF.Note", acl: level(bob, "Reviewer")})
			r.folder(alice, folder{id: "cal", name: "Calendar", class: "IPF.Appointment", dist: "calendar", acl: everyone})
			r.folder(alice, folder{id: "contacts", name: "Contacts", class: "IPF.Contact", dist: "contacts"})
			r.folder(alice, folder{id: "tasks", name: "Tasks", class: "IPF.Task", dist: "tasks"})
			r.folder(alice, folder{id: "notes", name: "Notes", class: "IPF.StickyNote", dist: "notes"})
			for i := range escapes {
				id := "esc" + string(rune('a'+i))
				r.folder(alice, folder{id: id, name: escapes[i], class: "IPF.Note"})
				r.message(add(msg{mbx: alice, folder: id, id: "m-" + id}))
			}
			r.message(add(msg{mbx: alice, folder: "inbox", id: "m1", read: true}))
			r.message(add(msg{mbx: alice, folder: "inbox", id: "m2", flagged: true, size: 64 << 10}))
			r.message(add(msg{mbx: alice, folder: "shared", id: "m3"}))
			r.item(archive.KindEvent, alice, "cal", "ev1", eventV1)
			r.item(archive.KindContact, alice, "contacts", "c1", contactV1)
			r.item(archive.KindTask, alice, "tasks", "t1", taskV1)
			r.item(archive.KindNote, alice, "notes", "n1", noteV1)
			r.publicFolder("pf1", []string{"Company", "News"}, everyone)
			r.message(add(msg{mbx: "", folder: "pf1", id: "p1", read: true}))
		}, sum: totals{Appended: len(escapes) + 4 + 4}},
		{name: "rerun writes nothing", sum: totals{Unchanged: len(escapes) + 4 + 4}},
		{name: "round 2: deletion, flag change, changed event with WebDAV 503s", round: func(r *round) {
			r.Tombstone(alice, "inbox", "m1")
			delete(msgs, "m1")
			r.State(alice, "inbox", "m2", map[string]string{"read": "1", "flag": ""})
			m2 := msgs["m2"]
			m2.read, m2.flagged = true, false
			msgs["m2"] = m2
			r.item(archive.KindEvent, alice, "cal", "ev1", eventV2)
			r.Tombstone(alice, "contacts", "c1")
			r.message(add(msg{mbx: alice, folder: "shared", id: "m4", flagged: true}))
			m3 := msgs["m3"] // new content under the same id
			m3.size, m3.read = 10<<10, true
			r.message(m3)
			msgs["m3"] = m3
		}, faults: []icewarptest.Fault{{Command: "webdav PUT", HTTPStatus: 503, Times: 2}},
			sum: totals{Appended: 1, Updated: 3, Unchanged: len(escapes) + 3, Deleted: 2}},
		{name: "folder permissions refused: counted apart", faults: []icewarptest.Fault{{Command: "setaccountfolderpermissions", ResultZero: true, Times: 10}},
			sum: totals{Unchanged: len(escapes) + 4 + 3}, permsFailed: 1},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.round != nil {
				writeRound(t, arch, st.round)
			}
			for _, f := range st.faults {
				iw.Inject(f)
			}
			sum, out, err := runIn(t, args...)
			if err != nil {
				t.Fatalf("run: %v\n%s", err, out)
			}
			got := sum.total()
			if len(st.faults) > 0 && st.faults[0].HTTPStatus != 0 && sum.Throttled <= 0 {
				t.Errorf("throttledSeconds = %v after %d answers %d: want the back-off reported", sum.Throttled, st.faults[0].Times, st.faults[0].HTTPStatus)
			}
			if got.Failed != 0 || got.Skipped != 0 || got.PermissionsFailed != st.permsFailed {
				t.Errorf("failed %d, skipped %d, permissions not set %d (want %d)\n%s", got.Failed, got.Skipped, got.PermissionsFailed, st.permsFailed, out)
			}
			for _, c := range []struct {
				name    string
				g, want int
			}{{"appended", got.Appended, st.sum.Appended}, {"updated", got.Updated, st.sum.Updated},
				{"unchanged", got.Unchanged, st.sum.Unchanged}, {"deleted", got.Deleted, st.sum.Deleted}} {
				if c.g != c.want {
					t.Errorf("%s = %d, want %d\n%s", c.name, c.g, c.want, out)
				}
			}
			if err := iw.CheckMailPath(); err != nil {
				t.Errorf("mail path checker: %v", err)
			}
			checkIn(t, args...)
			filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() && !strings.HasPrefix(p, root+string(filepath.Separator)) && filepath.Dir(p) != dir && !strings.HasPrefix(p, arch) {
					t.Errorf("file written outside the mail path: %s", p)
				}
				return nil
			})

			// Mail, read back over IMAP: each message once, flags, dates.
			var am, pm []msg
			for _, m := range msgs {
				if m.mbx == alice {
					am = append(am, m)
				} else {
					pm = append(pm, m)
				}
			}
			for _, x := range []struct {
				email string
				paths map[string][]string
				want  []msg
			}{{alice, paths, am}, {pfGroup, map[string][]string{"pf1": {"Company", "News"}}, pm}} {
				mb := b.dial(t, x.email)
				expectMail(t, mb, x.paths, x.want)
				mb.Close()
				if t.Failed() {
					t.Logf("folders of %s: %q", x.email, iw.MailFolders(x.email))

				}
			}

			// Accounts, groups, permissions.
			if a, ok := iw.Account(team); !ok || a.Type != 7 || !slices.Equal(a.Members, []string{alice, bob}) {
				t.Errorf("group %s = %+v, %v; want type 7 with members alice, bob", team, a, ok)
			}
			if a, ok := iw.Account(pfGroup); !ok || a.Type != 7 || len(a.Members) != 2 {
				t.Errorf("public folders group %s = %+v, %v; want type 7 with both users", pfGroup, a, ok)
			}
			if acl := iw.ACL(alice, "Shared"); acl[bob] == "" {
				t.Errorf("ACL of Shared = %v, want an entry for %s", acl, bob)
			}
			if st.permsFailed == 0 {
				if inh, perms := iw.FolderPermissions(alice, icewarp.GroupwareFolderID("Calendar")); inh || len(perms) != 1 || perms[0].Account != "anyone" {
					t.Errorf("Calendar permissions = %v, %v; want anyone", inh, perms)
				}
			}

			// GroupWare over WebDAV: one resource per item.
			wantItems := map[string]int{"Calendar": 1, "Tasks": 1, "Notes": 1, "Contacts": 1}
			if _, ok := msgs["m4"]; ok {
				wantItems["Contacts"] = 0
			}
			for f, n := range wantItems {
				items := iw.DAVItems(alice, f)
				if len(items) != n {
					t.Errorf("WebDAV %s holds %d items, want %d", f, len(items), n)
				}
				if f == "Calendar" {
					for _, it := range items {
						want := eventV1
						if _, ok := msgs["m4"]; ok {
							want = eventV2
						}
						sameContent(t, "event", it.Body, want)
					}
				}
			}
		})
	}
}

// TestEmulatorPathModeKill kills the importer (SIGKILL) at random points of
// path-mode runs, then lets a rerun finish: every message must be in the
// account exactly once, and the mail path must pass the checker.
func TestEmulatorPathModeKill(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	b := newEmulatorBed(t, icewarptest.Options{})
	const user = "frank@example.com"
	day := time.Date(2025, 6, 7, 8, 9, 10, 0, time.Local)
	var all []msg
	writeRound(t, b.arch, func(r *round) {
		r.mailbox(user)
		for f := range 2 {
			id := fmt.Sprintf("f%d", f)
			r.folder(user, folder{id: id, name: fmt.Sprintf("Ordner %d", f), class: "IPF.Note"})
			for i := range 300 {
				m := msg{mbx: user, folder: id, id: fmt.Sprintf("%s-%d", id, i), read: i%3 == 0, flagged: i%5 == 0,
					received: day.Add(time.Duration(len(all)) * time.Minute), size: 1 << 10, noID: i%10 == 3}
				r.message(m)
				all = append(all, m)
			}
		}
	})
	args := b.pathArgs()
	kills, temps := 0, 0
	for _, after := range randomDelays(10, 20*time.Millisecond, 700*time.Millisecond) {
		killed, out, err := runKilled(t, after, args)
		if !killed && err != nil {
			t.Fatalf("run finished with %v\n%s", err, out)
		}
		if killed {
			kills++
			temps += len(tempFiles(b.root))
		}
	}
	t.Logf("%d runs killed, %d temporary files left behind", kills, temps)
	sum, out, err := runIn(t, args...)
	if err != nil || sum.total().Failed != 0 {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	if err := b.iw.CheckMailPath(); err != nil {
		t.Errorf("mail path checker: %v", err)
	}
	mb := b.dial(t, user)
	defer mb.Close()
	expectMail(t, mb, map[string][]string{"f0": {"Ordner 0"}, "f1": {"Ordner 1"}}, all)
}
