package format

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// mailItems are the EWS item elements that carry mail MIME content
// [V MSDOCS responsecode.md ErrorUnsupportedMimeConversion: "a PostItem,
// Message, or CalendarItem"]; meeting messages derive from Message.
var mailItems = []string{"Message", "PostItem", "MeetingRequest", "MeetingResponse",
	"MeetingCancellation", "MeetingMessage", "Item"}

// MIMEContent returns the decoded bytes of the item's MimeContent element,
// exactly as Exchange produced them: the archive keeps them as the EML and
// never re-encodes them. It returns ErrNoMIMEContent when the element is
// absent or empty (GetItem failed with ErrorMimeContentConversionFailed or
// ErrorItemCorrupt, or MIME was not requested), and ErrTruncated when
// Exchange cut the stream short.
//
// Wire shape [V MSDOCS how-to-export-items-by-using-ews-in-exchange.md]:
//
//	<t:Message><t:MimeContent CharacterSet="UTF-8">UmVj…</t:MimeContent>…</t:Message>
func MIMEContent(itemXML []byte) ([]byte, error) {
	n, err := parseItem(itemXML, append(mailItems, "CalendarItem", "Contact")...)
	if err != nil {
		return nil, err
	}
	return mimeContent(n)
}

func mimeContent(n *node) ([]byte, error) {
	mc := n.Child("MimeContent")
	if mc == nil {
		return nil, ErrNoMIMEContent
	}
	s := mc.RawText()
	if strings.TrimSpace(s) == "" {
		return nil, ErrNoMIMEContent
	}
	if strings.Contains(s, "=== Truncated Data ===") {
		return nil, ErrTruncated
	}
	// base64.StdEncoding skips CR and LF itself; other whitespace in
	// wrapped base64 is dropped first (rare, so copy only then).
	if strings.ContainsAny(s, " \t") {
		s = strings.NewReplacer(" ", "", "\t", "").Replace(s)
	}
	b := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	m, err := base64.StdEncoding.Decode(b, []byte(s))
	if err != nil {
		return nil, fmt.Errorf("%w: mime content: %v", ErrMalformed, err)
	}
	return b[:m], nil
}

// MailMeta is the per-message state that travels beside the EML instead of
// being written into it. Its JSON encoding is part of the archive format:
// field names are stable, zero values are omitted, times are RFC 3339 UTC.
type MailMeta struct {
	ItemClass  string    `json:"itemClass,omitempty"`  // IPM.Note, IPM.Schedule.Meeting.Request…
	Read       bool      `json:"read"`                 // IsRead
	Flagged    bool      `json:"flagged"`              // follow-up flag set and not complete
	FlagStatus string    `json:"flagStatus,omitempty"` // NotFlagged, Flagged or Complete
	Categories []string  `json:"categories,omitempty"` // Outlook categories, in order
	Importance string    `json:"importance,omitempty"` // Low, Normal or High
	Draft      bool      `json:"draft,omitempty"`      // IsDraft
	Received   time.Time `json:"received,omitzero"`    // DateTimeReceived
	Sent       time.Time `json:"sent,omitzero"`        // DateTimeSent
	MessageID  string    `json:"messageId,omitempty"`  // InternetMessageId, with angle brackets
	Size       int64     `json:"size,omitempty"`       // Size in bytes as Exchange counts it
	Rebuilt    bool      `json:"rebuilt,omitempty"`    // the EML was made by RebuildMessage
}

// Flag status values.
const (
	FlagNotFlagged = "NotFlagged"
	FlagFlagged    = "Flagged"
	FlagComplete   = "Complete"
)

// prFlagStatus is PidTagFlagStatus (0x1090): 0 none, 1 complete, 2 flagged
// [I: MS-OXOFLAG]. Exchange 2007 has no Flag element, so the exchange client
// requests it as an extended property; 2013+ also returns <t:Flag>.
const prFlagStatus = 0x1090

// ParseMailMeta reads the MailMeta of a Message, PostItem or meeting message.
func ParseMailMeta(itemXML []byte) (MailMeta, error) {
	n, err := parseItem(itemXML, mailItems...)
	if err != nil {
		return MailMeta{}, err
	}
	m := MailMeta{
		ItemClass:  n.Text("ItemClass"),
		Read:       n.Bool("IsRead"),
		Categories: n.Texts("Categories", "String"),
		Importance: n.Text("Importance"),
		Draft:      n.Bool("IsDraft"),
		MessageID:  n.Text("InternetMessageId"),
	}
	if n.Child("IsRead") == nil && n.Child("ItemClass") != nil && strings.HasPrefix(m.ItemClass, "IPM.Post") {
		m.Read = true
	}
	if t, err := parseXSDateTime(n.Text("DateTimeReceived")); err == nil {
		m.Received = t.UTC()
	}
	if t, err := parseXSDateTime(n.Text("DateTimeSent")); err == nil {
		m.Sent = t.UTC()
	}
	if v, ok := n.Int("Size"); ok {
		m.Size = v
	}
	m.FlagStatus = n.Text("Flag", "FlagStatus")
	if m.FlagStatus == "" {
		if v, ok := extendedInt(n, prFlagStatus); ok {
			switch v {
			case 1:
				m.FlagStatus = FlagComplete
			case 2:
				m.FlagStatus = FlagFlagged
			default:
				m.FlagStatus = FlagNotFlagged
			}
		}
	}
	m.Flagged = m.FlagStatus == FlagFlagged
	return m, nil
}

// extendedInt finds <ExtendedProperty><ExtendedFieldURI PropertyTag="0x1090"
// …/><Value>2</Value></ExtendedProperty>. The tag may be decimal or hex: the
// request may say "4340" and the response echoes "0x10f4" [V ews.md §2.2].
func extendedInt(n *node, tag int64) (int64, bool) {
	for _, ep := range n.All("ExtendedProperty") {
		t := ep.Child("ExtendedFieldURI").Attr("PropertyTag")
		var v int64
		var err error
		if strings.HasPrefix(strings.ToLower(t), "0x") {
			v, err = strconv.ParseInt(t[2:], 16, 64)
		} else {
			v, err = strconv.ParseInt(t, 10, 64)
		}
		if err != nil || v != tag {
			continue
		}
		if x, err := strconv.ParseInt(ep.Text("Value"), 10, 64); err == nil {
			return x, true
		}
	}
	return 0, false
}

// IMAPFlags returns the RFC 3501 system flags matching m (\Seen, \Flagged,
// \Draft), for IMAP APPEND.
func (m MailMeta) IMAPFlags() []string {
	var f []string
	if m.Read {
		f = append(f, `\Seen`)
	}
	if m.Flagged {
		f = append(f, `\Flagged`)
	}
	if m.Draft {
		f = append(f, `\Draft`)
	}
	return f
}

// MarshalJSON encodes m with times in UTC so that the archive is
// byte-identical for identical input.
func (m MailMeta) MarshalJSON() ([]byte, error) {
	type plain MailMeta
	p := plain(m)
	if !p.Received.IsZero() {
		p.Received = p.Received.UTC()
	}
	if !p.Sent.IsZero() {
		p.Sent = p.Sent.UTC()
	}
	return json.Marshal(p)
}
