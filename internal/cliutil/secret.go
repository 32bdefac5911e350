package cliutil

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// SecretWarn receives warnings about secret files (one that others may
// read). Secrets are read before the run's logger exists, so the default
// writes to stderr; tests replace it.
var SecretWarn = func(msg string) { fmt.Fprintln(os.Stderr, "iem: warning: "+msg) }

// maxSecretFile bounds what Secret reads: a secret file holds one line.
const maxSecretFile = 64 << 10

// Secret returns a secret from a file or, if file is empty, from the
// environment variable env. Secrets never come from flag values, so they
// never appear in argv.
//
// The file may be UTF-8 (with or without a byte-order mark) or UTF-16
// with a byte-order mark, little or big endian (what Windows Notepad
// saves as "Unicode" and "Unicode big endian"). The secret is its first
// line; one line break after it (LF, CRLF or CR) is dropped, and nothing
// but line breaks may follow. Nothing else is trimmed: spaces belong to
// the secret. A secret holding a control character (a tab, NUL, DEL, ...)
// is refused, from the file or the environment alike. Every error is a
// *UsageError naming field and the file or variable, never the secret or
// a part of it. On Unix a regular file that group or others may access is
// reported through SecretWarn.
func Secret(field, file, env string) (string, error) {
	if file != "" {
		return secretFile(field, file)
	}
	if env != "" {
		if s := os.Getenv(env); s != "" {
			if !utf8.ValidString(s) {
				return "", Usagef(field, "the environment variable %s is not valid UTF-8 at byte %d", env, invalidUTF8At([]byte(s)))
			}
			if msg := controlChar(s); msg != "" {
				return "", Usagef(field, "the environment variable %s holds %s: the secret must be printable text", env, msg)
			}
			return s, nil
		}
	}
	return "", Usagef(field, "no secret given: use --%s FILE or set %s", field, env)
}

func secretFile(field, file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", Usagef(field, "cannot read the secret file: %v", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil {
		checkSecretMode(file, fi)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", Usagef(field, "cannot read the secret file: %v", err)
	}
	if len(b) > maxSecretFile {
		return "", Usagef(field, "the secret file %s is larger than %d KiB: not a secret file", file, maxSecretFile>>10)
	}
	s, problem := decodeSecret(b)
	if problem != "" {
		return "", Usagef(field, "the secret file %s %s", file, problem)
	}
	first, rest := s, ""
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		first, rest = s[:i], s[i:]
		if strings.HasPrefix(rest, "\r\n") {
			rest = rest[2:]
		} else {
			rest = rest[1:]
		}
	}
	more := strings.Trim(rest, "\r\n") != ""
	switch {
	case first == "" && more:
		return "", Usagef(field, "the secret file %s starts with an empty line: the secret must be its first and only line", file)
	case first == "":
		return "", Usagef(field, "the secret file %s is empty", file)
	case more:
		return "", Usagef(field, "the secret file %s has more than one line: it must hold the secret alone, on one line", file)
	}
	if msg := controlChar(first); msg != "" {
		return "", Usagef(field, "the secret file %s holds %s: the secret must be printable text", file, msg)
	}
	return first, nil
}

// decodeSecret turns the file's bytes into text by their byte-order mark,
// or returns a phrase (completing "the secret file F ...") saying why it
// cannot. Byte positions are 1-based and count from the file's start.
func decodeSecret(b []byte) (string, string) {
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		if n := invalidUTF8At(b[3:]); n > 0 {
			return "", fmt.Sprintf("is not valid UTF-8 at byte %d", n+3)
		}
		return string(b[3:]), ""
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		return decodeUTF16(b[2:], binary.LittleEndian, "UTF-16LE")
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		return decodeUTF16(b[2:], binary.BigEndian, "UTF-16BE")
	case bytes.IndexByte(b, 0) >= 0:
		return "", "contains NUL bytes: it looks like UTF-16 without a byte-order mark; save it as UTF-8, or as UTF-16 with a byte-order mark"
	}
	if n := invalidUTF8At(b); n > 0 {
		return "", fmt.Sprintf("is not valid UTF-8 at byte %d: save it as UTF-8", n)
	}
	return string(b), ""
}

// decodeUTF16 decodes b (after a 2-byte byte-order mark), refusing an odd
// length and unpaired surrogates.
func decodeUTF16(b []byte, order binary.ByteOrder, name string) (string, string) {
	if len(b)%2 != 0 {
		return "", fmt.Sprintf("is not valid %s: it has an odd number of bytes", name)
	}
	var sb strings.Builder
	for i := 0; i < len(b); i += 2 {
		u := rune(order.Uint16(b[i:]))
		switch {
		case utf16.IsSurrogate(u) && u < 0xDC00 && i+4 <= len(b):
			r := utf16.DecodeRune(u, rune(order.Uint16(b[i+2:])))
			if r == unicode.ReplacementChar {
				return "", fmt.Sprintf("is not valid %s at byte %d", name, i+3)
			}
			sb.WriteRune(r)
			i += 2
		case utf16.IsSurrogate(u):
			return "", fmt.Sprintf("is not valid %s at byte %d", name, i+3)
		default:
			sb.WriteRune(u)
		}
	}
	return sb.String(), ""
}

// invalidUTF8At returns the 1-based position of the first byte of b that
// is not valid UTF-8, or 0.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i + 1
		}
		i += n
	}
	return 0
}

// controlChar names the first control character of s and its 1-based
// character position ("a tab at character 5"), or returns "". C0 controls,
// DEL, C1 controls and a byte-order mark inside the text count.
func controlChar(s string) string {
	pos := 0
	for _, r := range s {
		pos++
		if name := controlName(r); name != "" {
			return fmt.Sprintf("%s at character %d", name, pos)
		}
	}
	return ""
}

func controlName(r rune) string {
	switch {
	case r == '\t':
		return "a tab"
	case r == 0:
		return "a NUL"
	case r == '\n':
		return "a line feed (LF)"
	case r == '\r':
		return "a carriage return (CR)"
	case r == 0x7F:
		return "a DEL"
	case r == 0xFEFF:
		return "a byte-order mark (U+FEFF)"
	case unicode.IsControl(r):
		return fmt.Sprintf("a control character U+%04X", r)
	}
	return ""
}
