package format

import (
	"regexp"
	"strings"
	"time"
)

// MailboxSettings is what a mailbox has besides its items: the body of
// the archive's "settings" entry (spec/SPEC.md §4, kind 14; format/JSON.md).
type MailboxSettings struct {
	OutOfOffice *OutOfOffice `json:"outOfOffice,omitempty"`
	// Rules are the mailbox's inbox rules (format/rules.go), in priority
	// order; absent when the source has none or cannot read them.
	Rules []InboxRule `json:"rules,omitempty"`
	// FullAccess and SendAs are the mailboxes and groups (primary SMTP)
	// granted Full Access to the mailbox and Send As on its account, from
	// the directory's security descriptors (exchange/directory grants.go).
	FullAccess []string `json:"fullAccess,omitempty"`
	SendAs     []string `json:"sendAs,omitempty"`
	// Delegates are the mailbox's delegates (EWS GetDelegate,
	// format/delegates.go), by address; absent when it has none or they
	// were not read (NotRead then says why).
	Delegates []Delegate `json:"delegates,omitempty"`
	// NotRead names what the source did not read and why (e.g. inbox
	// rules on a server version without GetInboxRules); the export
	// reports it as "not asked". It is not archived.
	NotRead []string `json:"-"`
	// Failed names the parts (PartOutOfOffice, PartRules, PartDelegates)
	// the source asked for and could not read this round, with the
	// error; the export keeps the previous round's value of such a part
	// rather than archiving it as absent. It is not archived.
	Failed map[string]error `json:"-"`
}

// The parts of MailboxSettings a source reads separately (Failed's keys).
const (
	PartOutOfOffice = "out-of-office"
	PartRules       = "inbox rules"
	PartDelegates   = "delegates"
)

// Fail records that part could not be read this round.
func (m *MailboxSettings) Fail(part string, err error) {
	if m.Failed == nil {
		m.Failed = map[string]error{}
	}
	m.Failed[part] = err
}

// Carry copies the parts named in Failed from prev (the previous round's
// settings) and returns the parts it copied; a part prev does not have
// either stays absent.
func (m *MailboxSettings) Carry(prev *MailboxSettings) (kept []string) {
	if prev == nil {
		return nil
	}
	for part := range m.Failed {
		switch part {
		case PartOutOfOffice:
			if prev.OutOfOffice == nil {
				continue
			}
			m.OutOfOffice = prev.OutOfOffice
		case PartRules:
			if prev.Rules == nil {
				continue
			}
			m.Rules = prev.Rules
		case PartDelegates:
			if prev.Delegates == nil {
				continue
			}
			m.Delegates = prev.Delegates
		default:
			continue
		}
		kept = append(kept, part)
	}
	return kept
}

// OutOfOffice is a mailbox's automatic reply, as Exchange keeps it
// ([MS-OXWOOF] 2.2.4.6 UserOofSettings: OofState, ExternalAudience,
// Duration, InternalReply, ExternalReply).
type OutOfOffice struct {
	// State is "disabled", "enabled" or "scheduled" (OofState).
	State string `json:"state"`
	// ExternalAudience is "none", "known" (senders in the user's
	// contacts) or "all": who outside the organisation gets ExternalReply.
	ExternalAudience string `json:"externalAudience,omitempty"`
	// Start and End bound a scheduled reply (Duration, UTC); Exchange
	// ignores them unless State is "scheduled".
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
	// InternalReply and ExternalReply are the reply texts as Exchange
	// stores them: HTML from Exchange 2010 on, plain text before.
	InternalReply string `json:"internalReply,omitempty"`
	ExternalReply string `json:"externalReply,omitempty"`
}

// Responder is an IceWarp account's auto-responder: the U_Respond* account
// properties of the admin API (icewarp.md §2.4; property names and their
// meaning from IceWarp's API constants, "U_Respond: 0 do not respond,
// 1 respond always, 2 respond once, 3 respond once in period").
type Responder struct {
	Mode int // U_Respond
	// From and Till are U_RespondBetweenFrom / U_RespondBetweenTo as the
	// WebClient writes them, "YYYY/MM/DD" (empty: no date bound).
	From, Till string
	// Content is U_ResponderContent: the reply text. The WebClient puts
	// "$$setsubject ...$$" lines before it when a subject is set; Exchange
	// has none, so IceWarp's default subject is used.
	Content string
}

// Responder modes (U_Respond).
const (
	RespondNever = 0
	RespondOnce  = 2 // once per sender, as Exchange sends its OOF reply
)

// IceWarpResponder converts an Exchange automatic reply into IceWarp's
// responder, and says what IceWarp cannot hold. Exchange answers every
// sender once per OOF period (RespondOnce). IceWarp has one reply text: the
// internal reply is kept (Outlook's "Inside my organization" tab); an
// external reply that says something else is reported as not moved. A
// scheduled reply keeps its dates but not its times of day: IceWarp's
// responder bounds are whole days, and an end at midnight ends the day
// before (INFERRED: the WebClient offers dates only). The reply's HTML
// wrapper (html, head, title, body) is removed as the WebClient removes it
// before it stores a responder text; the markup inside is kept.
func IceWarpResponder(o *OutOfOffice) (Responder, []string) {
	var lost []string
	r := Responder{Mode: RespondOnce}
	switch o.State {
	case "disabled", "":
		r.Mode = RespondNever
	case "scheduled":
		if !o.Start.IsZero() {
			r.From = o.Start.UTC().Format("2006/01/02")
		}
		if !o.End.IsZero() {
			end := o.End.UTC()
			if end.Hour() == 0 && end.Minute() == 0 && end.Second() == 0 {
				end = end.AddDate(0, 0, -1)
			}
			r.Till = end.Format("2006/01/02")
		}
		if timeOfDay(o.Start) || timeOfDay(o.End) {
			lost = append(lost, "out-of-office: the schedule's times of day (IceWarp schedules whole days)")
		}
	}
	internal, external := stripHTMLWrapper(o.InternalReply), stripHTMLWrapper(o.ExternalReply)
	text := internal
	if strings.TrimSpace(text) == "" {
		text = external
	} else if o.ExternalAudience != "none" && strings.TrimSpace(external) != "" &&
		replyText(external) != replyText(internal) {
		lost = append(lost, "out-of-office: the external reply (IceWarp has one reply text; the internal one was set)")
	}
	r.Content = text
	return r, lost
}

// timeOfDay reports a schedule bound that is not at midnight UTC.
func timeOfDay(t time.Time) bool {
	if t.IsZero() {
		return false
	}
	t = t.UTC()
	return t.Hour() != 0 || t.Minute() != 0 || t.Second() != 0
}

var htmlWrapperRE = regexp.MustCompile(`(?is)<!DOCTYPE[^>]*>|<head\b.*?</head>|</?(html|body|title)\b[^>]*>`)

func stripHTMLWrapper(s string) string {
	return strings.TrimSpace(htmlWrapperRE.ReplaceAllString(s, ""))
}

// replyText is a reply reduced to its words, to compare two replies.
func replyText(s string) string {
	return strings.Join(strings.Fields(htmlToText(s)), " ")
}
