package exchange_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/iemproject/iem/exchange"
	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/internal/retry"
	"github.com/iemproject/iem/internal/syncbuf"
)

func TestOptionsRefused(t *testing.T) {
	ok := exchange.Options{URL: "https://mail.example.com/EWS/Exchange.asmx", Username: `EXAMPLE\admin`, Password: "pw"}
	tests := []struct {
		name  string
		mod   func(*exchange.Options)
		field string
		leak  string // must not appear in the message
	}{
		{"http", func(o *exchange.Options) { o.URL = "http://mail.example.com/EWS/Exchange.asmx" }, "ews-url", ""},
		{"HTTP upper case", func(o *exchange.Options) { o.URL = "HTTP://mail.example.com/EWS/Exchange.asmx" }, "ews-url", ""},
		{"ftp", func(o *exchange.Options) { o.URL = "ftp://mail.example.com/" }, "ews-url", ""},
		{"no scheme", func(o *exchange.Options) { o.URL = "mail.example.com/EWS/Exchange.asmx" }, "ews-url", ""},
		{"empty", func(o *exchange.Options) { o.URL = "" }, "ews-url", ""},
		{"no host", func(o *exchange.Options) { o.URL = "https:///EWS/Exchange.asmx" }, "ews-url", ""},
		{"credentials in url", func(o *exchange.Options) { o.URL = "https://admin:s3cret-in-url@mail.example.com/EWS/Exchange.asmx" }, "ews-url", "s3cret-in-url"},
		{"no user", func(o *exchange.Options) { o.Username = "" }, "ews-user", ""},
		{"no password", func(o *exchange.Options) { o.Password = "" }, "ews-password", ""},
		{"auth", func(o *exchange.Options) { o.Auth = 7 }, "ews-auth", ""},
		{"pin not sha256", func(o *exchange.Options) { o.TrustCert = "md5:00" }, "trust-cert", ""},
		{"pin short", func(o *exchange.Options) { o.TrustCert = "sha256:abcd" }, "trust-cert", ""},
		{"pin and always-trust", func(o *exchange.Options) {
			o.TrustCert = "sha256:" + strings.Repeat("ab", 32)
			o.AlwaysTrust = true
		}, "trust-cert", ""},
		{"version", func(o *exchange.Options) { o.Version = 99 }, "ews-version", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.mod(&o)
			c, err := exchange.New(o)
			var fe *exchange.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("New = %v, %v; want a FieldError for %s", c, err, tt.field)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("message %q does not name %s", err, tt.field)
			}
			if tt.leak != "" && strings.Contains(err.Error(), tt.leak) {
				t.Errorf("message %q shows the secret", err)
			}
		})
	}
	if _, err := exchange.New(ok); err != nil {
		t.Errorf("New(valid) = %v", err)
	}
	if _, err := exchange.New(exchange.Options{URL: "https://mail.example.com/EWS/Exchange.asmx", Username: "u", Password: "p",
		TrustCert: "SHA256:" + strings.Repeat("AB:", 31) + "AB"}); err != nil {
		t.Errorf("New(pin with colons) = %v", err)
	}
}

func TestTLS(t *testing.T) {
	srv, err := ewstest.Start(newOrg(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	base := exchange.Options{URL: srv.URL(), Username: srv.Username(), Password: srv.Password(),
		Retry: retry.Policy{Sleep: new(sleeps).sleep}}
	wrongPin := "sha256:" + strings.Repeat("00", 32)
	tests := []struct {
		name    string
		mod     func(*exchange.Options)
		wantErr func(error) bool
		warn    bool
	}{
		{"default verifies", func(*exchange.Options) {}, func(err error) bool {
			var ve *tls.CertificateVerificationError
			return errors.As(err, &ve)
		}, false},
		{"wrong pin", func(o *exchange.Options) { o.TrustCert = wrongPin }, func(err error) bool { return errors.Is(err, exchange.ErrCertificate) }, false},
		{"pin", func(o *exchange.Options) { o.TrustCert = srv.Fingerprint() }, nil, false},
		{"pin from FingerprintOf", func(o *exchange.Options) { o.TrustCert = exchange.FingerprintOf(srv.Certificate()) }, nil, false},
		{"always trust", func(o *exchange.Options) { o.AlwaysTrust = true }, nil, true},
		{"legacy tls still verifies", func(o *exchange.Options) { o.LegacyTLS = true }, func(err error) bool {
			var ve *tls.CertificateVerificationError
			return errors.As(err, &ve)
		}, false},
		{"legacy tls with pin", func(o *exchange.Options) { o.LegacyTLS = true; o.TrustCert = srv.Fingerprint() }, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log syncbuf.Buffer
			o := base
			o.Logger = slog.New(slog.NewTextHandler(&log, nil))
			tt.mod(&o)
			c, err := exchange.New(o)
			if err != nil {
				t.Fatal(err)
			}
			before := srv.Requests("")
			_, err = c.GetFolder(context.Background(), alice, "inbox")
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("GetFolder = %v", err)
				}
			} else {
				if err == nil || !tt.wantErr(err) {
					t.Fatalf("GetFolder = %v, want a certificate error", err)
				}
				if errors.Is(err, retry.ErrExhausted) {
					t.Errorf("certificate error was retried: %v", err)
				}
				if srv.Requests("") != before {
					t.Errorf("a request reached the server despite the certificate error")
				}
			}
			if got := strings.Contains(log.String(), "always-trust"); got != tt.warn {
				t.Errorf("always-trust warning logged = %t, want %t: %s", got, tt.warn, log.String())
			}
		})
	}
}

// TestPasswordNeverLogged runs a session with retries, an item error,
// debug logging and a DebugWriter, then greps everything for the password
// in plain and in Basic-auth form.
func TestPasswordNeverLogged(t *testing.T) {
	const password = "Zz9-very-Secret-Pa55word"
	var debug syncbuf.Buffer
	e := start(t, ewstest.Exchange2013, nil, &ewstest.Options{Password: password}, func(o *exchange.Options) {
		o.DebugWriter = &debug
	})
	e.srv.Inject(ewstest.Fault{Kind: ewstest.FaultBusySOAP})
	e.srv.Inject(ewstest.Fault{Kind: ewstest.FaultReset, Op: "SyncFolderItems"})
	e.srv.Inject(ewstest.Fault{Kind: ewstest.FaultMimeConversion})
	ids, _ := syncIDs(t, e.c, alice, "inbox")
	collectMIME(t, e.c, alice, ids)
	// A wrong password: the error must not echo it either.
	bad, err := exchange.New(exchange.Options{URL: e.srv.URL(), Username: e.srv.Username(), Password: password + "-wrong",
		TrustCert: e.srv.Fingerprint(), Logger: slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug})), DebugWriter: &debug})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.GetFolder(context.Background(), alice, "inbox")
	if !errors.Is(err, exchange.ErrUnauthorized) {
		t.Errorf("wrong password: %v, want ErrUnauthorized", err)
	}
	all := e.log.String() + debug.String() + fmt.Sprint(err)
	if !strings.Contains(all, "retrying") || !strings.Contains(all, "item skipped") || !strings.Contains(debug.String(), "[redacted]") {
		t.Fatalf("log is missing the retries, the skip or the redacted header; nothing was tested:\n%s", all)
	}
	for _, secret := range []string{
		password,
		base64.StdEncoding.EncodeToString([]byte(e.srv.Username() + ":" + password)),
		base64.StdEncoding.EncodeToString([]byte(e.srv.Username() + ":" + password + "-wrong")),
	} {
		if strings.Contains(all, secret) {
			t.Errorf("log or debug output contains the password (%q)", secret)
		}
	}
}

// fake is an HTTPS server answering every request with fn's bytes.
func fake(t *testing.T, fn func(op string, w http.ResponseWriter)) *exchange.Client {
	t.Helper()
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		op := regexp.MustCompile(`<m:(\w+)[ >]`).FindSubmatch(body)
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		if op == nil {
			http.Error(w, "no op", 400)
			return
		}
		fn(string(op[1]), w)
	}))
	t.Cleanup(ts.Close)
	c, err := exchange.New(exchange.Options{URL: ts.URL + "/EWS/Exchange.asmx", Username: "u", Password: "p",
		TrustCert: exchange.FingerprintOf(ts.Certificate().Raw), Version: exchange.Exchange2016,
		MaxResponseSize: 1 << 20, Retry: retry.Policy{Attempts: 2, Sleep: new(sleeps).sleep}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const (
	envHead = `<?xml version="1.0" encoding="utf-8"?>`
	envOpen = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>` +
		`<m:GetItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages>`
	envClose = `</m:ResponseMessages></m:GetItemResponse></s:Body></s:Envelope>`
)

// lol is the "billion laughs" DOCTYPE: ten levels of ten-fold expansion.
func lol() string {
	var b strings.Builder
	b.WriteString(`<!DOCTYPE lolz [<!ENTITY lol "lol">`)
	prev := "lol"
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, `<!ENTITY lol%d "%s">`, i, strings.Repeat("&"+prev+";", 10))
		prev = fmt.Sprintf("lol%d", i)
	}
	b.WriteString(`]>`)
	return b.String()
}

func TestHostileResponses(t *testing.T) {
	ids := []exchange.ItemID{{ID: "AAMkAD1", ChangeKey: "CQ"}}
	props := func(subject string) string {
		return `<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Message>` +
			`<t:ItemId Id="AAMkAD1" ChangeKey="CQ"/><t:Subject>` + subject + `</t:Subject><t:Size>10</t:Size></t:Message></m:Items></m:GetItemResponseMessage>`
	}
	mime := func(content string) string {
		return `<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Message>` +
			`<t:MimeContent CharacterSet="UTF-8">` + content + `</t:MimeContent><t:ItemId Id="AAMkAD1" ChangeKey="CQ"/></t:Message></m:Items></m:GetItemResponseMessage>`
	}
	hello := base64.StdEncoding.EncodeToString([]byte("Subject: hi\r\n\r\nhello\r\n"))
	tests := []struct {
		name       string
		props      string // response to the property GetItem
		mime       string // response to the MIME GetItem
		wantErr    bool
		wantSubj   string
		wantMIME   string
		maxSubject int
	}{
		{"entity expansion in properties", envHead + lol() + envOpen + props("&lol9;") + envClose, "", true, "", "", 0},
		{"external entity in properties", envHead + `<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` + envOpen + props("&xxe;") + envClose, "", true, "", "", 0},
		{"entity expansion in mime stream", envHead + envOpen + props("ok") + envClose,
			envHead + lol() + envOpen + mime(hello+"&lol9;") + envClose, false, "ok", "Subject: hi\r\n\r\nhello\r\n", 0},
		{"entity as text in mime stream", envHead + envOpen + props("ok") + envClose,
			envHead + lol() + envOpen + strings.Replace(mime(hello), `<t:ItemId`, `<t:Subject>&lol9;</t:Subject><t:ItemId`, 1) + envClose, false, "ok", "Subject: hi\r\n\r\nhello\r\n", 0},
		{"oversized tree response", envHead + envOpen + props(strings.Repeat("x", 2<<20)) + envClose, "", true, "", "", 0},
		{"oversized text in mime stream", envHead + envOpen + props("ok") + envClose,
			envHead + envOpen + strings.Replace(mime(hello), `<t:ItemId`, `<t:Body>`+strings.Repeat("y", 3<<20)+`</t:Body><t:ItemId`, 1) + envClose, true, "", "", 0},
		{"oversized tag in mime stream", envHead + envOpen + props("ok") + envClose,
			envHead + envOpen + strings.Replace(mime(hello), `<t:ItemId Id="AAMkAD1"`, `<t:ItemId Junk="`+strings.Repeat("z", 1<<20)+`" Id="AAMkAD1"`, 1) + envClose, true, "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fake(t, func(op string, w http.ResponseWriter) {
				// The first GetItem asks for properties, the second for MIME.
				io.WriteString(w, tt.props)
			})
			if tt.mime != "" {
				n := 0
				c = fake(t, func(op string, w http.ResponseWriter) {
					n++
					if n == 1 {
						io.WriteString(w, tt.props)
					} else {
						io.WriteString(w, tt.mime)
					}
				})
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			var subj, body string
			err := c.GetItems(context.Background(), "", ids, exchange.KindMail, func(it *exchange.Item) error {
				if it.Err != nil {
					return it.Err
				}
				subj = it.Subject
				b, err := io.ReadAll(it.MIME)
				body = string(b)
				return err
			})
			runtime.ReadMemStats(&after)
			t.Logf("err = %.200v", err)
			if tt.wantErr != (err != nil) {
				t.Fatalf("GetItems = %v, want error %t", err, tt.wantErr)
			}
			if strings.HasPrefix(tt.name, "oversized") && (!errors.Is(err, exchange.ErrTooLarge) || errors.Is(err, retry.ErrExhausted)) {
				t.Errorf("GetItems = %v, want ErrTooLarge at once", err)
			}
			if !tt.wantErr && (subj != tt.wantSubj || body != tt.wantMIME) {
				t.Errorf("item = %q, %q; want %q, %q", subj, body, tt.wantSubj, tt.wantMIME)
			}
			if strings.Contains(subj, "lollol") || strings.Contains(body, "lollol") || strings.Contains(fmt.Sprint(err), "root:") {
				t.Errorf("entity expanded: %.80q %.80q %v", subj, body, err)
			}
			// Nothing may blow up: the responses are a few MB at most.
			if d := after.TotalAlloc - before.TotalAlloc; d > 256<<20 {
				t.Errorf("allocated %d MB for a hostile response", d>>20)
			}
		})
	}
}

// TestEndlessResponse: a server that never stops sending is cut off at
// MaxResponseSize.
func TestEndlessResponse(t *testing.T) {
	c := fake(t, func(op string, w http.ResponseWriter) {
		io.WriteString(w, envHead+envOpen+`<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Message><t:Subject>`)
		chunk := bytes.Repeat([]byte("a"), 64<<10)
		for range 1 << 12 { // 256 MB unless the client hangs up
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	err := c.GetItems(context.Background(), "", []exchange.ItemID{{ID: "x"}}, exchange.KindMail, func(*exchange.Item) error { return nil })
	if !errors.Is(err, exchange.ErrTooLarge) || errors.Is(err, retry.ErrExhausted) {
		t.Errorf("GetItems = %v, want ErrTooLarge at once", err)
	}
}

// TestTruncatedMarkerInContent: an item that merely quotes the truncation
// marker is not a truncated response.
func TestTruncatedMarkerInContent(t *testing.T) {
	const subject = "FYI: the export ended with === Truncated Data === again"
	c := fake(t, func(op string, w http.ResponseWriter) {
		io.WriteString(w, envHead+envOpen+`<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Task>`+
			`<t:ItemId Id="AAMkAD1" ChangeKey="CQ"/><t:Subject>`+subject+`</t:Subject></t:Task></m:Items></m:GetItemResponseMessage>`+envClose)
	})
	var got string
	err := c.GetItems(context.Background(), "", []exchange.ItemID{{ID: "AAMkAD1"}}, exchange.KindTask, func(it *exchange.Item) error {
		got = it.Subject
		return it.Err
	})
	if err != nil || got != subject {
		t.Errorf("GetItems = %q, %v; want %q", got, err, subject)
	}
}

// ntlmChallenge builds a minimal NTLM CHALLENGE_MESSAGE [MS-NLMP 2.2.1.2]:
// Unicode, NTLM and target info (the NetBIOS domain) flags.
func ntlmChallenge() []byte {
	utf16 := func(s string) []byte {
		var b []byte
		for _, r := range s {
			b = append(b, byte(r), 0)
		}
		return b
	}
	name := utf16("EXAMPLE")
	info := append([]byte{2, 0, byte(len(name)), 0}, name...) // MsvAvNbDomainName
	info = append(info, 0, 0, 0, 0)                           // MsvAvEOL
	le16 := func(v int) []byte { return []byte{byte(v), byte(v >> 8)} }
	le32 := func(v int) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }
	var m []byte
	m = append(m, "NTLMSSP\x00"...)
	m = append(m, le32(2)...)
	m = append(m, le16(len(name))...)
	m = append(m, le16(len(name))...)
	m = append(m, le32(48)...)
	m = append(m, le32(0x00000001|0x00000200|0x00800000)...) // UNICODE | NTLM | TARGET_INFO
	m = append(m, "chal1234"...)
	m = append(m, make([]byte, 8)...)
	m = append(m, le16(len(info))...)
	m = append(m, le16(len(info))...)
	m = append(m, le32(48+len(name))...)
	m = append(m, name...)
	return append(m, info...)
}

// TestNTLM runs the NTLM handshake against a fake server: it must happen
// on one HTTP/1.1 connection, re-send the SOAP body, carry the user name
// but never the password, and never fall back to Basic.
func TestNTLM(t *testing.T) {
	const password = "Ntlm-Secret-Pa55"
	type seen struct {
		remote, auth string
		proto        int
		bodyOK       bool
	}
	var mu sync.Mutex
	var reqs []seen
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		auth := r.Header.Get("Authorization")
		mu.Lock()
		reqs = append(reqs, seen{r.RemoteAddr, auth, r.ProtoMajor, bytes.Contains(body, []byte("<m:GetFolder>"))})
		n := len(reqs)
		mu.Unlock()
		switch {
		case auth == "":
			w.Header().Set("WWW-Authenticate", "NTLM")
			w.WriteHeader(401)
		case strings.HasPrefix(auth, "NTLM ") && n == 2:
			w.Header().Set("WWW-Authenticate", "NTLM "+base64.StdEncoding.EncodeToString(ntlmChallenge()))
			w.WriteHeader(401)
		case strings.HasPrefix(auth, "NTLM "):
			io.WriteString(w, envHead+`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:GetFolderResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages>`+
				`<m:GetFolderResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Folders><t:Folder><t:FolderId Id="F1" ChangeKey="C"/><t:DisplayName>Inbox</t:DisplayName></t:Folder></m:Folders></m:GetFolderResponseMessage>`+
				`</m:ResponseMessages></m:GetFolderResponse></s:Body></s:Envelope>`)
		default:
			w.WriteHeader(400)
		}
	}))
	ts.EnableHTTP2 = true // the client must still speak HTTP/1.1
	ts.StartTLS()
	defer ts.Close()
	c, err := exchange.New(exchange.Options{URL: ts.URL + "/EWS/Exchange.asmx", Username: `EXAMPLE\admin`, Password: password, Auth: exchange.AuthNTLM,
		TrustCert: exchange.FingerprintOf(ts.Certificate().Raw), Version: exchange.Exchange2010SP2, Retry: retry.Policy{Attempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := c.GetFolder(context.Background(), "", "inbox")
	if err != nil || f.DisplayName != "Inbox" {
		t.Fatalf("GetFolder = %+v, %v", f, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want anonymous, negotiate, authenticate", len(reqs))
	}
	for i, r := range reqs {
		if r.remote != reqs[0].remote || r.proto != 1 || !r.bodyOK {
			t.Errorf("request %d: conn %s (first %s), HTTP/%d, body intact %t; want one HTTP/1.1 connection", i, r.remote, reqs[0].remote, r.proto, r.bodyOK)
		}
		if strings.HasPrefix(r.auth, "Basic") {
			t.Errorf("request %d fell back to Basic", i)
		}
	}
	type3, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(reqs[2].auth, "NTLM "))
	if !bytes.Contains(type3, []byte("a\x00d\x00m\x00i\x00n\x00")) || bytes.Contains(type3, []byte(password)) || bytes.Contains(bytes.ReplaceAll(type3, []byte{0}, nil), []byte(password)) {
		t.Errorf("authenticate message lacks the user or contains the password")
	}

	// A server offering only Basic does not get the password from an
	// NTLM client.
	srv, err := ewstest.Start(newOrg(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c, err = exchange.New(exchange.Options{URL: srv.URL(), Username: srv.Username(), Password: srv.Password(), Auth: exchange.AuthNTLM,
		TrustCert: srv.Fingerprint(), Version: exchange.Exchange2016})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetFolder(context.Background(), alice, "inbox"); !errors.Is(err, exchange.ErrUnauthorized) {
		t.Errorf("NTLM client against a Basic-only server = %v, want ErrUnauthorized", err)
	}
}

// TestLegacyTLS: a server that speaks only TLS 1.0 with RSA key exchange,
// as Exchange 2007 on Windows 2003 may [V ews.md §1.2], is refused by
// default and reached with LegacyTLS (certificate still pinned).
func TestLegacyTLS(t *testing.T) {
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, envHead+`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:GetFolderResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages>`+
			`<m:GetFolderResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Folders><t:Folder><t:FolderId Id="F1" ChangeKey="C"/><t:DisplayName>Inbox</t:DisplayName></t:Folder></m:Folders></m:GetFolderResponseMessage>`+
			`</m:ResponseMessages></m:GetFolderResponse></s:Body></s:Envelope>`)
	}))
	ts.TLS = &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10, CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_CBC_SHA}}
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	ts.StartTLS()
	defer ts.Close()
	for _, legacy := range []bool{false, true} {
		c, err := exchange.New(exchange.Options{URL: ts.URL + "/EWS/Exchange.asmx", Username: "u", Password: "p", LegacyTLS: legacy,
			TrustCert: exchange.FingerprintOf(ts.Certificate().Raw), Version: exchange.Exchange2007SP1, Retry: retry.Policy{Attempts: 1}})
		if err != nil {
			t.Fatal(err)
		}
		f, err := c.GetFolder(context.Background(), "", "inbox")
		if legacy && (err != nil || f.DisplayName != "Inbox") {
			t.Errorf("LegacyTLS: GetFolder = %+v, %v", f, err)
		}
		if !legacy && err == nil {
			t.Error("default TLS settings reached a TLS 1.0 server")
		}
	}
}

// TestElementBomb: a response of a million tiny elements fits the size
// bound but would take 25 times its size as a tree; it is refused.
func TestElementBomb(t *testing.T) {
	var bomb bytes.Buffer
	bomb.WriteString(envHead + envOpen + `<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Task><t:ItemId Id="x"/>`)
	bomb.WriteString(strings.Repeat("<a/>", 1<<20))
	bomb.WriteString(`</t:Task></m:Items></m:GetItemResponseMessage>` + envClose)
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(bomb.Bytes()) }))
	defer ts.Close()
	c, err := exchange.New(exchange.Options{URL: ts.URL, Username: "u", Password: "p", TrustCert: exchange.FingerprintOf(ts.Certificate().Raw),
		Version: exchange.Exchange2016, MaxResponseSize: 16 << 20, Retry: retry.Policy{Sleep: new(sleeps).sleep}})
	if err != nil {
		t.Fatal(err)
	}
	err = c.GetItems(context.Background(), "", []exchange.ItemID{{ID: "x"}}, exchange.KindTask, func(*exchange.Item) error { return nil })
	if !errors.Is(err, exchange.ErrTooLarge) || errors.Is(err, retry.ErrExhausted) {
		t.Errorf("GetItems = %v, want ErrTooLarge at once", err)
	}
}

// TestNTLMEmulator exports through NTLM against the emulator, which
// verifies the NTLMv2 proof against the password.
func TestNTLMEmulator(t *testing.T) {
	for _, pw := range []struct {
		name  string
		wrong bool
	}{{"right password", false}, {"wrong password", true}} {
		t.Run(pw.name, func(t *testing.T) {
			e := start(t, ewstest.Exchange2013, nil, &ewstest.Options{NTLM: true}, func(o *exchange.Options) {
				o.Auth = exchange.AuthNTLM
				if pw.wrong {
					o.Password += "x"
				}
			})
			ids, err := func() (ids []exchange.ItemID, err error) {
				_, err = e.c.SyncFolderItems(context.Background(), alice, "inbox", "", func(ch exchange.ItemChange) error {
					ids = append(ids, ch.ID)
					return nil
				})
				return ids, err
			}()
			if pw.wrong {
				if !errors.Is(err, exchange.ErrUnauthorized) {
					t.Errorf("SyncFolderItems = %v, want ErrUnauthorized", err)
				}
				if e.srv.Requests("") != 0 {
					t.Errorf("%d requests served without authentication", e.srv.Requests(""))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			mimes, errs := collectMIME(t, e.c, alice, ids)
			if len(mimes) != 4 || len(errs) != 0 {
				t.Errorf("%d MIME, errors %v", len(mimes), errs)
			}
			// One handshake per connection, not per request.
			if n, basic := e.srv.Logins("ntlm"), e.srv.Logins("basic"); n == 0 || n >= e.srv.Requests("") || basic != 0 {
				t.Errorf("%d NTLM handshakes, %d Basic logins for %d requests", n, basic, e.srv.Requests(""))
			}
		})
	}
}
