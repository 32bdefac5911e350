package cliutil

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unicode/utf16"
)

const pw = "pä55 wörd€𝄞" // non-ASCII, a space, and a character outside the BMP

// utf16Bytes encodes s as UTF-16 with a byte-order mark.
func utf16Bytes(s string, big bool) []byte {
	b := []byte{0xFF, 0xFE}
	if big {
		b = []byte{0xFE, 0xFF}
	}
	for _, u := range utf16.Encode([]rune(s)) {
		if big {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	return b
}

func writeSecret(t *testing.T, b []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// quiet collects SecretWarn messages for the test.
func quiet(t *testing.T) *[]string {
	var got []string
	old := SecretWarn
	SecretWarn = func(msg string) { got = append(got, msg) }
	t.Cleanup(func() { SecretWarn = old })
	return &got
}

func TestSecretEncodings(t *testing.T) {
	warns := quiet(t)
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"utf-8", []byte(pw)},
		{"utf-8 LF", []byte(pw + "\n")},
		{"utf-8 CRLF", []byte(pw + "\r\n")},
		{"utf-8 CR", []byte(pw + "\r")},
		{"utf-8 trailing empty lines", []byte(pw + "\r\n\r\n")},
		{"utf-8 BOM", append([]byte{0xEF, 0xBB, 0xBF}, pw...)},
		{"utf-8 BOM CRLF", append([]byte{0xEF, 0xBB, 0xBF}, pw+"\r\n"...)},
		{"utf-16le BOM", utf16Bytes(pw, false)},
		{"utf-16le BOM CRLF", utf16Bytes(pw+"\r\n", false)},
		{"utf-16be BOM", utf16Bytes(pw, true)},
		{"utf-16be BOM LF", utf16Bytes(pw+"\n", true)},
	} {
		s, err := Secret("password-file", writeSecret(t, c.data), "")
		if err != nil || s != pw {
			t.Errorf("%s: Secret = %q, %v; want %q", c.name, s, err, pw)
		}
	}
	// Only one line break is dropped, and nothing else: spaces are kept.
	if s, err := Secret("password-file", writeSecret(t, []byte(" pw \n")), ""); err != nil || s != " pw " {
		t.Errorf("Secret(\" pw \\n\") = %q, %v; want the spaces kept", s, err)
	}
	if len(*warns) != 0 {
		t.Errorf("warnings for mode 0600 files: %q", *warns)
	}
}

func TestSecretRefused(t *testing.T) {
	quiet(t)
	const secret = "Hunter2x"
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "is empty"},
		{"only a newline", []byte("\r\n"), "is empty"},
		{"two lines", []byte(secret + "\r\nsecond\r\n"), "has more than one line"},
		{"two lines CR", []byte(secret + "\rsecond"), "has more than one line"},
		{"empty first line", []byte("\n" + secret + "\n"), "starts with an empty line"},
		{"tab", []byte("Hunt\ter2x\n"), "a tab at character 5"},
		{"NUL after BOM", append(utf16Bytes("Hu", false), 0, 0, 'x', 0), "a NUL at character 3"},
		{"bell", []byte("Hunter2\x07"), "U+0007 at character 8"},
		{"escape", []byte("\x1bHunter2x"), "U+001B at character 1"},
		{"DEL", []byte("Hunter2\x7f"), "a DEL at character 8"},
		{"C1", []byte("Hunter\u00852x"), "U+0085 at character 7"},
		{"BOM inside", []byte("Hunter2x\uFEFF"), "U+FEFF"},
		{"position counts characters", []byte("€€€\t"), "a tab at character 4"},
		{"utf-16 without BOM", utf16Bytes(secret, false)[2:], "looks like UTF-16 without a byte-order mark"},
		{"latin-1", []byte("Hunter2\xe9"), "not valid UTF-8 at byte 8"},
		{"bad utf-8 after BOM", []byte("\xEF\xBB\xBFHu\xffnter2x"), "not valid UTF-8 at byte 6"},
		{"odd utf-16", append(utf16Bytes(secret, false), 'x'), "odd number of bytes"},
		{"lone surrogate", append(utf16Bytes("Hunter2x", true), 0xD8, 0x00), "not valid UTF-16BE at byte 19"},
		{"too large", []byte(strings.Repeat("x", 65<<10)), "larger than 64 KiB"},
	} {
		f := writeSecret(t, c.data)
		s, err := Secret("password-file", f, "")
		var ue *UsageError
		if !errors.As(err, &ue) || ue.Field != "password-file" || ExitCode(err) != ExitUsage {
			t.Errorf("%s: Secret = %q, %v; want a *UsageError naming password-file", c.name, s, err)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, c.want) || !strings.Contains(msg, f) && c.name != "too large" {
			t.Errorf("%s: %q, want the file and %q", c.name, msg, c.want)
		}
		// Never the secret nor a part of it.
		for _, part := range []string{secret, "Hunt", "nter", "er2", "second"} {
			if strings.Contains(msg, part) {
				t.Errorf("%s: %q shows %q", c.name, msg, part)
			}
		}
	}
	if _, err := Secret("password-file", filepath.Join(t.TempDir(), "missing"), ""); err == nil || ExitCode(err) != ExitUsage {
		t.Errorf("missing file: %v, want a usage error", err)
	}
}

func TestSecretEnv(t *testing.T) {
	t.Setenv("IEM_TEST_PW", pw)
	if s, err := Secret("password-file", "", "IEM_TEST_PW"); err != nil || s != pw {
		t.Errorf("Secret(env) = %q, %v", s, err)
	}
	for _, c := range []struct{ val, want string }{
		{"Hunter2x\n", "a line feed (LF) at character 9"},
		{"Hun\tter2x", "a tab at character 4"},
		{"Hunter2\xe9", "not valid UTF-8 at byte 8"},
	} {
		t.Setenv("IEM_TEST_PW", c.val)
		_, err := Secret("password-file", "", "IEM_TEST_PW")
		var ue *UsageError
		if !errors.As(err, &ue) || ue.Field != "password-file" || !strings.Contains(err.Error(), "IEM_TEST_PW") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Secret(env %q) = %v, want a usage error naming IEM_TEST_PW and %q", c.val, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "Hun") {
			t.Errorf("%q shows the secret", err)
		}
	}
	if _, err := Secret("password-file", "", "IEM_TEST_UNSET"); err == nil || ExitCode(err) != ExitUsage {
		t.Errorf("unset variable: %v, want a usage error", err)
	}
}

func TestSecretMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no POSIX modes")
	}
	warns := quiet(t)
	f := writeSecret(t, []byte("Hunter2x\n"))
	if err := os.Chmod(f, 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := Secret("password-file", f, ""); err != nil || s != "Hunter2x" {
		t.Fatalf("Secret(0644 file) = %q, %v; want the secret and a warning", s, err)
	}
	want := "the secret file " + f + " is readable by group or others (mode 0644): chmod 600 " + f
	if len(*warns) != 1 || (*warns)[0] != want {
		t.Errorf("warnings = %q, want [%q]", *warns, want)
	}
	*warns = nil
	os.Chmod(f, 0o600)
	Secret("password-file", f, "")
	os.Chmod(f, 0o400)
	Secret("password-file", f, "")
	if len(*warns) != 0 {
		t.Errorf("warnings for 0600/0400: %q", *warns)
	}
}
