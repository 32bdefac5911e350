package format_test

import (
	"fmt"

	"github.com/iemproject/iem/format"
)

func ExampleFolderTarget() {
	// Localized names are mapped by distinguished folder id.
	fmt.Println(format.FolderTarget("sentitems", "Éléments envoyés", nil).Name)
	fmt.Println(format.FolderTarget("sentitems", "Éléments envoyés", &format.FolderOptions{IceWarpNames: true}).Name)
	f := format.FolderTarget("", "Projets 2024.", nil)
	fmt.Println(format.EncodeIMAPUTF7(f.Name), format.IceWarpDirName(f.Name))
	// Output:
	// Sent Items
	// Sent
	// Projets 2024. enc~50726f6a65747320323032342e
}

func ExampleACL_IMAPRights() {
	acl, err := format.ParsePermissions([]byte(`<t:PermissionSet><t:Permissions>
	  <t:Permission><t:UserId><t:PrimarySmtpAddress>sadie@contoso.com</t:PrimarySmtpAddress></t:UserId>
	  <t:PermissionLevel>Author</t:PermissionLevel></t:Permission>
	</t:Permissions></t:PermissionSet>`))
	if err != nil {
		panic(err)
	}
	imap, rep := acl.IMAPRights()
	iw, _ := acl.IceWarpRights()
	fmt.Println(imap[0].Identifier, imap[0].Rights, iw[0].Rights)
	for _, l := range rep.Losses {
		fmt.Println(l)
	}
	// Output:
	// sadie@contoso.com lrsip ril
	// sadie@contoso.com: Author: edit own items only has no equivalent; not granted
	// sadie@contoso.com: Author: delete own items only has no equivalent; not granted
}

func ExampleCalendarToICal() {
	item := []byte(`<t:CalendarItem>
	  <t:Subject>Standup</t:Subject><t:UID>standup-1</t:UID>
	  <t:Start>2026-03-02T08:00:00Z</t:Start><t:End>2026-03-02T08:15:00Z</t:End>
	  <t:LastModifiedTime>2026-03-01T00:00:00Z</t:LastModifiedTime>
	  <t:Recurrence><t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Monday</t:DaysOfWeek></t:WeeklyRecurrence>
	    <t:NumberedRecurrence><t:StartDate>2026-03-02</t:StartDate><t:NumberOfOccurrences>10</t:NumberOfOccurrences></t:NumberedRecurrence></t:Recurrence>
	  <t:StartTimeZone Id="W. Europe Standard Time"/>
	</t:CalendarItem>`)
	cal, _, err := format.CalendarToICal(item, nil, nil, nil)
	if err != nil {
		panic(err)
	}
	ev := cal.Events()[0]
	fmt.Println(ev.Props.Get("DTSTART").Params.Get("TZID"), ev.Props.Get("DTSTART").Value)
	fmt.Println(ev.Props.Get("RRULE").Value)
	// format.WriteICal(w, cal) writes the whole VCALENDAR, VTIMEZONE first.

	// Output:
	// Europe/Berlin 20260302T090000
	// FREQ=WEEKLY;BYDAY=MO;WKST=SU;COUNT=10
}
