package mailpath

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iemproject/iem/format"
)

func TestFolderPath(t *testing.T) {
	s := newStore(t, nil)
	tests := []struct {
		folder []string
		want   string
		err    error
	}{
		{[]string{"INBOX"}, "inbox", nil},
		{[]string{"Inbox", "Sub"}, filepath.Join("inbox", "Sub"), nil},
		{[]string{"Archive", "INBOX"}, filepath.Join("Archive", "INBOX"), nil},
		{[]string{"Spam"}, "~spam", nil},
		{[]string{"Archive", "Spam"}, filepath.Join("Archive", "Spam"), nil},
		{[]string{"Sent Items"}, "Sent Items", nil},
		{[]string{"Gelöschte Elemente"}, "Gel&APY-schte Elemente", nil},
		{[]string{"A&B"}, "A&-B", nil},
		{[]string{"Misc."}, "enc~4d6973632e", nil},
		{[]string{"wait..."}, "enc~776169742e2e2e", nil},
		{[]string{"a*b"}, "enc~612a62", nil},
		{[]string{"é."}, "enc~26414f6b2d2e", nil}, // hex of "&AOk-."
		{[]string{".."}, "", ErrInsecurePath},
		{[]string{"."}, "", ErrInsecurePath},
		{[]string{""}, "", ErrInsecurePath},
		{[]string{"a", ".."}, "", ErrInsecurePath},
		{[]string{"/etc"}, "", ErrInsecurePath},
		{[]string{"a/b"}, "", ErrInsecurePath},
		{[]string{`..\..\x`}, "", ErrInsecurePath},
		{[]string{`C:\x`}, "", ErrInsecurePath},
		{[]string{"a\x00b"}, "", ErrInsecurePath},
		{[]string{"~webmail"}, "", ErrInsecurePath},
		{[]string{"x", "~quarantine"}, "", ErrInsecurePath},
		{[]string{"bad\xffutf8"}, "", ErrInsecurePath},
		{nil, "", ErrInsecurePath},
	}
	for _, tt := range tests {
		got, err := s.FolderPath(tt.folder)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("FolderPath(%q) = %q, %v, want %q, %v", tt.folder, got, err, tt.want, tt.err)
		}
	}
}

func TestAccountDir(t *testing.T) {
	s := newStore(t, nil)
	root := s.Root()
	tests := []struct {
		in   string
		want string
		err  error
	}{
		{"example.com/john/", filepath.Join(root, "example.com", "john"), nil},
		{filepath.Join(root, "example.com", "john") + string(filepath.Separator), filepath.Join(root, "example.com", "john"), nil},
		{root, "", ErrInsecurePath},
		{filepath.Dir(root), "", ErrInsecurePath},
		{"../x", "", ErrInsecurePath},
		{filepath.Join(root, "..", "x"), "", ErrInsecurePath},
		{"", "", ErrInsecurePath},
		{"a\x00", "", ErrInsecurePath},
	}
	for _, tt := range tests {
		got, err := s.AccountDir(tt.in)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("AccountDir(%q) = %q, %v, want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestFileName(t *testing.T) {
	tm := time.Date(2019, 3, 14, 7, 22, 15, 0, time.UTC)
	tests := []struct {
		id   string
		n    int
		want string
	}{
		{"", 42, "201903140722150042.imap"}, // icewarp.md §1.4 illustration, .imap extension
		{"", 9999, "201903140722159999.imap"},
		{"11", 7, "11201903140722150007.imap"},
	}
	for _, tt := range tests {
		if got := FileName(tt.id, tm, tt.n); got != tt.want {
			t.Errorf("FileName(%q, %v, %d) = %q, want %q", tt.id, tm, tt.n, got, tt.want)
		}
	}
}

func newStore(t *testing.T, opt *Options) *Store {
	t.Helper()
	s, err := OpenOptions(t.TempDir(), opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPut(t *testing.T) {
	seq := 0
	s := newStore(t, &Options{Location: time.UTC, Rand: func() int { return seq }})
	ctx := context.Background()
	recv := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	tests := []struct {
		body, want string
	}{
		{"Subject: a\nX: y\n\nbody\n", "Subject: a\r\nX: y\r\n\r\nbody\r\n"},
		{"Subject: b\r\n\r\nkept\r\n", "Subject: b\r\n\r\nkept\r\n"},
		{"lone\rCR\n", "lone\rCR\r\n"},
		{"", ""},
	}
	for i, tt := range tests {
		name, err := s.Put(ctx, "example.com/john/", []string{"INBOX", "Sub"}, recv, strings.NewReader(tt.body))
		if err != nil {
			t.Fatalf("Put(%q) = %v", tt.body, err)
		}
		want := FileName("", recv, i) // names 0000, 0001, … as the first ones are taken
		if name != want {
			t.Errorf("Put(%q) name = %q, want %q", tt.body, name, want)
		}
		got, err := os.ReadFile(filepath.Join(s.Root(), "example.com", "john", "inbox", "Sub", name))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tt.want {
			t.Errorf("Put(%q) stored %q, want %q", tt.body, got, tt.want)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(s.Root(), "example.com", "john", "inbox", "Sub"))
	if len(entries) != len(tests) {
		t.Errorf("folder has %d entries, want %d (no temporary files left)", len(entries), len(tests))
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".imap") {
			t.Errorf("stray file %q", e.Name())
		}
		if info, _ := e.Info(); info.Mode().Perm() != 0o600 {
			t.Errorf("mode of %s = %v, want 0600", e.Name(), info.Mode().Perm())
		}
	}
}

func TestPutKeepLineEndings(t *testing.T) {
	s := newStore(t, &Options{KeepLineEndings: true})
	name, err := s.Put(context.Background(), "d/u", []string{"INBOX"}, time.Time{}, strings.NewReader("a\nb\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(s.Root(), "d", "u", "inbox", name))
	if string(got) != "a\nb\n" {
		t.Errorf("stored %q, want %q", got, "a\nb\n")
	}
}

func TestPutRejects(t *testing.T) {
	s := newStore(t, nil)
	ctx := context.Background()
	tests := []struct {
		acct   string
		folder []string
	}{
		{"d/u", []string{".."}},
		{"d/u", []string{"x", "../../../etc"}},
		{"../outside", []string{"INBOX"}},
		{"/etc", []string{"INBOX"}},
		{"d/u", []string{"~webmail"}},
	}
	for _, tt := range tests {
		if _, err := s.Put(ctx, tt.acct, tt.folder, time.Now(), strings.NewReader("x")); !errors.Is(err, ErrInsecurePath) {
			t.Errorf("Put(%q, %q) = %v, want ErrInsecurePath", tt.acct, tt.folder, err)
		}
	}
	// A file where a folder should be is not followed.
	if err := os.MkdirAll(filepath.Join(s.Root(), "d", "v"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Root(), "d", "v", "inbox"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "d/v", []string{"INBOX"}, time.Now(), strings.NewReader("x")); !errors.Is(err, ErrInsecurePath) {
		t.Errorf("Put over a file = %v, want ErrInsecurePath", err)
	}
}

func TestPutSymlinkFolderRejected(t *testing.T) {
	s := newStore(t, nil)
	out := t.TempDir()
	acct := filepath.Join(s.Root(), "d", "u")
	if err := os.MkdirAll(acct, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(out, filepath.Join(acct, "inbox")); err != nil {
		t.Skip("no symlinks:", err)
	}
	if _, err := s.Put(context.Background(), "d/u", []string{"INBOX"}, time.Now(), strings.NewReader("x")); !errors.Is(err, ErrInsecurePath) {
		t.Errorf("Put through a symlinked folder = %v, want ErrInsecurePath", err)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Errorf("Put wrote %d files outside the account", len(ents))
	}
}

func TestPutCancelled(t *testing.T) {
	s := newStore(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Put(ctx, "d/u", []string{"INBOX"}, time.Now(), strings.NewReader("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Put(cancelled) = %v, want context.Canceled", err)
	}
	r := &cancelReader{cancel: nil}
	ctx2, cancel2 := context.WithCancel(context.Background())
	r.cancel = cancel2
	if _, err := s.Put(ctx2, "d/u", []string{"INBOX"}, time.Now(), r); !errors.Is(err, context.Canceled) {
		t.Errorf("Put(cancelled mid-body) = %v, want context.Canceled", err)
	}
	ents, _ := os.ReadDir(filepath.Join(s.Root(), "d", "u", "inbox"))
	if len(ents) != 0 {
		t.Errorf("cancelled Put left %d files", len(ents))
	}
}

// cancelReader returns data forever and cancels its context on the first read.
type cancelReader struct{ cancel func() }

func (r *cancelReader) Read(p []byte) (int, error) {
	r.cancel()
	return copy(p, bytes.Repeat([]byte("x"), len(p))), nil
}

func TestPutConcurrentUnique(t *testing.T) {
	// Every writer starts at the same random number: names must still be unique.
	s := newStore(t, &Options{Rand: func() int { return 5 }})
	recv := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 40
	names := make(chan string, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name, err := s.Put(context.Background(), "d/u", []string{"INBOX"}, recv, strings.NewReader("m"))
			if err != nil {
				t.Error(err)
			}
			names <- name
		}()
	}
	wg.Wait()
	close(names)
	seen := map[string]bool{}
	for nm := range names {
		if seen[nm] {
			t.Errorf("name %q used twice", nm)
		}
		seen[nm] = true
	}
	ents, _ := os.ReadDir(filepath.Join(s.Root(), "d", "u", "inbox"))
	if len(ents) != n {
		t.Errorf("folder has %d files, want %d", len(ents), n)
	}
}

// FuzzFolderPath checks that no folder name ever maps outside the account
// directory and that accepted names decode back to the input.
func FuzzFolderPath(f *testing.F) {
	for _, seed := range [][2]string{
		{"INBOX", "Sub"}, {"..", "x"}, {"a/b", "c"}, {`..\..`, "x"}, {"~webmail", "x"},
		{"Gelöschte", "Elemente"}, {"Misc.", "a*b"}, {"C:", "x"}, {"&", "-"}, {"\x00", ""},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		folder := []string{a, b}
		p, err := folderPath(folder, "Spam")
		if err != nil {
			if !errors.Is(err, ErrInsecurePath) {
				t.Fatalf("folderPath(%q) = %v, want ErrInsecurePath", folder, err)
			}
			return
		}
		if !filepath.IsLocal(p) {
			t.Fatalf("folderPath(%q) = %q, not local", folder, p)
		}
		acct := filepath.Join("mail", "d", "u")
		full := filepath.Join(acct, p)
		rel, rerr := filepath.Rel(acct, full)
		if rerr != nil || !filepath.IsLocal(rel) || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			t.Fatalf("folderPath(%q) = %q escapes the account (%q)", folder, p, rel)
		}
		parts := strings.Split(p, string(filepath.Separator))
		if len(parts) != 2 {
			t.Fatalf("folderPath(%q) = %q, want 2 segments", folder, p)
		}
		for i, seg := range parts {
			if strings.HasPrefix(seg, "enc~") || seg == "inbox" || seg == "~spam" {
				continue
			}
			dec, derr := format.DecodeIMAPUTF7(seg)
			if derr != nil || dec != folder[i] {
				t.Fatalf("segment %q of %q decodes to %q, %v; want %q", seg, folder, dec, derr, folder[i])
			}
		}
	})
}

func TestRemoveTemp(t *testing.T) {
	s := newStore(t, nil)
	ctx := context.Background()
	name, err := s.Put(ctx, "example.com/john/", []string{"INBOX"}, time.Time{}, strings.NewReader("Subject: x\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(s.Root(), "example.com", "john", "inbox")
	// What a Put killed before its link leaves behind.
	for _, n := range []string{".iem-123.tmp", ".iem-456.tmp"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.RemoveTemp("example.com/john/", []string{"INBOX"})
	if err != nil || n != 2 {
		t.Fatalf("RemoveTemp = %d, %v; want 2, nil", n, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != name {
		t.Errorf("folder holds %v, want only %s", entries, name)
	}
	if n, err := s.RemoveTemp("example.com/john/", []string{"Missing"}); n != 0 || err != nil {
		t.Errorf("RemoveTemp(missing folder) = %d, %v; want 0, nil", n, err)
	}
	if _, err := s.RemoveTemp("example.com/john/", []string{".."}); !errors.Is(err, ErrInsecurePath) {
		t.Errorf("RemoveTemp(..) error = %v, want ErrInsecurePath", err)
	}
}
