package graph_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/graph"
	"github.com/iemproject/iem/graph/graphtest"
	"github.com/iemproject/iem/internal/syncbuf"
)

// captureLog sends slog's default logger to a buffer for the test.
func captureLog(t *testing.T) *syncbuf.Buffer {
	t.Helper()
	buf := &syncbuf.Buffer{}
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(buf, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	return buf
}

// TestListingRoundsLikeDelta: with an emulator without message delta,
// the Source falls back to full listings (logged once) and exports the
// same as the delta path over a second copy of the org: round 1 every
// item, round 2 after Org.Mutate exactly the new, changed, moved, deleted
// and read-flag changes. A marker of one path given to the other is
// rejected and the folder resynchronised without exporting anything twice.
func TestListingRoundsLikeDelta(t *testing.T) {
	log := captureLog(t)
	delta := newEngineBed(t, ewstest.Generate(1, ewstest.OrgOptions{}))
	list := newEngineBedWith(t, ewstest.Generate(1, ewstest.OrgOptions{}), &graphtest.Options{NoMessageDelta: true}, nil)
	want := list.mailCount()
	d1, l1 := delta.run(t, ""), list.run(t, "")
	if l1.Exported != want || brief(l1) != brief(d1) {
		t.Fatalf("round 1: listing %+v, delta %+v, want the %d items of the org both", l1, d1, want)
	}
	if n := strings.Count(log.String(), "message delta is not supported"); n != 1 {
		t.Errorf("fallback logged %d times, want once:\n%s", n, log.String())
	}
	delta.org.Mutate(2)
	list.org.Mutate(2)
	d2, l2 := delta.run(t, ""), list.run(t, "")
	// Per mailbox Mutate adds two inbox messages and one in a new folder,
	// edits one, moves one (a new id: a delete and a new message),
	// deletes a sent message and flips one read flag.
	boxes := len(list.org.Users)
	if brief(l2) != brief(d2) || l2.Deleted != 2*boxes || l2.Flags != boxes || l2.Exported < 5*boxes || l2.Exported >= want {
		t.Errorf("round 2: listing %+v, delta %+v; want the same, with %d deletes, %d flag changes and >= %d exported",
			l2, d2, 2*boxes, boxes, 5*boxes)
	}
	if lk, dk := lastRoundKinds(t, list.dir), lastRoundKinds(t, delta.dir); fmt.Sprint(lk) != fmt.Sprint(dk) {
		t.Errorf("round 2 archive entries: listing %v, delta %v", lk, dk)
	}
	if c := list.srv.Counters(); c.Removed404 != 0 {
		t.Errorf("listing round fetched %d removed messages", c.Removed404)
	}
	// Swap the paths on the same emulators, with new Sources (a new
	// run): the listing's markers go to a Source with delta and the
	// deltaLinks to one without.
	list.srv.SetNoMessageDelta(false)
	delta.srv.SetNoMessageDelta(true)
	for name, b := range map[string]*engineBed{"listing markers to delta": list, "deltaLinks to listing": delta} {
		b.src = graph.NewSource(b.c)
		if s := b.run(t, ""); s.Exported != 0 || s.Unchanged == 0 {
			t.Errorf("%s: %+v, want every item listed again and found unchanged", name, s)
		}
	}
	if n := delta.srv.Counters().Removed404; n != 0 {
		t.Errorf("%d removed messages fetched", n)
	}
}

// brief is the counts of the summed stats that both paths must agree on.
func brief(s export.MailboxStats) string {
	return fmt.Sprintf("found %d exported %d unchanged %d deleted %d flags %d", s.Found, s.Exported, s.Unchanged, s.Deleted, s.Flags)
}

// TestListingMarkerRejected: ListMessageChanges refuses a deltaLink or a
// damaged listing as its marker with ErrMarkerRejected.
func TestListingMarkerRejected(t *testing.T) {
	b := newEngineBedWith(t, ewstest.Generate(1, ewstest.OrgOptions{}), &graphtest.Options{NoMessageDelta: true}, nil)
	c := b.c
	u := b.org.Users[0].SMTP
	var n int
	m, err := c.ListMessageChanges(context.Background(), u, "inbox", nil, func(export.ItemChange) error { n++; return nil })
	if err != nil || n != len(b.org.FolderItems(u, "inbox")) || len(m) > 200 {
		t.Fatalf("first listing: %d changes, %d-byte marker, %v", n, len(m), err)
	}
	for _, bad := range [][]byte{[]byte(b.srv.GraphURL() + "/users/x/mailFolders/inbox/messages/delta?$deltatoken=1"), m[:len(m)-4]} {
		if _, err := c.ListMessageChanges(context.Background(), u, "inbox", bad, func(export.ItemChange) error { return nil }); !errors.Is(err, export.ErrMarkerRejected) {
			t.Errorf("marker %.40q: err = %v, want ErrMarkerRejected", bad, err)
		}
	}
}

// recorder is an HTTP transport that sends every request to the
// emulator's address, whatever its host, and records the paths.
type recorder struct {
	mu    sync.Mutex
	paths []string
	next  http.RoundTripper
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.paths = append(r.paths, req.URL.Path)
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func (r *recorder) count(sub string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, p := range r.paths {
		if strings.Contains(p, sub) {
			n++
		}
	}
	return n
}

// TestChinaEndpointLists: with the China cloud's Graph endpoint the
// Source never asks for messages/delta (graph.md §8) and reads mail
// folders by full listings, round 1 everything, round 2 the changes.
func TestChinaEndpointLists(t *testing.T) {
	rec := &recorder{}
	b := newEngineBedWith(t, ewstest.Generate(1, ewstest.OrgOptions{}), nil, func(srv *graphtest.Server) (string, *http.Client) {
		addr := strings.TrimPrefix(srv.GraphURL(), "https://")
		addr = addr[:strings.Index(addr, "/")]
		tr := srv.Client().Transport.(*http.Transport).Clone()
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: tr.TLSClientConfig.RootCAs, ServerName: "example.com"} // httptest's certificate name
		rec.next = tr
		return "https://" + graph.ChinaGraphHost + "/v1.0", &http.Client{Transport: rec}
	})
	want := b.mailCount()
	if s := b.run(t, ""); s.Exported != want {
		t.Fatalf("round 1: %+v, want %d exported", s, want)
	}
	b.org.Mutate(2)
	if s := b.run(t, ""); s.Deleted != 2*len(b.org.Users) || s.Flags != len(b.org.Users) || s.Exported >= want {
		t.Errorf("round 2: %+v, want only the changes", s)
	}
	if n, lists := rec.count("/messages/delta"), rec.count("/messages"); n != 0 || lists == 0 {
		t.Errorf("%d messages/delta requests, %d listings; want none and some", n, lists)
	}
	if u, _ := url.Parse(b.srv.GraphURL()); u.Hostname() == graph.ChinaGraphHost {
		t.Fatal("emulator unexpectedly on the China host")
	}
}

// TestStartYearPastDeltaCap: a folder with more messages received in the
// --start-year range than a filtered delta returns is exported in full
// over message delta: the Source filters by year after listing, not with
// a receivedDateTime $filter, which Graph caps at 5,000 messages
// (graph.md §4.2; TestDeltaFilterCap in graphtest checks the real cap).
// Here the emulator's cap is 40, so the test stays quick under -race.
func TestStartYearPastDeltaCap(t *testing.T) {
	const filterCap = 40
	org := ewstest.Generate(1, ewstest.OrgOptions{Users: 1, MessagesPerFolder: 1})
	u := org.Users[0].SMTP
	from := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	n := filterCap + 10
	for i := range n {
		org.AddMessage(u, "inbox", []byte(fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i)), from.Add(time.Duration(i)*time.Minute), fmt.Sprintf("<%d@cap>", i))
	}
	b := newEngineBedWith(t, org, &graphtest.Options{DeltaFilterCap: filterCap}, nil)
	s := runExportWith(t, org, b.src, b.dir, "", export.Options{StartYear: 2031, Jobs: 2})
	if k := lastRoundKinds(t, b.dir); k[archive.KindMessage] != n || s.Filtered == nil {
		t.Errorf("exported %d messages (%+v), want the %d received from 2031 and the older ones filtered", k[archive.KindMessage], s, n)
	}
}
