package exchange

import (
	"bytes"
	"context"
	"fmt"
	"strconv"

	"github.com/iemproject/iem/exchange/internal/soap"
)

// ItemID identifies an item version. IDs are case-sensitive and change when
// an item moves [V ews.md §2.2 ews-identifiers-in-exchange.md].
type ItemID struct {
	ID, ChangeKey string
}

// ItemChange is one change reported by SyncFolderItems.
type ItemChange struct {
	Kind ChangeKind
	ID   ItemID
	// Type is the item element name (Message, CalendarItem, Contact, Task,
	// PostItem, MeetingRequest, ...); empty for Delete and ReadFlagChange.
	Type  string
	Class string // ItemClass, e.g. "IPM.Note"; empty for Delete and ReadFlagChange
	// IsRead is the new read state of a ReadFlagChange.
	IsRead bool
}

// MaxChanges is the most changes EWS returns per SyncFolderItems call
// [V ews.md §2.5 maxchangesreturned.md].
const MaxChanges = 512

// SyncFolderItems reports the item changes of a folder since state ("" =
// all items as Create) by calling fn once per change, from the calling
// goroutine, looping with up to 512 changes per call until
// IncludesLastItemInRange [V ews.md §2.5 syncfolderitems-operation.md].
//
// It returns the new state. On error it returns the state after the last
// page whose changes were all passed to fn successfully (possibly the
// input state), which is safe to store. ErrorInvalidSyncStateData is
// returned as an *Error matching ErrInvalidSyncState: resynchronize the
// folder with state "" and skip the items already archived.
func (c *Client) SyncFolderItems(ctx context.Context, mailbox, folderID, state string, fn func(ItemChange) error) (string, error) {
	h, v, err := c.prepare(ctx, mailbox)
	if err != nil {
		return state, err
	}
	for {
		var last bool
		var newState string
		var page []ItemChange
		build := func(h soap.Header) []byte {
			var b bytes.Buffer
			b.WriteString(`<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>` +
				`<t:FieldURI FieldURI="item:ItemClass"/></t:AdditionalProperties></m:ItemShape><m:SyncFolderId>`)
			writeFolderID(&b, folderID)
			b.WriteString(`</m:SyncFolderId>`)
			if state != "" {
				b.WriteString(`<m:SyncState>`)
				soap.Escape(&b, state)
				b.WriteString(`</m:SyncState>`)
			}
			fmt.Fprintf(&b, `<m:MaxChangesReturned>%d</m:MaxChangesReturned>`, MaxChanges)
			if v != Exchange2007SP1 {
				// 2010+ only [V ews.md §1.1, §2.5 how-to-synchronize-items-by-using-ews-in-exchange.md]
				b.WriteString(`<m:SyncScope>NormalItems</m:SyncScope>`)
			}
			b.WriteString(`</m:SyncFolderItems>`)
			return soap.Envelope(h, b.Bytes())
		}
		err := c.doSingle(ctx, "SyncFolderItems", h, build, func(_ []byte, m *soap.Node) error {
			page = page[:0]
			// Never keep a state from an error message [V ews.md §3.1 B].
			newState = m.Child("SyncState").Text()
			last = m.Child("IncludesLastItemInRange").Text() != "false"
			for _, ch := range m.Child("Changes").Children {
				kind, ok := changeKind(ch.Local)
				if !ok {
					continue
				}
				switch kind {
				case Delete:
					id := ch.Child("ItemId")
					page = append(page, ItemChange{Kind: kind, ID: ItemID{id.Attr("Id"), id.Attr("ChangeKey")}})
				case ReadFlagChange:
					id := ch.Child("ItemId")
					page = append(page, ItemChange{Kind: kind, ID: ItemID{id.Attr("Id"), id.Attr("ChangeKey")}, IsRead: ch.Child("IsRead").Text() == "true"})
				default:
					for _, it := range ch.Children {
						id := it.Child("ItemId")
						page = append(page, ItemChange{Kind: kind, ID: ItemID{id.Attr("Id"), id.Attr("ChangeKey")}, Type: it.Local, Class: it.Child("ItemClass").Text()})
					}
				}
			}
			return nil
		})
		if err != nil {
			return state, err
		}
		if newState == "" {
			return state, fmt.Errorf("exchange: syncFolderItems: empty SyncState in a successful response")
		}
		for _, ch := range page {
			if err := fn(ch); err != nil {
				return state, err
			}
		}
		state = newState
		if last {
			return state, nil
		}
	}
}

// ItemRef is an item listed by FindItems.
type ItemRef struct {
	ID    ItemID
	Type  string // element name
	Class string // ItemClass
}

// FindItems lists a folder's items with shallow, IdOnly FindItem paging
// (for public folders, which have no SyncFolderItems; rounds compare
// ID and ChangeKey) [V ews.md §2.3, §2.6 how-to-perform-paged-searches-by-using-ews-in-exchange.md].
// fn is called once per item from the calling goroutine.
func (c *Client) FindItems(ctx context.Context, folderID string, fn func(ItemRef) error) error {
	return c.FindItemsIn(ctx, "", folderID, fn)
}

// FindItemsIn is FindItems in a mailbox ("" = as the admin account).
func (c *Client) FindItemsIn(ctx context.Context, mailbox, folderID string, fn func(ItemRef) error) error {
	h, _, err := c.prepare(ctx, mailbox)
	if err != nil {
		return err
	}
	offset := 0
	for {
		var next int
		var last bool
		var page []ItemRef
		build := func(h soap.Header) []byte {
			var b bytes.Buffer
			b.WriteString(`<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>` +
				`<t:FieldURI FieldURI="item:ItemClass"/></t:AdditionalProperties></m:ItemShape>`)
			fmt.Fprintf(&b, `<m:IndexedPageItemView MaxEntriesReturned="%d" Offset="%d" BasePoint="Beginning"/><m:ParentFolderIds>`, findPage, offset)
			writeFolderID(&b, folderID)
			b.WriteString(`</m:ParentFolderIds></m:FindItem>`)
			return soap.Envelope(h, b.Bytes())
		}
		err := c.doSingle(ctx, "FindItem", h, build, func(_ []byte, m *soap.Node) error {
			page = page[:0]
			rf := m.Child("RootFolder")
			next, _ = strconv.Atoi(rf.Attr("IndexedPagingOffset"))
			last = rf.Attr("IncludesLastItemInRange") != "false"
			for _, it := range rf.Child("Items").Children {
				id := it.Child("ItemId")
				page = append(page, ItemRef{ID: ItemID{id.Attr("Id"), id.Attr("ChangeKey")}, Type: it.Local, Class: it.Child("ItemClass").Text()})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, r := range page {
			if err := fn(r); err != nil {
				return err
			}
		}
		if last || next <= offset || len(page) == 0 {
			return nil
		}
		offset = next
	}
}
