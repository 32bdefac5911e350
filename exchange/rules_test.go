package exchange_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/iemproject/iem/exchange"
	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/format"
)

// TestGetInboxRules reads the generated rules back into the model on
// every personality that has GetInboxRules, and does not ask 2007 SP1:
// the Source says why the rules were not read.
func TestGetInboxRules(t *testing.T) {
	for _, p := range ewstest.Personalities {
		t.Run(p.String(), func(t *testing.T) {
			e := start(t, p, nil, nil, nil)
			ctx := context.Background()
			got, err := e.c.GetInboxRules(ctx, alice)
			if p == ewstest.Exchange2007SP1 {
				if !errors.Is(err, exchange.ErrNoInboxRules) {
					t.Fatalf("2007: err = %v, want ErrNoInboxRules", err)
				}
				set, err := exchange.NewSource(e.c, nil).MailboxSettings(ctx, alice)
				if err != nil || set.Rules != nil || len(set.NotRead) != 1 || set.OutOfOffice == nil {
					t.Errorf("2007 settings: %+v, %v", set, err)
				}
				if n := e.srv.Requests("GetInboxRules"); n != 0 {
					t.Errorf("2007 was asked GetInboxRules %d times", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := e.org.Mailbox(alice).InboxRules
			if len(want) != 5 || !reflect.DeepEqual(got, want) {
				t.Errorf("rules:\n got %+v\nwant %+v", got, want)
			}
			// Predicates the model keeps by name, and none at all.
			e.org.SetInboxRules("bob@example.com", []format.InboxRule{{Name: "odd", Priority: 1, Enabled: true,
				Conditions: format.RuleTests{Other: []string{"HasAttachments"}},
				Actions:    format.RuleActions{MoveToFolder: "distinguished:junkemail", Other: []string{"ServerReplyWithMessage"}}}})
			bob, err := e.c.GetInboxRules(ctx, "bob@example.com")
			if err != nil || len(bob) != 1 || !reflect.DeepEqual(bob[0].Conditions.Other, []string{"HasAttachments"}) ||
				bob[0].Actions.MoveToFolder != "distinguished:junkemail" || !reflect.DeepEqual(bob[0].Actions.Other, []string{"ServerReplyWithMessage"}) {
				t.Errorf("bob: %+v, %v", bob, err)
			}
			set, err := exchange.NewSource(e.c, nil).MailboxSettings(ctx, alice)
			if err != nil || len(set.Rules) != 5 || len(set.NotRead) != 0 {
				t.Errorf("settings: %+v, %v", set, err)
			}
		})
	}
}
