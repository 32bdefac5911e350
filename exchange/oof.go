package exchange

import (
	"bytes"
	"context"
	"strings"
	"time"

	"github.com/iemproject/iem/exchange/internal/soap"
	"github.com/iemproject/iem/format"
)

// GetUserOofSettings returns a mailbox's automatic reply (Exchange 2007
// SP1 and later). Request and response shapes: [MS-OXWOOF] 3.1.4.1 and
// 4.1-4.2 (GetUserOofSettingsRequest/Mailbox/Address; the response holds
// one ResponseMessage beside OofSettings). The admin asks under
// impersonation of the mailbox, as for every other operation.
func (c *Client) GetUserOofSettings(ctx context.Context, mailbox string) (*format.OutOfOffice, error) {
	h, _, err := c.prepare(ctx, mailbox)
	if err != nil {
		return nil, err
	}
	build := func(h soap.Header) []byte {
		var b bytes.Buffer
		b.WriteString(`<m:GetUserOofSettingsRequest><t:Mailbox><t:Address>`)
		soap.Escape(&b, mailbox)
		b.WriteString(`</t:Address></t:Mailbox></m:GetUserOofSettingsRequest>`)
		return soap.Envelope(h, b.Bytes())
	}
	var oof *format.OutOfOffice
	err = c.doSingle(ctx, "GetUserOofSettings", h, build, func(_ []byte, m *soap.Node) error {
		oof = parseOof(m.Child("OofSettings"))
		return nil
	})
	return oof, err
}

// parseOof reads OofSettings [MS-OXWOOF] 2.2.4.6; nil when it is absent.
func parseOof(n *soap.Node) *format.OutOfOffice {
	if n == nil {
		return nil
	}
	return &format.OutOfOffice{
		State:            strings.ToLower(n.Text("OofState")),
		ExternalAudience: strings.ToLower(n.Text("ExternalAudience")),
		Start:            oofTime(n.Text("Duration", "StartTime")),
		End:              oofTime(n.Text("Duration", "EndTime")),
		InternalReply:    n.RawText("InternalReply", "Message"),
		ExternalReply:    n.RawText("ExternalReply", "Message"),
	}
}

// oofTime parses a Duration bound: xs:dateTime, in UTC when it carries no
// offset (the protocol's sample, [MS-OXWOOF] 4.2, has none).
func oofTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
