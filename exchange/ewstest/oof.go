package ewstest

import (
	"strings"
	"time"

	"github.com/iemproject/iem/format"
)

// getUserOofSettings answers GetUserOofSettingsRequest with the mailbox's
// OofSettings. Shape: [V MS-OXWOOF 4.2]: one ResponseMessage (no
// ResponseMessages list) beside OofSettings (in the types namespace) and
// AllowExternalOof. A mailbox without settings answers Disabled with empty
// replies, as a new Exchange mailbox does [I]. An unknown address answers
// ErrorNonExistentMailbox [I: the code GetFolder gives for one].
func (s *Server) getUserOofSettings(r *req) (func(*w), *opFault) {
	addr := r.body.Text("Mailbox", "Address")
	if addr == "" {
		return nil, schemaFault("Mailbox/Address missing.")
	}
	u := s.Org.Mailbox(addr)
	return func(b *w) {
		if u == nil {
			b.WriteString(`<ResponseMessage ResponseClass="Error"><MessageText>The SMTP address has no mailbox associated with it.</MessageText>` +
				`<ResponseCode>ErrorNonExistentMailbox</ResponseCode><DescriptiveLinkKey>0</DescriptiveLinkKey></ResponseMessage>`)
			return
		}
		o := s.Org.outOfOfficeOf(u) // dispatch holds the org's lock
		b.WriteString(`<ResponseMessage ResponseClass="Success"><ResponseCode>NoError</ResponseCode></ResponseMessage>`)
		b.WriteString(`<OofSettings xmlns="http://schemas.microsoft.com/exchange/services/2006/types">`)
		b.el("OofState", oofWord(o.State))
		b.el("ExternalAudience", oofWord(o.ExternalAudience))
		b.printf(`<Duration><StartTime>%s</StartTime><EndTime>%s</EndTime></Duration>`,
			o.Start.UTC().Format("2006-01-02T15:04:05"), o.End.UTC().Format("2006-01-02T15:04:05"))
		b.WriteString(`<InternalReply><Message>`)
		b.esc(o.InternalReply)
		b.WriteString(`</Message></InternalReply><ExternalReply><Message>`)
		b.esc(o.ExternalReply)
		b.WriteString(`</Message></ExternalReply></OofSettings><AllowExternalOof>All</AllowExternalOof>`)
	}, nil
}

// oofWord writes a lower-case model value as the schema spells it
// (Disabled, Enabled, Scheduled; None, Known, All).
func oofWord(s string) string {
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// OutOfOfficeOf returns u's automatic reply as the server reports it: a
// mailbox without one is Disabled with empty replies, as a new Exchange
// mailbox is [I], and a reply without a Duration reports one day from the
// org's base time (Exchange always reports a Duration [V MS-OXWOOF 4.2]).
// The Graph emulator serves the same values from mailboxSettings.
func (o *Org) OutOfOfficeOf(u *User) format.OutOfOffice {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.outOfOfficeOf(u)
}

func (o *Org) outOfOfficeOf(u *User) format.OutOfOffice {
	r := format.OutOfOffice{State: "disabled", ExternalAudience: "none"}
	if u.OutOfOffice != nil {
		r = *u.OutOfOffice
	}
	if r.Start.IsZero() {
		r.Start, r.End = o.base, o.base.Add(24*time.Hour)
	}
	return r
}

// SetOutOfOffice sets a mailbox's automatic reply (nil: none), as a user
// does in Outlook between two rounds.
func (o *Org) SetOutOfOffice(smtp string, oof *format.OutOfOffice) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if u := o.Mailbox(smtp); u != nil {
		u.OutOfOffice = oof
	}
}

// demoOutOfOffice is the generated org's one automatic reply: scheduled,
// HTML as Exchange 2010 and later store it, with an external reply that
// differs from the internal one.
func demoOutOfOffice(base time.Time) *format.OutOfOffice {
	start := base.AddDate(0, 0, 14)
	return &format.OutOfOffice{State: "scheduled", ExternalAudience: "all", Start: start, End: start.AddDate(0, 0, 7),
		InternalReply: "<html><head><meta charset=\"utf-8\"></head><body><p>Ich bin bis zum Montag nicht im Büro.</p></body></html>",
		ExternalReply: "<html><body><p>Thank you for your message. I am out of the office until Monday.</p></body></html>"}
}
