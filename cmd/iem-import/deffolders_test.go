package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/icewarp/icewarptest"
	"github.com/iemproject/iem/internal/cliutil"
)

// TestCheckDefaultFolders: after "iem-import run" in each mail mode, check
// finds the account's default folders where they should be; once the
// account's Sent points elsewhere (the WebClient's own "Sent", as before
// iem set it), check names the account and the folder and exits 3.
func TestCheckDefaultFolders(t *testing.T) {
	for _, mode := range []string{"path", "imap"} {
		t.Run(mode, func(t *testing.T) {
			b := newEmulatorBed(t, icewarptest.Options{})
			const hans = "hans@example.com"
			writeRound(t, b.arch, func(r *round) {
				r.mailbox(hans)
				r.folder(hans, folder{id: "root", name: "Oberste Ebene", dist: "msgfolderroot"})
				r.folder(hans, folder{id: "sent", parent: "root", name: "Gesendete Elemente", class: "IPF.Note", dist: "sentitems"})
				r.folder(hans, folder{id: "del", parent: "root", name: "Gelöschte Elemente", class: "IPF.Note", dist: "deleteditems"})
				r.message(msg{mbx: hans, folder: "sent", id: "s1", received: time.Date(2024, 5, 6, 7, 8, 9, 0, time.Local)})
			})
			args := b.args("--ledger", filepath.Join(b.dir, "ledger"), "--log-level", "error", "--passwords-report", filepath.Join(b.dir, "pw.csv"))
			if mode == "path" {
				args = b.pathArgs("--ledger", filepath.Join(b.dir, "ledger"))
			}
			if _, out, err := runIn(t, args...); err != nil {
				t.Fatalf("run: %v\n%s", err, out)
			}
			checkIn(t, args...)
			d, err := b.iw.DefaultFolders(hans)
			if err != nil || d["sent"] != "Sent Items" || d["trash"] != "Deleted Items" {
				t.Fatalf("default folders after the run: %v, %v", d, err)
			}
			// Point Sent back at IceWarp's own folder, as a WebClient user
			// could: settings.xml is where the WebClient keeps it.
			p := filepath.Join(b.root, "example.com", "hans", "~webmail", "settings.xml") // no sorting: <domain>/<alias>
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			data = bytes.Replace(data, []byte(hans+"/Sent Items"), []byte(hans+"/Sent"), 1)
			if err := os.WriteFile(p, data, 0o600); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			ca := b.args("--ledger", filepath.Join(b.dir, "ledger"))
			if mode == "path" {
				ca = b.args("--mail-mode", "path", "--mail-path", b.root)
			}
			err = newApp(&out, &out).RunContext(context.Background(), append([]string{"iem-import", "check"}, ca...))
			if !errors.Is(err, cliutil.ErrPartial) {
				t.Errorf("check: %v, want exit 3\n%s", err, out.String())
			}
			for _, want := range []string{`~ hans@example.com default folder sent: "Sent", want "Sent Items"`,
				"check: 1 default folders do not point where they should"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("check output lacks %q:\n%s", want, out.String())
				}
			}
			if strings.Contains(out.String(), "default folder trash") {
				t.Errorf("check reports trash, which is in place:\n%s", out.String())
			}
		})
	}
}
