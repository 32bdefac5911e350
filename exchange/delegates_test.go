package exchange_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/iemproject/iem/exchange"
	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/format"
)

// TestGetDelegates reads the generated delegates back into the model on
// every personality (GetDelegate is 2007 SP1 and later), a mailbox
// without delegates as none, and a mailbox whose GetDelegate fails (a
// group delegate) as "not read" with the reason, without failing the
// rest of its settings.
func TestGetDelegates(t *testing.T) {
	for _, p := range ewstest.Personalities {
		t.Run(p.String(), func(t *testing.T) {
			e := start(t, p, nil, nil, nil)
			ctx := context.Background()
			got, unread, err := e.c.GetDelegates(ctx, alice)
			if err != nil || unread != nil {
				t.Fatal(err, unread)
			}
			want := e.org.Mailbox(alice).Delegates
			if len(want) != 1 || !reflect.DeepEqual(got, want) {
				t.Errorf("delegates:\n got %+v\nwant %+v", got, want)
			}
			if got, _, err := e.c.GetDelegates(ctx, "info@example.com"); err != nil || got != nil {
				t.Errorf("info: %+v, %v", got, err)
			}
			src := exchange.NewSource(e.c, nil)
			set, err := src.MailboxSettings(ctx, alice)
			if err != nil || !reflect.DeepEqual(set.Delegates, want) {
				t.Errorf("settings: %+v, %v", set, err)
			}

			// Two delegates come back by address, whatever order the server keeps.
			two := []format.Delegate{{Address: "zoe@example.com", Folders: map[string]string{"calendar": "Author"}},
				{Address: "bob@example.com", SeesPrivateItems: true}}
			e.org.SetDelegates(alice, two)
			if got, _, err := e.c.GetDelegates(ctx, alice); err != nil || len(got) != 2 || got[0].Address != "bob@example.com" ||
				got[1].Folders["calendar"] != "Author" || !got[0].SeesPrivateItems {
				t.Errorf("two delegates: %+v, %v", got, err)
			}

			e.org.SetGroupDelegate(alice, "allstaff@example.com")
			set, err = src.MailboxSettings(ctx, alice)
			if err != nil || set.Delegates != nil || set.OutOfOffice == nil || set.Failed[format.PartDelegates] == nil ||
				!strings.Contains(set.Failed[format.PartDelegates].Error(), "ErrorNotDelegate") {
				t.Errorf("group delegate: %v %v, %v", set.Failed, set.Delegates, err)
			}
		})
	}
}
