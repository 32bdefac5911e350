//go:build windows

package mailpath

import (
	"errors"
	"strings"
	"testing"
)

// TestEncodeSegmentWindows runs only on Windows; elsewhere
// `GOOS=windows go vet ./...` compiles it.
func TestEncodeSegmentWindows(t *testing.T) {
	for _, tt := range []struct {
		name, want string
		err        error
	}{
		{"Sent Items", "Sent Items", nil},
		{"Misc.", "enc~4d6973632e", nil},
		{"a*b", "enc~612a62", nil},
		{"Re: plan", "", ErrInsecurePath},
		{"Why?", "", ErrInsecurePath},
		{`a"b`, "", ErrInsecurePath},
		{"a<b>", "", ErrInsecurePath},
		{"a|b", "", ErrInsecurePath},
		{"Projects ", "", ErrInsecurePath},
		{"CON", "", ErrInsecurePath},
		{"nul.txt", "", ErrInsecurePath},
		{strings.Repeat("x", 256), "", ErrInsecurePath},
	} {
		got, err := EncodeSegment(tt.name, false)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("EncodeSegment(%q) = %q, %v, want %q, %v", tt.name, got, err, tt.want, tt.err)
		}
	}
}
