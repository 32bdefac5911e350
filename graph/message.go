package graph

import (
	"context"
	"encoding/json"
	"io"
	"net/url"
	"time"

	"github.com/iemproject/iem/format"
)

// flexBool is a JSON boolean that also accepts "true"/"false" strings:
// Microsoft's delta sample sends "isRead": "true" (graph.md §11 W3).
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	var s string
	if json.Unmarshal(data, &s) == nil {
		*b = s == "true"
		return nil
	}
	var v bool
	err := json.Unmarshal(data, &v)
	*b = flexBool(v)
	return err
}

// message is the part of a Graph message the archive records.
type message struct {
	ID                   string    `json:"id"`
	IsRead               flexBool  `json:"isRead"`
	IsDraft              flexBool  `json:"isDraft"`
	Importance           string    `json:"importance"`
	Categories           []string  `json:"categories"`
	ReceivedDateTime     time.Time `json:"receivedDateTime"`
	SentDateTime         time.Time `json:"sentDateTime"`
	InternetMessageID    string    `json:"internetMessageId"`
	LastModifiedDateTime time.Time `json:"lastModifiedDateTime"`
	Flag                 struct {
		FlagStatus string `json:"flagStatus"`
	} `json:"flag"`
}

// messageSelect is the $select for [message].
const messageSelect = "id,isRead,isDraft,importance,categories,receivedDateTime,sentDateTime,internetMessageId,lastModifiedDateTime,flag"

// meta maps a Graph message onto the properties the EWS Source reads
// (format.MailMeta), so that both Sources record the same attributes.
// Graph's flagStatus and importance values are the EWS ones in lower
// camel case (flagged, complete; low, normal, high).
func (m *message) meta() format.MailMeta {
	return format.MailMeta{
		ItemClass:  "IPM.Note",
		Read:       bool(m.IsRead),
		Flagged:    m.Flag.FlagStatus == "flagged",
		FlagStatus: upperFirst(m.Flag.FlagStatus),
		Categories: m.Categories,
		Importance: upperFirst(m.Importance),
		Draft:      bool(m.IsDraft),
		Received:   m.ReceivedDateTime,
		Sent:       m.SentDateTime,
		MessageID:  m.InternetMessageID,
	}
}

func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// Message reads a message's properties.
func (c *Client) Message(ctx context.Context, mailbox, id string) (*message, error) {
	var m message
	err := c.Get(ctx, messagePath(mailbox, id)+"?$select="+messageSelect, &m)
	return &m, err
}

// MIME opens a message's MIME content ($value) as a stream; the caller
// closes it. The HTTP Content-Type is not trusted (W4 sends text/plain).
func (c *Client) MIME(ctx context.Context, mailbox, id string) (io.ReadCloser, error) {
	return c.Open(ctx, messagePath(mailbox, id)+"/$value")
}

func messagePath(mailbox, id string) string {
	return "users/" + url.PathEscape(mailbox) + "/messages/" + url.PathEscape(id)
}
