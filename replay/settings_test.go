package replay

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/format"
)

// responders records the auto-responders set, by account.
type responders struct {
	*memTarget
	set map[string]format.Responder
}

func (r *responders) SetResponder(_ context.Context, account string, x format.Responder) error {
	r.set[account] = x
	return nil
}

// withoutResponders hides every method but Accounts' from the engine.
type withoutResponders struct{ Accounts }

func TestOutOfOfficeBecomesResponder(t *testing.T) {
	b := newBed(t)
	start := time.Date(2026, 12, 21, 9, 0, 0, 0, time.UTC)
	writeRound(t, b.arch, func(r *round) {
		round1(r)
		r.putJSON(&archive.Header{Kind: archive.KindSettings, Mailbox: alice, ID: alice}, format.MailboxSettings{
			OutOfOffice: &format.OutOfOffice{State: "scheduled", ExternalAudience: "all", Start: start, End: start.AddDate(0, 0, 7),
				InternalReply: "<html><body>Bin weg.</body></html>", ExternalReply: "<html><body>I am away.</body></html>"}})
		r.putJSON(&archive.Header{Kind: archive.KindSettings, Mailbox: bob, ID: bob}, format.MailboxSettings{
			OutOfOffice: &format.OutOfOffice{State: "disabled"}})
	})
	for _, c := range []struct {
		name     string
		accounts func(*responders) Accounts
		notMoved []string
	}{
		{"IceWarp-like target", func(r *responders) Accounts { return r },
			[]string{"out-of-office: the external reply", "out-of-office: the schedule's times of day"}},
		{"target without responders", func(r *responders) Accounts { return withoutResponders{r} },
			[]string{"out-of-office: the target sets no auto-responders"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tg := &responders{memTarget: newMemTarget(), set: map[string]format.Responder{}}
			im, done := b.engine(Options{PasswordReport: filepath.Join(t.TempDir(), "pw.csv")})
			defer done()
			led, err := OpenLedger(filepath.Join(t.TempDir(), "ledger"))
			if err != nil {
				t.Fatal(err)
			}
			defer led.Close()
			if _, err := led.UseFor(Target{API: "mem://admin", IMAP: "mem:143"}, false); err != nil {
				t.Fatal(err)
			}
			im.Ledger, im.Sinks = led, Sinks{Accounts: c.accounts(tg), Mail: tg.memTarget, Groupware: tg.memTarget}
			ctx := context.Background()
			if err := im.CreateAccounts(ctx); err != nil {
				t.Fatal(err)
			}
			if err := im.Run(ctx, 2); err != nil {
				t.Fatal(err)
			}
			var notMoved []string
			inArchive := 0
			for _, s := range im.Stats() {
				inArchive += s.InArchive
				for r := range s.NotMoved {
					notMoved = append(notMoved, s.Mailbox+": "+r)
				}
			}
			if inArchive != 7 {
				t.Errorf("%d items in the archive, want 7: a settings entry is not an item", inArchive)
			}
			if len(notMoved) != len(c.notMoved) {
				t.Fatalf("not moved %q, want %q", notMoved, c.notMoved)
			}
			for _, w := range c.notMoved {
				found := false
				for _, n := range notMoved {
					found = found || strings.HasPrefix(n, alice+": "+w)
				}
				if !found {
					t.Errorf("not moved %q lacks %q", notMoved, w)
				}
			}
			if c.name != "IceWarp-like target" {
				if len(tg.set) != 0 {
					t.Errorf("responders set %v", tg.set)
				}
				return
			}
			want := format.Responder{Mode: format.RespondOnce, From: "2026/12/21", Till: "2026/12/28", Content: "Bin weg."}
			if got := tg.set[alice]; got != want || len(tg.set) != 1 {
				t.Errorf("responders %+v, want only %s: %+v (bob's disabled reply has no text)", tg.set, alice, want)
			}
		})
	}
}
