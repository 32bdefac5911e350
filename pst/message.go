package pst

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strconv"
)

// Message is a message object ([MS-PST] 2.4.5): its property context, its recipient
// table rows and its attachments.
type Message struct {
	NID         uint32
	Props       Props
	Recipients  []Props
	Attachments []Attachment
}

// Attachment is one attachment object ([MS-PST] 2.4.6.2): its properties, the bytes of
// a by-value attachment (PidTagAttachDataBinary) or the embedded message.
type Attachment struct {
	Props    Props
	Data     []byte
	Embedded *Message
	// lazy is the data tree of bytes too big for one block, not read into Data but
	// streamed from f when the message is written (EMLStream).
	lazy uint64
	f    *File
	// damaged is why the data tree of a lazy attachment failed its check
	// (dropDamaged): the message is written without it.
	damaged error
}

// Bytes returns the attachment's bytes, reading them when they were left in the file.
func (a Attachment) Bytes() ([]byte, error) {
	if a.lazy == 0 {
		return a.Data, nil
	}
	return io.ReadAll(a.reader())
}

// checkData checks the data tree of a lazy attachment (File.CheckData) under the
// file's stream lock, as its reader reads it.
func (a Attachment) checkData() error {
	if l := a.f.streamLock; l != nil {
		l.Lock()
		defer l.Unlock()
	}
	return a.f.CheckData(a.lazy)
}

// reader streams the attachment's bytes.
func (a Attachment) reader() io.Reader {
	if a.lazy == 0 {
		return bytes.NewReader(a.Data)
	}
	return a.f.DataReader(a.lazy, a.f.streamLock)
}

// Subnode nids of a message ([MS-PST] 2.4.5.1) and attachment properties ([MS-OXPROPS]).
const (
	nidRecipientTable  = 0x692
	nidAttachmentTable = 0x671
	PidAttachData      = 0x3701 // PidTagAttachDataBinary / PidTagAttachDataObject
	PidAttachMethod    = 0x3705
	PidAttachFilename  = 0x3707 // PidTagAttachLongFilename
	attachEmbedded     = 5
)

// Message reads the message nid. Parts that cannot be read are left out and the first
// such error is returned with the rest.
func (f *File) Message(nid uint32) (*Message, error) {
	n, err := f.Node(nid)
	if err != nil {
		return nil, err
	}
	return f.message(n, 0)
}

func (f *File) message(n Node, depth int) (*Message, error) {
	if depth > 8 {
		return nil, errf("message", n.NID, 0, -1, "embedded messages nested deeper than 8")
	}
	ps, err := f.PC(n)
	if ps == nil {
		return nil, err
	}
	m := &Message{NID: n.NID, Props: ps}
	keep := func(e error) {
		if err == nil {
			err = e
		}
	}
	subs, e := f.Subnodes(n.Sub)
	if e != nil {
		keep(e)
	}
	if rt, ok := subs[nidRecipientTable]; ok {
		rows, e := f.Table(rt)
		keep(e)
		m.Recipients = rows
	}
	if at, ok := subs[nidAttachmentTable]; ok {
		rows, e := f.Table(at)
		keep(e)
		for _, r := range rows {
			id, _ := r.Get(PidLtpRowID)
			an, ok := subs[uint32(id.Int())]
			if !ok {
				keep(errf("attachment", n.NID, 0, -1, "attachment subnode 0x%x not found", id.Int()))
				continue
			}
			a, e := f.attachment(an, depth)
			keep(e)
			if a != nil {
				m.Attachments = append(m.Attachments, *a)
			}
		}
	}
	return m, err
}

func (f *File) attachment(n Node, depth int) (*Attachment, error) {
	ps, err := f.PC(n)
	if ps == nil {
		return nil, err
	}
	a := &Attachment{Props: ps}
	data, ok := ps.Get(PidAttachData)
	if !ok {
		return a, err
	}
	method, _ := ps.Get(PidAttachMethod)
	if data.Type() != PtObject || method.Int() != attachEmbedded {
		a.Data, a.lazy, a.f = data.Value, data.Lazy, f
		return a, err
	}
	// PtypObject: the value names the subnode holding the embedded message ([MS-PST] 2.4.6.2.3).
	if len(data.Value) < 4 {
		return a, errf("attachment", n.NID, 0, -1, "embedded message reference of %d bytes", len(data.Value))
	}
	subs, e := f.Subnodes(n.Sub)
	if e != nil {
		return a, e
	}
	sn, ok := subs[binary.LittleEndian.Uint32(data.Value)]
	if !ok {
		return a, errf("attachment", n.NID, 0, -1, "embedded message subnode 0x%x not found", binary.LittleEndian.Uint32(data.Value))
	}
	a.Embedded, e = f.message(sn, depth+1)
	if err == nil {
		err = e
	}
	return a, err
}

// dropDamaged checks the data trees of the attachments left in the file (and those
// of embedded messages) before the message is streamed. An attachment whose tree is
// damaged is marked so that the message is written without it rather than with a
// truncated copy that looks whole; the names of those dropped are returned, for the
// summary, with their errors joined. The rest of the message is still readable: an
// administrator would rather have the mail without one attachment, named as missing,
// than lose the mail too.
func (m *Message) dropDamaged(depth int) (dropped []string, err error) {
	for i := range m.Attachments {
		a := &m.Attachments[i]
		if a.Embedded != nil && depth < 8 {
			d, e := a.Embedded.dropDamaged(depth + 1)
			dropped, err = append(dropped, d...), errors.Join(err, e)
		}
		if a.lazy == 0 {
			continue
		}
		// The trailers of its blocks, not its bytes: reading every byte here
		// read each streamed attachment twice (20% of the CPU profile of
		// BenchmarkSourceEnron, 100 MB of its 490 MB allocated).
		if e := a.checkData(); e != nil {
			a.damaged = e
			dropped, err = append(dropped, strconv.Quote(a.name(i, len(m.Attachments)))), errors.Join(err, e)
		}
	}
	return dropped, err
}
