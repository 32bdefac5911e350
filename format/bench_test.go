package format

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func benchMessage(size int) []byte {
	var b strings.Builder
	b.WriteString("From: a@example.com\r\nTo: b@example.com\r\nSubject: bench\r\nContent-Type: text/plain\r\n\r\n")
	line := strings.Repeat("x", 76) + "\r\n"
	for b.Len() < size {
		b.WriteString(line)
	}
	return wrapMIME([]byte(b.String()))
}

func BenchmarkMIMEContent10MB(b *testing.B) {
	x := benchMessage(10 << 20)
	b.SetBytes(int64(len(x)))
	for b.Loop() {
		if _, err := MIMEContent(x); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseMailMeta(b *testing.B) {
	x := readTestdata(b, "message-meta.xml")
	for b.Loop() {
		if _, err := ParseMailMeta(x); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkContactToVCard(b *testing.B) {
	x := readTestdata(b, "contact-full.xml")
	for b.Loop() {
		c, _, err := ContactToVCard(x, testDir)
		if err != nil {
			b.Fatal(err)
		}
		WriteVCard(io.Discard, c)
	}
}

func BenchmarkCalendarToICal(b *testing.B) {
	x := readTestdata(b, "calendar-series-2010.xml")
	occ := [][]byte{readTestdata(b, "calendar-series-2010-occ1.xml")}
	for b.Loop() {
		cal, _, err := CalendarToICal(x, occ, testDir, nil)
		if err != nil {
			b.Fatal(err)
		}
		WriteICal(io.Discard, cal)
	}
}

func BenchmarkRebuildMessage(b *testing.B) {
	x := readTestdata(b, "message-rebuild.xml")
	var out bytes.Buffer
	for b.Loop() {
		out.Reset()
		if _, err := RebuildMessage(x, testDir, &out); err != nil {
			b.Fatal(err)
		}
	}
}
