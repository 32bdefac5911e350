package icewarptest

import "strings"

// OddMessage is one message of [OddMessages].
type OddMessage struct {
	Name string
	Data []byte
}

// OddMessages returns messages that real mailboxes hold and that strict
// MIME parsers reject or rewrite: delivery reports (multipart/report with
// message/delivery-status and text/rfc822-headers parts), one of them
// starting with an mbox "From " line, raw 8-bit (Latin-1) bytes in a
// header, NUL bytes in the body, a header with no blank line after it,
// garbage without any header, and bare LF line ends. IceWarp stores and
// serves such files as they are (see refresh); tests of both the emulator
// and the importer use them.
func OddMessages() []OddMessage {
	crlf := func(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }
	dsn := `Return-Path: <>
Received: from mx.example.org by mail.example.com; Thu, 1 Jan 2026 00:00:00 +0000
Date: Thu, 1 Jan 2026 00:00:00 +0000
From: Mail Delivery System <MAILER-DAEMON@mx.example.org>
To: alice@example.com
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="B1.1767225600/mx.example.org"
Message-Id: <20260101000000.B1@mx.example.org>

This is a MIME-encapsulated message.

--B1.1767225600/mx.example.org
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<nobody@example.net>: host mx.example.net said: 550 5.1.1 User unknown

--B1.1767225600/mx.example.org
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org
X-Postfix-Queue-ID: B1
Arrival-Date: Thu,  1 Jan 2026 00:00:00 +0000 (UTC)

Final-Recipient: rfc822; nobody@example.net
Original-Recipient: rfc822;nobody@example.net
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.net
Diagnostic-Code: smtp; 550 5.1.1 User unknown

--B1.1767225600/mx.example.org
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Date: Wed, 31 Dec 2025 23:59:00 +0000
From: alice@example.com
To: nobody@example.net
Subject: hello
Message-ID: <orig-1@example.com>

--B1.1767225600/mx.example.org--
`
	return []OddMessage{
		{"delivery report", crlf(dsn)},
		{"delivery report with mbox From line", crlf("From MAILER-DAEMON Thu Jan  1 00:00:00 2026\n" +
			strings.Replace(dsn, "B1@mx", "B2@mx", 1))},
		{"8-bit Latin-1 subject", crlf("From: J\xfcrgen <j@example.de>\nTo: alice@example.com\nSubject: Gr\xfc\xdfe aus K\xf6ln\n" +
			"Message-ID: <latin1@example.de>\nDate: Fri, 2 Jan 2026 10:00:00 +0100\n\nSch\xf6ne Gr\xfc\xdfe\n")},
		{"NUL bytes in body", crlf("From: a@example.com\nTo: alice@example.com\nSubject: nul\nMessage-ID: <nul@example.com>\n\n" +
			"before\x00\x00after\n\x00\n")},
		{"header only, no blank line", crlf("From: a@example.com\nTo: alice@example.com\nSubject: header only\nMessage-ID: <hdr@example.com>")},
		{"garbage without header", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR garbage: not a message\r\n")},
		{"bare LF", []byte("From: a@example.com\nTo: alice@example.com\nSubject: bare LF\nMessage-ID: <lf@example.com>\n\nline 1\nline 2\n")},
	}
}
