package pstwrite

import (
	"fmt"
	"strings"
	"time"
)

// Sample returns a deterministic mailbox of n messages in a nested folder tree
// (top folders with subfolders and sub-subfolders, at most 40 messages a folder:
// the contents table's row matrix stays one heap item). Every seventh message has
// a body over one heap item (a subnode), every 97th one over one block (an XBLOCK
// data tree), every 50th an attachment; message 0 has an attachment of 20,000
// bytes (an XBLOCK in the attachment's subnode).
func Sample(n int) []*Folder {
	var all []*Folder
	var tops []*Folder
	for i := 0; len(all)*40 < n; i++ {
		f := &Folder{Name: fmt.Sprintf("Folder %d", i)}
		switch {
		case i%4 == 0 || len(tops) == 0:
			tops = append(tops, f)
		case i%4 == 3 && len(tops[len(tops)-1].Children) > 0:
			p := tops[len(tops)-1].Children[0]
			p.Children = append(p.Children, f)
		default:
			p := tops[len(tops)-1]
			p.Children = append(p.Children, f)
		}
		all = append(all, f)
	}
	base := time.Date(2005, 1, 1, 8, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		f := all[i%len(all)]
		id := fmt.Sprintf("<msg%d@exmerge.example>", i)
		subj := fmt.Sprintf("Message %d in %s", i, f.Name)
		body := fmt.Sprintf("Body of message %d.\r\n", i)
		switch {
		case i%97 == 0:
			body += strings.Repeat(fmt.Sprintf("line %d of a long body\r\n", i), 600) // ~15 KB
		case i%7 == 0:
			body += strings.Repeat("a medium body line\r\n", 250) // 5 KB
		}
		when := base.Add(time.Duration(i) * 37 * time.Minute)
		m := &Message{
			Subject: subj, SenderName: fmt.Sprintf("Sender %d", i%13), SenderEmail: fmt.Sprintf("sender%d@example.com", i%13),
			MessageID: id, Body: body, Delivery: when, Read: i%3 != 0,
			Headers: fmt.Sprintf("From: Sender %d <sender%d@example.com>\r\nTo: owner@example.com\r\nSubject: %s\r\n"+
				"Message-ID: %s\r\nDate: %s\r\n\r\n", i%13, i%13, subj, id, when.Format(time.RFC1123Z)),
		}
		switch {
		case i == 0:
			m.Attachment = &Attachment{Name: "large.bin", Data: pattern(20000, 0)}
		case i%50 == 0:
			m.Attachment = &Attachment{Name: fmt.Sprintf("note%d.txt", i), Data: pattern(100+i, i)}
		}
		f.Messages = append(f.Messages, m)
	}
	return tops
}

// pattern returns n bytes that differ by position and seed, all 256 values.
func pattern(n, seed int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251 + seed)
	}
	return b
}

// Flat returns the n messages of Sample(n) in one folder, Inbox: its contents
// table needs a heap of several blocks, a row matrix in a subnode and a row index
// BTH with an index level.
func Flat(n int) []*Folder {
	in := &Folder{Name: "Inbox"}
	var walk func(f *Folder)
	walk = func(f *Folder) {
		in.Messages = append(in.Messages, f.Messages...)
		for _, c := range f.Children {
			walk(c)
		}
	}
	for _, f := range Sample(n) {
		walk(f)
	}
	return []*Folder{in}
}
