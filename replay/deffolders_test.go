package replay

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iemproject/iem/archive"
)

// memDefaults records the default folders set per account; fail, if set,
// refuses them.
type memDefaults struct {
	set  map[string]DefaultFolders
	fail error
}

func (m *memDefaults) SetDefaultFolders(_ context.Context, account string, d DefaultFolders) error {
	if m.fail != nil {
		return m.fail
	}
	m.set[account] = d
	return nil
}

func (m *memDefaults) DefaultFolders(_ context.Context, account string) (DefaultFolders, error) {
	return m.set[account], nil
}

// TestDefaultFoldersRefused: a target that refuses the default folders is
// told to the operator, and the mailbox's mail is imported all the same;
// a target that takes them gets the folders of the distinguished ids (a
// German display name too), and the public folders get none.
func TestDefaultFoldersRefused(t *testing.T) {
	for _, fail := range []error{errors.New("webclient: session refused"), nil} {
		b := newBed(t)
		writeRound(t, b.arch, func(r *round) {
			r.mailbox(alice)
			r.putJSON(&archive.Header{Kind: archive.KindFolder, Mailbox: alice, ID: "sent"},
				FolderRecord{ID: "sent", DisplayName: "Gesendete Elemente", Path: []string{"Gesendete Elemente"}, Class: "IPF.Note", Distinguished: "sentitems"})
			r.message(alice, "sent", "m1", 1, true)
			r.putJSON(&archive.Header{Kind: archive.KindPublicFolder, ID: "pf"},
				FolderRecord{ID: "pf", DisplayName: "Sent Items", Path: []string{"Sent Items"}, Class: "IPF.Note", Distinguished: "sentitems"})
		})
		var notice bytes.Buffer
		im, done := b.engine(Options{Notice: &notice, PasswordReport: filepath.Join(b.dir, "pw.csv")})
		led, err := OpenLedger(filepath.Join(b.dir, "ledger"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := led.UseFor(Target{API: "mem://admin", IMAP: "mem:143"}, false); err != nil {
			t.Fatal(err)
		}
		md := &memDefaults{set: map[string]DefaultFolders{}, fail: fail}
		im.Ledger, im.Sinks = led, b.tg.sinks()
		im.Sinks.Defaults = md
		ctx := context.Background()
		if err := im.CreateAccounts(ctx); err != nil {
			t.Fatal(err)
		}
		if err := im.Run(ctx, 1); err != nil {
			t.Fatal(err)
		}
		if got := b.tg.messages(alice)["[Sent Items]"]; len(got) != 1 {
			t.Errorf("fail=%v: Sent Items = %v, want the message", fail, b.tg.messages(alice))
		}
		if fail != nil {
			if !strings.Contains(notice.String(), "iem-import: alice@example.com: default folders not set (set Sent, Drafts, Trash by hand): webclient: session refused") {
				t.Errorf("notice = %q", notice.String())
			}
		} else if len(md.set) != 1 || strings.Join(md.set[alice]["sent"], "/") != "Sent Items" {
			t.Errorf("default folders set = %v, want alice's sent alone", md.set)
		}
		for _, st := range im.Stats() {
			if st.Mailbox != alice {
				continue
			}
			if fail != nil && st.DefaultFoldersError != fail.Error() || fail == nil && st.DefaultFolders["sent"] != "Sent Items" {
				t.Errorf("fail=%v: stats %+v", fail, st)
			}
		}
		led.Close()
		done()
	}
}
