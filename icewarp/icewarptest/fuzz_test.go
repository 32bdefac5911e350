package icewarptest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/icewarp/mailpath"
)

// FuzzPathModeRoundTrip is a differential check of mailpath (the writer)
// against the emulator (the reader): every folder that mailpath accepts
// must pass the checker after a refresh and appear over IMAP under the
// original name.
func FuzzPathModeRoundTrip(f *testing.F) {
	for _, seed := range [][2]string{
		{"INBOX", "Sub"}, {"Gelöschte Elemente", "2021"}, {"Spam", "x"}, {"Misc.", "a*b"},
		{"A&B", "wait..."}, {"日本語", "台北"}, {"tab\tname", "😀"}, {"x", "Spam"},
	} {
		f.Add(seed[0], seed[1])
	}
	s, err := Start(&Options{MailRoot: f.TempDir()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	sid := setupAccount(f, s, "fuzz@example.com")
	st, err := mailpath.Open(s.MailRoot())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		folder := []string{a, b}
		if _, err := st.Put(context.Background(), "example.com/fuzz", folder, time.Now(), strings.NewReader("Subject: f\r\n\r\n")); err != nil {
			if !errors.Is(err, mailpath.ErrInsecurePath) {
				t.Fatalf("Put(%q) = %v", folder, err)
			}
			return
		}
		refresh(t, s, sid, "fuzz@example.com")
		if err := s.CheckMailPath(); err != nil {
			t.Fatalf("after Put(%q): CheckMailPath() = %v", folder, err)
		}
		want := a
		if strings.EqualFold(a, "INBOX") {
			want = "INBOX"
		}
		want += "/" + b
		if !slices.Contains(s.MailFolders("fuzz@example.com"), want) {
			t.Fatalf("after Put(%q): IMAP folders %q lack %q", folder, s.MailFolders("fuzz@example.com"), want)
		}
	})
}
