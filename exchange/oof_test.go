package exchange_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/iemproject/iem/exchange"
	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/format"
)

func TestGetUserOofSettings(t *testing.T) {
	for _, p := range ewstest.Personalities {
		t.Run(p.String(), func(t *testing.T) {
			e := start(t, p, nil, nil, nil)
			ctx := context.Background()
			want := e.org.Mailbox(alice).OutOfOffice
			got, err := e.c.GetUserOofSettings(ctx, alice)
			if err != nil {
				t.Fatal(err)
			}
			if got.State != "scheduled" || got.ExternalAudience != "all" || !got.Start.Equal(want.Start) || !got.End.Equal(want.End) {
				t.Errorf("got %+v, want %+v", got, want)
			}
			if got.InternalReply != want.InternalReply || got.ExternalReply != want.ExternalReply {
				t.Errorf("replies %q / %q, want %q / %q", got.InternalReply, got.ExternalReply, want.InternalReply, want.ExternalReply)
			}
			// A mailbox that never set one reads as disabled.
			bob, err := e.c.GetUserOofSettings(ctx, "bob@example.com")
			if err != nil || bob.State != "disabled" || bob.InternalReply != "" {
				t.Errorf("bob: %+v, %v", bob, err)
			}
			e.org.SetOutOfOffice("bob@example.com", &format.OutOfOffice{State: "enabled", ExternalAudience: "known", InternalReply: "Zurück am 4.1. <&>"})
			bob, err = e.c.GetUserOofSettings(ctx, "bob@example.com")
			if err != nil || bob.State != "enabled" || bob.ExternalAudience != "known" || bob.InternalReply != "Zurück am 4.1. <&>" {
				t.Errorf("bob after set: %+v, %v", bob, err)
			}
			// An address without a mailbox is the message's error.
			_, err = e.c.GetUserOofSettings(ctx, "nobody@example.com")
			var xe *exchange.Error
			if !errors.As(err, &xe) || xe.Code != "ErrorNonExistentMailbox" {
				t.Errorf("nobody: %v", err)
			}
			reqs := e.srv.RequestLog("GetUserOofSettingsRequest")
			last := reqs[len(reqs)-1]
			if len(reqs) != 4 || !strings.Contains(string(last.Body), "<t:Address>nobody@example.com</t:Address>") {
				t.Errorf("request %s %s", last.Op, last.Body)
			}
		})
	}
}
