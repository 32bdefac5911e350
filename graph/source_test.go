package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/format"
	"github.com/iemproject/iem/graph"
	"github.com/iemproject/iem/graph/graphtest"
	"github.com/iemproject/iem/internal/retry"
)

// engineBed is graph.Source over a graphtest emulator, exported into an
// archive folder by export.Run.
type engineBed struct {
	org *ewstest.Org
	srv *graphtest.Server
	src *graph.Source
	c   *graph.Client
	dir string
}

func newEngineBed(t *testing.T, org *ewstest.Org) *engineBed {
	t.Helper()
	return newEngineBedWith(t, org, nil, nil)
}

// newEngineBedWith is newEngineBed with emulator options and, if wrap is
// not nil, the Graph client's HTTP client and endpoint chosen by wrap.
func newEngineBedWith(t *testing.T, org *ewstest.Org, opt *graphtest.Options, wrap func(*graphtest.Server) (string, *http.Client)) *engineBed {
	t.Helper()
	srv, err := graphtest.Start(org, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	c := bedClientVia(t, srv, wrap)
	return &engineBed{org: org, srv: srv, src: graph.NewSource(c), c: c, dir: t.TempDir()}
}

// bedClient is a Graph client of the emulator's app (with its secret).
func bedClient(t *testing.T, srv *graphtest.Server) *graph.Client {
	t.Helper()
	return bedClientVia(t, srv, nil)
}

// bedClientVia is bedClient with, if wrap is not nil, the endpoint and
// HTTP client chosen by wrap.
func bedClientVia(t *testing.T, srv *graphtest.Server, wrap func(*graphtest.Server) (string, *http.Client)) *graph.Client {
	t.Helper()
	ts, err := graph.NewTokenSource(graph.Credentials{Login: srv.Authority()[:len(srv.Authority())-len(srv.Tenant())-1],
		Tenant: srv.Tenant(), ClientID: srv.ClientID(), Secret: srv.ClientSecret()}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	endpoint, hc := srv.GraphURL(), srv.Client()
	if wrap != nil {
		endpoint, hc = wrap(srv)
	}
	c, err := graph.NewClient(endpoint, ts, hc, retry.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mailCount counts the messages, contacts, events and tasks of the org's user mailboxes.
func (b *engineBed) mailCount() int {
	n := 0
	for _, u := range b.org.Users {
		for _, f := range b.org.Folders(u.SMTP) {
			for _, it := range f.Items {
				if (f.Class == "IPF.Note" && it.Type == "Message") || (f.Class == "IPF.Contact" && it.Type == "Contact") ||
					(f.Class == "IPF.Appointment" && it.Type == "CalendarItem") || (f.Class == "IPF.Task" && it.Type == "Task") {
					n++
				}
			}
		}
	}
	return n
}

// run exports one round and returns the summed rows; every mailbox but
// the blocked one must succeed.
func (b *engineBed) run(t *testing.T, blocked string) export.MailboxStats {
	t.Helper()
	return runExport(t, b.org, b.src, b.dir, blocked)
}

// runOrg exports one round of org's user mailboxes from src into dir.
func runOrg(t *testing.T, org *ewstest.Org, src export.Source, dir string) *export.Result {
	t.Helper()
	return runOrgWith(t, org, src, dir, export.Options{})
}

// runOrgWith is runOrg with export options (Folder and Mailboxes are set
// here).
func runOrgWith(t *testing.T, org *ewstest.Org, src export.Source, dir string, opt export.Options) *export.Result {
	t.Helper()
	f, err := archive.OpenFolder(dir, &archive.FolderOptions{Writer: "graph test"})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var boxes []string
	for _, u := range org.Users {
		boxes = append(boxes, u.SMTP)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	opt.Folder, opt.Mailboxes = f, boxes
	if opt.Jobs == 0 {
		opt.Jobs = 2
	}
	res, err := export.Run(ctx, src, opt)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// runExport exports one round of org's user mailboxes from src into dir
// and returns the summed rows; every mailbox but the blocked one must
// succeed.
func runExport(t *testing.T, org *ewstest.Org, src export.Source, dir, blocked string) export.MailboxStats {
	t.Helper()
	return runExportWith(t, org, src, dir, blocked, export.Options{})
}

// runExportWith is runExport with export options.
func runExportWith(t *testing.T, org *ewstest.Org, src export.Source, dir, blocked string, opt export.Options) export.MailboxStats {
	t.Helper()
	res := runOrgWith(t, org, src, dir, opt)
	var sum export.MailboxStats
	for _, r := range res.Stats {
		if r.Err != "" {
			t.Errorf("mailbox %s: error %q", r.Mailbox, r.Err)
		}
		if (r.NotReadable[graph.ReasonBlocked] == 1) != (r.Mailbox == blocked) {
			t.Errorf("mailbox %s: not readable %v", r.Mailbox, r.NotReadable)
		}
		sum.Exported += r.Exported
		sum.Deleted += r.Deleted
		sum.Found += r.Found
		sum.Unchanged += r.Unchanged
		sum.Flags += r.Flags
		for k, n := range r.Filtered {
			if sum.Filtered == nil {
				sum.Filtered = map[string]int{}
			}
			sum.Filtered[k] += n
		}
	}
	return sum
}

// TestEngineRounds: round 1 exports every message of the org; round 2
// after Org.Mutate only the changes, with the deletes; an expired delta
// token restarts the folders without exporting anything twice; a 429
// with Retry-After is waited out.
func TestEngineRounds(t *testing.T) {
	b := newEngineBed(t, ewstest.Generate(1, ewstest.OrgOptions{}))
	want := b.mailCount()
	s := b.run(t, "")
	if s.Exported != want || want == 0 {
		t.Fatalf("round 1 exported %d, want the %d messages, contacts, events and tasks of the org", s.Exported, want)
	}
	b.org.Mutate(2)
	s = b.run(t, "")
	if s.Exported == 0 || s.Exported >= want || s.Deleted == 0 {
		t.Errorf("round 2: %+v, want only the changes (of %d) and deletes", s, want)
	}
	b.srv.InvalidateDeltaTokens()
	s = b.run(t, "")
	if s.Exported != 0 || s.Unchanged == 0 {
		t.Errorf("round 3 after rejected tokens: %+v, want every item listed again and found unchanged", s)
	}
	b.srv.Inject(graphtest.Fault{Kind: graphtest.Fault429, Path: "/messages/delta", RetryAfter: 300 * time.Millisecond})
	b.run(t, "")
	if c := b.srv.Counters(); c.Throttled == 0 || c.HonouredWaits == 0 || c.EarlyRetries != 0 {
		t.Errorf("429: counters %+v, want a throttled request retried after its Retry-After", c)
	}
}

// TestEngineBlocked: a mailbox the application access policy blocks (403)
// is listed as not readable in its own row, not failed, and the other
// mailboxes are exported; the summary lists it, the folders whose
// permissions Graph cannot read and the organisation's public folders and
// archives as not readable through Graph, and the round is not partial.
func TestEngineBlocked(t *testing.T) {
	b := newEngineBed(t, ewstest.Generate(3, ewstest.OrgOptions{Users: 2}))
	blocked := b.org.Users[0].SMTP
	b.srv.Block(blocked, true)
	f, err := archive.OpenFolder(b.dir, &archive.FolderOptions{Writer: "graph test"})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var boxes []string
	for _, u := range b.org.Users {
		boxes = append(boxes, u.SMTP)
	}
	res, err := export.Run(context.Background(), b.src, export.Options{Folder: f, Mailboxes: boxes, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	exported := 0
	for _, r := range res.Stats {
		exported += r.Exported
		switch {
		case r.Err != "":
			t.Errorf("%s: error %q", r.Mailbox, r.Err)
		case r.Mailbox == blocked && (r.NotReadable[graph.ReasonBlocked] != 1 || r.Found != 0):
			t.Errorf("blocked %s: %+v", r.Mailbox, r)
		case r.Mailbox != blocked && r.NotReadable[graph.ReasonFolderPermissions] == 0:
			t.Errorf("%s: no folder permissions listed as not readable: %v", r.Mailbox, r.NotReadable)
		}
	}
	if exported == 0 {
		t.Error("nothing exported beside the blocked mailbox")
	}
	if f, n, err := b.src.CountMailbox(context.Background(), blocked); f != 0 || n != 0 || err != nil {
		t.Errorf("plan of the blocked mailbox: %d folders, %d items, %v; want nothing and no error", f, n, err)
	}
	var out bytes.Buffer
	partial, err := export.WriteSummary(&out, res, export.SummaryOptions{Folder: f, ArchiveDir: b.dir, Started: time.Now(),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if partial {
		t.Errorf("round partial:\n%s", out.String())
	}
	for _, want := range []string{"not read " + blocked + ": 1 × " + graph.ReasonBlocked, graph.ReasonFolderPermissions,
		"not read the organisation: " + graph.ReasonPublicFolders, "not read the organisation: " + graph.ReasonArchives,
		"not read the organisation: " + graph.ReasonNotes, "not read the organisation: " + graph.ReasonContactGroups} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}

// lastRoundKinds counts the archive entries of the last round by kind.
func lastRoundKinds(t *testing.T, dir string) map[archive.Kind]int {
	t.Helper()
	f, err := archive.OpenFolder(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := map[archive.Kind]int{}
	last := f.LastRound()
	if err := f.Walk(func(e *archive.Entry) error {
		if e.Round == last {
			n[e.Kind]++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestEngineGroupwareLikeEWS: over Graph, round 1 archives as many
// contacts and events as the EWS Source does from a second copy of the
// same org (same seed), and round 2 after the same Org.Mutate as many
// changed ones.
func TestEngineGroupwareLikeEWS(t *testing.T) {
	b, org, ewsSrc, ewsDir := newTwinBeds(t, 5, 2)
	for round := 1; round <= 2; round++ {
		if round == 2 {
			b.org.Mutate(6)
			org.Mutate(6)
		}
		b.run(t, "")
		runExport(t, org, ewsSrc, ewsDir, "")
		got, want := lastRoundKinds(t, b.dir), lastRoundKinds(t, ewsDir)
		for _, k := range []archive.Kind{archive.KindContact, archive.KindEvent, archive.KindTask} {
			if got[k] != want[k] || (round == 1 && want[k] == 0) {
				t.Errorf("round %d: %d %s entries over Graph, %d over EWS", round, got[k], k, want[k])
			}
		}
		if round == 1 {
			sameProps(t, archive.KindTask, b.dir, ewsDir, "SUMMARY", "STATUS", "DUE", "DESCRIPTION")
			sameEvents(t, b.dir, ewsDir)
			sameCalendarACLs(t, b.dir, ewsDir)
		}
	}
}

// lastRoundBodies returns the bodies of the last round's entries of kind
// k by item id in its EWS form (Graph's REST ids differ only in the base64
// alphabet).
func lastRoundBodies(t *testing.T, dir string, k archive.Kind) map[string]string {
	t.Helper()
	f, err := archive.OpenFolder(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	last := f.LastRound()
	err = f.Walk(func(e *archive.Entry) error {
		if e.Round != last || e.Kind != k {
			return nil
		}
		rc, err := f.Open(e)
		if err != nil {
			return err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		out[strings.NewReplacer("-", "+", "_", "/").Replace(e.ID)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// props returns the unfolded content lines of body whose property name is
// one of names, sorted (a VEVENT's order of EXDATEs and overrides is not
// meaningful).
func props(body string, names ...string) []string {
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n ", ""), "\r\n\t", ""), "\r\n") {
		name := l
		if i := strings.IndexAny(l, ";:"); i >= 0 {
			name = l[:i]
		}
		if slices.Contains(names, name) {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}

// sameProps checks that every entry of kind k in the EWS archive has an
// entry of the same id in the Graph archive with the same lines of the
// named properties.
func sameProps(t *testing.T, k archive.Kind, graphDir, ewsDir string, names ...string) {
	t.Helper()
	got, want := lastRoundBodies(t, graphDir, k), lastRoundBodies(t, ewsDir, k)
	if len(want) == 0 {
		t.Fatalf("no %s entries over EWS", k)
	}
	for id, w := range want {
		g, ok := got[id]
		if !ok {
			t.Errorf("%s %s: in the EWS archive, not in the Graph one", k, id)
			continue
		}
		if gp, wp := props(g, names...), props(w, names...); !slices.Equal(gp, wp) {
			t.Errorf("%s %s: Graph %q, EWS %q", k, id, gp, wp)
		}
	}
}

// sameEvents checks that every event of the EWS archive has one of the
// same id in the Graph archive with the same VEVENTs: summary, start,
// RECURRENCE-ID and EXDATE instants, rule, and TZID of the start.
func sameEvents(t *testing.T, graphDir, ewsDir string) {
	t.Helper()
	got, want := lastRoundBodies(t, graphDir, archive.KindEvent), lastRoundBodies(t, ewsDir, archive.KindEvent)
	overrides := 0
	for id, w := range want {
		gs, ws := eventSemantics(t, got[id]), eventSemantics(t, w)
		if !slices.Equal(gs, ws) {
			t.Errorf("event %s: Graph %q, EWS %q", id, gs, ws)
		}
		overrides += strings.Count(w, "RECURRENCE-ID")
	}
	if len(want) == 0 || overrides == 0 {
		t.Fatalf("%d events, %d overrides over EWS: nothing to compare", len(want), overrides)
	}
}

// eventSemantics describes each VEVENT of an iCalendar body, sorted.
func eventSemantics(t *testing.T, body string) []string {
	t.Helper()
	if body == "" {
		return nil
	}
	cal, err := ical.NewDecoder(strings.NewReader(body)).Decode()
	if err != nil {
		t.Fatalf("%v in\n%s", err, body)
	}
	instant := func(p ical.Prop) string {
		tm, err := p.DateTime(time.UTC)
		if err != nil {
			t.Fatalf("%s: %v", p.Value, err)
		}
		return strconv.FormatInt(tm.Unix(), 10)
	}
	var out []string
	for _, c := range cal.Children {
		if c.Name != ical.CompEvent {
			continue
		}
		dt := c.Props.Get(ical.PropDateTimeStart)
		d := []string{"SUMMARY=" + c.Props.Get(ical.PropSummary).Value, "DTSTART=" + instant(*dt), "TZID=" + dt.Params.Get(ical.ParamTimezoneID)}
		if p := c.Props.Get(ical.PropRecurrenceID); p != nil {
			d = append(d, "RECURRENCE-ID="+instant(*p))
		}
		for _, p := range c.Props[ical.PropExceptionDates] {
			d = append(d, "EXDATE="+instant(p))
		}
		if p := c.Props.Get(ical.PropRecurrenceRule); p != nil {
			d = append(d, "RRULE="+p.Value)
		}
		out = append(out, strings.Join(d, " "))
	}
	slices.Sort(out)
	return out
}

// sameCalendarACLs checks that each calendar folder of the EWS archive
// has the same ACL entries in the Graph archive (grantee and level; the
// rights of a Graph role come from format's level table, the EWS
// emulator's are its own), but for those of level None (Graph has no
// Anonymous entry).
func sameCalendarACLs(t *testing.T, graphDir, ewsDir string) {
	t.Helper()
	acls := func(dir string) map[string][]string {
		out := map[string][]string{}
		for id, body := range lastRoundBodies(t, dir, archive.KindFolder) {
			var fr struct {
				Class string      `json:"class"`
				ACL   *format.ACL `json:"acl"`
			}
			if err := json.Unmarshal([]byte(body), &fr); err != nil {
				t.Fatal(err)
			}
			if fr.Class != "IPF.Appointment" || fr.ACL == nil {
				continue
			}
			var es []string
			for _, e := range fr.ACL.Entries {
				if e.Level != "None" {
					es = append(es, fmt.Sprintf("%s %s %s", e.Grantee.Kind, e.Grantee.Address, e.Level))
				}
			}
			slices.Sort(es)
			out[id] = es
		}
		return out
	}
	got, want := acls(graphDir), acls(ewsDir)
	entries := 0
	for id, w := range want {
		entries += len(w)
		if g, ok := got[id]; !ok || !slices.Equal(g, w) {
			t.Errorf("calendar %s ACL: Graph %q, EWS %q", id, g, w)
		}
	}
	if entries == 0 {
		t.Fatal("no calendar ACL entries over EWS: nothing to compare")
	}
}
