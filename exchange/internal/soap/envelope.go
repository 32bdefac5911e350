package soap

import (
	"bytes"
	"encoding/xml"
)

// Namespaces of EWS [V ews.md §1 "Namespaces"].
const (
	NSEnvelope = "http://schemas.xmlsoap.org/soap/envelope/"
	NSTypes    = "http://schemas.microsoft.com/exchange/services/2006/types"
	NSMessages = "http://schemas.microsoft.com/exchange/services/2006/messages"
	NSErrors   = "http://schemas.microsoft.com/exchange/services/2006/errors"
)

// Header holds the SOAP header fields the client sends.
type Header struct {
	// Version is the RequestServerVersion value ("Exchange2007_SP1"...).
	Version string
	// Impersonate is the SMTP address of the mailbox to act as ("" = none).
	Impersonate string
	// PrimarySmtp selects <t:PrimarySmtpAddress> (the 2007 schema has no
	// SmtpAddress) instead of <t:SmtpAddress>
	// [V ews.md §2.1 learn aa581005(v=exchg.80)].
	PrimarySmtp bool
}

// Envelope builds a request. body is the operation element, written with
// the m: and t: prefixes, which the envelope declares.
func Envelope(h Header, body []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(body) + 512)
	// Request shape: [V ews.md §2.1 MSDOCS how-to-add-appointments-by-using-exchange-impersonation.md]
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` +
		`<soap:Envelope xmlns:soap="` + NSEnvelope + `" xmlns:t="` + NSTypes + `" xmlns:m="` + NSMessages + `">` +
		`<soap:Header><t:RequestServerVersion Version="`)
	Escape(&b, h.Version)
	b.WriteString(`"/>`)
	if h.Impersonate != "" {
		tag := "t:SmtpAddress"
		if h.PrimarySmtp {
			tag = "t:PrimarySmtpAddress"
		}
		b.WriteString(`<t:ExchangeImpersonation><t:ConnectingSID><` + tag + `>`)
		Escape(&b, h.Impersonate)
		b.WriteString(`</` + tag + `></t:ConnectingSID></t:ExchangeImpersonation>`)
	}
	b.WriteString(`</soap:Header><soap:Body>`)
	b.Write(body)
	b.WriteString(`</soap:Body></soap:Envelope>`)
	return b.Bytes()
}

// Escape writes s with XML special characters escaped.
func Escape(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s))
}
