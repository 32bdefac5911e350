package graphtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/iemproject/iem/exchange/ewstest"
)

// TestMailboxConcurrency: the fifth request in flight to one mailbox gets
// Outlook's 429, another mailbox is not affected, and a slot frees when a
// request is answered.
func TestMailboxConcurrency(t *testing.T) {
	e, err := New(ewstest.Generate(1, ewstest.OrgOptions{Users: 2}), nil)
	if err != nil {
		t.Fatal(err)
	}
	var leaves []func()
	for i := 0; i < mailboxConcurrency; i++ {
		leave, ok := e.enterMailbox(httptest.NewRecorder(), "A@Contoso.com")
		if !ok {
			t.Fatalf("request %d refused", i+1)
		}
		leaves = append(leaves, leave)
	}
	rec := httptest.NewRecorder()
	if _, ok := e.enterMailbox(rec, "a@contoso.com"); ok {
		t.Fatal("a fifth request in flight to one mailbox was admitted")
	}
	var body struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusTooManyRequests ||
		body.Error.Message != "Application is over its MailboxConcurrency limit." || rec.Header().Get("Retry-After") == "" {
		t.Errorf("refusal = %d %s %v, want 429 with the MailboxConcurrency message and a Retry-After", rec.Code, rec.Body, err)
	}
	if _, ok := e.enterMailbox(httptest.NewRecorder(), "b@contoso.com"); !ok {
		t.Error("another mailbox was refused")
	}
	leaves[0]()
	if _, ok := e.enterMailbox(httptest.NewRecorder(), "a@contoso.com"); !ok {
		t.Error("a request after one was answered was refused")
	}
	if c := e.Counters(); c.OverConcurrency != 1 || c.MaxInFlight != mailboxConcurrency {
		t.Errorf("counters = %+v, want 1 over the limit and at most %d in flight", c, mailboxConcurrency)
	}
}
