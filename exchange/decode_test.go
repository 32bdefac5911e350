package exchange

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
	"time"

	"github.com/iemproject/iem/exchange/internal/soap"
)

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("internal", "soap", "testdata", "samples", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// firstMessage parses a sample the way doTree does and returns its SOAP
// fault or first response message.
func firstMessage(t *testing.T, data []byte) (fault, msg *soap.Node, filtered []byte) {
	t.Helper()
	filtered, err := io.ReadAll(soap.NewFilter(bytes.NewReader(data)))
	if err != nil {
		t.Fatal(err)
	}
	root, err := soap.Parse(filtered)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	body := root.Path("Envelope", "Body")
	if f := body.Child("Fault"); f != nil {
		return f, nil, filtered
	}
	return nil, body.Children[0].Child("ResponseMessages").Children[0], filtered
}

// TestSamples decodes the verbatim wire samples of ews.md.
func TestSamples(t *testing.T) {
	errTests := []struct {
		file      string
		code      string
		backoff   time.Duration
		inner     string
		fault     bool
		transient bool
		syncState bool
	}{
		{"busy-fault.xml", CodeServerBusy, 297749 * time.Millisecond, "", true, true, false},
		{"busy-in-body.xml", CodeServerBusy, 5000 * time.Millisecond, "", false, true, false},
		{"inner-error.xml", CodeInternalServerError, 0, "ErrorQuotaExceededOnDelete", false, false, false},
		{"item-not-found.xml", CodeItemNotFound, 0, "", false, false, false},
		{"invalid-sync-state.xml", CodeInvalidSyncStateData, 0, "", false, false, true},
	}
	for _, tt := range errTests {
		t.Run(tt.file, func(t *testing.T) {
			f, m, _ := firstMessage(t, readSample(t, tt.file))
			var e *Error
			if f != nil {
				e = parseFault(f)
			} else {
				e = messageError(m)
			}
			if e == nil {
				t.Fatal("no error decoded")
			}
			if e.Code != tt.code || e.BackOff != tt.backoff || e.Inner != tt.inner || e.Fault != tt.fault || e.transient() != tt.transient {
				t.Errorf("error = %+v (transient %t), want code %s backoff %v inner %q fault %t transient %t",
					e, e.transient(), tt.code, tt.backoff, tt.inner, tt.fault, tt.transient)
			}
			if errors.Is(e, ErrInvalidSyncState) != tt.syncState {
				t.Errorf("errors.Is(ErrInvalidSyncState) = %t, want %t", !tt.syncState, tt.syncState)
			}
			if e.Message == "" {
				t.Error("no message text")
			}
		})
	}

	t.Run("sync-hierarchy.xml", func(t *testing.T) {
		_, m, _ := firstMessage(t, readSample(t, "sync-hierarchy.xml"))
		f := parseFolder(m.Child("Changes").Child("Create").Child("Folder"))
		want := Folder{ID: "AQApAHR=", ChangeKey: "AQAAABY", ParentID: "AQApA=", Type: "Folder", Class: "IPF.Note", DisplayName: "NewFolder"}
		if f != want {
			t.Errorf("folder = %+v, want %+v", f, want)
		}
	})
	t.Run("dodgy-chars.xml", func(t *testing.T) {
		_, m, data := firstMessage(t, readSample(t, "dodgy-chars.xml"))
		it := parseItem(m.Child("Items").Children[0], data)
		if it.Subject != "bad  char" {
			t.Errorf("Subject = %q, want the illegal reference removed", it.Subject)
		}
		if bytes.Contains(it.XML, []byte("&#x1;")) || bytes.Contains(it.XML, []byte("&#31;")) || !bytes.Contains(it.XML, []byte(" ok</t:Body>")) {
			t.Errorf("XML keeps illegal references: %s", it.XML)
		}
	})
	t.Run("getfolder-permissions.xml", func(t *testing.T) {
		_, m, data := firstMessage(t, readSample(t, "getfolder-permissions.xml"))
		ps := m.Child("Folders").Child("Folder").Child("PermissionSet")
		raw := ps.Raw(data)
		if !bytes.HasPrefix(raw, []byte("<t:PermissionSet>")) || !bytes.HasSuffix(raw, []byte("</t:PermissionSet>")) {
			t.Errorf("Raw = %q", raw)
		}
	})
	t.Run("getitem-mime.xml", func(t *testing.T) {
		// The streaming path decodes the sample's (shortened) base64 up to
		// the first invalid quantum and reports the rest as truncated.
		sc := soap.NewScanner(soap.NewFilter(bytes.NewReader(readSample(t, "getitem-mime.xml"))), 1<<20)
		for {
			tok, err := sc.Next()
			if err != nil {
				t.Fatalf("no MimeContent: %v", err)
			}
			if tok.Kind == soap.StartTag && tok.Local == "MimeContent" {
				b, err := io.ReadAll(sc.MIME())
				if len(b) == 0 && err == nil {
					t.Errorf("MIME = %q, %v", b, err)
				}
				return
			}
		}
	})
}

// FuzzDecode feeds arbitrary responses through both decoding paths of the
// client: the filter, tree parser and field readers used by doTree, and the
// streaming scanner with MIME decoding used for GetItem. Neither may panic,
// the filter must not depend on how the input is chunked, and its output
// holds no raw control characters. Seeded with the ews.md wire samples.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("internal", "soap", "testdata", "samples", "*.xml"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("<a>&#x1</a>&"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return
		}
		whole, err := io.ReadAll(soap.NewFilter(bytes.NewReader(data)))
		if err != nil {
			t.Fatal(err)
		}
		bytewise, err := io.ReadAll(soap.NewFilter(iotest.OneByteReader(bytes.NewReader(data))))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(whole, bytewise) {
			t.Fatalf("filter depends on chunking:\n whole    %q\n bytewise %q", whole, bytewise)
		}
		for _, c := range whole {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				t.Fatalf("filter left control byte %#x in %q", c, whole)
			}
		}
		if root, err := soap.Parse(whole); err == nil {
			walk(t, root, whole, 0)
		}
		sc := soap.NewScanner(soap.NewFilter(bytes.NewReader(data)), 1<<16)
		for range 10000 {
			tok, err := sc.Next()
			if err != nil {
				break
			}
			if tok.Kind == soap.StartTag && tok.Local == "MimeContent" && !tok.SelfClosing {
				io.Copy(io.Discard, io.LimitReader(sc.MIME(), 4<<20))
			}
		}
	})
}

// walk applies every field reader to every node and checks that Raw cuts
// out whole elements. It stops at a depth no EWS response reaches, so that
// deep nesting does not make the harness (not the client) quadratic.
func walk(t *testing.T, n *soap.Node, data []byte, depth int) {
	if depth > 32 {
		return
	}
	if n.Local != "#document" {
		raw := n.Raw(data)
		if len(raw) < 2 || raw[0] != '<' || raw[len(raw)-1] != '>' {
			t.Fatalf("Raw of <%s> = %q, not an element", n.Local, raw)
		}
		switch n.Local {
		case "Fault":
			parseFault(n)
		case "Folder", "CalendarFolder", "ContactsFolder", "TasksFolder", "SearchFolder":
			parseFolder(n)
		}
		messageError(n)
		parseItem(n, data)
	}
	for _, c := range n.Children {
		walk(t, c, data, depth+1)
	}
}
