package imapsink

import (
	"errors"
	"strings"
	"testing"
)

func TestFolderName(t *testing.T) {
	long := strings.Repeat("ü", 150)
	tests := []struct {
		path  []string
		delim rune
		want  string
	}{
		{[]string{"Inbox"}, '/', "INBOX"},
		{[]string{"inbox", "Sub"}, '/', "INBOX/Sub"},
		{[]string{"A/B", "C"}, '/', "A∕B/C"},
		{[]string{"a.b"}, '/', "a.b"},
		{[]string{"a.b", "c"}, '.', "a․b.c"},
		{[]string{`a\b`}, '\\', "a⧵b"},
		{[]string{"~spam"}, '/', "∼spam"},
		{[]string{"x~y"}, '/', "x~y"},
		{[]string{"tab\there"}, '/', "tab_here"},
		{[]string{""}, '/', "_"},
		{[]string{" lead", "trail "}, '/', " lead/trail "},
		{[]string{"Ünïcødé", "日本"}, '/', "Ünïcødé/日本"},
		{[]string{"a", "b"}, 0, "a∕b"},
		{[]string{".", "..", "..."}, '/', "․/․․/․․․"},
		{[]string{"a..b", ".x"}, '/', "a..b/.x"},
	}
	for _, tt := range tests {
		got, err := FolderName(tt.path, tt.delim)
		if err != nil || got != tt.want {
			t.Errorf("FolderName(%q, %q) = %q, %v, want %q", tt.path, tt.delim, got, err, tt.want)
		}
	}
	if _, err := FolderName(nil, '/'); !errors.Is(err, ErrFolder) {
		t.Errorf("FolderName(nil) error = %v, want ErrFolder", err)
	}
	got, _ := FolderName([]string{long}, '/')
	if n := utf7Len(got); n > maxSegmentBytes {
		t.Errorf("FolderName(long) utf7 length = %d, want <= %d", n, maxSegmentBytes)
	}
	again, _ := FolderName([]string{long}, '/')
	other, _ := FolderName([]string{long + "x"}, '/')
	if got != again || got == other {
		t.Errorf("FolderName(long) = %q (again %q, other %q): want stable and distinct", got, again, other)
	}
}

func TestUTF7Len(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"abc", "abc"},
		{"a&b", "a&-b"},
		{"ü", "&APw-"},
		{"日本語", "&ZeVnLIqe-"},
		{"Entw\u00fcrfe", "Entw&APw-rfe"},
		{"😀", "&2D3eAA-"},
	}
	for _, tt := range tests {
		if got := utf7Len(tt.in); got != len(tt.want) {
			t.Errorf("utf7Len(%q) = %d, want %d (%s)", tt.in, got, len(tt.want), tt.want)
		}
	}
}

func TestCopyExact(t *testing.T) {
	tests := []struct {
		body string
		size int64
		ok   bool
	}{
		{"hello", 5, true},
		{"hello", 6, false},
		{"hello", 4, false},
		{"", 0, true},
		{"x", 0, false},
	}
	for _, tt := range tests {
		var sb strings.Builder
		err := copyExact(&sb, strings.NewReader(tt.body), tt.size)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrSize)) {
			t.Errorf("copyExact(%q, %d) = %v, want ok=%v", tt.body, tt.size, err, tt.ok)
		}
		if tt.ok && sb.String() != tt.body {
			t.Errorf("copyExact(%q, %d) wrote %q", tt.body, tt.size, sb.String())
		}
		if !tt.ok && int64(sb.Len()) >= tt.size && tt.size > 0 {
			t.Errorf("copyExact(%q, %d) wrote %d bytes: the literal must stay incomplete", tt.body, tt.size, sb.Len())
		}
	}
}
