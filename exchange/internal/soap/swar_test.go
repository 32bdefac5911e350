package soap

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// TestSWARHelpers checks the word-at-a-time byte tests against byte-by-byte
// references on every single-byte value in every lane and on random words.
func TestSWARHelpers(t *testing.T) {
	check := func(w [8]byte) {
		x := binary.LittleEndian.Uint64(w[:])
		var less20, lessPlus, moreZ, lt, eq bool
		plain := true
		for _, c := range w {
			less20 = less20 || c < 0x20
			lessPlus = lessPlus || c < '+'
			moreZ = moreZ || c > 'z'
			lt = lt || c == '<'
			eq = eq || c == '='
		}
		plain = !lessPlus && !moreZ && !lt && !eq
		if hasLess(x, 0x20) != less20 || hasLess(x, '+') != lessPlus || hasMore(x, 'z') != moreZ ||
			hasByte(x, '<') != lt || hasByte(x, '=') != eq || plainB64(x) != plain {
			t.Fatalf("word % x: hasLess(0x20)=%v hasLess('+')=%v hasMore('z')=%v hasByte('<')=%v hasByte('=')=%v plainB64=%v",
				w, hasLess(x, 0x20), hasLess(x, '+'), hasMore(x, 'z'), hasByte(x, '<'), hasByte(x, '='), plainB64(x))
		}
	}
	for lane := range 8 {
		for c := range 256 {
			for _, fill := range []byte{'A', 0x00, 0xff, '<', 0x7f, 0x80} {
				var w [8]byte
				for i := range w {
					w[i] = fill
				}
				w[lane] = byte(c)
				check(w)
			}
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200000 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], rng.Uint64())
		check(w)
	}
}
