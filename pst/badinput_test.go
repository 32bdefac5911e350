package pst

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// withPassword writes a copy of the Unicode file p whose message store has
// PidTagPstPassword set to crc (the value sits inline in the store's BTH record, key
// 0x67FF, type PT_LONG); the block is re-encoded and its CRC recomputed.
func withPassword(t *testing.T, p string, crcValue uint32) string {
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFile(bytesReaderAt(data), int64(len(data)))
	if err != nil || f.Format != FormatUnicode {
		t.Fatalf("%s: %v (format %v), want a Unicode PST", p, err, f)
	}
	n, err := f.Node(NIDMessageStore)
	if err != nil {
		t.Fatal(err)
	}
	key := n.Data &^ 1
	e, err := f.lookup(f.bbt, ptypeBBT, key, ^uint64(1))
	if err != nil {
		t.Fatal(err)
	}
	ib, cb := int64(f.id(e[8:])), int(binary.LittleEndian.Uint16(e[16:]))
	block := data[ib : ib+int64(cb)]
	plain := append([]byte(nil), block...)
	decode(f.Crypt, plain, key)
	rec := []byte{0xFF, 0x67, 0x03, 0x00, 0, 0, 0, 0}
	i := bytes.Index(plain, rec)
	if i < 0 {
		t.Fatalf("%s: no PidTagPstPassword record of 0 in the store", p)
	}
	binary.LittleEndian.PutUint32(plain[i+4:], crcValue)
	var enc [256]byte // CryptPermute is a byte substitution: encode with its inverse
	for b := range 256 {
		d := []byte{byte(b)}
		decode(f.Crypt, d, key)
		enc[d[0]] = byte(b)
	}
	for j, b := range plain {
		block[j] = enc[b]
	}
	total := (cb + 16 + 63) &^ 63
	binary.LittleEndian.PutUint32(data[ib+int64(total)-16+4:], crc(block))
	out := filepath.Join(t.TempDir(), "locked.pst")
	if err := os.WriteFile(out, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPasswordPST: a PST with a password is read and exported like the same file
// without one; Inspect and its text say it has one; the Source lists it.
func TestPasswordPST(t *testing.T) {
	orig := testFiles[1].path(t)
	locked := withPassword(t, orig, 0x1C4A3D7E)
	r, err := Inspect(locked)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	r.WriteText(&b, "locked.pst")
	if !r.Password || len(r.Problems) != 0 || !strings.Contains(b.String(), "password: set (PidTagPstPassword)") {
		t.Errorf("inspect: password %v, problems %v\n%s", r.Password, r.Problems, b.String())
	}
	if r0, _ := Inspect(orig); r0.Password || r0.Items != r.Items {
		t.Errorf("unlocked file: password %v, %d items, locked %d", r0.Password, r0.Items, r.Items)
	}
	src, err := NewSource("user", "user@example.com", "", []string{locked}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if got := src.PasswordFiles(); len(got) != 1 || got[0] != locked {
		t.Errorf("PasswordFiles %v", got)
	}
	st, _ := exportRound(t, t.TempDir(), src)
	if want := ipmRows(t, orig); st.Exported != want {
		t.Errorf("exported %d of %d (skipped %v, failed %v)", st.Exported, want, st.Skipped, st.Failed)
	}
}

// TestBadFiles: a file that is not a PST and one of an unknown version are refused by
// NewSource with an error naming the file and what is wrong.
func TestBadFiles(t *testing.T) {
	good, err := os.ReadFile(testFiles[1].path(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	odd := append([]byte(nil), good[:4096]...)
	binary.LittleEndian.PutUint16(odd[10:], 99)
	for name, c := range map[string]struct {
		data []byte
		want string
	}{
		"mail.pst":    {[]byte("From: a@example.com\r\n\r\n" + strings.Repeat("not a pst\r\n", 100)), "not a PST or OST file"},
		"future.pst":  {odd, "unknown file version wVer 99"},
		"short.pst":   {good[:100], "file too short for a PST header"},
		"corrupt.pst": {append(append([]byte(nil), good[:8]...), make([]byte, 600)...), "unknown file version wVer 0"},
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, c.data, 0o600)
		_, err := NewSource("user", "user@example.com", "", []string{p}, nil)
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming the file and %q", name, err, c.want)
		}
	}
}
