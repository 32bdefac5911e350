package main

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"
)

// Bodies.

func (a *archive) eml(from, to, subject string, n int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\n", from, to, subject)
	fmt.Fprintf(&b, "Message-ID: <%s@example.com>\r\nDate: Tue, 3 Nov 2026 10:00:00 +0000\r\n", hex.EncodeToString(a.bytes(8)))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	b.Write(a.text(n))
	b.WriteString("\r\n")
	return []byte(b.String())
}

func vcard(name, mail string) []byte {
	return []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:" + name + "\r\nN:" + name + ";;;;\r\nEMAIL;TYPE=INTERNET:" + mail + "\r\nEND:VCARD\r\n")
}

func ical(comp, uid, summary string) []byte {
	return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//iem//spec vectors//EN\r\nBEGIN:" + comp +
		"\r\nUID:" + uid + "\r\nDTSTAMP:20261103T100000Z\r\nDTSTART:20261104T090000Z\r\nSUMMARY:" + summary +
		"\r\nEND:" + comp + "\r\nEND:VCALENDAR\r\n")
}

func (a *archive) message(mailbox, id string, n int) entry {
	return entry{Kind: 1, Received: i64(1793000000), Modified: i64(1793000100), Mailbox: mailbox,
		Folder: "AAMkADinbox", ID: id, ChangeKey: "CQAAABYAAAB" + id[len(id)-1:],
		Attrs: [][2]string{{"class", "IPM.Note"}, {"read", "1"}},
		Body:  a.eml("carol@example.com", mailbox, "Quarterly report "+id, n)}
}

func (a *archive) contact(mailbox, id string) entry {
	return entry{Kind: 2, Modified: i64(1793000200), Mailbox: mailbox, Folder: "AAMkADcontacts", ID: id,
		ChangeKey: "EQAAABYAAAA", Attrs: [][2]string{{"class", "IPM.Contact"}, {"name", "Dave Example"}},
		Body: vcard("Dave Example", "dave@example.com")}
}

func folderEntry(mailbox, id, name string) entry {
	return entry{Kind: 6, Mailbox: mailbox, ID: id, ChangeKey: "AQAAABYAAAA",
		Attrs: [][2]string{{"class", "IPF.Note"}, {"distinguished", strings.ToLower(name)}, {"name", name}},
		Body: []byte(`{"path":["` + name + `"],"class":"IPF.Note","distinguished":"` + strings.ToLower(name) +
			`","acl":[]}`)}
}

// basicEntries are the entries of the volume most failures derive from.
// Entry 2 has entry 0's body, so it is written as a type-2 record.
func basicEntries(a *archive) []entry {
	m0 := a.message("alice@example.com", "AAMkADmsg1", 1500)
	m2 := m0
	m2.Mailbox, m2.ID = "bob@example.com", "AAMkADmsg2"
	return []entry{
		m0,
		a.contact("alice@example.com", "AAMkADcon1"),
		m2,
		folderEntry("alice@example.com", "AAMkADinbox", "Inbox"),
		a.message("alice@example.com", "AAMkADmsg3", 700),
	}
}

// basic builds a one-volume archive from basicEntries; mod and vmod break it.
func basic(mod func(a *archive, es []entry), vmod func(*volSpec)) *archive {
	a := newArchive("basic", nil)
	es := basicEntries(a)
	if mod != nil {
		mod(a, es)
	}
	vs := volSpec{Round: 1, Part: 1, Final: true, Entries: es}
	if vmod != nil {
		vmod(&vs)
	}
	a.add(vs)
	return a
}

// threeRounds builds r1, r2, r3; rounds 2 and 3 ref a body of round 1.
func threeRounds(seed string) *archive {
	a := newArchive(seed, nil)
	m1 := a.message("alice@example.com", "AAMkADmsg1", 900)
	a.add(volSpec{Round: 1, Part: 1, Final: true, Entries: []entry{m1, a.contact("alice@example.com", "AAMkADcon1")}})
	m2 := a.message("alice@example.com", "AAMkADmsg2", 400)
	moved := m1
	moved.Folder, moved.ChangeKey = "AAMkADarchive", "CQAAABYAAAC"
	a.add(volSpec{Round: 2, Part: 1, Final: true, Entries: []entry{m2, moved}})
	copyOf := m1 // a ref to round 1, so that round 3 reads without round 2
	copyOf.Mailbox, copyOf.ID = "bob@example.com", "AAMkADmsg9"
	a.add(volSpec{Round: 3, Part: 1, Final: true, Entries: []entry{copyOf,
		{Kind: 11, Mailbox: "alice@example.com", ID: "AAMkADcon1"}}})
	return a
}

// splitRound builds round 1 in two parts and round 2; with onePart, part 2
// is never written, so round 1 is incomplete when round 2 follows.
func splitRound(seed string, onePart bool) *archive {
	a := newArchive(seed, nil)
	m1 := a.message("alice@example.com", "AAMkADmsg1", 800)
	a.add(volSpec{Round: 1, Part: 1, Final: false, Entries: []entry{m1, a.contact("alice@example.com", "AAMkADcon1")}})
	if !onePart {
		dup := m1
		dup.Mailbox, dup.ID = "bob@example.com", "AAMkADmsg7"
		a.add(volSpec{Round: 1, Part: 2, Final: true, Entries: []entry{dup,
			a.message("bob@example.com", "AAMkADmsg8", 300)}})
	}
	a.add(volSpec{Round: 2, Part: 1, Final: true, Entries: []entry{a.message("alice@example.com", "AAMkADmsg2", 200)}})
	return a
}

// tornBase is the volume the recovery cases cut: its third record (a
// message in 128-byte chunks) comes after a message and a type-2 ref to it.
func tornBase(seed string, recipient age.Recipient) *archive {
	a := newArchive(seed, recipient)
	m0 := a.message("alice@example.com", "AAMkADmsg1", 1000)
	dup := m0
	dup.Mailbox, dup.ID = "bob@example.com", "AAMkADmsg5"
	m2 := a.message("alice@example.com", "AAMkADmsg2", 1200)
	m2.chunkSize = 128
	a.add(volSpec{Round: 1, Part: 1, Final: true, Entries: []entry{m0, dup, m2,
		a.contact("alice@example.com", "AAMkADcon1")}})
	return a
}

// torn returns a recovered vector of a's files with the last volume cut at n
// bytes, expecting its first keep entries.
func torn(a *archive, n, keep int, comment string) *vector {
	fs := clone(a.files())
	last := &fs[len(fs)-1]
	last.Data = last.Data[:n]
	total := keep
	for _, v := range a.vols[:len(a.vols)-1] {
		total += len(v.Records)
	}
	return &vector{expect: "recovered", entries: total, sha256: a.digests[:total], files: fs, comment: comment}
}

func flipBit(fs []file, name string, off int, bit uint) []file {
	fs = clone(fs)
	for i := range fs {
		if fs[i].Name == name {
			fs[i].Data[off] ^= 1 << bit
			return fs
		}
	}
	panic("no file " + name)
}

func mustRecipient() age.Recipient {
	r, err := age.ParseX25519Recipient(testRecipient)
	if err != nil {
		panic(err)
	}
	return r
}

func scryptRecipient() age.Recipient {
	r, err := age.NewScryptRecipient(testPassphrase)
	if err != nil {
		panic(err)
	}
	r.SetWorkFactor(scryptLogN)
	return r
}

const v1 = "r000001.p001.iemv"

func cases() []testCase {
	base := func() []file { return basic(nil, nil).files() }
	// patch copies the basic volume, applies f to its bytes and returns a
	// failure vector.
	patch := func(expect, comment string, f func(v []byte, vol *volume)) func() *vector {
		return func() *vector {
			a := basic(nil, nil)
			fs := clone(a.files())
			f(fs[0].Data, a.vols[0])
			return failure(expect, base(), fs, comment)
		}
	}
	// rebuild writes the basic volume again with knobs.
	rebuild := func(expect, comment string, mod func(a *archive, es []entry), vmod func(*volSpec)) func() *vector {
		return func() *vector {
			return failure(expect, base(), basic(mod, vmod).files(), comment)
		}
	}
	cs := []testCase{
		// Success.
		{name: "success_empty", build: func() *vector {
			a := newArchive("empty", nil)
			a.add(volSpec{Round: 1, Part: 1, Final: true})
			return success(a, "one volume with no entries: header, a manifest of Count 0, trailer")
		}},
		{name: "success_one_message", build: func() *vector {
			a := newArchive("one", nil)
			a.add(volSpec{Round: 1, Part: 1, Final: true, Entries: []entry{a.message("alice@example.com", "AAMkADmsg1", 600)}})
			return success(a, "one message")
		}},
		{name: "success_basic", build: func() *vector {
			return success(basic(nil, nil), "the volume most failure vectors derive from; entry 2 is a type-2 ref to entry 0's body")
		}},
		{name: "success_all_kinds", build: func() *vector {
			a := newArchive("kinds", nil)
			mb := "alice@example.com"
			es := []entry{
				a.message(mb, "AAMkADmsg1", 300),
				a.contact(mb, "AAMkADcon1"),
				{Kind: 3, Modified: i64(1793000300), Mailbox: mb, Folder: "AAMkADcal", ID: "AAMkADev1",
					Attrs: [][2]string{{"class", "IPM.Appointment"}}, Body: ical("VEVENT", "ev1@example.com", "Board meeting")},
				{Kind: 4, Mailbox: mb, Folder: "AAMkADtasks", ID: "AAMkADtask1",
					Attrs: [][2]string{{"class", "IPM.Task"}}, Body: ical("VTODO", "task1@example.com", "File taxes")},
				{Kind: 5, Mailbox: mb, Folder: "AAMkADnotes", ID: "AAMkADnote1",
					Attrs: [][2]string{{"class", "IPM.StickyNote"}}, Body: ical("VJOURNAL", "note1@example.com", "Call Bob")},
				folderEntry(mb, "AAMkADinbox", "Inbox"),
				{Kind: 7, Mailbox: mb, ID: mb, Attrs: [][2]string{{"name", "Alice Example"}},
					Body: []byte(`{"smtp":"alice@example.com","name":"Alice Example","aliases":["a@example.com"]}`)},
				{Kind: 8, ID: "staff@example.com", Attrs: [][2]string{{"name", "Staff"}},
					Body: []byte(`{"address":"staff@example.com","members":["alice@example.com","bob@example.com"]}`)},
				{Kind: 9, ID: "AQEuAAAB", Attrs: [][2]string{{"path", `["Public","Sales"]`}},
					Body: []byte(`{"path":["Public","Sales"],"acl":[{"who":"default","rights":"read"}]}`)},
				{Kind: 10, Mailbox: mb, Folder: "AAMkADinbox", Body: a.bytes(48)},
				{Kind: 11, Mailbox: mb, ID: "AAMkADmsg0", Attrs: [][2]string{{"moved-to", "AAMkADarchive"}}},
				{Kind: 12, Mailbox: mb, ID: "AAMkADmsg1", Attrs: [][2]string{{"flag", "flagged"}, {"read", ""}}},
				{Kind: 13, Mailbox: mb, Folder: "AAMkADcontacts", ID: "AAMkADdl1",
					Attrs: [][2]string{{"class", "IPM.DistList"}}, Body: vcard("Sales team", "sales@example.com")},
				{Kind: 14, Mailbox: mb, ID: mb,
					Body: []byte(`{"outOfOffice":{"state":"scheduled","externalAudience":"all","start":"2026-12-21T00:00:00Z","end":"2027-01-04T00:00:00Z","internalReply":"Back on 4 January.","externalReply":"Back on 4 January."}}`)},
				{Kind: 15, Mailbox: mb, ID: "future-1", Attrs: [][2]string{{"x-future", "1"}, {"zeta", ""}},
					Body: []byte("a kind this reader does not know: pass it through")},
				{Kind: 255, Mailbox: mb, ID: "future-255", Body: a.bytes(20)},
			}
			a.add(volSpec{Round: 1, Part: 1, Final: true, Entries: es})
			return success(a, "kinds 1 to 14, then unknown kinds 15 (with attrs) and 255, which a reader passes through")
		}},
		{name: "success_archive_side", build: func() *vector {
			a := newArchive("archive-side", nil)
			mb := "alice@example.com"
			m := a.message(mb, "AAMkADarc1", 400)
			m.Folder = "AAMkADarc2019"
			es := []entry{
				folderEntry(mb, "AAMkADinbox", "Inbox"),
				{Kind: 6, Mailbox: mb, ID: "AAMkADarcinbox", ChangeKey: "AQAAABYAAAA",
					Attrs: [][2]string{{"class", "IPF.Note"}, {"distinguished", "archiveinbox"}, {"name", "Inbox"}, {"path", `["Inbox"]`}, {"side", "archive"}},
					Body:  []byte(`{"id":"AAMkADarcinbox","path":["Inbox"],"class":"IPF.Note","distinguished":"archiveinbox","side":"archive"}`)},
				{Kind: 6, Mailbox: mb, ID: "AAMkADarc2019", ChangeKey: "AQAAABYAAAA",
					Attrs: [][2]string{{"class", "IPF.Note"}, {"name", "2019"}, {"path", `["2019"]`}, {"side", "archive"}},
					Body: []byte(`{"id":"AAMkADarc2019","path":["2019"],"class":"IPF.Note","side":"archive",` +
						`"acl":[{"who":"bob@example.com","rights":"read"}]}`)},
				m,
				{Kind: 10, Mailbox: mb, Folder: "AAMkADarc2019", Body: a.bytes(48)},
				{Kind: 10, Mailbox: mb, Body: a.bytes(40)},
				{Kind: 10, Mailbox: mb, Folder: "#archive", Body: a.bytes(44)},
			}
			a.add(volSpec{Round: 1, Part: 1, Final: true, Entries: es})
			return success(a, "a mailbox with its archive mailbox (SPEC.md §4 side): an archive folder tree (side=archive, "+
				"paths below the archive's root), a message in it, and the archive hierarchy's delta marker under Folder #archive beside the primary's")
		}},
		{name: "success_large_body", build: func() *vector {
			a := newArchive("large", nil)
			big := entry{Kind: 1, Mailbox: "alice@example.com", Folder: "AAMkADinbox", ID: "AAMkADbig",
				Attrs: [][2]string{{"class", "IPM.Note"}}, Body: a.bytes(600 << 10)}
			a.add(volSpec{Round: 1, Part: 1, Final: true, Entries: []entry{big, a.message("alice@example.com", "AAMkADmsg2", 100)}})
			return success(a, "a 600 KiB incompressible body stored in 256 KiB chunks (3 chunks), then a small message")
		}},
		{name: "success_small_chunks", build: func() *vector {
			a := newArchive("smallchunks", nil)
			m := a.message("alice@example.com", "AAMkADmsg1", 3000)
			m.chunkSize = 100
			one := a.message("alice@example.com", "AAMkADmsg2", 50)
			one.chunkSize = 1
			a.add(volSpec{Round: 1, Part: 1, Final: true, Entries: []entry{m, one}})
			return success(a, "records stored in 100-byte chunks and in 1-byte chunks: any chunk length from 1 is valid")
		}},
		{name: "success_dedup", build: func() *vector {
			a := newArchive("dedup", nil)
			m := a.message("alice@example.com", "AAMkADmsg1", 2000)
			b, c := m, m
			b.Mailbox, b.ID = "bob@example.com", "AAMkADmsg2"
			c.Mailbox, c.ID, c.Received = "carol@example.com", "AAMkADmsg3", nil
			a.add(volSpec{Round: 1, Part: 1, Final: true, Entries: []entry{m, b, a.contact("bob@example.com", "AAMkADcon1"), c}})
			return success(a, "an all-staff message: one type-1 body, then two type-2 refs to it in the same volume")
		}},
		{name: "success_three_rounds", build: func() *vector {
			return success(threeRounds("rounds"), "three rounds chained by Prev; rounds 2 and 3 hold type-2 refs to a body of round 1; round 3 has a tombstone")
		}},
		{name: "success_split_round", build: func() *vector {
			return success(splitRound("split", false), "round 1 in two parts (part 1 not final, part 2 final, with a ref to part 1), then round 2")
		}},
		{name: "success_times_unicode", build: func() *vector {
			a := newArchive("unicode", nil)
			es := []entry{
				{Kind: 1, Mailbox: "jürgen@exämple.de", Folder: "Posteingang/Entwürfe", ID: "AAMk/ü1",
					Attrs: [][2]string{{"name", "Grüße aus Köln"}, {"path", `["Posteingang","Entwürfe"]`}},
					Body:  []byte("Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n\r\nGrüße 😀\r\n")},
				{Kind: 1, Received: i64(-86400), Mailbox: "山田@例え.jp", Folder: "受信トレイ", ID: "日本語-2",
					Body: []byte("Subject: old\r\n\r\nreceived the day before 1970\r\n")},
				{Kind: 1, Modified: i64(4102444800), Mailbox: "alice@example.com", ID: "AAMkADmsg3",
					Body: []byte("Subject: later\r\n\r\nmodified in 2100, no received time\r\n")},
				{Kind: 1, Received: i64(0), Modified: i64(-1), Mailbox: "alice@example.com", ID: "AAMkADmsg4",
					Attrs: [][2]string{{"", "empty key"}, {"emoji 🗂", "✓"}}, Body: []byte{}},
				{Kind: 2, Mailbox: "", ID: "", Body: vcard("Ωmega", "omega@example.com")},
			}
			a.add(volSpec{Round: 1, Part: 1, Final: true, Entries: es})
			return success(a, "times absent, only received, only modified, both, negative; unicode strings; an empty attr key; a 0-byte body; empty Mailbox and ID")
		}},
		{name: "success_limits", build: func() *vector {
			a := newArchive("limits", nil)
			attrs := make([][2]string, 256)
			for i := range attrs {
				attrs[i] = [2]string{fmt.Sprintf("k%03d", i), "v"}
			}
			attrs[255][1] = strings.Repeat("x", maxStr)
			a.add(volSpec{Round: 1, Part: 1, Final: true, Entries: []entry{
				{Kind: 1, Mailbox: "alice@example.com", ID: strings.Repeat("é", maxStr/2), Attrs: attrs, Body: []byte("x")},
			}})
			return success(a, "limits are inclusive: 256 attrs, a 65,536-byte ID and a 65,536-byte attr value")
		}},
		{name: "success_other_files", build: func() *vector {
			a := newArchive("otherfiles", nil)
			a.add(volSpec{Round: 1, Part: 1, Final: true, Entries: []entry{a.message("alice@example.com", "AAMkADmsg1", 300)}})
			fs := append([]file{{"export.log", []byte("time=2026-11-03 level=INFO msg=done\n")}}, a.files()...)
			fs = append(fs, file{"r1.p1.iemv", []byte("not a volume")}, file{"r000002.p001.iemv.bak", []byte("nor this")},
				file{"notes.txt", nil})
			v := success(a, "files whose names do not match the volume pattern are ignored")
			v.files = fs
			return v
		}},
		{name: "success_empty_round", build: func() *vector {
			a := newArchive("emptyround", nil)
			a.add(volSpec{Round: 1, Part: 1, Final: true, Entries: []entry{a.message("alice@example.com", "AAMkADmsg1", 300)}})
			a.add(volSpec{Round: 2, Part: 1, Final: true})
			a.add(volSpec{Round: 3, Part: 1, Final: true, Entries: []entry{a.message("alice@example.com", "AAMkADmsg2", 300)}})
			return success(a, "round 2 found no changes: a volume with no entries in the middle of the chain")
		}},
		{name: "success_encrypted", encrypted: true, build: func() *vector {
			a := newArchive("encrypted", mustRecipient())
			m := a.message("alice@example.com", "AAMkADmsg1", 1200)
			m.chunkSize = 200
			dup := m
			dup.Mailbox, dup.ID, dup.chunkSize = "bob@example.com", "AAMkADmsg2", 0
			a.add(volSpec{Round: 1, Part: 1, Final: true, Entries: []entry{m, a.contact("alice@example.com", "AAMkADcon1"), dup}})
			again := m
			again.Mailbox, again.ID = "carol@example.com", "AAMkADmsg3"
			a.add(volSpec{Round: 2, Part: 1, Final: true, Entries: []entry{again, a.message("alice@example.com", "AAMkADmsg4", 100)}})
			v := success(a, "X25519-encrypted: two rounds; a record in 200-byte chunks; refs in the same and an earlier round")
			v.identity = testIdentity
			return v
		}},
		{name: "success_passphrase", encrypted: true, build: func() *vector {
			a := newArchive("passphrase", scryptRecipient())
			a.add(volSpec{Round: 1, Part: 1, Final: true, Entries: []entry{a.message("alice@example.com", "AAMkADmsg1", 500),
				a.contact("alice@example.com", "AAMkADcon1")}})
			v := success(a, fmt.Sprintf("encrypted to an scrypt passphrase (work factor 2^%d)", scryptLogN))
			v.passphrase = testPassphrase
			return v
		}},

		// Version failures.
		{name: "version_header", build: patch("version failure", "header Version 2, HeaderCRC recomputed",
			func(v []byte, _ *volume) { v[8] = 2; fixHeaderCRC(v) })},
		{name: "version_header_bad_crc", build: patch("version failure", "header Version 2 and HeaderCRC not recomputed: the version is checked before the CRC",
			func(v []byte, _ *volume) { v[8] = 2 })},
		{name: "version_header_high", build: patch("version failure", "header Version 0x0100 (a big-endian 1), HeaderCRC recomputed",
			func(v []byte, _ *volume) { v[8], v[9] = 0, 1; fixHeaderCRC(v) })},
		{name: "version_trailer", build: patch("version failure", "valid header, trailer Version 2 with TrailerCRC recomputed",
			func(v []byte, _ *volume) { v[len(v)-16] = 2; fixTrailerCRC(v) })},

		// Format failures.
		{name: "format_bad_magic", build: patch("format failure", "header magic \\x89iEM (one bit), HeaderCRC recomputed",
			func(v []byte, _ *volume) { v[1] ^= 0x20; fixHeaderCRC(v) })},
		{name: "format_bad_magic_bad_crc", build: patch("format failure", "header magic with CR LF turned into LF LF and HeaderCRC not recomputed: the magic is checked first",
			func(v []byte, _ *volume) { v[4] = '\n' })},
		{name: "format_header_flags", build: patch("format failure", "header Flags bit 1 set, HeaderCRC recomputed",
			func(v []byte, _ *volume) { v[10] |= 2; fixHeaderCRC(v) })},
		{name: "format_header_reserved", build: patch("format failure", "header Reserved byte 39 set to 1, HeaderCRC recomputed",
			func(v []byte, _ *volume) { v[39] = 1; fixHeaderCRC(v) })},
		{name: "format_header_round", build: patch("format failure", "header Round 2 in file r000001.p001.iemv, HeaderCRC recomputed",
			func(v []byte, _ *volume) { v[12] = 2; fixHeaderCRC(v) })},
		{name: "format_header_part", build: patch("format failure", "header Part 0 in file r000001.p001.iemv, HeaderCRC recomputed",
			func(v []byte, _ *volume) { v[16] = 0; fixHeaderCRC(v) })},
		{name: "format_record_type", build: rebuild("format failure", "entry 0's record stream starts with type 0x04",
			func(_ *archive, es []entry) {
				es[0].stream = func(s []byte) []byte { s[0] = 4; return s }
			}, nil)},
		{name: "format_attr_order", build: rebuild("format failure", "entry 0's attr keys are not increasing (read before class), in the record and the manifest",
			func(_ *archive, es []entry) {
				es[0].Attrs = [][2]string{{"read", "1"}, {"class", "IPM.Note"}}
			}, nil)},
		{name: "format_attr_duplicate", build: rebuild("format failure", "entry 4 has the attr key read twice",
			func(_ *archive, es []entry) {
				es[4].Attrs = [][2]string{{"class", "IPM.Note"}, {"read", "0"}, {"read", "1"}}
			}, nil)},
		{name: "format_attr_count", build: rebuild("format failure", "entry 4 has 257 attrs",
			func(_ *archive, es []entry) {
				es[4].Attrs = nil
				for i := range 257 {
					es[4].Attrs = append(es[4].Attrs, [2]string{fmt.Sprintf("k%03d", i), ""})
				}
			}, nil)},
		{name: "format_str_too_long", build: rebuild("format failure", "entry 4's ID is 65,537 bytes",
			func(_ *archive, es []entry) { es[4].ID = strings.Repeat("A", maxStr+1) }, nil)},
		{name: "format_str_utf8", build: rebuild("format failure", "entry 4's Folder is not valid UTF-8",
			func(_ *archive, es []entry) { es[4].Folder = "Inbox\xff\xfe" }, nil)},
		{name: "format_time_flags", build: rebuild("format failure", "entry 4's TimeFlags has bit 2 set, in the record and the manifest",
			func(_ *archive, es []entry) {
				es[4].metaMod = func(m []byte) []byte { m[1] |= 4; return m }
			}, nil)},
		{name: "format_meta_length", build: rebuild("format failure", "entry 4's MetaLength is one more than its EntryMeta",
			func(_ *archive, es []entry) {
				es[4].stream = func(s []byte) []byte {
					n, k := binary.Uvarint(s[1:])
					out := binary.AppendUvarint([]byte{s[0]}, n+1)
					return append(out, s[1+k:]...)
				}
			}, nil)},
		{name: "format_manifest_meta", build: rebuild("format failure", "the manifest's EntryMeta of entry 4 has a different ChangeKey from the record's",
			func(_ *archive, es []entry) {
				es[4].manMeta = func(m []byte) []byte {
					i := strings.Index(string(m), "CQAAABYAAAB")
					m[i] = 'X'
					return m
				}
			}, nil)},
		{name: "format_manifest_id", build: rebuild("format failure", "the manifest's ArchiveID differs from the header's",
			nil, func(vs *volSpec) { vs.manifest = func(m []byte) []byte { m[1] ^= 1; return m } })},
		{name: "format_manifest_count", build: rebuild("format failure", "manifest Count 1,000,000 (more than Count × 36 ≤ manifest size allows)",
			nil, func(vs *volSpec) { vs.count = u64(1000000) })},
		{name: "format_manifest_count_limit", build: rebuild("format failure", "manifest Count 16,777,217",
			nil, func(vs *volSpec) { vs.count = u64(16777217) })},
		{name: "format_manifest_count_short", build: rebuild("format failure", "manifest Count 6 with 5 entries",
			nil, func(vs *volSpec) { vs.count = u64(6) })},
		{name: "format_chunk_len_zero", build: rebuild("format failure", "entry 0's record starts with a non-final chunk of length 0 (valid CRC)",
			func(_ *archive, es []entry) { es[0].zeroChunk = true }, nil)},
		{name: "format_chunk_len_over", build: patch("format failure", "entry 0's chunk header says len 1,048,577",
			func(v []byte, vol *volume) {
				off := vol.Records[0].Offset
				h := binary.LittleEndian.Uint32(v[off:])
				binary.LittleEndian.PutUint32(v[off:], h&(1<<31)|(maxChunk+1))
			})},
		{name: "format_zstd_no_checksum", build: rebuild("format failure", "entry 4's zstd frame has no content checksum",
			func(_ *archive, es []entry) {
				es[4].frame = func(s []byte) []byte {
					z, _ := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false))
					return z.EncodeAll(s, nil)
				}
			}, nil)},
		{name: "format_zstd_two_frames", build: rebuild("format failure", "entry 4's record stream is two zstd frames",
			func(a *archive, es []entry) {
				es[4].frame = func(s []byte) []byte {
					return a.zenc.EncodeAll(s[40:], a.zenc.EncodeAll(s[:40], nil))
				}
			}, nil)},
		{name: "format_zstd_trailing", build: rebuild("format failure", "entry 4's zstd frame is followed by one zero byte in the record",
			func(a *archive, es []entry) {
				es[4].frame = func(s []byte) []byte { return append(a.zenc.EncodeAll(s, nil), 0) }
			}, nil)},
		{name: "format_chunk_final_early", build: func() *vector {
			small := func(_ *archive, es []entry) { es[4].chunkSize = 100 }
			a := basic(small, nil)
			fs := clone(a.files())
			v, r := fs[0].Data, a.vols[0].Records[4]
			h := binary.LittleEndian.Uint32(v[r.Offset:])
			binary.LittleEndian.PutUint32(v[r.Offset:], h|1<<31)
			binary.LittleEndian.PutUint32(v[r.Offset+4+100:], crc32c(v[r.Offset:r.Offset+4+100]))
			return failure("format failure", basic(small, nil).files(), fs,
				"entry 4's record is in 100-byte chunks and its first chunk has the final bit (CRC32C recomputed): the record ends inside its zstd frame")
		}},
		{name: "format_zstd_window", build: rebuild("format failure", "entry 4's zstd frame declares a 16 MiB window, over the 8 MiB limit",
			func(a *archive, es []entry) {
				es[4].frame = func(s []byte) []byte {
					// The encoder clamps the window to the content size, so
					// the frame header is written by hand (RFC 8878
					// §3.1.1.1): Frame_Header_Descriptor 0x04 (checksum, no
					// single segment, no content size), Window_Descriptor
					// exponent 14 (2^(10+14) = 16 MiB).
					f := a.zenc.EncodeAll(s, nil)
					var h zstd.Header
					if err := h.Decode(f); err != nil {
						panic(err)
					}
					return append([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x04, 14 << 3}, f[h.HeaderSize:]...)
				}
			}, nil)},
		{name: "format_meta_too_large", build: rebuild("format failure", "entry 4's EntryMeta is over 1 MiB (17 attrs of 64 KiB values)",
			func(_ *archive, es []entry) {
				es[4].Attrs = nil
				for i := range 17 {
					es[4].Attrs = append(es[4].Attrs, [2]string{fmt.Sprintf("k%02d", i), strings.Repeat("v", maxStr)})
				}
			}, nil)},
		{name: "format_trailer_sizes", build: patch("format failure", "trailer ManifestLength one too large, TrailerCRC recomputed",
			func(v []byte, _ *volume) { v[len(v)-64+8]++; fixTrailerCRC(v) })},
		{name: "format_trailer_flags", build: patch("format failure", "trailer Flags bit 1 set, unlike the header's, TrailerCRC recomputed",
			func(v []byte, _ *volume) { v[len(v)-14] |= 2; fixTrailerCRC(v) })},
		{name: "format_body_short", build: rebuild("format failure", "entry 4's Size is one more than its body",
			func(_ *archive, es []entry) { es[4].size = u64(uint64(len(es[4].Body) + 1)) }, nil)},
		{name: "format_body_long", build: rebuild("format failure", "entry 4's Size is one less than its body",
			func(_ *archive, es []entry) { es[4].size = u64(uint64(len(es[4].Body) - 1)) }, nil)},
		{name: "format_ref_forward", build: func() *vector {
			// Entry 2 refers to entry 4's offset, which comes after it.
			var off uint64 = 48
			for range 4 {
				a := basic(func(_ *archive, es []entry) {
					es[2].Body = es[4].Body
					es[2].ref = &ref{1, 1, off}
				}, nil)
				if got := uint64(a.vols[0].Records[4].Offset); got != off {
					off = got
					continue
				}
				return failure("format failure", base(), a.files(), "entry 2 is a type-2 ref to entry 4, which comes after it")
			}
			panic("format_ref_forward: no fixed point")
		}},
		{name: "format_ref_self", build: func() *vector {
			a0 := basic(nil, nil)
			self := uint64(a0.vols[0].Records[2].Offset)
			a := basic(func(_ *archive, es []entry) { es[2].ref = &ref{1, 1, self} }, nil)
			if uint64(a.vols[0].Records[2].Offset) != self {
				panic("format_ref_self: offset moved")
			}
			return failure("format failure", base(), a.files(), "entry 2 is a type-2 ref to its own offset")
		}},
		{name: "format_ref_later_volume", build: rebuild("format failure", "entry 2 is a type-2 ref to volume (1, 2), which comes after this one",
			func(_ *archive, es []entry) { es[2].ref = &ref{1, 2, 48} }, nil)},
		{name: "format_ref_not_record", build: rebuild("format failure", "entry 2 is a type-2 ref to offset 49, inside entry 0's record",
			func(_ *archive, es []entry) { es[2].ref = &ref{1, 1, 49} }, nil)},
		{name: "format_ref_to_ref", build: func() *vector {
			a0 := basic(nil, nil)
			at := uint64(a0.vols[0].Records[2].Offset)
			a := basic(func(_ *archive, es []entry) {
				es[4].Body = es[0].Body
				es[4].ref = &ref{1, 1, at}
			}, nil)
			return failure("format failure", base(), a.files(), "entry 4 is a type-2 ref to entry 2, which is itself a type-2 record")
		}},
		{name: "format_ref_size", build: func() *vector {
			a := basic(func(_ *archive, es []entry) { es[2].size = u64(uint64(len(es[0].Body) + 1)) }, nil)
			if a.vols[0].Records[2].Type != 2 {
				panic("format_ref_size: not a ref")
			}
			return failure("format failure", base(), a.files(), "entry 2 is a type-2 ref whose Size is one more than the referenced Size")
		}},

		// Checksum failures.
		{name: "checksum_header", build: patch("checksum failure", "one bit of the header's ArchiveID flipped",
			func(v []byte, _ *volume) { v[25] ^= 0x10 })},
		{name: "checksum_chunk_data", build: patch("checksum failure", "one bit flipped in the data of entry 1's chunk: its CRC32C fails",
			func(v []byte, vol *volume) { v[vol.Records[1].Offset+4+20] ^= 0x04 })},
		{name: "checksum_chunk_crc", build: patch("checksum failure", "one bit flipped in the CRC32C of entry 3's chunk",
			func(v []byte, vol *volume) { r := vol.Records[3]; v[r.Offset+r.Length-1] ^= 0x80 })},
		{name: "checksum_zstd", build: patch("checksum failure", "one bit flipped in the content checksum of entry 1's zstd frame, chunk CRC32C recomputed",
			func(v []byte, vol *volume) {
				r := vol.Records[1]
				data := v[r.Offset+4 : r.Offset+r.Length-4]
				data[len(data)-1] ^= 1
				binary.LittleEndian.PutUint32(v[r.Offset+r.Length-4:], crc32c(v[r.Offset:r.Offset+4], data))
			})},
		{name: "checksum_body", build: func() *vector {
			b0 := basic(nil, nil)
			want := b0.vols[0].Records[4].Length
			digest := b0.vols[0].Records[4].Digest
			for i := 300; i < 1000; i++ {
				a := basic(func(_ *archive, es []entry) {
					es[4].Body = append([]byte(nil), es[4].Body...)
					es[4].Body[i] ^= 0x01
					es[4].digest = &digest
				}, nil)
				if a.vols[0].Records[4].Length == want {
					return failure("checksum failure", base(), a.files(),
						fmt.Sprintf("bit 0 of byte %d of entry 4's body flipped, record rewritten with valid chunk CRC32C and zstd checksum: only the manifest's SHA-256 catches it", i))
				}
			}
			panic("checksum_body: no flip keeps the length")
		}},
		{name: "checksum_manifest", build: patch("checksum failure", "one bit flipped in the manifest record's chunk data",
			func(v []byte, vol *volume) { v[vol.ManifestOff+4+30] ^= 0x02 })},
		{name: "checksum_manifest_digest", build: patch("checksum failure", "one bit flipped in the trailer's ManifestDigest, TrailerCRC recomputed",
			func(v []byte, _ *volume) { v[len(v)-64+16] ^= 0x01; fixTrailerCRC(v) })},
		{name: "checksum_trailer", build: patch("checksum failure", "one bit flipped in the trailer's ManifestOffset, TrailerCRC not recomputed; the trailer magic is intact, so the volume is closed, not torn",
			func(v []byte, _ *volume) { v[len(v)-64] ^= 0x01 })},
		{name: "checksum_trailer_crc", build: patch("checksum failure", "one bit flipped in the TrailerCRC",
			func(v []byte, _ *volume) { v[len(v)-12] ^= 0x40 })},
		{name: "checksum_encrypted_chunk", encrypted: true, build: func() *vector {
			a := tornBase("enc-bitflip", mustRecipient())
			r := a.vols[0].Records[0]
			off := r.Offset + 16 + 4 + 10
			fs := flipBit(a.files(), v1, off, 3)
			v := &vector{expect: "checksum failure", entries: -1, files: fs, identity: testIdentity,
				failAt: fmt.Sprintf("%s %d", v1, off), comment: "one bit flipped in the sealed data of entry 0's first chunk: its Poly1305 tag fails"}
			return v
		}},
		{name: "format_key_block_length", encrypted: true, build: func() *vector {
			a := tornBase("enc-keylen", mustRecipient())
			fs := clone(a.files())
			binary.LittleEndian.PutUint32(fs[0].Data[48:], 65537)
			return &vector{expect: "format failure", entries: -1, files: fs, identity: testIdentity,
				failAt: firstDiff(a.files(), fs), comment: "KeyLength 65,537, over the 64 KiB limit"}
		}},
		{name: "checksum_encrypted_swap", encrypted: true, build: func() *vector {
			a := tornBase("enc-swap", mustRecipient())
			fs := clone(a.files())
			v, r := fs[0].Data, a.vols[0].Records[2]
			c0 := r.Offset + 16
			n := 4 + int(binary.LittleEndian.Uint32(v[c0:])&^(1<<31))
			first := append([]byte(nil), v[c0:c0+n]...)
			copy(v[c0:c0+n], v[c0+n:c0+2*n])
			copy(v[c0+n:c0+2*n], first)
			return &vector{expect: "checksum failure", entries: -1, files: fs, identity: testIdentity,
				failAt: firstDiff(a.files(), fs), comment: "entry 2's first two chunks (same length) swapped: the chunk index in the nonce catches it"}
		}},
		{name: "checksum_encrypted_final_bit", encrypted: true, build: func() *vector {
			a := tornBase("enc-final", mustRecipient())
			fs := clone(a.files())
			v, r := fs[0].Data, a.vols[0].Records[2]
			c0 := r.Offset + 16
			v[c0+3] |= 0x80
			return &vector{expect: "checksum failure", entries: -1, files: fs, identity: testIdentity,
				failAt: fmt.Sprintf("%s %d", v1, c0+3), comment: "the final bit set on entry 2's first chunk header: the header is the associated data, so the tag fails"}
		}},

		// Chain failures.
		{name: "chain_wrong_prev", build: func() *vector {
			good := threeRounds("rounds").files()[:2]
			// Round 2 rebuilt with one bit of Prev flipped.
			b := threeRounds("rounds")
			a := newArchive("rounds", nil)
			prev := b.vols[0].ManifestDigst
			prev[0] ^= 1
			m1 := a.message("alice@example.com", "AAMkADmsg1", 900)
			a.add(volSpec{Round: 1, Part: 1, Final: true, Entries: []entry{m1, a.contact("alice@example.com", "AAMkADcon1")}})
			m2 := a.message("alice@example.com", "AAMkADmsg2", 400)
			moved := m1
			moved.Folder, moved.ChangeKey = "AAMkADarchive", "CQAAABYAAAC"
			a.add(volSpec{Round: 2, Part: 1, Final: true, Entries: []entry{m2, moved}, prev: &prev})
			return failure("chain failure", good, a.files(), "round 2's Prev has one bit flipped (rounds 1 and 2 of success_three_rounds)")
		}},
		{name: "chain_missing_round", build: func() *vector {
			fs := threeRounds("rounds").files()
			return failure("chain failure", nil, []file{fs[0], fs[2]}, "success_three_rounds without round 2 (round 3 refs only round 1, so only the chain is broken)")
		}},
		{name: "chain_round_gap", build: func() *vector {
			a := newArchive("gap", nil)
			a.add(volSpec{Round: 1, Part: 1, Final: true, Entries: []entry{a.message("alice@example.com", "AAMkADmsg1", 300)}})
			a.add(volSpec{Round: 3, Part: 1, Final: true, Entries: []entry{a.message("alice@example.com", "AAMkADmsg2", 300)}})
			return failure("chain failure", nil, a.files(), "rounds 1 and 3, round 3's Prev is round 1's ManifestDigest: the round numbers skip 2")
		}},
		{name: "chain_missing_part", build: func() *vector {
			fs := splitRound("split", false).files()
			return failure("chain failure", nil, []file{fs[0], fs[2]}, "success_split_round without round 1 part 2: round 1 is incomplete and round 2 follows")
		}},
		{name: "chain_incomplete_round", build: func() *vector {
			return failure("chain failure", nil, splitRound("incomplete", true).files(),
				"round 1 part 1 is not final and round 2 part 1 follows with a Prev linking to it")
		}},
		{name: "chain_archive_id", build: func() *vector {
			good := threeRounds("rounds").files()[:2]
			b := threeRounds("rounds")
			a := newArchive("rounds", nil)
			other := a.id
			other[15] ^= 0x80
			m1 := a.message("alice@example.com", "AAMkADmsg1", 900)
			a.add(volSpec{Round: 1, Part: 1, Final: true, Entries: []entry{m1, a.contact("alice@example.com", "AAMkADcon1")}})
			m2 := a.message("alice@example.com", "AAMkADmsg2", 400)
			moved := m1
			moved.Folder, moved.ChangeKey = "AAMkADarchive", "CQAAABYAAAC"
			prev := b.vols[0].ManifestDigst
			a.add(volSpec{Round: 2, Part: 1, Final: true, Entries: []entry{m2, moved}, id: &other, prev: &prev})
			return failure("chain failure", good, a.files(), "round 2 has another ArchiveID (header and manifest), its Prev is right")
		}},
		{name: "chain_first_prev", build: func() *vector {
			var prev [32]byte
			prev[31] = 1
			return failure("chain failure", base(), basic(nil, func(vs *volSpec) { vs.prev = &prev }).files(),
				"round 1 part 1 has a non-zero Prev")
		}},
		{name: "chain_mixed_encryption", encrypted: true, build: func() *vector {
			a := newArchive("mixed", mustRecipient())
			a.add(volSpec{Round: 1, Part: 1, Final: true, Entries: []entry{a.message("alice@example.com", "AAMkADmsg1", 300)}})
			a.encrypted, a.recipient = false, nil
			a.add(volSpec{Round: 2, Part: 1, Final: true, Entries: []entry{a.message("alice@example.com", "AAMkADmsg2", 300)}})
			v := failure("chain failure", nil, a.files(), "round 1 is encrypted, round 2 is not (same ArchiveID, right Prev)")
			v.identity = testIdentity
			return v
		}},
		{name: "chain_no_first_round", build: func() *vector {
			a := newArchive("nofirst", nil)
			a.add(volSpec{Round: 1, Part: 1, Final: true, Entries: []entry{a.message("alice@example.com", "AAMkADmsg1", 300)}})
			a.add(volSpec{Round: 2, Part: 1, Final: true, Entries: []entry{a.message("alice@example.com", "AAMkADmsg2", 300)}})
			return failure("chain failure", nil, a.files()[1:], "round 2 alone: round 1 is missing")
		}},

		// Recovered.
		{name: "recovered_torn_record", build: func() *vector {
			a := tornBase("torn", nil)
			r := a.vols[0].Records[2]
			return torn(a, r.Offset+r.Length/2, 2, "cut in the middle of the third record (a record of 128-byte chunks): entries 0 and 1 (a ref to entry 0) survive")
		}},
		{name: "recovered_torn_boundary", build: func() *vector {
			a := tornBase("torn", nil)
			return torn(a, a.vols[0].Records[2].Offset, 2, "cut exactly where the third record starts")
		}},
		{name: "recovered_torn_chunk_header", build: func() *vector {
			a := tornBase("torn", nil)
			return torn(a, a.vols[0].Records[2].Offset+2, 2, "cut 2 bytes into the third record's first chunk header")
		}},
		{name: "recovered_torn_last_chunk", build: func() *vector {
			a := tornBase("torn", nil)
			r := a.vols[0].Records[3]
			return torn(a, r.Offset+r.Length-1, 3, "cut one byte before the end of the fourth (last) entry record")
		}},
		{name: "recovered_torn_manifest", build: func() *vector {
			a := tornBase("torn", nil)
			v := a.vols[0]
			return torn(a, v.ManifestOff+v.ManifestLen/2, 4, "cut in the middle of the manifest record: all 4 entries are rebuilt from the scan")
		}},
		{name: "recovered_no_trailer", build: func() *vector {
			a := tornBase("torn", nil)
			v := a.vols[0]
			return torn(a, v.ManifestOff+v.ManifestLen, 4, "the whole manifest record but no trailer: the manifest is discarded and rebuilt")
		}},
		{name: "recovered_torn_trailer", build: func() *vector {
			a := tornBase("torn", nil)
			n := len(a.vols[0].Data)
			return torn(a, n-30, 4, "cut in the middle of the trailer")
		}},
		{name: "recovered_header_only", build: func() *vector {
			a := tornBase("torn", nil)
			return torn(a, headerSize, 0, "only the 48-byte header")
		}},
		{name: "recovered_bad_record", build: func() *vector {
			a := tornBase("torn", nil)
			v := a.vols[0]
			r := v.Records[2]
			fs := flipBit(a.files(), v1, r.Offset+4+7, 0)
			fs[0].Data = fs[0].Data[:v.Records[3].Offset+v.Records[3].Length]
			return &vector{expect: "recovered", entries: 2, sha256: a.digests[:2], files: fs,
				comment: "torn after the fourth record, and the third record has a flipped bit: the scan stops at the third record"}
		}},
		{name: "recovered_second_round", build: func() *vector {
			a := threeRounds("rounds")
			a.vols = a.vols[:2]
			r := a.vols[1].Records[1]
			return torn(a, r.Offset+r.Length/2, 1, "round 1 closed, round 2 cut in its second record (a ref to a round-1 body)")
		}},
		{name: "recovered_encrypted", encrypted: true, build: func() *vector {
			a := tornBase("torn-enc", mustRecipient())
			r := a.vols[0].Records[2]
			v := torn(a, r.Offset+r.Length/2, 2, "X25519-encrypted, cut in the middle of the third record (a record of 128-byte chunks)")
			v.identity = testIdentity
			return v
		}},
		{name: "recovered_encrypted_key_file", encrypted: true, build: func() *vector {
			a := tornBase("torn-key", mustRecipient())
			r := a.vols[0].Records[2]
			v := torn(a, r.Offset+r.Length/2, 2, "X25519-encrypted, cut in the middle of the third record, with the writer's key file "+
				"(§7.3, 32 raw bytes) still next to it: a reader ignores the key file; a writer holding only the recipient recovers with it")
			v.files = append(v.files, file{"." + v1 + ".key", a.vols[0].Key})
			v.identity = testIdentity
			return v
		}},
	}
	return cs
}
