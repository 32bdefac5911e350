package replay

import (
	"slices"
	"testing"
)

func TestParseArchiveMailbox(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
		bad  bool
	}{
		{"", []string{"Archive"}, false},
		{"skip", nil, false},
		{"Archiv", []string{"Archiv"}, false},
		{"Old mail/Archive", []string{"Old mail", "Archive"}, false},
		{"/Archive", nil, true},
		{"Archive/", nil, true},
		{"a//b", nil, true},
		{`a\b`, nil, true},
		{"INBOX", nil, true},
	} {
		got, err := ParseArchiveMailbox(tt.in)
		if (err != nil) != tt.bad || !slices.Equal(got, tt.want) {
			t.Errorf("ParseArchiveMailbox(%q) = %q, %v", tt.in, got, err)
		}
	}
}
