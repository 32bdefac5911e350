package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/graph/graphtest"
)

// dualBed is one organisation served by both emulators at once: the EWS
// bed (export.conf, archive) and the Graph emulator on the same ewstest.Org
// (graph.conf, archive-graph).
type dualBed struct {
	*bed
	graph    *graphtest.Server
	env      []string // trusts the Graph emulator
	graphArc string
}

func newDualBed(t *testing.T, users int) *dualBed {
	t.Helper()
	b := newBed(t, ewstest.OrgOptions{Users: users}, nil)
	g, err := graphtest.Start(b.ews.Org, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	env := writeGraphConf(t, b.dir, "graph.conf", g)
	return &dualBed{bed: b, graph: g, env: env, graphArc: filepath.Join(b.dir, "archive-graph")}
}

// exportGraph runs iem-export over Graph into the Graph archive.
func (d *dualBed) exportGraph(extra ...string) (string, error) {
	return d.runGraph(d.env, filepath.Join(d.dir, "graph.conf"), d.graphArc, extra...)
}

// archiveContent is the logical view of an archive, keyed so that two
// Sources' archives of one organisation compare: "mailbox|folder
// path|kind|key" (key: Message-ID, a contact's FN, an event's or task's
// SUMMARY and RECURRENCE-ID; "" for folders), each with its content: the MIME's
// SHA-256 and the mail attributes, a vCard's or iCalendar's properties
// without the source identities and timestamps, a folder's class and
// attributes.
func archiveContent(t *testing.T, dir string) map[string]string {
	t.Helper()
	f, entries, paths := archiveFolders(t, dir, "")
	defer f.Close()
	out := map[string]string{}
	for _, e := range entries {
		var body []byte
		switch e.Kind {
		case archive.KindMessage, archive.KindContact, archive.KindEvent, archive.KindTask, archive.KindNote, archive.KindDistributionList, archive.KindFolder:
			r, err := f.Open(e)
			if err != nil {
				t.Fatal(err)
			}
			body, err = io.ReadAll(r)
			r.Close()
			if err != nil {
				t.Fatal(err)
			}
		}
		folder := paths[e.Mailbox+"\x00"+e.Folder]
		put := func(key, content string) {
			k := e.Mailbox + "|" + folder + "|" + e.Kind.String() + "|" + key
			if _, dup := out[k]; dup {
				t.Errorf("%s: %s twice", dir, k)
			}
			out[k] = content
		}
		switch e.Kind {
		case archive.KindFolder:
			k := e.Mailbox + "|" + paths[e.Mailbox+"\x00"+e.ID] + "|folder|"
			// The body holds the folder's permissions.
			out[k] = attrs(e.Attrs, "path") + "\npermissions " + folderBody(t, body)
		case archive.KindMessage:
			put(e.Attrs["message-id"], fmt.Sprintf("sha256 %x %s", sha256.Sum256(body), attrs(e.Attrs)))
		case archive.KindContact:
			key, props := vcardProps(t, body)
			put(key, props)
		case archive.KindEvent, archive.KindTask: // VEVENTs, a VTODO
			for key, props := range icalProps(t, body) {
				put(key, props)
			}
		case archive.KindNote, archive.KindDistributionList:
			put(e.Attrs["class"]+" "+fmt.Sprintf("%x", sha256.Sum256(body))[:12], attrs(e.Attrs))
		}
	}
	return out
}

// folderBody is a folder entry's body without the source's folder ids
// (the path is compared instead) and with its ACL compared by rights: a
// grantee's display name is a label of its address, and an Anonymous
// entry that grants nothing says what its absence says (Graph's
// calendarPermissions have no anonymous entry, graph.md §6).
func folderBody(t *testing.T, body []byte) string {
	t.Helper()
	var f map[string]any
	if err := json.Unmarshal(body, &f); err != nil {
		t.Fatalf("folder entry: %v\n%s", err, body)
	}
	delete(f, "id")
	delete(f, "parentId")
	if acl, ok := f["acl"].(map[string]any); ok {
		es, _ := acl["entries"].([]any)
		kept := []any{}
		for _, e := range es {
			m := e.(map[string]any)
			g, _ := m["grantee"].(map[string]any)
			if g["kind"] == "anonymous" && m["level"] == "None" {
				continue
			}
			delete(g, "displayName")
			kept = append(kept, m)
		}
		acl["entries"] = kept
	}
	b, _ := json.Marshal(f)
	return string(b)
}

// attrs renders attributes, sorted, without the given keys.
func attrs(a map[string]string, skip ...string) string {
	var kv []string
	for k, v := range a {
		if !slices.Contains(skip, k) {
			kv = append(kv, k+"="+v)
		}
	}
	sort.Strings(kv)
	return strings.Join(kv, " ")
}

// identityProps are what derive from the source's identities or the
// moment of conversion, not from the item.
var identityProps = []string{"UID", "REV", "PRODID", "DTSTAMP", "CREATED", "LAST-MODIFIED", "X-IEM-ID"}

func vcardProps(t *testing.T, body []byte) (string, string) {
	t.Helper()
	card, err := vcard.NewDecoder(bytes.NewReader(body)).Decode()
	if err != nil {
		t.Fatalf("vCard: %v\n%s", err, body)
	}
	var lines []string
	for name, fields := range card {
		if slices.Contains(identityProps, name) {
			continue
		}
		for _, f := range fields {
			lines = append(lines, fmt.Sprintf("%s%v:%s", name, f.Params, f.Value))
		}
	}
	sort.Strings(lines)
	return card.PreferredValue(vcard.FieldFormattedName), strings.Join(lines, "\n")
}

func icalProps(t *testing.T, body []byte) map[string]string {
	t.Helper()
	cal, err := ical.NewDecoder(bytes.NewReader(body)).Decode()
	if err != nil {
		t.Fatalf("iCalendar: %v\n%s", err, body)
	}
	out := map[string]string{}
	for _, c := range cal.Children {
		if c.Name != ical.CompEvent && c.Name != ical.CompToDo {
			continue
		}
		var lines []string
		var walk func(c *ical.Component, prefix string)
		walk = func(c *ical.Component, prefix string) {
			for name, props := range c.Props {
				if slices.Contains(identityProps, name) {
					continue
				}
				for _, p := range props {
					if l, ok := icalLine(name, p); ok {
						lines = append(lines, prefix+l)
					}
				}
			}
			for _, k := range c.Children {
				walk(k, prefix+k.Name+"/")
			}
		}
		walk(c, "")
		sort.Strings(lines)
		out[propText(c, ical.PropSummary)+" "+propText(c, ical.PropRecurrenceID)] = strings.Join(lines, "\n")
	}
	return out
}

// icalDefaults are property values that say what their absence says
// (RFC 5545 §3.8.1.3 CLASS, §3.8.2.7 TRANSP; the busy status Outlook
// derives from TRANSP).
var icalDefaults = map[string]string{"CLASS": "PUBLIC", "TRANSP": "OPAQUE", "X-MICROSOFT-CDO-BUSYSTATUS": "BUSY"}

// icalLine renders one property semantically: date-times as UTC instants
// whatever their TZID, default values as absent.
func icalLine(name string, p ical.Prop) (string, bool) {
	if icalDefaults[name] == p.Value {
		return "", false
	}
	switch name {
	case ical.PropDateTimeStart, ical.PropDateTimeEnd, ical.PropRecurrenceID, ical.PropExceptionDates:
		if p.Params.Get(ical.ParamValue) != "DATE" {
			var inst []string
			for _, v := range strings.Split(p.Value, ",") {
				q := p
				q.Value = v
				tm, err := q.DateTime(time.UTC)
				if err != nil {
					return fmt.Sprintf("%s:unparsable %q: %v", name, p.Value, err), true
				}
				inst = append(inst, tm.UTC().Format("20060102T150405Z"))
			}
			return name + ":" + strings.Join(inst, ","), true
		}
	}
	return fmt.Sprintf("%s%v:%s", name, p.Params, p.Value), true
}

// graphDifference names what an archive over Graph holds differently from
// one over EWS of the same organisation, by design; "" for a difference
// that is a bug. ews and graph are the two contents of key ("" = absent).
func graphDifference(key, ews, graph string) string {
	mbx, rest, _ := strings.Cut(key, "|")
	path, rest, _ := strings.Cut(rest, "|")
	kind, _, _ := strings.Cut(rest, "|")
	switch {
	case mbx == "" && graph == "":
		return "public folders are not readable through Graph (graph.md §9)"
	case kind == "note" && graph == "":
		return "notes are not readable through Graph v1.0"
	case kind == "folder" && graph == "" && strings.Contains(ews, "class=IPF.StickyNote"):
		return "note folders are not readable through Graph v1.0"
	case kind == "folder" && ews != "" && graph != "" && withoutACL(ews) == withoutACL(graph) && !strings.Contains(ews, "class=IPF.Appointment"):
		return "mail and contact folder permissions are not readable through Graph (graph.md §6)"
	case kind == "task" && ews != "" && graph != "" && withoutPercent(ews) == withoutPercent(graph):
		return "a task's percent complete is not readable through Graph (To Do has only a status)"
	case kind == "distribution-list" && graph == "":
		return "personal distribution lists (contact groups) are not readable through Graph v1.0"
	}
	_ = path
	return ""
}

// withoutPercent is a task's properties without PERCENT-COMPLETE.
func withoutPercent(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(l, "PERCENT-COMPLETE") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// withoutACL is a folder's attributes without its permissions.
func withoutACL(s string) string {
	a, _, _ := strings.Cut(s, "\npermissions ")
	return a
}

// compareSources compares the EWS and the Graph archive of one org: every
// difference must be one graphDifference names, and each named one is
// counted.
func compareSources(t *testing.T, round int, ewsDir, graphDir string) (same int, named map[string]int) {
	t.Helper()
	e, g := archiveContent(t, ewsDir), archiveContent(t, graphDir)
	named = map[string]int{}
	keys := map[string]bool{}
	for k := range e {
		keys[k] = true
	}
	for k := range g {
		keys[k] = true
	}
	for _, k := range sortedKeys(keys) {
		ev, gv := e[k], g[k]
		if ev == gv {
			same++
			continue
		}
		if why := graphDifference(k, ev, gv); why != "" {
			named[why]++
			continue
		}
		t.Errorf("round %d: %s differs:\nEWS:   %q\nGraph: %q", round, k, ev, gv)
	}
	return same, named
}

// TestGraphArchiveEqualsEWS: one organisation exported over EWS and over
// Graph, in two rounds (Org.Mutate between), gives archives equal item for
// item: the same folders, the same MIME bytes and mail attributes per
// message, the same vCard and iCalendar properties per contact and event.
// The differences Graph cannot avoid are named (graphDifference) and must
// occur. Then the Graph archive checks equal against the IceWarp target
// the EWS archive was imported into (iem-import check: every message in
// its folder once, nothing else).
func TestGraphArchiveEqualsEWS(t *testing.T) {
	d := newDualBed(t, 3)
	for round := 1; round <= 2; round++ {
		if round == 2 {
			d.ews.NextRound(2)
		}
		d.mustExport(t)
		out, err := d.exportGraph()
		mustOK(t, fmt.Sprintf("graph export round %d", round), out, err)
		same, named := compareSources(t, round, d.arch, d.graphArc)
		t.Logf("round %d: %d entries equal; named differences %v", round, same, named)
		if same < 100 {
			t.Errorf("round %d: only %d equal entries", round, same)
		}
		for _, why := range []string{"public folders are not readable through Graph (graph.md §9)",
			"mail and contact folder permissions are not readable through Graph (graph.md §6)"} {
			if named[why] == 0 {
				t.Errorf("round %d: the named difference %q did not occur: the test no longer sees it", round, why)
			}
		}
	}
	out, err := d.importRun()
	mustOK(t, "import of the EWS archive", out, err)
	cmd := d.command("iem-import", "check", "--config", filepath.Join(d.dir, "import.conf"), "--archive", d.graphArc)
	b, err := cmd.CombinedOutput()
	// The public folders are in the EWS archive only: the target's
	// public-folders account is not in the Graph archive, so check reads
	// only the mailboxes both hold.
	if exitCode(err) != 0 || !strings.Contains(string(b), " 0 missing on target, 0 extra or duplicated on target, 0 errors") {
		t.Errorf("check of the Graph archive against the target the EWS archive was imported into: exit %d\n%s", exitCode(err), lastLines(string(b), 20))
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

// TestGraphThrottleStorm: a run through a storm of 429s with Retry-After
// completes with everything exported; the emulator saw every throttled
// request come back only after its Retry-After (none early), and the
// summary reports the time waited on throttling.
func TestGraphThrottleStorm(t *testing.T) {
	b := newGraphBed(t, 2)
	// The storm throttles the directory read, the folder deltas and 40
	// $value reads once each (a request that waited its Retry-After then
	// passes, as throttling by Graph's limits does), three of them with 503.
	const after = 150 * time.Millisecond
	rest := strings.NewReplacer("+", "-", "/", "_") // the emulator's REST ids
	paths := []string{"/v1.0/users", "/messages/delta", "/messages/delta"}
	for _, u := range b.graph.Org.Users {
		for _, f := range b.graph.Org.Folders(u.SMTP) {
			for _, it := range f.Items {
				if f.Class == "IPF.Note" && len(paths) < 43 {
					paths = append(paths, "/messages/"+rest.Replace(it.ID)+"/$value")
				}
			}
		}
	}
	storm := len(paths)
	for i, p := range paths {
		kind := graphtest.Fault429
		if i%15 == 14 {
			kind = graphtest.Fault503
		}
		b.graph.Inject(graphtest.Fault{Kind: kind, Path: p, RetryAfter: after})
	}
	summary := filepath.Join(b.dir, "summary.json")
	out, err := b.export("--summary-json", summary)
	mustOK(t, "export through the 429 storm", out, err)
	c := b.graph.Counters()
	if n := b.graph.Injected(graphtest.Fault429) + b.graph.Injected(graphtest.Fault503); n != storm || c.Throttled != storm || storm < 40 {
		t.Errorf("%d 429s and 503s injected, %d sent; want %d (at least 40)", n, c.Throttled, storm)
	}
	checkMailboxConcurrency(t, c)
	if c.EarlyRetries != 0 || c.HonouredWaits != c.Throttled {
		t.Errorf("%d requests came back before their Retry-After, %d after it, of %d throttled", c.EarlyRetries, c.HonouredWaits, c.Throttled)
	}
	// Each throttled request waited at least its Retry-After; waits
	// overlap across jobs, but every waiting request counts its own.
	if w := summaryWaited(t, summary, true); w < after*time.Duration(storm)/2 {
		t.Errorf("the summary reports %v waited on throttling after %d Retry-Afters of %v", w, storm, after)
	}
	if !strings.Contains(out, "waiting on server back-off") || strings.Contains(out, " 0s waiting on server back-off") {
		t.Errorf("the summary line does not report the time waited:\n%s", lastLines(out, 3))
	}
	clean := newGraphBed(t, 2)
	out, err = clean.export()
	mustOK(t, "clean export", out, err)
	if got, want := archivedItems(t, b.arch), archivedItems(t, clean.arch); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after the storm the archive holds %v, a clean export %v", got, want)
	}
}

// graphReadable are the folder classes the Graph source reads.
var graphReadable = []string{"IPF.Note", "IPF.Contact", "IPF.Appointment"}

// orgState is what the org holds in the folders Graph reads, by REST id:
// "folder" for folders, else the item's change key and read state.
func orgState(org *ewstest.Org) map[string]string {
	rest := strings.NewReplacer("+", "-", "/", "_")
	st := map[string]string{}
	for _, u := range org.Users {
		for _, f := range org.Folders(u.SMTP) {
			if !slices.Contains(graphReadable, f.Class) {
				continue
			}
			st[u.SMTP+" "+rest.Replace(f.ID)] = "folder"
			for _, it := range f.Items {
				if it.Type == "Message" || it.Type == "Contact" || it.Type == "CalendarItem" {
					st[u.SMTP+" "+rest.Replace(it.ID)] = fmt.Sprintf("%s read=%v", it.ChangeKey, it.IsRead)
				}
			}
		}
	}
	return st
}

// TestGraphRound2ExactChanges: after changes (new, edited, moved, deleted,
// read-state and follow-up-flag changes, a new contact, a changed event,
// a new folder), round 2 over Graph archives exactly those: a new version
// of each new or changed item, a state entry for each read-state change,
// a tombstone for each item gone from its folder, a folder entry for each
// new folder, and nothing else.
func TestGraphRound2ExactChanges(t *testing.T) {
	b := newGraphBed(t, 2)
	out, err := b.export()
	mustOK(t, "graph export round 1", out, err)
	org := b.graph.Org
	before := orgState(org)
	org.Mutate(2)
	for _, u := range org.Users {
		sent := org.FolderItems(u.SMTP, "sentitems")
		if len(sent) < 2 || !org.SetFlag(u.SMTP, sent[0], 2) {
			t.Fatalf("%s: no sent message to flag", u.SMTP)
		}
	}
	after := orgState(org)
	want := map[string]bool{}
	for k, v := range after {
		switch old, ok := before[k]; {
		case !ok && v == "folder":
			want["folder "+k] = true
		case !ok || v != "folder" && strings.Fields(old)[0] != strings.Fields(v)[0]:
			want["item "+k] = true
		case old != v:
			want["state "+k] = true
		}
	}
	for k, v := range before {
		if _, ok := after[k]; !ok && v != "folder" {
			want["tombstone "+k] = true
		}
	}
	out, err = b.export()
	mustOK(t, "graph export round 2", out, err)
	checkMailboxConcurrency(t, b.graph.Counters())
	f, err := archive.OpenFolder(b.arch, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := map[string]bool{}
	last := f.LastRound()
	f.Walk(func(e *archive.Entry) error {
		if e.Round != last {
			return nil
		}
		k := e.Mailbox + " " + e.ID
		switch e.Kind {
		case archive.KindMessage, archive.KindContact, archive.KindEvent:
			k = "item " + k
		case archive.KindState, archive.KindTombstone, archive.KindFolder:
			k = e.Kind.String() + " " + k
		default:
			return nil // delta markers, the directory
		}
		if got[k] {
			t.Errorf("round 2 archived %s twice", k)
		}
		got[k] = true
		return nil
	})
	var missing, extra []string
	for k := range want {
		if !got[k] {
			missing = append(missing, k)
		}
	}
	for k := range got {
		if !want[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing)+len(extra) > 0 || len(want) < 10 {
		t.Errorf("round 2 over Graph: %d changes in the org; not archived %v; archived but not changed %v", len(want), missing, extra)
	}
	kinds := map[string]int{}
	for k := range want {
		kinds[strings.Fields(k)[0]]++
	}
	t.Logf("round 2 archived exactly the %d changes: %v", len(want), kinds)
	if kinds["state"] == 0 || kinds["tombstone"] == 0 || kinds["folder"] == 0 {
		t.Errorf("the changes lack a kind: %v", kinds)
	}
}

// selfSignedPEM is a new RSA key and certificate in one PEM file: an app
// certificate that is not the registered one.
func selfSignedPEM(t *testing.T) []byte {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "not the registered app"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
}

// TestGraphBadInputWritesNothing: over certificate credentials, a wrong
// tenant, an unknown client id, a certificate that is not the registered
// one, an http:// Graph endpoint and an app without one of its
// application permissions each exit 2 with a message naming the setting,
// and leave every file of the test bed as it was (no archive, no log).
// The registered certificate exports.
func TestGraphBadInputWritesNothing(t *testing.T) {
	b := newGraphBed(t, 1)
	g := b.graph
	login := strings.TrimSuffix(g.Authority(), "/"+g.Tenant())
	good := write(t, b.dir, "app.pem", string(g.KeyPEM())+string(g.CertificatePEM()))
	bad := write(t, b.dir, "other.pem", string(selfSignedPEM(t)))
	conf := write(t, b.dir, "cert.conf", fmt.Sprintf("source = graph\ntenant = %s\nclient-id = %s\ncertificate-file = %s\ngraph-endpoint = %s\nlogin-endpoint = %s\nlog-level = warn\n",
		g.Tenant(), g.ClientID(), good, g.GraphURL(), login))
	cases := []struct {
		name  string
		args  []string
		field string
		want  string // also in the message
	}{
		{"wrong tenant", []string{"--tenant", "fabrikam.onmicrosoft.com"}, "--tenant", ""},
		{"unknown client id", []string{"--client-id", "00000000-0000-0000-0000-000000000001"}, "--client-id", ""},
		{"certificate not registered", []string{"--certificate-file", bad}, "--certificate-file", ""},
		{"http endpoint", []string{"--graph-endpoint", "http://" + strings.TrimPrefix(g.GraphURL(), "https://")}, "--graph-endpoint", "https"},
		{"missing permission", nil, "--client-id", "Mail.Read"},
	}
	for _, tc := range cases {
		if tc.name == "missing permission" {
			g.Revoke("Mail.Read")
		}
		before := tree(t, b.dir)
		out, err := b.runGraph(b.env, conf, b.arch, tc.args...)
		if exitCode(err) != 2 || !strings.Contains(out, tc.field) || !strings.Contains(out, tc.want) {
			t.Errorf("%s: exit %d, want 2 naming %s %s:\n%s", tc.name, exitCode(err), tc.field, tc.want, out)
		}
		if diff := sameTree(before, tree(t, b.dir)); len(diff) > 0 {
			t.Errorf("%s: the run wrote %v", tc.name, diff)
		}
		if strings.Contains(out, "PRIVATE KEY") || strings.Contains(out, g.ClientSecret()) {
			t.Errorf("%s: the output shows a key or the secret", tc.name)
		}
	}
	// The same settings with the registered certificate and every
	// permission export.
	ok := newGraphBed(t, 1)
	okPEM := write(t, ok.dir, "app.pem", string(ok.graph.KeyPEM())+string(ok.graph.CertificatePEM()))
	out, err := ok.export("--certificate-file", okPEM, "--client-secret-file", "")
	mustOK(t, "export with the registered certificate", out, err)
	if n := archivedItems(t, ok.arch); len(n) == 0 {
		t.Error("the export with the registered certificate archived nothing")
	}
}

// checkMailboxConcurrency: the export never had more requests in flight
// to one mailbox than Outlook serves (graph.md §7), so the emulator never
// answered "over its MailboxConcurrency limit".
func checkMailboxConcurrency(t *testing.T, c graphtest.Counters) {
	t.Helper()
	if c.OverConcurrency != 0 || c.MaxInFlight < 1 || c.MaxInFlight > 4 {
		t.Errorf("%d requests over the mailbox concurrency limit, at most %d in flight to one mailbox; want 0 and 1-4", c.OverConcurrency, c.MaxInFlight)
	}
	t.Logf("at most %d requests in flight to one mailbox", c.MaxInFlight)
}
