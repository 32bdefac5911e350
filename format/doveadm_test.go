package format

import (
	"math/rand"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/iemproject/iem/internal/testbed"
)

// TestIMAPUTF7AgainstDovecot compares EncodeIMAPUTF7/DecodeIMAPUTF7 with
// Dovecot's own converter (doveadm mailbox mutf7, no server needed) on the
// awkward folder names and on random Unicode.
func TestIMAPUTF7AgainstDovecot(t *testing.T) {
	doveadm := testbed.Need(t, "doveadm")
	names := []string{"INBOX", "Éléments envoyés", "a/b", "a.b.", "back\\slash", "  both  ", "~tilde", "&", "&-&",
		"日本語フォルダ", "emoji 📁 & more", strings.Repeat("é", 200), "Tom & Jerry", "*", "x\ty"}
	r := rand.New(rand.NewSource(42))
	ranges := [][2]rune{{0x20, 0x7e}, {0xa0, 0x17f}, {0x391, 0x3c9}, {0x4e00, 0x4fff}, {0x1f300, 0x1f5ff}, {0xe000, 0xe0ff}}
	for i := 0; i < 300; i++ {
		var b strings.Builder
		for j := 0; j < 1+r.Intn(12); j++ {
			rg := ranges[r.Intn(len(ranges))]
			b.WriteRune(rg[0] + rune(r.Intn(int(rg[1]-rg[0]+1))))
		}
		names = append(names, b.String())
	}
	enc := func(flag string, in []string) []string {
		out, err := exec.Command(doveadm, append([]string{"-c", "/dev/null", "mailbox", "mutf7", flag}, in...)...).Output()
		if err != nil {
			t.Fatalf("doveadm mailbox mutf7 %s: %v", flag, err)
		}
		lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		if len(lines) != len(in) {
			t.Fatalf("doveadm returned %d lines for %d names", len(lines), len(in))
		}
		return lines
	}
	var ours []string
	for _, n := range names {
		if !utf8.ValidString(n) {
			t.Fatalf("test name %q not UTF-8", n)
		}
		ours = append(ours, EncodeIMAPUTF7(n))
	}
	theirs := enc("-8", names)
	for i := range names {
		if ours[i] != theirs[i] {
			t.Errorf("EncodeIMAPUTF7(%q) = %q, dovecot %q", names[i], ours[i], theirs[i])
		}
	}
	back := enc("-7", ours)
	for i := range names {
		if back[i] != names[i] {
			t.Errorf("dovecot decodes EncodeIMAPUTF7(%q) = %q as %q", names[i], ours[i], back[i])
		}
	}
	// Names Dovecot rejects, we reject too.
	for _, bad := range []string{"&AGE-", "&Jjo-&Jjo-", "&2D0-", "&", "caf&AOk"} {
		if err := exec.Command(doveadm, "-c", "/dev/null", "mailbox", "mutf7", "-7", bad).Run(); err == nil {
			t.Errorf("doveadm accepts %q (test premise wrong)", bad)
		}
		if _, err := DecodeIMAPUTF7(bad); err == nil {
			t.Errorf("DecodeIMAPUTF7(%q) accepted; dovecot rejects it", bad)
		}
	}
}
