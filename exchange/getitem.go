package exchange

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/iemproject/iem/exchange/internal/soap"
)

// ItemKind selects how GetItems fetches items.
type ItemKind int

// Item kinds.
const (
	// KindMail: messages, meeting messages, posts and notes; fetched with
	// their MIME content [V ews.md §2.7].
	KindMail ItemKind = iota + 1
	// KindContact, KindCalendar, KindTask: fetched as property sets
	// (AllProperties); 2007 cannot give contacts as vCard and tasks have no
	// MIME form at all [V ews.md §4.1].
	KindContact
	KindCalendar
	KindTask
)

func (k ItemKind) String() string {
	switch k {
	case KindMail:
		return "mail"
	case KindContact:
		return "contact"
	case KindCalendar:
		return "calendar"
	case KindTask:
		return "task"
	}
	panic(fmt.Sprintf("exchange: unknown ItemKind %d", int(k)))
}

// KindOf picks the ItemKind for an item element name and ItemClass, as
// reported by SyncFolderItems or FindItems.
func KindOf(typ, class string) ItemKind {
	switch typ {
	case "Contact", "DistributionList":
		return KindContact
	case "CalendarItem":
		return KindCalendar
	case "Task":
		return KindTask
	}
	switch {
	case strings.HasPrefix(class, "IPM.Contact"), strings.HasPrefix(class, "IPM.DistList"):
		return KindContact
	case strings.HasPrefix(class, "IPM.Appointment"):
		return KindCalendar
	case strings.HasPrefix(class, "IPM.Task"):
		return KindTask
	}
	return KindMail
}

// Item is one item from GetItems.
type Item struct {
	ID               ItemID
	Type             string // element name: Message, Contact, CalendarItem, Task, PostItem...
	ItemClass        string
	ParentFolderID   string
	Subject          string
	DateTimeReceived time.Time
	DateTimeSent     time.Time
	LastModifiedTime time.Time
	IsRead           bool
	// FlagStatus is PR_FLAG_STATUS: 0 none, 1 complete, 2 flagged.
	FlagStatus        int
	Categories        []string
	Importance        string
	Size              int64
	InternetMessageID string
	// CalendarItemType is Single, Occurrence, Exception or RecurringMaster.
	CalendarItemType string
	// ModifiedOccurrences lists the exceptions of a recurring master; fetch
	// them with GetItems(..., KindCalendar, ...) [V ews.md §4.3 modifiedoccurrences.md].
	ModifiedOccurrences []ItemID
	// XML is the exact bytes of the item element as cut out of the
	// response, without MimeContent. Namespace declarations of enclosing
	// elements are not included.
	XML []byte
	// MIME streams the decoded MimeContent of KindMail items straight from
	// the response; it is valid only during the callback. nil when Err is
	// set or for other kinds.
	MIME io.Reader
	// Err is the item's own failure (an *Error: ErrorItemNotFound,
	// ErrorMimeContentConversionFailed, ErrorItemCorrupt ...). For MIME
	// failures the item was refetched without MIME, so XML holds all its
	// properties for a rebuild [V ews.md §2.7 responsecode.md].
	Err error
}

// GetItems fetches items in batches and calls fn once per requested id, in
// order, from the calling goroutine. Per-item errors are delivered in
// Item.Err and do not stop the batch; a non-nil error from fn stops
// GetItems and is returned.
//
// For KindMail, properties are fetched first, then the MimeContent of up
// to BatchSize items per request (items of LargeItemSize or more one per
// request) and Item.MIME decodes the base64 text as it arrives, so an item
// is never held whole in memory. If the response breaks off while fn is
// reading MIME, reads fail with an error wrapping ErrMIMEStream; if fn
// returns that error, GetItems fetches the item again and calls fn again
// for it, so fn must discard what it wrote for the broken attempt.
func (c *Client) GetItems(ctx context.Context, mailbox string, ids []ItemID, kind ItemKind, fn func(*Item) error) error {
	h, v, err := c.prepare(ctx, mailbox)
	if err != nil {
		return err
	}
	for len(ids) > 0 {
		n := min(len(ids), c.opt.BatchSize)
		batch := ids[:n]
		ids = ids[n:]
		items, err := c.getProps(ctx, h, v, batch, kind == KindMail)
		if err != nil {
			return err
		}
		if kind != KindMail {
			for _, it := range items {
				if err := fn(it); err != nil {
					return err
				}
			}
			continue
		}
		var group []*Item
		var groupSize int64
		flush := func() error {
			if len(group) == 0 {
				return nil
			}
			err := c.streamMIME(ctx, h, v, group, fn)
			group, groupSize = nil, 0
			return err
		}
		for _, it := range items {
			switch {
			case it.Err != nil:
				if err := flush(); err != nil {
					return err
				}
				if err := fn(it); err != nil {
					return err
				}
			case it.Size >= c.opt.LargeItemSize:
				if err := flush(); err != nil {
					return err
				}
				group = []*Item{it}
				if err := flush(); err != nil {
					return err
				}
			default:
				if groupSize+it.Size > c.opt.LargeItemSize {
					if err := flush(); err != nil {
						return err
					}
				}
				group = append(group, it)
				groupSize += it.Size
			}
		}
		if err := flush(); err != nil {
			return err
		}
	}
	return nil
}

// Extended properties read on every version: PR_FLAG_STATUS (0x1090) and
// PR_LAST_MODIFICATION_TIME (0x3008); item:LastModifiedTime and item:Flag
// do not exist in the 2007 schema [I].
const extProps = `<t:ExtendedFieldURI PropertyTag="0x1090" PropertyType="Integer"/>` +
	`<t:ExtendedFieldURI PropertyTag="0x3008" PropertyType="SystemTime"/>`

// mailProps are the properties fetched for mail before the MIME stream.
const mailProps = `<t:FieldURI FieldURI="item:ItemClass"/><t:FieldURI FieldURI="item:Subject"/>` +
	`<t:FieldURI FieldURI="item:ParentFolderId"/><t:FieldURI FieldURI="item:DateTimeReceived"/>` +
	`<t:FieldURI FieldURI="item:DateTimeSent"/><t:FieldURI FieldURI="item:DateTimeCreated"/>` +
	`<t:FieldURI FieldURI="item:Size"/><t:FieldURI FieldURI="item:Importance"/>` +
	`<t:FieldURI FieldURI="item:Categories"/><t:FieldURI FieldURI="item:Sensitivity"/>` +
	`<t:FieldURI FieldURI="item:HasAttachments"/><t:FieldURI FieldURI="message:IsRead"/>` +
	`<t:FieldURI FieldURI="message:InternetMessageId"/><t:FieldURI FieldURI="message:From"/>`

func writeItemIDs(b *bytes.Buffer, ids []ItemID) {
	b.WriteString(`<m:ItemIds>`)
	for _, id := range ids {
		b.WriteString(`<t:ItemId Id="`)
		soap.Escape(b, id.ID)
		if id.ChangeKey != "" {
			b.WriteString(`" ChangeKey="`)
			soap.Escape(b, id.ChangeKey)
		}
		b.WriteString(`"/>`)
	}
	b.WriteString(`</m:ItemIds>`)
}

// getProps fetches items without MIME: mail with a small property set,
// everything else with AllProperties [V ews.md §2.7 how-to-export-items-by-using-ews-in-exchange.md].
func (c *Client) getProps(ctx context.Context, h soap.Header, v Version, ids []ItemID, mailShape bool) ([]*Item, error) {
	build := func(h soap.Header) []byte {
		var b bytes.Buffer
		if mailShape {
			b.WriteString(`<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>` + mailProps + extProps)
		} else {
			b.WriteString(`<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape><t:AdditionalProperties>` + extProps)
		}
		b.WriteString(`</t:AdditionalProperties></m:ItemShape>`)
		writeItemIDs(&b, ids)
		b.WriteString(`</m:GetItem>`)
		return soap.Envelope(h, b.Bytes())
	}
	var items []*Item
	err := c.doTree(ctx, "GetItem", h, build, func(data []byte, msgs []*soap.Node) error {
		items = items[:0]
		if len(msgs) != len(ids) {
			return fmt.Errorf("exchange: getItem: %d response messages for %d ids", len(msgs), len(ids))
		}
		for i, m := range msgs {
			if e := messageError(m); e != nil {
				items = append(items, &Item{ID: ids[i], Err: e})
				continue
			}
			var el *soap.Node
			if its := m.Child("Items"); its != nil && len(its.Children) > 0 {
				el = its.Children[0]
			}
			if el == nil {
				items = append(items, &Item{ID: ids[i], Err: &Error{Code: CodeItemNotFound, Message: "empty Items in a successful response"}})
				continue
			}
			items = append(items, parseItem(el, data))
		}
		return nil
	})
	return items, err
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t
}

func parseItem(n *soap.Node, data []byte) *Item {
	id := n.Child("ItemId")
	it := &Item{
		ID:                ItemID{id.Attr("Id"), id.Attr("ChangeKey")},
		Type:              n.Local,
		ItemClass:         n.Child("ItemClass").Text(),
		ParentFolderID:    n.Child("ParentFolderId").Attr("Id"),
		Subject:           n.Child("Subject").RawText(),
		DateTimeReceived:  parseTime(n.Child("DateTimeReceived").Text()),
		DateTimeSent:      parseTime(n.Child("DateTimeSent").Text()),
		LastModifiedTime:  parseTime(n.Child("LastModifiedTime").Text()),
		IsRead:            n.Child("IsRead").Text() == "true",
		Importance:        n.Child("Importance").Text(),
		InternetMessageID: n.Child("InternetMessageId").Text(),
		CalendarItemType:  n.Child("CalendarItemType").Text(),
		XML:               n.Raw(data),
	}
	it.Size, _ = strconv.ParseInt(n.Child("Size").Text(), 10, 64)
	for _, s := range n.Child("Categories").All("String") {
		it.Categories = append(it.Categories, s.Text())
	}
	for _, o := range n.Child("ModifiedOccurrences").All("Occurrence") {
		oid := o.Child("ItemId")
		it.ModifiedOccurrences = append(it.ModifiedOccurrences, ItemID{oid.Attr("Id"), oid.Attr("ChangeKey")})
	}
	for _, ep := range n.All("ExtendedProperty") {
		uri := ep.Child("ExtendedFieldURI")
		tag, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(uri.Attr("PropertyTag")), "0x"), 16, 32)
		if err != nil || !strings.HasPrefix(strings.ToLower(uri.Attr("PropertyTag")), "0x") {
			tag, _ = strconv.ParseUint(uri.Attr("PropertyTag"), 10, 32)
		}
		switch tag {
		case 0x1090:
			it.FlagStatus, _ = strconv.Atoi(ep.Child("Value").Text())
		case 0x3008:
			if it.LastModifiedTime.IsZero() {
				it.LastModifiedTime = parseTime(ep.Child("Value").Text())
			}
		}
	}
	return it
}

// mimeStream marks read errors of a broken response with ErrMIMEStream.
type mimeStream struct{ r io.Reader }

func (m mimeStream) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%w: %w", ErrMIMEStream, err)
	}
	return n, err
}

// streamMIME fetches MimeContent for items (whose properties are already
// set) and calls fn for each while its MIME streams. Items delivered are
// dropped from the pending list, so a retried attempt asks only for the
// rest.
func (c *Client) streamMIME(ctx context.Context, h soap.Header, v Version, items []*Item, fn func(*Item) error) error {
	pending := items
	build := func(h soap.Header) []byte {
		var b bytes.Buffer
		// [V ews.md §2.7 how-to-export-items-by-using-ews-in-exchange.md]
		b.WriteString(`<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:IncludeMimeContent>true</t:IncludeMimeContent></m:ItemShape>`)
		ids := make([]ItemID, len(pending))
		for i, it := range pending {
			ids[i] = it.ID
		}
		writeItemIDs(&b, ids)
		b.WriteString(`</m:GetItem>`)
		return soap.Envelope(h, b.Bytes())
	}
	deliver := func(it *Item) error {
		if err := fn(it); err != nil {
			if !errors.Is(err, ErrMIMEStream) {
				pending = pending[1:]
			}
			return callbackError{err}
		}
		pending = pending[1:]
		return nil
	}
	return c.call(ctx, "GetItem", h, build, func(resp *http.Response) error {
		if err := checkStatus(resp); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			body, err := io.ReadAll(io.LimitReader(soap.NewFilter(resp.Body), 1<<20))
			if err != nil {
				return err
			}
			c.debugResponse(resp, body)
			root, err := soap.Parse(body)
			if err != nil {
				return &HTTPError{Status: resp.StatusCode}
			}
			if f := root.Path("Envelope", "Body", "Fault"); f != nil {
				return parseFault(f)
			}
			return &HTTPError{Status: resp.StatusCode}
		}
		c.debugResponse(resp, nil)
		sc := soap.NewScanner(soap.NewFilter(resp.Body), 1<<20)
		for {
			tok, err := sc.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			if tok.Kind == startTagKind && tok.Local == "Fault" {
				return fmt.Errorf("%w: soap fault in a 200 response", ErrTruncated)
			}
			if tok.Kind != startTagKind || !strings.HasSuffix(tok.Local, "ResponseMessage") || tok.SelfClosing {
				continue
			}
			if len(pending) == 0 {
				return fmt.Errorf("exchange: getItem: more response messages than ids")
			}
			if err := c.scanMessage(ctx, h, v, sc, tok, pending[0], deliver); err != nil {
				return err
			}
		}
		if len(pending) > 0 {
			return fmt.Errorf("%w: %d of %d items missing", ErrTruncated, len(pending), len(items))
		}
		return nil
	})
}

const (
	startTagKind = soap.StartTag
	endTagKind   = soap.EndTag
	textKind     = soap.Text
)

// scanMessage reads one GetItemResponseMessage whose start tag was just
// read, streaming its MimeContent to fn through deliver.
func (c *Client) scanMessage(ctx context.Context, h soap.Header, v Version, sc *soap.Scanner, start soap.Token, it *Item, deliver func(*Item) error) error {
	e := &Error{}
	failed := start.Attrs["ResponseClass"] == "Error"
	var cur, valueName string
	delivered := false
	for {
		tok, err := sc.Next()
		if err != nil {
			if err == io.EOF {
				err = ErrTruncated
			}
			return err
		}
		switch tok.Kind {
		case startTagKind:
			cur = tok.Local
			if tok.Local == "Value" {
				valueName = tok.Attrs["Name"]
			}
			if tok.Local == "ItemId" && delivered && tok.Attrs["Id"] != it.ID.ID {
				return fmt.Errorf("exchange: getItem: response item %q does not match request %q", tok.Attrs["Id"], it.ID.ID)
			}
			if tok.Local == "MimeContent" && !tok.SelfClosing && !failed && !delivered {
				delivered = true
				mr := mimeStream{sc.MIME()}
				it.MIME = mr
				if err := deliver(it); err != nil {
					return err
				}
				it.MIME = nil
				if _, err := io.Copy(io.Discard, mr); err != nil {
					return err
				}
			}
		case textKind:
			switch cur {
			case "ResponseCode":
				e.Code = tok.Text
			case "MessageText":
				e.Message = tok.Text
			case "Value":
				switch valueName {
				case "BackOffMilliseconds":
					if ms, err := strconv.ParseInt(tok.Text, 10, 64); err == nil && ms > 0 {
						e.BackOff = time.Duration(ms) * time.Millisecond
					}
				case "InnerErrorResponseCode":
					e.Inner = tok.Text
				}
			}
		case endTagKind:
			if tok.Local != start.Local {
				continue
			}
			if delivered {
				return nil
			}
			if failed && e.transient() {
				return e // retried from this item
			}
			if !failed {
				e = &Error{Code: CodeMimeConversionFailed, Message: "no MimeContent in a successful response"}
			}
			it.Err = e
			switch e.Code {
			case CodeMimeConversionFailed, CodeItemCorrupt, CodeUnsupportedMime:
				// Refetch without MIME so the caller can rebuild the item
				// [V ews.md §2.7 responsecode.md ErrorItemCorrupt].
				full, err := c.getProps(ctx, h, v, []ItemID{it.ID}, false)
				if err != nil {
					return err
				}
				if len(full) == 1 && full[0].Err == nil {
					full[0].Err = e
					*it = *full[0]
				}
			}
			c.log.Warn("item skipped", "mailbox", h.Impersonate, "id", it.ID.ID, "err", e)
			return deliver(it)
		}
	}
}
