package exchange

import (
	"bytes"
	"context"

	"github.com/iemproject/iem/exchange/internal/soap"
	"github.com/iemproject/iem/format"
)

// GetDelegates returns a mailbox's delegates with their permissions
// (GetDelegate, Exchange 2007 SP1 and later, the oldest version the client
// speaks). Request and response from
// https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getdelegate-operation:
// GetDelegate IncludePermissions="true" with Mailbox/EmailAddress; the
// GetDelegateResponse is itself a response message (ResponseClass,
// ResponseCode) whose ResponseMessages hold one
// DelegateUserResponseMessageType per delegate. A mailbox without
// delegates is taken to answer no ResponseMessages [I]. A delegate whose
// own message is an error is left out and returned in unread.
func (c *Client) GetDelegates(ctx context.Context, mailbox string) (delegates []format.Delegate, unread []*Error, err error) {
	h, _, err := c.prepare(ctx, mailbox)
	if err != nil {
		return nil, nil, err
	}
	build := func(h soap.Header) []byte {
		var b bytes.Buffer
		b.WriteString(`<m:GetDelegate IncludePermissions="true"><m:Mailbox><t:EmailAddress>`)
		soap.Escape(&b, mailbox)
		b.WriteString(`</t:EmailAddress></m:Mailbox></m:GetDelegate>`)
		return soap.Envelope(h, b.Bytes())
	}
	err = c.doTree(ctx, "GetDelegate", h, build, func(_ []byte, msgs []*soap.Node) error {
		delegates, unread = nil, nil
		for _, m := range msgs {
			e := messageError(m)
			switch {
			case m.Local != "DelegateUserResponseMessageType" && e != nil:
				return e // the response as a whole
			case m.Local != "DelegateUserResponseMessageType":
				// No ResponseMessages: no delegates.
			case e != nil:
				unread = append(unread, e)
			default:
				delegates = append(delegates, parseDelegate(m.Child("DelegateUser")))
			}
		}
		format.SortDelegates(delegates)
		return nil
	})
	return delegates, unread, err
}

// parseDelegate reads one DelegateUser (DelegateUserType: UserId,
// DelegatePermissions, ReceiveCopiesOfMeetingMessages, ViewPrivateItems).
func parseDelegate(n *soap.Node) format.Delegate {
	d := format.Delegate{Address: n.Text("UserId", "PrimarySmtpAddress"), Name: n.RawText("UserId", "DisplayName"),
		ReceivesMeetingCopies: n.Bool("ReceiveCopiesOfMeetingMessages"), SeesPrivateItems: n.Bool("ViewPrivateItems")}
	if p := n.Child("DelegatePermissions"); p != nil {
		for kind, el := range format.DelegateFolders {
			if l := p.Text(el); l != "" {
				if d.Folders == nil {
					d.Folders = map[string]string{}
				}
				d.Folders[kind] = l
			}
		}
	}
	return d
}

// delegates adds the mailbox's delegates to set. Unlike the inbox rules,
// an error does not fail the settings read: the delegates are "not read",
// with the reason, and the rest of the settings are kept.
func (s *Source) delegates(ctx context.Context, mailbox string, set *format.MailboxSettings) error {
	l, unread, err := s.c.GetDelegates(ctx, mailbox)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		set.Fail(format.PartDelegates, err)
		return nil
	}
	for _, e := range unread {
		set.NotRead = append(set.NotRead, "a delegate: "+e.Error())
	}
	set.Delegates = l
	return nil
}
