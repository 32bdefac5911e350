package pst

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/format"
)

// This file renders contacts, distribution lists, appointments and tasks as the EWS
// item XML package format's converters read (format.ContactToVCard,
// format.DistributionListToVCard, format.CalendarToICal, format.TaskToICal), so a PST
// item becomes a vCard or an iCalendar through the one converter the EWS and Graph
// Sources use, not a second one. Property ids are from [MS-OXPROPS] (tagged) and the
// property sets PSETID_Address, PSETID_Appointment, PSETID_Task, PSETID_Common and
// PSETID_Meeting resolved through the file's name-to-id map (names.go) [I: ids from
// MS-OXPROPS as remembered, checked against readpst's output on dist-list.pst and
// 32-bit.pst, not re-read page by page].

// Property sets of the named properties ([MS-OXPROPS] 1.3.2), as stored (GUID
// structure, little-endian first three fields).
var (
	psetAddress     = guid(0x00062004)
	psetAppointment = guid(0x00062002)
	psetTask        = guid(0x00062003)
	psetCommon      = guid(0x00062008)
	psetMeeting     = [16]byte{0x90, 0xDA, 0xD8, 0x6E, 0x0B, 0x45, 0x1B, 0x10, 0x98, 0xDA, 0x00, 0xAA, 0x00, 0x3F, 0x13, 0x05}
)

// guid is the GUID {d1-0000-0000-C000-000000000046} of the Outlook property sets.
func guid(d1 uint32) [16]byte {
	g := [16]byte{8: 0xC0, 15: 0x46}
	binary.LittleEndian.PutUint32(g[:], d1)
	return g
}

// namedKey names a numeric named property.
type namedKey struct {
	guid [16]byte
	lid  uint32
}

// Named properties read here (LIDs per set).
const (
	lidFileUnder        = 0x8005
	lidPostalAddressID  = 0x8022
	lidHTML             = 0x802B
	lidWorkStreet       = 0x8045
	lidWorkCity         = 0x8046
	lidWorkState        = 0x8047
	lidWorkPostalCode   = 0x8048
	lidWorkCountry      = 0x8049
	lidDLName           = 0x8053
	lidDLOneOffMembers  = 0x8054
	lidDLMembers        = 0x8055
	lidEmail1Address    = 0x8083
	lidEmail1AddrType   = 0x8082
	lidApptSequence     = 0x8201
	lidBusyStatus       = 0x8205
	lidLocation         = 0x8208
	lidApptStartWhole   = 0x820D
	lidApptEndWhole     = 0x820E
	lidApptSubType      = 0x8215
	lidApptRecur        = 0x8216
	lidApptStateFlags   = 0x8217
	lidResponseStatus   = 0x8218
	lidRecurring        = 0x8223
	lidTimeZoneStruct   = 0x8233
	lidTZDefStart       = 0x825E
	lidTZDefRecur       = 0x8260
	lidTaskStatus       = 0x8101
	lidPercentComplete  = 0x8102
	lidTaskStartDate    = 0x8104
	lidTaskDueDate      = 0x8105
	lidTaskDateComplete = 0x810F
	lidTaskRecurrence   = 0x8116
	lidTaskRecurring    = 0x8126
	lidReminderDelta    = 0x8501
	lidReminderSet      = 0x8503
	lidGlobalObjectID   = 0x0003
)

// Tagged properties of contacts and calendar items ([MS-OXPROPS]).
const (
	pidSensitivity    = 0x0036
	pidSentReprAddrTy = 0x0064
	pidSentReprSMTP   = 0x5D02
	pidDisplayName    = 0x3001
	pidAddrType       = 0x3002
	pidCreationTime   = 0x3007
	pidRecipientFlags = 0x5FFD
	pidRecipientTrack = 0x5FFF
)

// item is one message with the file's named properties, for the XML writers below.
type item struct {
	m     *Message
	names map[namedKey]uint16
	id    string // the item's ID, written as its EWS ItemId
	cats  []string
}

// named returns the named property (set, lid) of the message.
func (it *item) named(set [16]byte, lid uint32) (Property, bool) {
	pid, ok := it.names[namedKey{set, lid}]
	if !ok {
		return Property{}, false
	}
	return it.m.Props.Get(pid)
}

func (it *item) namedStr(set [16]byte, lid uint32) string {
	p, _ := it.named(set, lid)
	return p.String()
}

func (it *item) namedInt(set [16]byte, lid uint32) (int64, bool) {
	p, ok := it.named(set, lid)
	return p.Int(), ok
}

func (it *item) namedBool(set [16]byte, lid uint32) bool {
	v, _ := it.namedInt(set, lid)
	return v != 0
}

// xsTime formats an instant as xs:dateTime in UTC, "" for the zero time.
func xsTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// ewsWriter writes EWS elements with encoding/xml's token encoder; empty text
// elements are left out.
type ewsWriter struct {
	buf bytes.Buffer
	enc *xml.Encoder
}

func newEWSWriter(root, id string) *ewsWriter {
	w := &ewsWriter{}
	w.enc = xml.NewEncoder(&w.buf)
	w.start(root)
	w.start("ItemId", "Id", id)
	w.end("ItemId")
	return w
}

func (w *ewsWriter) start(name string, attrs ...string) {
	se := xml.StartElement{Name: xml.Name{Local: name}}
	for i := 0; i+1 < len(attrs); i += 2 {
		se.Attr = append(se.Attr, xml.Attr{Name: xml.Name{Local: attrs[i]}, Value: attrs[i+1]})
	}
	w.enc.EncodeToken(se)
}

func (w *ewsWriter) end(name string) { w.enc.EncodeToken(xml.EndElement{Name: xml.Name{Local: name}}) }

func (w *ewsWriter) text(name, v string, attrs ...string) {
	if v == "" {
		return
	}
	w.start(name, attrs...)
	w.enc.EncodeToken(xml.CharData(v))
	w.end(name)
}

// group writes <name> around the elements fill writes, leaving out an empty group.
func (w *ewsWriter) group(name string, fill func(sub *ewsWriter)) {
	sub := &ewsWriter{}
	sub.enc = xml.NewEncoder(&sub.buf)
	fill(sub)
	sub.enc.Flush()
	if sub.buf.Len() == 0 {
		return
	}
	w.start(name)
	w.enc.Flush()
	w.buf.Write(sub.buf.Bytes())
	w.end(name)
}

// bytes closes root and returns the document.
func (w *ewsWriter) bytes(root string) []byte {
	w.end(root)
	w.enc.Flush()
	return w.buf.Bytes()
}

// common writes the elements every item kind shares: categories, body, times,
// sensitivity, importance.
func (w *ewsWriter) common(it *item, subj string) {
	if len(it.cats) > 0 {
		w.group("Categories", func(s *ewsWriter) {
			for _, c := range it.cats {
				s.text("String", c)
			}
		})
	}
	ps := it.m.Props
	if html := it.m.body(PidHTML, PidInternetCodepage, PidMessageCodepage); html.s != "" && html.charset == "utf-8" {
		w.text("Body", html.s, "BodyType", "HTML")
	} else if text := ps.Str(PidBody); text != "" {
		w.text("Body", text, "BodyType", "Text")
	}
	w.text("Subject", subj)
	w.text("DateTimeCreated", xsTime(propTime(ps, pidCreationTime)))
	w.text("LastModifiedTime", xsTime(propTime(ps, PidLastModified)))
	if s, ok := ps.Get(pidSensitivity); ok {
		w.text("Sensitivity", [...]string{"Normal", "Personal", "Private", "Confidential"}[min(max(s.Int(), 0), 3)])
	}
	if imp, ok := ps.Get(pidImportance); ok {
		w.text("Importance", [...]string{"Low", "Normal", "High"}[min(max(imp.Int(), 0), 2)])
	}
}

// contactTags maps EWS Contact elements to tagged properties.
var contactTags = []struct {
	elem string
	id   uint16
}{{"DisplayName", pidDisplayName}, {"CompanyName", 0x3A16}, {"AssistantName", 0x3A30}, {"Department", 0x3A18},
	{"JobTitle", 0x3A17}, {"Manager", 0x3A4E}, {"Profession", 0x3A46}, {"SpouseName", 0x3A48}}

// completeNameTags are the CompleteName children.
var completeNameTags = []struct {
	elem string
	id   uint16
}{{"Title", 0x3A45}, {"FirstName", 0x3A06}, {"MiddleName", 0x3A44}, {"LastName", 0x3A11}, {"Suffix", 0x3A05}, {"Nickname", 0x3A4F}}

// phoneTags maps EWS PhoneNumberKey values to tagged properties.
var phoneTags = [][2]any{{"BusinessPhone", uint16(0x3A08)}, {"BusinessPhone2", uint16(0x3A1B)}, {"BusinessFax", uint16(0x3A24)},
	{"HomePhone", uint16(0x3A09)}, {"HomePhone2", uint16(0x3A2F)}, {"HomeFax", uint16(0x3A25)}, {"MobilePhone", uint16(0x3A1C)},
	{"CarPhone", uint16(0x3A1E)}, {"Pager", uint16(0x3A21)}, {"Isdn", uint16(0x3A2D)}, {"OtherFax", uint16(0x3A23)},
	{"OtherTelephone", uint16(0x3A1F)}, {"PrimaryPhone", uint16(0x3A1A)}, {"CompanyMainPhone", uint16(0x3A57)},
	{"AssistantPhone", uint16(0x3A2E)}, {"Callback", uint16(0x3A02)}, {"RadioPhone", uint16(0x3A1D)}, {"Telex", uint16(0x3A2C)},
	{"TtyTddPhone", uint16(0x3A4B)}}

// addressTags are the tagged (street, city, state, postal code, country) of the
// home and other addresses and of the business address when the named work
// address is absent.
var addressTags = []struct {
	key string
	ids [5]uint16
}{{"Business", [5]uint16{0x3A29, 0x3A27, 0x3A28, 0x3A2A, 0x3A26}}, {"Home", [5]uint16{0x3A5D, 0x3A59, 0x3A5C, 0x3A5B, 0x3A5A}},
	{"Other", [5]uint16{0x3A63, 0x3A5F, 0x3A62, 0x3A61, 0x3A60}}}

// contactXML renders an IPM.Contact as the EWS Contact format.ContactToVCard reads.
func (it *item) contactXML() []byte {
	ps := it.m.Props
	w := newEWSWriter("Contact", it.id)
	w.common(it, subject(ps))
	for _, t := range contactTags {
		w.text(t.elem, ps.Str(t.id))
	}
	w.text("FileAs", it.namedStr(psetAddress, lidFileUnder))
	w.text("BusinessHomePage", first(it.namedStr(psetAddress, lidHTML), ps.Str(0x3A51)))
	if b := propTime(ps, 0x3A42); !b.IsZero() {
		w.text("Birthday", xsTime(b))
	}
	w.group("CompleteName", func(s *ewsWriter) {
		for _, t := range completeNameTags {
			s.text(t.elem, ps.Str(t.id))
		}
	})
	w.group("EmailAddresses", func(s *ewsWriter) {
		for i := range uint32(3) {
			s.text("Entry", it.namedStr(psetAddress, lidEmail1Address+0x10*i), "Key", "EmailAddress"+strconv.Itoa(int(i)+1))
		}
	})
	w.group("PhysicalAddresses", func(s *ewsWriter) {
		for _, a := range addressTags {
			var v [5]string
			for i, id := range a.ids {
				v[i] = ps.Str(id)
			}
			if a.key == "Business" {
				for i := range v {
					if n := it.namedStr(psetAddress, lidWorkStreet+uint32(i)); n != "" {
						v[i] = n
					}
				}
			}
			if strings.Join(v[:], "") == "" {
				continue
			}
			s.start("Entry", "Key", a.key)
			for i, e := range []string{"Street", "City", "State", "PostalCode", "CountryOrRegion"} {
				s.text(e, v[i])
			}
			s.end("Entry")
		}
	})
	if v, ok := it.namedInt(psetAddress, lidPostalAddressID); ok && v >= 1 && v <= 3 {
		w.text("PostalAddressIndex", [...]string{"Home", "Business", "Other"}[v-1])
	}
	w.group("PhoneNumbers", func(s *ewsWriter) {
		for _, p := range phoneTags {
			s.text("Entry", ps.Str(p[1].(uint16)), "Key", p[0].(string))
		}
	})
	return w.bytes("Contact")
}

// distListXML renders an IPM.DistList as the EWS DistributionList
// format.DistributionListToVCard reads: the members from the one-off entry ids of
// PidLidDistributionListOneOffMembers ([MS-OXOCNTC] 2.2.2.2.2; one-off EntryID layout
// [MS-OXCDATA] 2.2.5.1 [I: from memory]), which every member has whether or not it is
// also a contact of the file.
func (it *item) distListXML() []byte {
	w := newEWSWriter("DistributionList", it.id)
	w.common(it, subject(it.m.Props))
	w.text("DisplayName", first(it.namedStr(psetAddress, lidDLName), it.m.Props.Str(pidDisplayName)))
	w.text("FileAs", it.namedStr(psetAddress, lidFileUnder))
	p, _ := it.named(psetAddress, lidDLOneOffMembers)
	w.group("Members", func(s *ewsWriter) {
		for _, e := range p.Multi() {
			name, typ, addr, ok := oneOffEntry(e)
			if !ok {
				continue
			}
			s.start("Member")
			s.mailbox("Mailbox", name, addr, typ)
			s.end("Member")
		}
	})
	return w.bytes("DistributionList")
}

// oneOffProvider is the provider UID of a one-off EntryID ([MS-OXCDATA] 2.2.5.1).
var oneOffProvider = []byte{0x81, 0x2B, 0x1F, 0xA4, 0xBE, 0xA3, 0x10, 0x19, 0x9D, 0x6E, 0x00, 0xDD, 0x01, 0x0F, 0x54, 0x02}

// oneOffEntry reads a one-off EntryID: flags, provider UID, version, flags (0x8000:
// Unicode strings), then display name, address type and address, NUL-terminated.
func oneOffEntry(e []byte) (name, typ, addr string, ok bool) {
	if len(e) < 24 || !bytes.Equal(e[4:20], oneOffProvider) {
		return "", "", "", false
	}
	unicode := binary.LittleEndian.Uint16(e[22:])&0x8000 != 0
	rest := e[24:]
	var out [3]string
	for i := range out {
		if unicode {
			j := 0
			for j+1 < len(rest) && (rest[j] != 0 || rest[j+1] != 0) {
				j += 2
			}
			out[i] = utf16le(rest[:min(j, len(rest))])
			rest = rest[min(j+2, len(rest)):]
		} else {
			j := bytes.IndexByte(rest, 0)
			if j < 0 {
				j = len(rest)
			}
			out[i] = string(rest[:j])
			rest = rest[min(j+1, len(rest)):]
		}
	}
	return out[0], out[1], out[2], out[2] != "" || out[0] != ""
}

// mailbox writes <tag><Name/><EmailAddress/><RoutingType/></tag>.
func (w *ewsWriter) mailbox(tag, name, addr, typ string) {
	w.start(tag)
	w.text("Name", name)
	w.text("EmailAddress", addr)
	w.text("RoutingType", typ)
	w.end(tag)
}

// taskXML renders an IPM.Task as the EWS Task format.TaskToICal reads. A recurring
// task's pattern (PidLidTaskRecurrence) is not read: the task is written with its
// current dates and the loss reported by the caller.
func (it *item) taskXML() []byte {
	w := newEWSWriter("Task", it.id)
	w.common(it, subject(it.m.Props))
	for _, d := range []struct {
		elem string
		lid  uint32
	}{{"StartDate", lidTaskStartDate}, {"DueDate", lidTaskDueDate}, {"CompleteDate", lidTaskDateComplete}} {
		if p, ok := it.named(psetTask, d.lid); ok {
			w.text(d.elem, xsTime(p.Time()))
		}
	}
	if p, ok := it.named(psetTask, lidPercentComplete); ok && p.Type() == PtDouble && len(p.Value) == 8 {
		f := math.Float64frombits(binary.LittleEndian.Uint64(p.Value))
		w.text("PercentComplete", strconv.FormatFloat(f*100, 'f', -1, 64))
	}
	if v, ok := it.namedInt(psetTask, lidTaskStatus); ok && v >= 0 && v <= 4 {
		w.text("Status", [...]string{"NotStarted", "InProgress", "Completed", "WaitingOnOthers", "Deferred"}[v])
	}
	return w.bytes("Task")
}

// taskRecurs tells whether the task recurs (its pattern is not converted).
func (it *item) taskRecurs() bool {
	_, blob := it.named(psetTask, lidTaskRecurrence)
	return blob && it.namedBool(psetTask, lidTaskRecurring)
}

// uid is the calendar item's UID: the hex of PidLidGlobalObjectId as Exchange
// writes it ([MS-OXCICAL] 2.1.3.1.1.20.26 [I]), "" when absent.
func (it *item) uid() string {
	p, ok := it.named(psetMeeting, lidGlobalObjectID)
	if !ok || len(p.Value) == 0 {
		return ""
	}
	return strings.ToUpper(hex.EncodeToString(p.Value))
}

func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// convertItem converts a contact, distribution list, calendar item or task through
// package format. What the PST stores but the conversion could not carry (a task's
// recurrence, an unreadable recurrence blob, parts of the message that could not be
// read) marks the item rebuilt with the reason, as mail with an RTF-only body is.
func (s *Source) convertItem(sf *sourceFile, id string, kind export.ItemKind, m *Message, merr error) (*export.Content, error) {
	it := &item{m: m, names: sf.names, id: id, cats: sf.meta(m).Categories}
	var dir format.AddressResolver
	if s.dir != nil {
		dir = s.dir
	}
	var problems []string
	c := &export.Content{Attrs: map[string]string{}}
	var b bytes.Buffer
	var err error
	switch kind {
	case export.KindContact:
		var card vcard.Card
		if strings.HasPrefix(strings.ToLower(m.Props.Str(PidMessageClass)), "ipm.distlist") {
			c.Kind = archive.KindDistributionList
			card, _, err = format.DistributionListToVCard(it.distListXML(), dir)
		} else {
			c.Kind = archive.KindContact
			card, _, err = format.ContactToVCard(it.contactXML(), dir)
		}
		if err == nil {
			err = format.WriteVCard(&b, card)
		}
	case export.KindCalendar:
		master, occ, p := it.calendarXML()
		problems = p
		var cal *ical.Calendar
		c.Kind = archive.KindEvent
		if cal, _, err = format.CalendarToICal(master, occ, dir, &format.CalendarOptions{Owner: s.address}); err == nil {
			err = format.WriteICal(&b, cal)
		}
	case export.KindTask:
		if it.taskRecurs() {
			problems = append(problems, "task recurrence (PidLidTaskRecurrence) not converted; the current instance is written")
		}
		var cal *ical.Calendar
		c.Kind = archive.KindTask
		if cal, _, err = format.TaskToICal(it.taskXML(), dir); err == nil {
			err = format.WriteICal(&b, cal)
		}
	default:
		return nil, export.Skip("unknown item kind", nil)
	}
	if err != nil {
		return nil, export.Skip("pst "+kindName(kind)+" conversion failed", err)
	}
	c.Data = b.Bytes()
	if merr != nil {
		problems = append(problems, merr.Error())
	}
	if len(problems) > 0 {
		c.Rebuilt, c.RebuiltWhy = true, &export.Problem{Reason: "pst " + kindName(kind) + " converted with losses", Err: errors.New(strings.Join(problems, "; "))}
	}
	return c, nil
}

func kindName(k export.ItemKind) string {
	return map[export.ItemKind]string{export.KindContact: "contact", export.KindCalendar: "calendar item", export.KindTask: "task"}[k]
}
