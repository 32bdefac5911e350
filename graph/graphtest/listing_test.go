package graphtest_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/iemproject/iem/graph/graphtest"
)

// TestDeltaFilterCap: a messages/delta with a receivedDateTime filter
// returns only matching messages and at most 5,000 of them (graph.md
// §4.2), also in the rounds of its deltaLink; without the filter every
// message is returned.
func TestDeltaFilterCap(t *testing.T) {
	srv, org := start(t, nil)
	c := &client{t, srv, token(t, srv)}
	u := org.Users[0].SMTP
	before := len(org.FolderItems(u, "inbox"))
	from := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range graphtest.DeltaFilterCap + 20 {
		org.AddMessage(u, "inbox", []byte("Subject: x\r\n\r\nx\r\n"), from.Add(time.Duration(i)*time.Minute), "")
	}
	path := "/users/" + u + "/mailFolders/inbox/messages/delta"
	all, _ := c.all(path, "Prefer", "odata.maxpagesize=1000")
	if len(all) != before+graphtest.DeltaFilterCap+20 {
		t.Fatalf("unfiltered delta: %d messages, want %d", len(all), before+graphtest.DeltaFilterCap+20)
	}
	q := url.Values{"$filter": {"receivedDateTime ge " + from.Format(time.RFC3339)}}
	got, dl := c.all(path+"?"+q.Encode(), "Prefer", "odata.maxpagesize=1000")
	if len(got) != graphtest.DeltaFilterCap {
		t.Fatalf("filtered delta: %d messages, want the cap of %d (of %d matching)", len(got), graphtest.DeltaFilterCap, graphtest.DeltaFilterCap+20)
	}
	for _, m := range got {
		if r, _ := time.Parse(time.RFC3339, m["receivedDateTime"].(string)); r.Before(from) {
			t.Fatalf("filtered delta returned a message received %v", r)
		}
	}
	// The deltaLink keeps the filter: a new old message is not reported.
	org.AddMessage(u, "inbox", []byte("Subject: old\r\n\r\nx\r\n"), from.AddDate(-1, 0, 0), "")
	if ch, _ := c.all(dl); len(ch) != 0 {
		t.Errorf("round 2 of the filtered delta: %d changes, want none", len(ch))
	}
	if st, p := c.page(path + "?$filter=" + url.QueryEscape("subject eq 'x'")); st != 400 || p.Error == nil {
		t.Errorf("unsupported filter: %d %v", st, p.Error)
	}
}

// TestNoMessageDeltaListing: with NoMessageDelta, messages/delta answers
// 400 while the folder's message listing pages with $top and keeps what
// $select names besides id and @odata.etag.
func TestNoMessageDeltaListing(t *testing.T) {
	srv, org := start(t, &graphtest.Options{NoMessageDelta: true})
	c := &client{t, srv, token(t, srv)}
	u := org.Users[0].SMTP
	if st, p := c.page("/users/" + u + "/mailFolders/inbox/messages/delta"); st != 400 || p.Error == nil {
		t.Fatalf("messages/delta without delta: %d %v", st, p.Error)
	}
	want := org.FolderItems(u, "inbox")
	st, first := c.page("/users/" + u + "/mailFolders/inbox/messages?$select=id,isRead&$top=2")
	if st != 200 || len(first.Value) != 2 || first.Next == "" {
		t.Fatalf("first page: %d, %d values, nextLink %q", st, len(first.Value), first.Next)
	}
	msgs, _ := c.all("/users/" + u + "/mailFolders/inbox/messages?$select=id,isRead&$top=2")
	if len(msgs) != len(want) {
		t.Fatalf("listing: %d messages, want %d", len(msgs), len(want))
	}
	for _, m := range msgs {
		if m["id"] == nil || m["@odata.etag"] == nil || m["isRead"] == nil || m["subject"] != nil {
			t.Fatalf("listed message %v: want id, @odata.etag and isRead only", m)
		}
	}
}
