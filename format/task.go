package format

import (
	"bytes"
	"fmt"
	"io"
	"mime/quotedprintable"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// TaskToICal converts an EWS Task into a VCALENDAR holding one VTODO.
// Exchange cannot produce task MIME; like DavMail, the VTODO is built from
// properties (subject, created, last modified, description, percent complete,
// status, start, due, completion date, categories, importance, recurrence)
// [V ews.md §4.1 DAVMAIL]. Start and due dates are days (Outlook stores
// local midnight as UTC) and are written as DATE values.
func TaskToICal(itemXML []byte, dir AddressResolver) (*ical.Calendar, Report, error) {
	var rep Report
	n, err := parseItem(itemXML, "Task")
	if err != nil {
		return nil, rep, err
	}
	cal := newCalendar()
	todo := ical.NewComponent(ical.CompToDo)
	todo.Props.SetText(ical.PropUID, first(n.Text("UID"), itemUID(n)))
	stamp := time.Unix(0, 0)
	for _, f := range []string{"LastModifiedTime", "DateTimeCreated"} {
		if t, err := parseXSDateTime(n.Text(f)); err == nil {
			stamp = t
			break
		}
	}
	todo.Props.Set(utcProp(ical.PropDateTimeStamp, stamp))
	if t, err := parseXSDateTime(n.Text("DateTimeCreated")); err == nil {
		todo.Props.Set(utcProp(ical.PropCreated, t))
	}
	if t, err := parseXSDateTime(n.Text("LastModifiedTime")); err == nil {
		todo.Props.Set(utcProp(ical.PropLastModified, t))
	}
	setText(todo.Props, ical.PropSummary, n.Text("Subject"))
	addBody(todo.Props, n)
	addCommon(todo, n)

	day := func(f string) (*ical.Prop, time.Time, bool) {
		t, err := parseXSDateTime(n.Text(f))
		if err != nil {
			return nil, t, false
		}
		d, _ := time.Parse("2006-01-02", calendarDay(t))
		p := &ical.Prop{Params: ical.Params{}}
		p.Params.Set(ical.ParamValue, string(ical.ValueDate))
		p.Value = d.Format("20060102")
		return p, d, true
	}
	start, startDay, hasStart := day("StartDate")
	due, dueDay, hasDue := day("DueDate")
	if hasStart && hasDue && dueDay.Before(startDay) {
		rep.add("DueDate", "due date before start date; start date dropped")
		hasStart = false
	}
	if hasStart {
		start.Name = ical.PropDateTimeStart
		todo.Props.Set(start)
	}
	if hasDue {
		due.Name = ical.PropDue
		todo.Props.Set(due)
	}
	if t, err := parseXSDateTime(n.Text("CompleteDate")); err == nil {
		todo.Props.Set(utcProp(ical.PropCompleted, t))
	}
	if pc := n.Text("PercentComplete"); pc != "" {
		if f, err := strconv.ParseFloat(pc, 64); err == nil && f >= 0 && f <= 100 {
			todo.Props.Set(&ical.Prop{Name: ical.PropPercentComplete, Params: ical.Params{}, Value: strconv.Itoa(int(f + 0.5))})
		}
	}
	// Status [V MSDOCS status.md: NotStarted, InProgress, Completed,
	// WaitingOnOthers, Deferred]; the last two have no RFC 5545 status.
	switch st := n.Text("Status"); st {
	case "NotStarted":
		todo.Props.SetText(ical.PropStatus, "NEEDS-ACTION")
	case "InProgress":
		todo.Props.SetText(ical.PropStatus, "IN-PROCESS")
	case "Completed":
		todo.Props.SetText(ical.PropStatus, "COMPLETED")
	case "WaitingOnOthers", "Deferred":
		todo.Props.SetText(ical.PropStatus, "IN-PROCESS")
		xText(todo.Props, "X-IEM-TASKSTATUS", st)
		rep.add("Status", "%s has no icalendar status; written as IN-PROCESS", st)
	case "":
	default:
		rep.add("Status", "unknown status %q", st)
	}
	if r := n.Child("Recurrence"); r != nil {
		if !hasStart && !hasDue {
			rep.add("Recurrence", "recurring task without start or due date; recurrence dropped")
		} else {
			anchor := startDay
			if !hasStart {
				anchor = dueDay
				d := *due
				d.Name = ical.PropDateTimeStart
				todo.Props.Set(&d)
			}
			rule, err := recurrenceRule(r, utcZone{}, anchor, true, &rep)
			if err != nil {
				return nil, rep, err
			}
			todo.Props.Set(&ical.Prop{Name: ical.PropRecurrenceRule, Params: ical.Params{}, Value: rule})
		}
	}
	if n.Bool("ReminderIsSet") {
		if t, err := parseXSDateTime(n.Text("ReminderDueBy")); err == nil {
			al := ical.NewComponent(ical.CompAlarm)
			al.Props.SetText(ical.PropAction, "DISPLAY")
			al.Props.SetText(ical.PropDescription, first(n.Text("Subject"), "Reminder"))
			tr := utcProp(ical.PropTrigger, t)
			tr.Params.Set(ical.ParamValue, string(ical.ValueDateTime))
			al.Props.Set(tr)
			todo.Children = append(todo.Children, al)
		}
	}
	if o := n.Text("Owner"); o != "" {
		xText(todo.Props, "X-IEM-OWNER", o)
	}
	if len(n.Path("Attachments").Elems()) > 0 {
		rep.add("Attachments", "task attachments are not carried in the iCalendar")
	}
	cal.Children = append(cal.Children, todo)
	return cal, rep, nil
}

// Media types for storing the outputs over WebDAV: IceWarp's notes folders
// require text/x-vnote [V icewarp.md §3, SS22 datastore.php put_item].
const (
	VCardType   = "text/vcard"
	ICalType    = "text/calendar"
	VNoteType   = "text/x-vnote"
	MessageType = "message/rfc822"
)

// NoteToVNote writes an Outlook note (a Message or PostItem of class
// IPM.StickyNote) as a vNote 1.1, the form IceWarp's WebDAV requires for
// notes folders (PUT with Content-Type text/x-vnote [V icewarp.md §3, SS22
// webdav/inc/datastore.php put_item]). The layout follows Horde's vnote
// example (BEGIN:VNOTE, VERSION:1.1, DCREATED, LAST-MODIFIED,
// BODY;ENCODING=QUOTED-PRINTABLE [V php-horde-icalendar examples/vnote.txt]).
func NoteToVNote(itemXML []byte, w io.Writer) (Report, error) {
	var rep Report
	n, err := parseItem(itemXML, mailItems...)
	if err != nil {
		return rep, err
	}
	var b bytes.Buffer
	b.WriteString("BEGIN:VNOTE\r\nVERSION:1.1\r\n")
	if t, err := parseXSDateTime(n.Text("DateTimeCreated")); err == nil {
		b.WriteString("DCREATED:" + t.UTC().Format("20060102T150405Z") + "\r\n")
	}
	if t, err := parseXSDateTime(n.Text("LastModifiedTime")); err == nil {
		b.WriteString("LAST-MODIFIED:" + t.UTC().Format("20060102T150405Z") + "\r\n")
	}
	if s := n.Text("Subject"); s != "" {
		writeFolded(&b, "SUMMARY;CHARSET=UTF-8:"+escapeText(s, true))
	}
	if cats := n.Texts("Categories", "String"); len(cats) > 0 {
		for i := range cats {
			cats[i] = escapeText(cats[i], true)
		}
		writeFolded(&b, "CATEGORIES;CHARSET=UTF-8:"+strings.Join(cats, ","))
	}
	switch n.Text("Sensitivity") {
	case "Private", "Personal":
		b.WriteString("CLASS:PRIVATE\r\n")
	case "Confidential":
		b.WriteString("CLASS:CONFIDENTIAL\r\n")
	}
	body := itemBody(n, &rep)
	if body == "" {
		body = n.Text("Subject")
	}
	var qp bytes.Buffer
	qw := quotedprintable.NewWriter(&qp)
	qw.Binary = true // CR and LF become =0D=0A, as in the Horde example
	if _, err := qw.Write([]byte(strings.ReplaceAll(body, "\n", "\r\n"))); err != nil {
		return rep, fmt.Errorf("format: vnote body: %w", err)
	}
	qw.Close()
	b.WriteString("BODY;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:")
	b.Write(qp.Bytes())
	b.WriteString("\r\nEND:VNOTE\r\n")
	_, err = w.Write(b.Bytes())
	return rep, err
}
