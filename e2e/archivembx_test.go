package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/icewarp/icewarptest"
	"github.com/iemproject/iem/internal/testbed"
)

// archiveCounts returns the messages of each archive folder of email on
// the IceWarp emulator, below prefix.
func (b *bed) archiveCounts(t *testing.T, email, prefix string) map[string]uint32 {
	t.Helper()
	out := map[string]uint32{}
	for _, f := range b.iw.MailFolders(email) {
		if !strings.HasPrefix(f, prefix+"/") {
			continue
		}
		n, err := b.iw.MailboxStatus(email, f)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimPrefix(f, prefix+"/")] = n
	}
	return out
}

// TestArchiveMailboxes: the archive mailboxes of a 2016 server move with
// their mailboxes, below Archive/ (IMAP) or a folder of the operator's
// choice (path mode), are counted apart by export, import, plan and check,
// take a later round's changes, and a rerun writes nothing; a 2007 server
// is not asked for archives and every summary says so; --archive-mailbox
// skip leaves them out.
func TestArchiveMailboxes(t *testing.T) {
	opt := ewstest.OrgOptions{Users: 3, Archives: 2}
	archived := []string{"alice@example.com", "bob@example.com"} // Archives: 2
	perFolder := 4                                               // OrgOptions.MessagesPerFolder's default

	t.Run("Exchange2016", func(t *testing.T) {
		b := newBed(t, opt, &ewstest.Options{Personality: ewstest.Exchange2016})
		st := b.ews.Org.Stats()
		out, err := b.export()
		mustOK(t, "export", out, err)
		if want := fmt.Sprintf("archive mailboxes: 2, %d items found, %d exported, %d folders written", st.ArchiveItems, st.ArchiveItems, st.ArchiveFolders); !strings.Contains(out, want) {
			t.Fatalf("export summary lacks %q:\n%s", want, out)
		}
		plan, err := b.command("iem-import", "plan", "--archive", b.arch).CombinedOutput()
		if want := fmt.Sprintf("plan: %d items of archive mailboxes, below Archive/", st.ArchiveItems); err != nil || !strings.Contains(string(plan), want) {
			t.Fatalf("plan: %v, lacks %q:\n%s", err, want, plan)
		}
		out, err = b.importRun()
		mustOK(t, "import", out, err)
		if want := fmt.Sprintf("archive mailboxes: %d items of 2 mailboxes' archives, below Archive/", st.ArchiveItems); !strings.Contains(out, want) {
			t.Fatalf("import summary lacks %q:\n%s", want, out)
		}
		b.assertExactlyOnce(t)
		chk, _ := b.check()
		if want := fmt.Sprintf("check: archive mailboxes: %d of %d messages same", st.ArchiveItems, st.ArchiveItems); !strings.Contains(chk, want) {
			t.Errorf("check lacks %q", want)
		}
		for _, email := range archived {
			got := b.archiveCounts(t, email, "Archive")
			if got["Inbox"] != uint32(perFolder) || got["2019"] != uint32(perFolder) || got["2019/Projekte alt"] != uint32(perFolder) {
				t.Errorf("%s archive folders on target: %v", email, got)
			}
		}
		if got := b.archiveCounts(t, "carol@example.com", "Archive"); len(got) != 0 {
			t.Errorf("carol has no archive, but the target has %v", got)
		}
		b.mustRerunNothing(t, "import rerun")

		// Round 2: one archive message more, one fewer in 2019, and one
		// moved from the primary's "Archiv " into 2019.
		b.ews.NextRound(2)
		out, err = b.export()
		mustOK(t, "export round 2", out, err)
		out, err = b.importRun()
		mustOK(t, "import round 2", out, err)
		b.assertExactlyOnce(t)
		for _, email := range archived {
			got := b.archiveCounts(t, email, "Archive")
			if got["Inbox"] != uint32(perFolder+1) || got["2019"] != uint32(perFolder) {
				t.Errorf("round 2: %s archive folders on target: %v", email, got)
			}
			if n, err := b.iw.MailboxStatus(email, "Archiv "); err != nil || n != uint32(perFolder-1) {
				t.Errorf("round 2: %s primary folder \"Archiv \" holds %d (%v), want %d: the moved message is not only in the archive", email, n, err, perFolder-1)
			}
		}
		b.mustRerunNothing(t, "import rerun 2")
	})

	t.Run("Exchange2016PathModeOwnFolder", func(t *testing.T) {
		b := newBed(t, opt, &ewstest.Options{Personality: ewstest.Exchange2016})
		out, err := b.export()
		mustOK(t, "export", out, err)
		out, err = b.importRun("--mail-mode", "path", "--mail-path", b.iw.MailRoot(), "--archive-mailbox", "Old mail/Online archive")
		mustOK(t, "import", out, err)
		chk, err := b.command("iem-import", "check", "--config", b.dir+"/import.conf", "--archive", b.arch,
			"--archive-mailbox", "Old mail/Online archive").CombinedOutput()
		if exitCode(err) != 0 || !strings.Contains(string(chk), " 0 missing on target, 0 extra or duplicated on target, 0 errors") {
			t.Fatalf("check: exit %d\n%s", exitCode(err), chk)
		}
		for _, email := range archived {
			if got := b.archiveCounts(t, email, "Old mail/Online archive"); got["2019/Projekte alt"] != uint32(perFolder) {
				t.Errorf("%s archive folders on target: %v", email, got)
			}
			if got := b.archiveCounts(t, email, "Archive"); len(got) != 0 {
				t.Errorf("%s: archive also under Archive/: %v", email, got)
			}
		}
		if err := b.iw.CheckMailPath(); err != nil {
			t.Errorf("mail path: %v", err)
		}
	})

	t.Run("Exchange2016Skip", func(t *testing.T) {
		b := newBed(t, opt, &ewstest.Options{Personality: ewstest.Exchange2016})
		out, err := b.export()
		mustOK(t, "export", out, err)
		out, err = b.importRun("--archive-mailbox", "skip")
		mustOK(t, "import", out, err)
		if !strings.Contains(out, "archive mailbox left out (--archive-mailbox skip)") {
			t.Errorf("import summary does not say the archives were left out:\n%s", out)
		}
		for _, email := range archived {
			for _, f := range b.iw.MailFolders(email) {
				if strings.Contains(f, "Projekte alt") {
					t.Errorf("%s: archive folder %s imported despite skip", email, f)
				}
			}
		}
	})

	t.Run("Exchange2016Dovecot", func(t *testing.T) {
		d := testbed.StartDovecot(t)
		dopt := opt
		dopt.Domain = fmt.Sprintf("arch%d.example.com", os.Getpid()%10000)
		org := ewstest.Generate(7, dopt)
		b := dovecotBed(t, d, org, &ewstest.Options{Personality: ewstest.Exchange2016})
		st := org.Stats()
		out, err := b.export()
		mustOK(t, "export", out, err)
		b.mustImportOnce(t)
		// check lists each target folder in Dovecot: the archive's
		// messages are there, below Archive/, once.
		chk, _ := b.check()
		if want := fmt.Sprintf("check: archive mailboxes: %d of %d messages same", st.ArchiveItems, st.ArchiveItems); !strings.Contains(chk, want) {
			t.Errorf("check lacks %q:\n%s", want, chk)
		}
		if !strings.Contains(chk, "= alice@"+dopt.Domain+"/Archive/2019/Projekte alt ") {
			t.Errorf("check shows no message in Archive/2019/Projekte alt")
		}
		b.mustRerunNothing(t, "import rerun")
	})

	t.Run("Exchange2007SP1", func(t *testing.T) {
		b := newBed(t, opt, &ewstest.Options{Personality: ewstest.Exchange2007SP1})
		out, err := b.export()
		mustOK(t, "export", out, err)
		n := len(b.ews.Org.Users)
		if want := fmt.Sprintf("archive mailboxes not asked for on %d mailboxes: archive mailboxes need Exchange 2010 SP1 or later; the server speaks Exchange2007_SP1", n); !strings.Contains(out, want) {
			t.Fatalf("export summary lacks %q:\n%s", want, out)
		}
		if strings.Contains(out, "archive mailboxes: ") {
			t.Errorf("a 2007 export reports archives:\n%s", out)
		}
		b.mustImportOnce(t)
		for _, email := range archived {
			if got := b.archiveCounts(t, email, "Archive"); len(got) != 0 {
				t.Errorf("%s: archive folders from a 2007 server: %v", email, got)
			}
		}
	})
}

// dovecotBed is a bed whose mail goes into the Dovecot d (master-user
// login), with accounts made through the IceWarp emulator's admin API,
// exporting org from an EWS emulator with sopt.
func dovecotBed(t *testing.T, d *testbed.Dovecot, org *ewstest.Org, sopt *ewstest.Options) *bed {
	t.Helper()
	ews, err := ewstest.Start(org, sopt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ews.Close)
	iw, err := icewarptest.Start(&icewarptest.Options{AdminEmail: d.MasterUser, AdminPassword: d.MasterPassword})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { iw.Close() })
	dir := t.TempDir()
	writeBedFiles(t, dir, ews, "", d.MasterPassword,
		fmt.Sprintf("api-url = %s\nadmin-user = %s\nimap-addr = %s\nimap-tls = none\nimap-auth = master\n", iw.URL(), d.MasterUser, d.Addr))
	return &bed{t: t, ews: ews, iw: iw, dir: dir, arch: filepath.Join(dir, "archive")}
}

// mustRerunNothing reruns the import, which must succeed and write nothing.
func (b *bed) mustRerunNothing(t *testing.T, what string) {
	t.Helper()
	out, err := b.importRun()
	mustOK(t, what, out, err)
	if !strings.Contains(out, " 0 items written") {
		t.Fatalf("%s wrote items:\n%s", what, out)
	}
}
