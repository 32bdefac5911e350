package e2e

import (
	"strings"
	"testing"

	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/format"
)

// TestOutOfOfficeMoves exports the generated org's scheduled HTML
// out-of-office reply over EWS and imports it as the IceWarp account's
// auto-responder; the summary lists what IceWarp cannot hold. A reply
// switched off before round 2 is switched off on IceWarp after it.
func TestOutOfOfficeMoves(t *testing.T) {
	b := newBed(t, ewstest.OrgOptions{Users: 2}, nil)
	owner := b.ews.Org.Users[0].SMTP
	oof := b.ews.Org.Users[0].OutOfOffice
	out, err := b.export()
	mustOK(t, "export", out, err)
	out, err = b.importRun()
	mustOK(t, "import", out, err)
	for _, want := range []string{"settings set: 1 × out-of-office",
		"not moved " + owner + ": 1 × out-of-office: the external reply",
		"not moved " + owner + ": 1 × out-of-office: the schedule's times of day"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	acct, ok := b.iw.Account(owner)
	if !ok {
		t.Fatalf("no account %s", owner)
	}
	want := map[string]string{"u_respond": "2", "u_respondbetweenfrom": oof.Start.Format("2006/01/02"),
		"u_respondbetweento": oof.End.Format("2006/01/02"), "u_respondercontent": "<p>Ich bin bis zum Montag nicht im Büro.</p>"}
	for k, v := range want {
		if acct.Props[k] != v {
			t.Errorf("%s %s = %q, want %q", owner, k, acct.Props[k], v)
		}
	}
	if other, _ := b.iw.Account(b.ews.Org.Users[1].SMTP); other.Props["u_respond"] != "" {
		t.Errorf("a mailbox without a reply got u_respond %q", other.Props["u_respond"])
	}

	off := *oof
	off.State = "disabled"
	b.ews.Org.SetOutOfOffice(owner, &off)
	out, err = b.export()
	mustOK(t, "export round 2", out, err)
	out, err = b.importRun()
	mustOK(t, "import round 2", out, err)
	if acct, _ = b.iw.Account(owner); acct.Props["u_respond"] != "0" {
		t.Errorf("after round 2 u_respond = %q, want 0 (switched off)", acct.Props["u_respond"])
	}
	if r, _ := format.IceWarpResponder(&off); acct.Props["u_respondercontent"] != r.Content {
		t.Errorf("the text kept for next time is %q, want %q", acct.Props["u_respondercontent"], r.Content)
	}
}
