package pstwrite

// This file is the messaging layer of the writer ([MS-PST] 2.4): the message store,
// the root folder, the IPM subtree, folders with their hierarchy, contents and
// associated contents tables, and mail messages with one optional attachment.

import (
	"encoding/binary"
	"time"
)

// Folder is a folder to write: its messages and subfolders.
type Folder struct {
	Name     string
	Messages []*Message
	Children []*Folder
	NID      uint32 // set by Write
}

// Message is a mail message to write.
type Message struct {
	Subject, SenderName, SenderEmail string
	MessageID                        string // PidTagInternetMessageId
	Headers                          string // PidTagTransportMessageHeaders
	Body                             string // PidTagBody
	Delivery                         time.Time
	Read                             bool
	Attachment                       *Attachment
	NID                              uint32 // set by Write
}

// Attachment is a by-value attachment (afByValue, [MS-OXCMSG] 2.2.2.9).
type Attachment struct {
	Name string
	Data []byte
}

// Property ids ([MS-OXPROPS]).
const (
	tagSubject       = 0x0037001E
	tagMessageClass  = 0x001A001E
	tagHeaders       = 0x007D001E
	tagSenderName    = 0x0C1A001E
	tagSenderEmail   = 0x0C1F001E
	tagSenderAddr    = 0x0C1E001E
	tagDelivery      = 0x0E060040
	tagSubmit        = 0x00390040 // PidTagClientSubmitTime
	tagReprName      = 0x0042001E // PidTagSentRepresentingName
	tagReprAddrType  = 0x0064001E
	tagReprEmail     = 0x0065001E
	tagDisplayTo     = 0x0E04001E
	tagFlags         = 0x0E070003
	tagSize          = 0x0E080003
	tagBody          = 0x1000001E
	tagMessageID     = 0x1035001E
	tagDisplayName   = 0x3001001E
	tagContentCount  = 0x36020003
	tagUnread        = 0x36030003
	tagSubfolders    = 0x360A000B
	tagRecordKey     = 0x0FF90102
	tagIpmSubtree    = 0x35E00102
	tagAttachData    = 0x37010102
	tagAttachMethod  = 0x37050003
	tagAttachLong    = 0x3707001E
	tagAttachName    = 0x3704001E
	tagAttachSize    = 0x0E200003
	tagHasAttach     = 0x0E1B000B
	nidMessageStore  = 0x21
	nidRootFolder    = 0x122
	nidIpmSubtree    = 0x8022
	nidAttachTable   = 0x671 // [MS-PST] 2.4.6.1: the attachment table subnode
	nidTypeFolder    = 0x02
	nidTypeMessage   = 0x04
	nidTypeAttach    = 0x05
	nidTypeHierarchy = 0x0D
	nidTypeContents  = 0x0E
	nidTypeAssoc     = 0x0F
	msgflagRead      = 0x01
	msgflagHasAttach = 0x10
)

// storeUID is the store's PidTagRecordKey, the provider UID of its entry ids.
var storeUID = []byte("iem-pstwrite-uid")

func str8(s string) []byte { return []byte(s) }
func u32(v uint32) []byte  { return binary.LittleEndian.AppendUint32(nil, v) }
func boolv(b bool) []byte {
	if b {
		return u32(1)
	}
	return u32(0)
}

// filetime is a PT_SYSTIME: 100 ns intervals since 1601-01-01 UTC.
func filetime(t time.Time) []byte {
	const epochDiff = 116444736000000000
	return binary.LittleEndian.AppendUint64(nil, uint64(t.UnixNano()/100+epochDiff))
}

// entryID is an EntryID of a store object ([MS-PST] 2.4.3.2: rgbFlags, uid, nid).
func entryID(nid uint32) []byte {
	b := make([]byte, 4, 24)
	b = append(b, storeUID...)
	return binary.LittleEndian.AppendUint32(b, nid)
}

// Write returns an ANSI PST file whose IPM subtree (the top of the personal folders)
// is named top and holds folders. Folder and message NIDs are set on the values.
func Write(top string, folders []*Folder) []byte {
	w, _ := Build(top, folders)
	return w.Bytes()
}

// Build is Write returning the NDB before it is laid out, so that a test can find
// the blocks of a node (BlockOffset after Bytes) to damage them.
func Build(top string, folders []*Folder) (*NDB, []*Folder) {
	w := &NDB{spans: map[uint32][2]uint32{}}
	b := &builder{w: w, folderIdx: nidIpmSubtree >> 5, msgIdx: 0x10000}
	// Message store ([MS-PST] 2.4.3).
	s := &subAlloc{}
	w.AddNode(Node{NID: nidMessageStore, Data: w.DataBlocks(PC(w, s, []Prop{
		{tagRecordKey, storeUID},
		{tagDisplayName, str8(top)},
		{tagIpmSubtree, entryID(nidIpmSubtree)},
	}))})
	ipm := &Folder{Name: top, Children: folders, NID: nidIpmSubtree}
	root := &Folder{Children: []*Folder{ipm}, NID: nidRootFolder}
	// The root folder is its own parent ([MS-PST] 2.4.4.1).
	b.folder(root, nidRootFolder)
	return w, folders
}

type builder struct {
	w                 *NDB
	folderIdx, msgIdx uint32
}

// folder writes the folder's PC and its three tables ([MS-PST] 2.4.4.1), its
// messages and its subfolders, whose NIDs it assigns first so that
// the hierarchy table can name them.
func (b *builder) folder(f *Folder, parent uint32) {
	w := b.w
	for _, c := range f.Children {
		if c.NID != nidIpmSubtree { // preset: the IPM subtree
			b.folderIdx++
			c.NID = b.folderIdx<<5 | nidTypeFolder
		}
	}
	unread := 0
	for _, m := range f.Messages {
		if !m.Read {
			unread++
		}
	}
	s := &subAlloc{}
	pc := PC(w, s, []Prop{
		{tagDisplayName, str8(f.Name)},
		{tagContentCount, u32(uint32(len(f.Messages)))},
		{tagUnread, u32(uint32(unread))},
		{tagSubfolders, boolv(len(f.Children) > 0)},
	})
	w.AddNode(Node{NID: f.NID, Data: w.DataBlocks(pc), Sub: w.Subnodes(s.nodes), Parent: parent})

	// Hierarchy table: one row per subfolder (row id = its NID).
	var ids []uint32
	var rows []map[uint32][]byte
	for _, c := range f.Children {
		ids = append(ids, c.NID)
		rows = append(rows, map[uint32][]byte{
			tagDisplayName:  str8(c.Name),
			tagContentCount: u32(uint32(len(c.Messages))),
			tagSubfolders:   boolv(len(c.Children) > 0),
		})
	}
	b.table(f.NID&^0x1F|nidTypeHierarchy, []uint32{tagDisplayName, tagContentCount, tagSubfolders}, ids, rows)

	// Contents table: one row per message.
	ids, rows = nil, nil
	for _, m := range f.Messages {
		b.msgIdx++
		m.NID = b.msgIdx<<5 | nidTypeMessage
		ids = append(ids, m.NID)
		rows = append(rows, map[uint32][]byte{
			tagSubject:      str8(m.Subject),
			tagMessageClass: str8("IPM.Note"),
			tagDelivery:     filetime(m.Delivery),
			tagFlags:        u32(flags(m)),
			tagSenderName:   str8(m.SenderName),
		})
	}
	// The tables before the messages: a cut through the messages still lists them.
	cols := []uint32{tagSubject, tagMessageClass, tagDelivery, tagFlags, tagSenderName}
	b.table(f.NID&^0x1F|nidTypeContents, cols, ids, rows)
	b.table(f.NID&^0x1F|nidTypeAssoc, cols, nil, nil)
	for _, m := range f.Messages {
		first := w.nextBID + 4
		b.message(m, f.NID)
		w.spans[m.NID] = [2]uint32{first, w.nextBID}
	}

	for _, c := range f.Children {
		b.folder(c, f.NID)
	}
}

func (b *builder) table(nid uint32, cols, ids []uint32, rows []map[uint32][]byte) {
	s := &subAlloc{}
	tc := TC(b.w, s, cols, ids, rows)
	b.w.AddNode(Node{NID: nid, Data: b.w.DataBlocks(tc), Sub: b.w.Subnodes(s.nodes)})
}

func flags(m *Message) uint32 {
	var fl uint32
	if m.Read {
		fl |= msgflagRead
	}
	if m.Attachment != nil {
		fl |= msgflagHasAttach
	}
	return fl
}

// message writes a message's PC ([MS-PST] 2.4.5) and, with an attachment, its
// attachment table (subnode 0x671) and the attachment object's PC in a subnode
// whose NID is the table's row id ([MS-PST] 2.4.6).
func (b *builder) message(m *Message, parent uint32) {
	w := b.w
	s := &subAlloc{}
	props := []Prop{
		{tagMessageClass, str8("IPM.Note")},
		{tagSubject, str8(m.Subject)},
		{tagSenderName, str8(m.SenderName)},
		{tagSenderEmail, str8(m.SenderEmail)},
		{tagSenderAddr, str8("SMTP")},
		{tagMessageID, str8(m.MessageID)},
		{tagHeaders, str8(m.Headers)},
		{tagBody, str8(m.Body)},
		{tagReprName, str8(m.SenderName)},
		{tagReprEmail, str8(m.SenderEmail)},
		{tagReprAddrType, str8("SMTP")},
		{tagDelivery, filetime(m.Delivery)},
		{tagSubmit, filetime(m.Delivery)},
		{tagFlags, u32(flags(m))},
		{tagSize, u32(uint32(len(m.Body) + len(m.Headers)))},
		{tagHasAttach, boolv(m.Attachment != nil)},
	}
	var kept []Prop
	for _, p := range props {
		if len(p.Value) > 0 {
			kept = append(kept, p)
		}
	}
	pc := PC(w, s, kept)
	if a := m.Attachment; a != nil {
		as := &subAlloc{}
		apc := PC(w, as, []Prop{
			{tagAttachMethod, u32(1)}, // afByValue
			{tagAttachLong, str8(a.Name)},
			{tagAttachName, str8(a.Name)},
			{tagAttachSize, u32(uint32(len(a.Data)))},
			{tagAttachData, a.Data},
		})
		anid := uint32(1)<<5 | nidTypeAttach
		s.nodes = append(s.nodes, Node{NID: anid, Data: w.DataBlocks(apc), Sub: w.Subnodes(as.nodes)})
		ts := &subAlloc{next: 0x100}
		cols := []uint32{tagAttachMethod, tagAttachLong, tagAttachSize}
		tc := TC(w, ts, cols, []uint32{anid}, []map[uint32][]byte{{
			tagAttachMethod: u32(1),
			tagAttachLong:   str8(a.Name),
			tagAttachSize:   u32(uint32(len(a.Data))),
		}})
		s.nodes = append(s.nodes, ts.nodes...)
		s.nodes = append(s.nodes, Node{NID: nidAttachTable, Data: w.DataBlocks(tc)})
	}
	w.AddNode(Node{NID: m.NID, Data: w.DataBlocks(pc), Sub: w.Subnodes(s.nodes), Parent: parent})
}
