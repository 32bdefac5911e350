package graph_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/format"
)

// TestMailboxSettingsLikeEWS: the Graph Source reads from mailboxSettings
// the out-of-office reply the EWS Source reads from GetUserOofSettings on a
// copy of the org (Users[0]'s scheduled HTML reply, a new mailbox's
// disabled one, and an always-on reply to contacts only set between
// rounds); without MailboxSettings.Read the read fails with the 403.
func TestMailboxSettingsLikeEWS(t *testing.T) {
	b, org, ewsSrc, _ := newTwinBeds(t, 7, 2)
	ctx := context.Background()
	ss := ewsSrc.(export.SettingsSource)
	check := func(smtp string) *format.OutOfOffice {
		t.Helper()
		g, err := b.src.MailboxSettings(ctx, smtp)
		if err != nil {
			t.Fatal(err)
		}
		e, err := ss.MailboxSettings(ctx, smtp)
		if err != nil {
			t.Fatal(err)
		}
		if len(g.NotRead) != 1 || !strings.HasPrefix(g.NotRead[0], "inbox rules: not read through Graph") {
			t.Errorf("%s: over Graph not read %q, want the inbox rules named", smtp, g.NotRead)
		}
		if !reflect.DeepEqual(g.OutOfOffice, e.OutOfOffice) {
			t.Errorf("%s: over Graph %+v, over EWS %+v", smtp, g.OutOfOffice, e.OutOfOffice)
		}
		return g.OutOfOffice
	}
	if o := check(b.org.Users[0].SMTP); o == nil || o.State != "scheduled" || !strings.Contains(o.InternalReply, "<html>") || o.End.Sub(o.Start) != 7*24*time.Hour {
		t.Errorf("Users[0]: %+v, want the scheduled HTML reply", o)
	}
	if o := check(b.org.Users[1].SMTP); o == nil || o.State != "disabled" {
		t.Errorf("Users[1]: %+v, want disabled", o)
	}
	on := &format.OutOfOffice{State: "enabled", ExternalAudience: "known", Start: time.Date(2026, 3, 1, 8, 30, 0, 0, time.UTC),
		End: time.Date(2026, 3, 9, 17, 0, 0, 0, time.UTC), InternalReply: "Weg.", ExternalReply: "Away & back soon."}
	b.org.SetOutOfOffice(b.org.Users[1].SMTP, on)
	org.SetOutOfOffice(org.Users[1].SMTP, on)
	if o := check(b.org.Users[1].SMTP); o == nil || !reflect.DeepEqual(*o, *on) {
		t.Errorf("Users[1] after the change: %+v, want %+v", o, on)
	}
	b.srv.Revoke("MailboxSettings.Read")
	if _, err := b.src.MailboxSettings(ctx, b.org.Users[0].SMTP); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("without MailboxSettings.Read: err %v, want the 403", err)
	}
}
