package export_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/format"
)

// settingsSource is a memSource that also reads settings, from set.
type settingsSource struct {
	*memSource
	set func(mailbox string) *format.MailboxSettings
}

func (s settingsSource) MailboxSettings(_ context.Context, mailbox string) (*format.MailboxSettings, error) {
	return s.set(mailbox), nil
}

// TestSettingsPartKept: delegates read in round 1 and not readable in
// round 2 stay in the archive's latest settings entry, and the round's
// summary says they were not re-read and why.
func TestSettingsPartKept(t *testing.T) {
	const alice = "alice@example.com"
	dels := []format.Delegate{{Address: "bob@example.com", Folders: map[string]string{"calendar": "Editor"}}}
	round := 1
	src := settingsSource{newMemSource(alice), func(string) *format.MailboxSettings {
		s := &format.MailboxSettings{OutOfOffice: &format.OutOfOffice{State: "disabled"}}
		if round == 1 {
			s.Delegates = dels
		} else {
			s.OutOfOffice.State = "enabled"
			s.Fail(format.PartDelegates, errors.New("ErrorNotDelegate"))
		}
		return s
	}}
	a := newArchive(t)
	if _, err := a.run(context.Background(), src, export.Options{}); err != nil {
		t.Fatal(err)
	}
	round = 2
	res, err := a.run(context.Background(), src, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, v := a.view()
	var got *format.MailboxSettings
	for _, e := range v.Entries() {
		if e.Kind == archive.KindSettings && e.Mailbox == alice {
			got = new(format.MailboxSettings)
			if err := json.Unmarshal([]byte(a.body(f, e)), got); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got == nil || !reflect.DeepEqual(got.Delegates, dels) || got.OutOfOffice.State != "enabled" {
		t.Fatalf("latest settings: %+v", got)
	}
	why := ""
	for r := range statsOf(res)[alice].NotAsked {
		why += r
	}
	if !strings.Contains(why, "delegates: not re-read, the previous round's kept: ErrorNotDelegate") {
		t.Errorf("summary: %q", why)
	}
}
