package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"maps"
	"net/textproto"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // TZID=Europe/Berlin on machines without a zoneinfo database

	"github.com/emersion/go-ical"
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-vcard"

	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/format"
	"github.com/iemproject/iem/icewarp"
)

// TestEqualityAfterEveryRound migrates a generated organisation in four
// rounds (the first full, then three with the emulator's changes: new,
// edited, moved, deleted and re-flagged messages, a new contact, a changed
// event, a new folder, new and edited public-folder posts; plus those of
// changeMore) and after each round compares the whole target with the
// source organisation, item by item, without iem's own check command:
//
//   - mail, read over IMAP as the administrator acting as each account:
//     every source message exactly once, byte for byte, in the folder its
//     source folder maps to, with \Seen iff read, \Flagged iff flagged,
//     no other flag but category keywords (format.KeywordCategory decodes
//     them), and INTERNALDATE equal to the received time; no other folder
//     and no other message;
//   - contacts, distribution lists, events, tasks and notes, read from the
//     emulator's WebDAV store and parsed: one resource per source item,
//     semantically equal; every other collection empty;
//   - folder permissions: IMAP GETACL for mail folders and the admin API's
//     folder permissions for GroupWare folders equal the source permissions
//     mapped by format.ACL;
//   - accounts: one per mailbox, one group per distribution group with its
//     members, and the public-folders group holding the public folders;
//     nothing else.
//
// The expected target is built from the emulator's organisation
// (ewstest.Org.Folders), never from the archive. GroupWare resources are
// read from the emulator's store (icewarptest DAVItems), which shows
// everything stored, not only what a PROPFIND would list.
//
// Not compared, as the emulators cannot show them or iem does not carry
// them: which categories a message has (ewstest.ItemSnapshot does not
// show them; replay's and imapsink's tests check the keywords exactly);
// the effect of an edit on MIME content (ewstest keeps an
// edited message's MIME, so an edit proves only that it is not
// duplicated); event bodies, reminders and time zones beyond the instants
// they give; contact fields the emulator does not generate.
func TestEqualityAfterEveryRound(t *testing.T) {
	b := newBed(t, ewstest.OrgOptions{Users: 3}, nil)
	for round := 1; round <= 4; round++ {
		if round > 1 {
			b.ews.NextRound(int64(round))
		}
		changeMore(t, b.ews.Org, round)
		// With a WebDAV endpoint nothing is left out: both runs must
		// end with exit 0, not mustOK's tolerated exit 3.
		out, err := b.export()
		if c := exitCode(err); c != 0 {
			t.Fatalf("export round %d: exit %d\n%s", round, c, out)
		}
		out, err = b.importRun("--webdav-url", b.iw.WebDAVURL())
		if c := exitCode(err); c != 0 {
			t.Fatalf("import round %d: exit %d\n%s", round, c, out)
		}
		n := b.assertEqual(t, round)
		t.Logf("round %d equal: %d accounts (%d groups, %d members), %d mail folders, %d messages (bytes, flags, date; %d category keywords), "+
			"%d GroupWare items (%d contacts and lists, %d events, %d tasks, %d notes), %d permissions",
			round, n.accounts, n.groups, n.members, n.folders, n.messages, n.keywords, n.contacts+n.events+n.tasks+n.notes,
			n.contacts, n.events, n.tasks, n.notes, n.perms)
		if t.Failed() {
			t.FailNow()
		}
	}
}

// changeMore adds changes the emulator's NextRound does not make: a
// large message, a public folder whose name holds the IMAP delimiter,
// messages in a sent folder and in a deep folder whose name holds "/".
func changeMore(t *testing.T, org *ewstest.Org, round int) {
	t.Helper()
	users := org.Users
	switch round {
	case 2:
		org.AddLargeMessage(users[1].SMTP, 3<<20, 2)
	case 3:
		var company string
		for _, f := range org.Folders("") {
			if slices.Equal(f.Path, []string{"Company"}) {
				company = f.ID
			}
		}
		id := org.AddPublicFolder(company, "Runde 3 / Neu")
		if company == "" || id == "" || len(org.AddMessages("", id, 2)) != 2 {
			t.Fatal("round 3: public folder not added")
		}
	case 4:
		var deep string
		for _, f := range org.Folders(users[0].SMTP) {
			if len(f.Path) == 3 && f.Path[1] == "Projekte" {
				deep = f.ID
			}
		}
		if len(org.AddMessages(users[2].SMTP, "sentitems", 2)) != 2 || deep == "" || len(org.AddMessages(users[0].SMTP, deep, 1)) != 1 {
			t.Fatal("round 4: messages not added")
		}
	}
}

// counts are what one comparison covered.
type counts struct {
	accounts, groups, members, folders, messages, keywords, contacts, events, tasks, notes, perms int
}

// wantMessage is one source message as the target must hold it.
type wantMessage struct {
	id            string // source item id
	body          []byte
	seen, flagged bool
	date          time.Time
}

// wantAccount is what one target account must hold.
type wantAccount struct {
	mail    map[string]map[string]wantMessage // folder → Message-ID → message
	mailACL map[string]map[string]string      // folder → identifier → IMAP rights
	dav     map[string][]string               // collection → item signatures
	davType map[string]string                 // collection → IceWarp folder type
	davACL  map[string]map[string]string      // collection → identifier → IceWarp rights
}

const pfEmail = "public-folders@example.com" // --public-folders-group "Public Folders" in the first domain

// expectAccount maps the source folders of one mailbox (smtp "" for the
// public folders) to what the target account must hold.
func expectAccount(t *testing.T, org *ewstest.Org, smtp string) *wantAccount {
	t.Helper()
	w := &wantAccount{mail: map[string]map[string]wantMessage{"INBOX": {}}, mailACL: map[string]map[string]string{},
		dav: map[string][]string{}, davType: map[string]string{}, davACL: map[string]map[string]string{}}
	for _, f := range org.Folders(smtp) {
		var path []string
		skip := false
		for i, name := range f.Path {
			ft := format.FolderTarget(f.Distinguished[i], name, nil)
			skip = skip || ft.Skip
			if ft.Name != "" {
				path = append(path, ft.Name)
			}
		}
		if skip || len(path) == 0 {
			if len(f.Items) > 0 {
				t.Errorf("%s: source folder %q holds %d items but maps to no target folder", smtp, f.Path, len(f.Items))
			}
			continue
		}
		acl := sourceACL(t, f.Permissions)
		// Full Access (from the LDIF's mailbox descriptor) is Owner on
		// every folder, replacing the grantee's own entry (replay/grants.go).
		for _, u := range org.Users {
			if strings.EqualFold(u.SMTP, smtp) && len(u.FullAccess) > 0 {
				owner, _ := format.LevelRights("Owner")
				var es []format.ACLEntry
				for _, e := range acl.Entries {
					if !slices.ContainsFunc(u.FullAccess, func(a string) bool { return strings.EqualFold(a, e.Grantee.Address) }) {
						es = append(es, e)
					}
				}
				for _, a := range u.FullAccess {
					es = append(es, format.ACLEntry{Grantee: format.Grantee{Kind: format.GranteeUser, Address: a}, Level: "Owner", Rights: owner})
				}
				acl.Entries = es
			}
		}
		typ := format.FolderType(f.Class)
		if typ == "M" {
			name := strings.Join(path, "/")
			msgs := map[string]wantMessage{}
			for _, it := range f.Items {
				body := it.MIME
				if it.LargeSize > 0 {
					var err error
					if body, err = io.ReadAll(ewstest.LargeMIME(it.LargeSize, it.LargeSeed)); err != nil {
						t.Fatal(err)
					}
				}
				if it.Type != "Message" && it.Type != "PostItem" || body == nil {
					t.Errorf("%s %s: source item %s (%s) is not modelled by this test", smtp, name, it.ID, it.Type)
					continue
				}
				id := messageID(body)
				if _, dup := msgs[id]; dup || id == "" {
					t.Fatalf("%s %s: source Message-ID %q empty or twice; the comparison needs unique ids", smtp, name, id)
				}
				msgs[id] = wantMessage{id: it.ID, body: body, seen: it.IsRead, flagged: it.Flag == 2, date: it.Received}
			}
			w.mail[name] = msgs
			granted, _ := acl.IMAPRights()
			w.mailACL[name] = rightsMap(granted)
			continue
		}
		coll := strings.Join(path, ":") // IceWarp's GroupWare subfolder separator
		w.davType[coll] = typ
		granted, _ := acl.IceWarpRights()
		w.davACL[coll] = rightsMap(granted)
		sigs := []string{}
		for _, it := range f.Items {
			sigs = append(sigs, sourceSignatures(t, it)...)
		}
		w.dav[coll] = sigs
	}
	return w
}

// sourceACL builds the canonical ACL of a source folder from its
// permission levels.
func sourceACL(t *testing.T, perms []ewstest.Permission) format.ACL {
	t.Helper()
	var acl format.ACL
	for _, p := range perms {
		r, ok := format.LevelRights(p.Level)
		if !ok {
			t.Fatalf("permission level %q unknown to format.LevelRights", p.Level)
		}
		g := format.Grantee{Kind: format.GranteeUser, Address: p.User}
		switch p.User {
		case "Default":
			g = format.Grantee{Kind: format.GranteeDefault}
		case "Anonymous":
			g = format.Grantee{Kind: format.GranteeAnonymous}
		}
		acl.Entries = append(acl.Entries, format.ACLEntry{Grantee: g, Level: p.Level, Rights: r})
	}
	return acl
}

// rightsMap keeps the grants with rights; an empty grant is no entry on
// the target.
func rightsMap(granted []format.GrantedRights) map[string]string {
	m := map[string]string{}
	for _, g := range granted {
		if g.Rights != "" {
			m[strings.ToLower(g.Identifier)] = g.Rights
		}
	}
	return m
}

// utc formats an instant as iCalendar UTC date-time.
func utc(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// sourceSignatures returns the semantic signature of a GroupWare source
// item, as targetSignatures computes it from the stored resource.
func sourceSignatures(t *testing.T, it ewstest.ItemSnapshot) []string {
	switch it.Type {
	case "Contact":
		return []string{sig("contact", "FN", it.GivenName+" "+it.Surname, "N", it.Surname+";"+it.GivenName,
			"EMAIL", it.Email, "TEL", it.Phone, "ORG", it.Company)}
	case "DistributionList":
		m := slices.Clone(it.Members)
		sort.Strings(m)
		return []string{sig("group", "FN", it.Subject, "MEMBER", strings.Join(m, ","))}
	case "CalendarItem":
		comps := []string{eventSig(it, it.UID, "")}
		for _, oc := range it.Occurrences {
			comps = append(comps, eventSig(oc, it.UID, utc(oc.OriginalStart)))
		}
		sort.Strings(comps)
		return []string{strings.Join(comps, "\n")}
	case "Task":
		status := map[string]string{"NotStarted": "NEEDS-ACTION", "InProgress": "IN-PROCESS", "Completed": "COMPLETED"}[it.Status]
		// Exchange keeps a task's due day as local midnight in UTC; the
		// emulator's due times are not midnights, so the day is the
		// nearest one (documented gap of ewstest).
		due := it.Due.UTC().Add(12 * time.Hour).Truncate(24 * time.Hour)
		return []string{sig("task", "SUMMARY", it.Subject, "STATUS", status, "PERCENT-COMPLETE", fmt.Sprint(it.PercentComplete),
			"DUE", "D:"+due.Format("20060102"))}
	case "Message":
		if it.Class == "IPM.StickyNote" {
			return []string{sig("note", "SUMMARY", it.Subject)}
		}
	}
	t.Errorf("source item %s (%s %s) in a GroupWare folder is not modelled by this test", it.ID, it.Type, it.Class)
	return nil
}

// eventSig is one VEVENT's signature: rid is "" for a master or single
// event, else the RECURRENCE-ID instant.
func eventSig(it ewstest.ItemSnapshot, uid, rid string) string {
	start, end := utc(it.Start), utc(it.End)
	if it.AllDay {
		start, end = "D:"+it.Start.UTC().Format("20060102"), "D:"+it.End.UTC().Format("20060102")
	}
	var rrule, exdate, att, org string
	if it.Recurring {
		// Weekly on the start's weekday until ten weeks later
		// (ewstest writeCalendar).
		rrule = "FREQ=WEEKLY;BYDAY=" + strings.ToUpper(it.Start.UTC().Weekday().String()[:2]) +
			";UNTIL-DATE=" + it.Start.UTC().Add(10*7*24*time.Hour).Format("20060102")
		var ex []string
		for _, d := range it.DeletedOccurrences {
			ex = append(ex, utc(d))
		}
		sort.Strings(ex)
		exdate = strings.Join(ex, ",")
	}
	if rid == "" && len(it.Attendees) > 0 {
		var a []string
		for _, u := range it.Attendees {
			a = append(a, strings.ToLower(u))
		}
		sort.Strings(a)
		att, org = strings.Join(a, ","), strings.ToLower(it.Organizer)
	}
	return sig("event", "UID", uid, "RECURRENCE-ID", rid, "SUMMARY", it.Subject, "DTSTART", start, "DTEND", end,
		"LOCATION", it.Location, "RRULE", rrule, "EXDATE", exdate, "ORGANIZER", org, "ATTENDEE", att)
}

func sig(kind string, kv ...string) string {
	var b strings.Builder
	b.WriteString(kind)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			fmt.Fprintf(&b, " %s=%q", kv[i], kv[i+1])
		}
	}
	return b.String()
}

// targetSignatures parses a stored GroupWare resource.
func targetSignatures(ct string, body []byte) ([]string, error) {
	switch {
	case strings.HasPrefix(ct, "text/vcard"):
		card, err := vcard.NewDecoder(bytes.NewReader(body)).Decode()
		if err != nil {
			return nil, err
		}
		if strings.EqualFold(card.Value(vcard.FieldKind), "group") {
			var m []string
			for _, v := range card.Values(vcard.FieldMember) {
				m = append(m, strings.ToLower(strings.TrimPrefix(v, "mailto:")))
			}
			sort.Strings(m)
			return []string{sig("group", "FN", card.Value(vcard.FieldFormattedName), "MEMBER", strings.Join(m, ","))}, nil
		}
		n := ""
		if nm := card.Name(); nm != nil {
			n = nm.FamilyName + ";" + nm.GivenName
		}
		return []string{sig("contact", "FN", card.Value(vcard.FieldFormattedName), "N", n,
			"EMAIL", strings.Join(card.Values(vcard.FieldEmail), ","), "TEL", strings.Join(card.Values(vcard.FieldTelephone), ","),
			"ORG", card.Value(vcard.FieldOrganization))}, nil
	case strings.HasPrefix(ct, "text/calendar"):
		cal, err := ical.NewDecoder(bytes.NewReader(body)).Decode()
		if err != nil {
			return nil, err
		}
		var events []string
		var out []string
		for _, c := range cal.Children {
			switch c.Name {
			case ical.CompEvent:
				s, err := targetEventSig(c)
				if err != nil {
					return nil, err
				}
				events = append(events, s)
			case ical.CompToDo:
				due, err := icalTimes(c.Props.Get(ical.PropDue))
				if err != nil {
					return nil, err
				}
				out = append(out, sig("task", "SUMMARY", propText(c, ical.PropSummary), "STATUS", propText(c, ical.PropStatus),
					"PERCENT-COMPLETE", propText(c, ical.PropPercentComplete), "DUE", due))
			case ical.CompTimezone:
			default:
				return nil, fmt.Errorf("unexpected component %s", c.Name)
			}
		}
		if len(events) > 0 {
			sort.Strings(events)
			out = append(out, strings.Join(events, "\n"))
		}
		return out, nil
	case strings.HasPrefix(ct, "text/x-vnote"):
		sc := bufio.NewScanner(bytes.NewReader(body))
		for sc.Scan() {
			name, value, _ := strings.Cut(sc.Text(), ":")
			if n, _, _ := strings.Cut(name, ";"); strings.EqualFold(n, "SUMMARY") {
				return []string{sig("note", "SUMMARY", value)}, nil
			}
		}
		return []string{sig("note")}, nil
	}
	return nil, fmt.Errorf("unexpected content type %q", ct)
}

func propText(c *ical.Component, name string) string {
	if p := c.Props.Get(name); p != nil {
		s, err := p.Text()
		if err == nil {
			return s
		}
		return p.Value
	}
	return ""
}

func targetEventSig(c *ical.Component) (string, error) {
	times := map[string]string{}
	for _, name := range []string{ical.PropDateTimeStart, ical.PropDateTimeEnd, ical.PropRecurrenceID} {
		v, err := icalTimes(c.Props.Get(name))
		if err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		times[name] = v
	}
	var ex []string
	for _, p := range c.Props.Values(ical.PropExceptionDates) {
		v, err := icalTimes(&p)
		if err != nil {
			return "", fmt.Errorf("EXDATE: %w", err)
		}
		ex = append(ex, strings.Split(v, ",")...)
	}
	sort.Strings(ex)
	rrule := ""
	if p := c.Props.Get(ical.PropRecurrenceRule); p != nil {
		parts := map[string]string{}
		for _, kv := range strings.Split(p.Value, ";") {
			k, v, _ := strings.Cut(kv, "=")
			parts[strings.ToUpper(k)] = v
		}
		rrule = "FREQ=" + parts["FREQ"] + ";BYDAY=" + parts["BYDAY"]
		if parts["INTERVAL"] != "" && parts["INTERVAL"] != "1" || parts["COUNT"] != "" {
			rrule += ";INTERVAL=" + parts["INTERVAL"] + ";COUNT=" + parts["COUNT"]
		}
		if u := parts["UNTIL"]; u != "" {
			// The series ends on a local date: compare UNTIL's date in
			// the zone of DTSTART.
			loc := time.UTC
			if tz := c.Props.Get(ical.PropDateTimeStart).Params.Get(ical.ParamTimezoneID); tz != "" {
				var err error
				if loc, err = time.LoadLocation(tz); err != nil {
					return "", err
				}
			}
			ut, err := time.Parse("20060102T150405Z", u)
			if err != nil {
				return "", fmt.Errorf("UNTIL %q: %w", u, err)
			}
			rrule += ";UNTIL-DATE=" + ut.In(loc).Format("20060102")
		}
	}
	var att []string
	for _, p := range c.Props.Values(ical.PropAttendee) {
		att = append(att, strings.ToLower(strings.TrimPrefix(strings.ToLower(p.Value), "mailto:")))
	}
	sort.Strings(att)
	org := ""
	if p := c.Props.Get(ical.PropOrganizer); p != nil && len(att) > 0 {
		org = strings.TrimPrefix(strings.ToLower(p.Value), "mailto:")
	}
	return sig("event", "UID", propText(c, ical.PropUID), "RECURRENCE-ID", times[ical.PropRecurrenceID],
		"SUMMARY", propText(c, ical.PropSummary), "DTSTART", times[ical.PropDateTimeStart], "DTEND", times[ical.PropDateTimeEnd],
		"LOCATION", propText(c, ical.PropLocation), "RRULE", rrule, "EXDATE", strings.Join(ex, ","),
		"ORGANIZER", org, "ATTENDEE", strings.Join(att, ",")), nil
}

// icalTimes returns a date or date-time property's values as UTC instants
// ("20060102T150405Z") or dates ("D:20060102"), comma-separated.
func icalTimes(p *ical.Prop) (string, error) {
	if p == nil {
		return "", nil
	}
	loc := time.UTC
	if tz := p.Params.Get(ical.ParamTimezoneID); tz != "" {
		var err error
		if loc, err = time.LoadLocation(tz); err != nil {
			return "", err
		}
	}
	var out []string
	for _, v := range strings.Split(p.Value, ",") {
		switch {
		case len(v) == 8:
			out = append(out, "D:"+v)
		case strings.HasSuffix(v, "Z"):
			tm, err := time.Parse("20060102T150405Z", v)
			if err != nil {
				return "", err
			}
			out = append(out, utc(tm))
		default:
			tm, err := time.ParseInLocation("20060102T150405", v, loc)
			if err != nil {
				return "", err
			}
			out = append(out, utc(tm))
		}
	}
	return strings.Join(out, ","), nil
}

// assertEqual compares the whole target with the source organisation.
func (b *bed) assertEqual(t *testing.T, round int) counts {
	t.Helper()
	var n counts
	org := b.ews.Org
	want := map[string]*wantAccount{} // target account → content
	var users []string
	for _, u := range org.Users {
		email := strings.ToLower(u.SMTP)
		users = append(users, email)
		want[email] = expectAccount(t, org, u.SMTP)
	}
	if len(org.Folders("")) > 0 {
		want[pfEmail] = expectAccount(t, org, "")
	}
	empty := func() *wantAccount {
		return &wantAccount{mail: map[string]map[string]wantMessage{"INBOX": {}}}
	}

	// Accounts and groups: nothing missing, nothing else.
	got := map[string]icewarptestAccount{}
	for _, a := range b.iw.Accounts() {
		got[strings.ToLower(a.Email)] = icewarptestAccount{typ: a.Type, name: a.Props["u_name"], members: a.Members, aliases: a.Aliases}
	}
	wantAcc := map[string]icewarptestAccount{}
	for _, u := range org.Users {
		var al []string
		for _, a := range u.Aliases {
			al = append(al, strings.ToLower(a))
		}
		wantAcc[strings.ToLower(u.SMTP)] = icewarptestAccount{typ: int(icewarp.TypeUser), name: u.DisplayName, aliases: al}
	}
	for _, g := range org.Groups {
		var m []string
		for _, u := range g.Members {
			m = append(m, strings.ToLower(u.SMTP))
		}
		wantAcc[strings.ToLower(g.SMTP)] = icewarptestAccount{typ: int(icewarp.TypeGroup), name: g.DisplayName, members: m}
		want[strings.ToLower(g.SMTP)] = empty()
	}
	if _, ok := want[pfEmail]; ok {
		wantAcc[pfEmail] = icewarptestAccount{typ: int(icewarp.TypeGroup), name: "Public Folders", members: users}
	}
	for email, w := range wantAcc {
		g, ok := got[email]
		if !ok {
			t.Errorf("round %d: account %s missing on the target", round, email)
			continue
		}
		n.accounts++
		if w.typ == int(icewarp.TypeGroup) {
			n.groups++
			n.members += len(w.members)
		}
		if !g.equal(w) {
			t.Errorf("round %d: account %s = %+v, want %+v", round, email, g, w)
		}
	}
	for email := range got {
		if _, ok := wantAcc[email]; !ok {
			t.Errorf("round %d: account %s on the target has no source", round, email)
		}
	}

	for _, email := range sortedKeys(want) {
		w := want[email]
		if _, ok := got[email]; !ok {
			continue
		}
		b.assertMail(t, round, email, w, &n)
		b.assertGroupware(t, round, email, w, &n)
	}
	return n
}

type icewarptestAccount struct {
	typ              int
	name             string
	members, aliases []string
}

func (a icewarptestAccount) equal(b icewarptestAccount) bool {
	norm := func(s []string) []string {
		s = slices.Clone(s)
		for i := range s {
			s[i] = strings.ToLower(s[i])
		}
		sort.Strings(s)
		return s
	}
	return a.typ == b.typ && a.name == b.name && slices.Equal(norm(a.members), norm(b.members)) && slices.Equal(norm(a.aliases), norm(b.aliases))
}

// sortedKeys returns a map's keys, sorted.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// assertMail reads an account's mail over IMAP, as the administrator
// acting as the account, and compares folders, messages and ACLs.
func (b *bed) assertMail(t *testing.T, round int, email string, w *wantAccount, n *counts) {
	t.Helper()
	c, err := imapclient.DialInsecure(b.iw.IMAPAddr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Authenticate(sasl.NewPlainClient(email, b.iw.AdminEmail(), b.iw.AdminPassword())); err != nil {
		t.Fatalf("round %d: authenticate as %s on behalf of %s: %v", round, b.iw.AdminEmail(), email, err)
	}
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatalf("round %d: %s: LIST: %v", round, email, err)
	}
	var folders []string
	for _, l := range list {
		folders = append(folders, l.Mailbox)
	}
	sort.Strings(folders)
	if wantFolders := sortedKeys(w.mail); !slices.Equal(folders, wantFolders) {
		t.Errorf("round %d: %s: mail folders\n got %q\nwant %q", round, email, folders, wantFolders)
	}
	where := map[string]string{} // Message-ID → folder it belongs in
	for f, msgs := range w.mail {
		for id := range msgs {
			where[id] = f
		}
	}
	for _, folder := range folders {
		msgs, ok := w.mail[folder]
		if !ok {
			msgs = map[string]wantMessage{}
		} else {
			n.folders++
		}
		// ACL, besides the owner.
		acl, err := c.GetACL(folder).Wait()
		if err != nil {
			t.Errorf("round %d: %s %q: GETACL: %v", round, email, folder, err)
		} else {
			gotACL := map[string]string{}
			for id, r := range acl.Rights {
				if !strings.EqualFold(string(id), email) {
					gotACL[strings.ToLower(string(id))] = string(r)
				}
			}
			wantACL := w.mailACL[folder]
			if wantACL == nil {
				wantACL = map[string]string{}
			}
			if !equalRights(gotACL, wantACL) {
				t.Errorf("round %d: %s %q: ACL = %v, want %v", round, email, folder, gotACL, wantACL)
			}
			n.perms += len(wantACL)
		}
		sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			t.Errorf("round %d: %s: EXAMINE %q: %v", round, email, folder, err)
			continue
		}
		var fetched []*imapclient.FetchMessageBuffer
		if sel.NumMessages > 0 {
			var ss imap.SeqSet
			ss.AddRange(1, sel.NumMessages)
			fetched, err = c.Fetch(ss, &imap.FetchOptions{Flags: true, InternalDate: true,
				BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
			if err != nil {
				t.Errorf("round %d: %s: FETCH %q: %v", round, email, folder, err)
				continue
			}
		}
		seen := map[string]int{}
		for _, m := range fetched {
			body := m.FindBodySection(&imap.FetchItemBodySection{Peek: true})
			id := messageID(body)
			seen[id]++
			wm, ok := msgs[id]
			switch {
			case !ok && where[id] != "":
				t.Errorf("round %d: %s: message %s in %q, want it in %q", round, email, id, folder, where[id])
				continue
			case !ok:
				t.Errorf("round %d: %s %q: message %s (%d bytes) has no source", round, email, folder, id, len(body))
				continue
			case seen[id] > 1:
				t.Errorf("round %d: %s %q: message %s (source %s) stored %d times", round, email, folder, id, wm.id, seen[id])
				continue
			}
			n.messages++
			if !bytes.Equal(body, wm.body) {
				t.Errorf("round %d: %s %q: message %s (source %s): body differs (%d bytes, want %d)", round, email, folder, id, wm.id, len(body), len(wm.body))
			}
			gotSeen, gotFlagged := slices.Contains(m.Flags, imap.FlagSeen), slices.Contains(m.Flags, imap.FlagFlagged)
			other := slices.DeleteFunc(slices.Clone(m.Flags), func(f imap.Flag) bool { return f == imap.FlagSeen || f == imap.FlagFlagged })
			kws := len(other)
			other = slices.DeleteFunc(other, func(f imap.Flag) bool { _, err := format.KeywordCategory(string(f)); return err == nil })
			n.keywords += kws - len(other)
			if gotSeen != wm.seen || gotFlagged != wm.flagged || len(other) > 0 {
				t.Errorf("round %d: %s %q: message %s (source %s): flags %v, want \\Seen %t \\Flagged %t and no other but category keywords",
					round, email, folder, id, wm.id, m.Flags, wm.seen, wm.flagged)
			}
			if !m.InternalDate.Truncate(time.Second).Equal(wm.date.Truncate(time.Second)) {
				t.Errorf("round %d: %s %q: message %s (source %s): INTERNALDATE %v, want %v", round, email, folder, id, wm.id,
					m.InternalDate.UTC(), wm.date.UTC())
			}
		}
		for id, wm := range msgs {
			if seen[id] == 0 {
				t.Errorf("round %d: %s %q: message %s (source %s) missing", round, email, folder, id, wm.id)
			}
		}
	}
}

// equalRights compares ACLs by identifier and set of rights letters.
func equalRights(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	sorted := func(s string) string {
		r := []byte(s)
		slices.Sort(r)
		return string(r)
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || sorted(v) != sorted(w) {
			return false
		}
	}
	return true
}

// messageID returns the Message-ID header of a raw message.
func messageID(raw []byte) string {
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw))).ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return ""
	}
	return strings.TrimSpace(h.Get("Message-Id"))
}

// assertGroupware compares an account's GroupWare collections, their
// resources and their permissions with the source.
func (b *bed) assertGroupware(t *testing.T, round int, email string, w *wantAccount, n *counts) {
	t.Helper()
	have := map[string]string{}
	for _, f := range b.iw.DAVFolders(email) {
		have[f.Name] = f.Type
	}
	for coll, typ := range w.davType {
		if got, ok := have[coll]; !ok {
			t.Errorf("round %d: %s: GroupWare folder %q missing", round, email, coll)
		} else if got != typ {
			t.Errorf("round %d: %s: GroupWare folder %q has type %s, want %s", round, email, coll, got, typ)
		}
	}
	for _, coll := range sortedKeys(have) {
		var got []string
		for name, it := range b.iw.DAVItems(email, coll) {
			s, err := targetSignatures(it.ContentType, it.Body)
			if err != nil {
				t.Errorf("round %d: %s %q: resource %s: %v\n%s", round, email, coll, name, err, it.Body)
				continue
			}
			got = append(got, s...)
		}
		wantSigs := slices.Clone(w.dav[coll]) // nil: a default folder with no source, which must stay empty
		sort.Strings(got)
		sort.Strings(wantSigs)
		for _, s := range wantSigs {
			switch {
			case strings.HasPrefix(s, "contact"), strings.HasPrefix(s, "group"):
				n.contacts++
			case strings.HasPrefix(s, "event"):
				n.events++
			case strings.HasPrefix(s, "task"):
				n.tasks++
			case strings.HasPrefix(s, "note"):
				n.notes++
			}
		}
		if !slices.Equal(got, wantSigs) {
			t.Errorf("round %d: %s %q: items differ\n%s", round, email, coll, diffLines(got, wantSigs))
		}
		// Permissions (admin API); none set means inherited.
		_, perms := b.iw.FolderPermissions(email, icewarp.GroupwareFolderID(coll))
		gotACL := map[string]string{}
		for _, p := range perms {
			gotACL[strings.ToLower(p.Account)] = p.Rights
		}
		wantACL := w.davACL[coll]
		if wantACL == nil {
			wantACL = map[string]string{}
		}
		if !equalRights(gotACL, wantACL) {
			t.Errorf("round %d: %s %q: permissions = %v, want %v", round, email, coll, gotACL, wantACL)
		}
		n.perms += len(wantACL)
	}
}

// diffLines lists signatures only on the target (+) and only in the
// source (-).
func diffLines(got, want []string) string {
	count := map[string]int{}
	for _, s := range got {
		count[s]++
	}
	for _, s := range want {
		count[s]--
	}
	var out []string
	for _, s := range sortedKeys(count) {
		for i := count[s]; i > 0; i-- {
			out = append(out, "+ "+s)
		}
		for i := count[s]; i < 0; i++ {
			out = append(out, "- "+s)
		}
	}
	return strings.Join(out, "\n")
}
