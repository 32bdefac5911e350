package ewstest

import (
	"github.com/iemproject/iem/format"
)

// getDelegate answers GetDelegate with the mailbox's delegates. Shape
// from https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getdelegate-operation
// (request: GetDelegate IncludePermissions="true" with Mailbox/EmailAddress;
// response: GetDelegateResponse ResponseClass="Success" with its own
// ResponseCode, ResponseMessages of DelegateUserResponseMessageType, each
// with a DelegateUser: UserId {SID, PrimarySmtpAddress, DisplayName},
// DelegatePermissions, ReceiveCopiesOfMeetingMessages, ViewPrivateItems;
// then DeliverMeetingRequests) and [MS-OXWSDLGM] 4.4 (the same response
// shape for UpdateDelegate). GetDelegate was introduced in Exchange 2007
// SP1: a request sent as Exchange2007 gets the schema fault of an unknown
// element [I]. A mailbox without delegates answers Success with no
// ResponseMessages [I: the page shows no such answer]. A mailbox with a
// security-group delegate answers an error ("EWS will return an error if
// the GetDelegate operation is called for a principal that has a security
// group delegate", same page); its form and code are not documented
// there: a SOAP fault ErrorNotDelegate is used [I]. UserId carries no SID
// here (the generated org has none; the element is optional).
func (s *Server) getDelegate(r *req) (func(*w), *opFault) {
	if r.version < 1 { // requestVersions[1] = Exchange2007_SP1
		return nil, schemaFault("The element 'Body' in namespace 'http://schemas.xmlsoap.org/soap/envelope/' has invalid child element 'GetDelegate' in namespace 'http://schemas.microsoft.com/exchange/services/2006/messages'.")
	}
	addr := r.body.Text("Mailbox", "EmailAddress")
	u := s.Org.Mailbox(addr)
	if u == nil {
		return nil, &opFault{"ErrorNonExistentMailbox", "The SMTP address has no mailbox associated with it."}
	}
	if u.GroupDelegate != "" {
		return nil, &opFault{"ErrorNotDelegate", "The delegate " + u.GroupDelegate + " is a group; EWS does not manage group delegates."}
	}
	perms := r.body.Attr("IncludePermissions") == "true"
	return func(b *w) {
		b.WriteString(`<m:ResponseCode>NoError</m:ResponseCode>`)
		if len(u.Delegates) > 0 {
			b.WriteString(`<m:ResponseMessages>`)
			for _, d := range u.Delegates {
				writeDelegate(b, d, perms)
			}
			b.WriteString(`</m:ResponseMessages>`)
		}
		b.WriteString(`<m:DeliverMeetingRequests>DelegatesAndMe</m:DeliverMeetingRequests>`)
	}, nil
}

// writeDelegate writes one DelegateUserResponseMessageType.
func writeDelegate(b *w, d format.Delegate, perms bool) {
	b.WriteString(`<m:DelegateUserResponseMessageType ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:DelegateUser><t:UserId>`)
	b.el("t:PrimarySmtpAddress", d.Address)
	b.el("t:DisplayName", d.Name)
	b.WriteString(`</t:UserId>`)
	if perms {
		b.WriteString(`<t:DelegatePermissions>`)
		for _, kind := range format.DelegateFolderKinds() {
			if l, ok := d.Folders[kind]; ok {
				b.el("t:"+format.DelegateFolders[kind], l)
			}
		}
		b.WriteString(`</t:DelegatePermissions>`)
	}
	b.printf(`<t:ReceiveCopiesOfMeetingMessages>%t</t:ReceiveCopiesOfMeetingMessages><t:ViewPrivateItems>%t</t:ViewPrivateItems>`,
		d.ReceivesMeetingCopies, d.SeesPrivateItems)
	b.WriteString(`</m:DelegateUser></m:DelegateUserResponseMessageType>`)
}

// SetDelegates replaces a mailbox's delegates, as a user does in Outlook
// between two rounds.
func (o *Org) SetDelegates(smtp string, l []format.Delegate) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if u := o.Mailbox(smtp); u != nil {
		u.Delegates = l
	}
}

// SetGroupDelegate gives a mailbox a security-group delegate (group
// names it; "" removes it), which makes GetDelegate fail for it.
func (o *Org) SetGroupDelegate(smtp, group string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if u := o.Mailbox(smtp); u != nil {
		u.GroupDelegate = group
	}
}

// demoDelegates gives the generated org's first users a delegate each,
// with different folder levels: the second user manages the first one's
// calendar (Editor, with meeting copies and private items), reads her
// inbox and writes her tasks; the third user edits the second one's
// calendar, reviews his contacts and has a Custom level on his notes.
// Exchange keeps a delegate's folder levels as permissions of those
// folders, so each Reviewer, Author or Editor level is also the folder's
// permission (the generated inbox and calendar permissions already give
// the next user Reviewer and Editor; tasks and contacts get theirs here).
// A Custom level has no folder permission here: ewstest keeps levels by
// name, and a Custom one names no rights [I]. Items and folders do not
// change, so item and folder counts stay as they were.
func demoDelegates(users []*User) {
	if len(users) < 2 {
		return
	}
	a, b := users[0], users[1]
	a.Delegates = []format.Delegate{{Address: b.SMTP, Name: b.DisplayName,
		Folders:               map[string]string{"calendar": "Editor", "inbox": "Reviewer", "tasks": "Author", "contacts": "None", "notes": "None", "journal": "None"},
		ReceivesMeetingCopies: true, SeesPrivateItems: true}}
	folderPermission(a, "tasks", b.SMTP, "Author")
	if len(users) < 3 {
		return
	}
	c := users[2]
	b.Delegates = []format.Delegate{{Address: c.SMTP, Name: c.DisplayName,
		Folders: map[string]string{"calendar": "Editor", "tasks": "None", "inbox": "None", "contacts": "Reviewer", "notes": "Custom", "journal": "None"}}}
	folderPermission(b, "contacts", c.SMTP, "Reviewer")
}

// folderPermission sets grantee's level on the owner's default folder dist.
func folderPermission(owner *User, dist, grantee, level string) {
	f := owner.dist[dist]
	if f == nil {
		return
	}
	for i, p := range f.perms {
		if p.User == grantee {
			f.perms[i].Level = level
			return
		}
	}
	f.perms = append(f.perms, Permission{grantee, level})
}
