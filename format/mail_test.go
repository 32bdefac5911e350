package format

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/mail"
	"reflect"
	"strings"
	"testing"
	"time"

	gomail "github.com/emersion/go-message/mail"
)

func TestParseMailMeta(t *testing.T) {
	m, err := ParseMailMeta(readTestdata(t, "message-meta.xml"))
	if err != nil {
		t.Fatal(err)
	}
	want := MailMeta{
		ItemClass: "IPM.Note", Read: true, Flagged: true, FlagStatus: FlagFlagged,
		Categories: []string{"Red category", "Projekt Ä"}, Importance: "High",
		Received:  time.Date(2009, 3, 3, 9, 0, 5, 0, time.UTC),
		Sent:      time.Date(2009, 3, 3, 9, 0, 0, 0, time.UTC),
		MessageID: "<abc@example.com>", Size: 1234,
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("ParseMailMeta =\n%+v\nwant\n%+v", m, want)
	}
	if got := strings.Join(m.IMAPFlags(), " "); got != `\Seen \Flagged` {
		t.Errorf("IMAPFlags() = %q, want %q", got, `\Seen \Flagged`)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON := `{"itemClass":"IPM.Note","read":true,"flagged":true,"flagStatus":"Flagged","categories":["Red category","Projekt Ä"],"importance":"High","received":"2009-03-03T09:00:05Z","sent":"2009-03-03T09:00:00Z","messageId":"\u003cabc@example.com\u003e","size":1234}`
	if string(b) != wantJSON {
		t.Errorf("json.Marshal(MailMeta) =\n%s\nwant\n%s", b, wantJSON)
	}
	var back MailMeta
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, m) {
		t.Errorf("json.Unmarshal = %+v, %v, want %+v", back, err, m)
	}
}

func TestParseMailMetaFlag(t *testing.T) {
	tests := []struct {
		xml     string
		status  string
		flagged bool
	}{
		{`<t:Message><t:Flag><t:FlagStatus>Complete</t:FlagStatus></t:Flag></t:Message>`, FlagComplete, false},
		{`<t:Message><t:Flag><t:FlagStatus>Flagged</t:FlagStatus></t:Flag></t:Message>`, FlagFlagged, true},
		{`<t:Message><t:ExtendedProperty><t:ExtendedFieldURI PropertyTag="4240" PropertyType="Integer"/><t:Value>1</t:Value></t:ExtendedProperty></t:Message>`, FlagComplete, false},
		{`<t:Message><t:ExtendedProperty><t:ExtendedFieldURI PropertyTag="0x1090" PropertyType="Integer"/><t:Value>0</t:Value></t:ExtendedProperty></t:Message>`, FlagNotFlagged, false},
		{`<t:Message/>`, "", false},
	}
	for _, tt := range tests {
		m, err := ParseMailMeta([]byte(tt.xml))
		if err != nil || m.FlagStatus != tt.status || m.Flagged != tt.flagged {
			t.Errorf("ParseMailMeta(%q) = %+v, %v, want FlagStatus %q Flagged %v", tt.xml, m, err, tt.status, tt.flagged)
		}
	}
}

func TestMIMEContent(t *testing.T) {
	b, err := MIMEContent(readTestdata(t, "message-meta.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("Received: from mail.example.com\r\n")) || !bytes.HasSuffix(b, []byte("Hello Bob\r\n")) {
		t.Errorf("MIMEContent = %q", b)
	}
	for _, in := range []string{`<t:Message/>`, `<t:Message><t:MimeContent CharacterSet="UTF-8"/></t:Message>`} {
		if _, err := MIMEContent([]byte(in)); !errors.Is(err, ErrNoMIMEContent) {
			t.Errorf("MIMEContent(%q) = %v, want ErrNoMIMEContent", in, err)
		}
	}
	if _, err := MIMEContent([]byte(`<t:Message><t:MimeContent>UmVj\n=== Truncated Data ===</t:MimeContent></t:Message>`)); !errors.Is(err, ErrTruncated) {
		t.Errorf("MIMEContent(truncated) = %v, want ErrTruncated", err)
	}
	if _, err := MIMEContent([]byte(`<t:Message><t:MimeContent>not base64!</t:MimeContent></t:Message>`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("MIMEContent(bad base64) = %v, want ErrMalformed", err)
	}
	// Illegal character references are dropped [V VIEWPOINT dodgy_ews_response.xml].
	if m, err := ParseMailMeta([]byte("<t:Message><t:Subject>bad &#x1; &#0; char</t:Subject><t:IsRead>true</t:IsRead></t:Message>")); err != nil || !m.Read {
		t.Errorf("ParseMailMeta(illegal char refs) = %+v, %v", m, err)
	}
}

// wrapMIME builds the EWS item the exchange client would cut out.
func wrapMIME(raw []byte) []byte {
	return []byte("<t:Message><t:MimeContent CharacterSet=\"UTF-8\">" + base64.StdEncoding.EncodeToString(raw) +
		"</t:MimeContent><t:ItemId Id=\"x\" ChangeKey=\"y\"/></t:Message>")
}

func TestRebuildMessage(t *testing.T) {
	var b bytes.Buffer
	rep, err := RebuildMessage(readTestdata(t, "message-rebuild.xml"), testDir, &b)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "message-rebuild.eml", b.Bytes())
	golden(t, "message-rebuild.eml.report", []byte(lossFields(rep)))

	// An independent parser (net/mail) must accept it and see the fields.
	msg, err := mail.ReadMessage(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatalf("net/mail.ReadMessage(rebuilt) = %v", err)
	}
	dec := new(mimeDecoder)
	for k, want := range map[string]string{
		"X-Iem-Rebuilt": "mime content unavailable; rebuilt from ews item properties",
		"Message-Id":    "<q3-2009@contoso.com>",
		"In-Reply-To":   "<prev@example.com>",
		"Subject":       "Quartalszahlen Q3 – vertraulich",
		"Importance":    "high",
	} {
		if got := dec.header(msg.Header.Get(k)); got != want {
			t.Errorf("rebuilt %s = %q, want %q", k, got, want)
		}
	}
	from, _ := msg.Header.AddressList("From")
	if len(from) != 1 || from[0].Address != "hans.mueller@contoso.com" || from[0].Name != "Hans Müller" {
		t.Errorf("rebuilt From = %v, want Hans Müller <hans.mueller@contoso.com> (EX resolved)", from)
	}
	to, _ := msg.Header.AddressList("To")
	if len(to) != 2 || !strings.HasSuffix(to[1].Address, "@unresolved.invalid") {
		t.Errorf("rebuilt To = %v, want 2 with the unresolved one encapsulated", to)
	}
	if d, err := msg.Header.Date(); err != nil || !d.Equal(time.Date(2009, 10, 1, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("rebuilt Date = %v, %v", d, err)
	}
	// go-message sees the HTML body and the CSV attachment.
	mr, err := gomail.CreateReader(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(p.Body)
		ct := p.Header.Get("Content-Type")
		parts = append(parts, ct+"="+string(body))
	}
	want := []string{`text/html; charset=utf-8=<html><body><p>Grüße aus Köln</p></body></html>`, `text/csv=a,b,c` + "\n1,2,3\n"}
	if !reflect.DeepEqual(parts, want) {
		t.Errorf("rebuilt parts = %q, want %q", parts, want)
	}
	if len(rep.Losses) != 2 {
		t.Errorf("RebuildMessage report = %v, want the unresolved recipient and the item attachment", rep.Losses)
	}
	// Deterministic.
	var again bytes.Buffer
	RebuildMessage(readTestdata(t, "message-rebuild.xml"), testDir, &again)
	if !bytes.Equal(again.Bytes(), b.Bytes()) {
		t.Errorf("RebuildMessage output differs between runs")
	}
}

func FuzzMailParsers(f *testing.F) {
	for _, n := range []string{"message-meta.xml", "message-rebuild.xml", "note.xml"} {
		f.Add(readTestdata(f, n))
	}
	f.Add(wrapMIME([]byte("Subject: x\r\n\r\nbody")))
	f.Fuzz(func(t *testing.T, b []byte) {
		if raw, err := MIMEContent(b); err == nil {
			if got, err := MIMEContent(wrapMIME(raw)); err != nil || !bytes.Equal(got, raw) {
				t.Fatalf("MIMEContent(wrap(x)) = %q, %v, want x", got, err)
			}
		}
		if m, err := ParseMailMeta(b); err == nil {
			j, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			var back MailMeta
			if err := json.Unmarshal(j, &back); err != nil {
				t.Fatal(err)
			}
		}
		var out bytes.Buffer
		if _, err := RebuildMessage(b, testDir, &out); err == nil {
			if _, err := mail.ReadMessage(&out); err != nil {
				t.Fatalf("net/mail.ReadMessage(RebuildMessage(…)) = %v", err)
			}
		}
		NoteToVNote(b, io.Discard)
	})
}
