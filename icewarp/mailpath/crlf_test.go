package mailpath

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// crlfReference repairs line ends one byte at a time: every LF not
// preceded by CR (also across writes) becomes CRLF.
func crlfReference(in []byte) []byte {
	var out []byte
	for i, b := range in {
		if b == '\n' && (i == 0 || in[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, b)
	}
	return out
}

// TestCRLFWriter compares crlfWriter with the byte-wise reference on fixed
// cases and random texts of CR, LF and letters cut into random writes.
func TestCRLFWriter(t *testing.T) {
	cases := []string{"", "\n", "\r\n", "a\nb", "a\r\nb\n", "\n\n", "\r\r\n\n", "x\r", "a\rb\n"}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 2000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = "ab\r\n"[rng.IntN(4)]
		}
		cases = append(cases, string(b))
	}
	for _, c := range cases {
		var out bytes.Buffer
		w := &crlfWriter{w: &out}
		in := []byte(c)
		for len(in) > 0 {
			k := 1 + rng.IntN(len(in))
			if n, err := w.Write(in[:k]); err != nil || n != k {
				t.Fatalf("Write = %d, %v; want %d", n, err, k)
			}
			in = in[k:]
		}
		if want := crlfReference([]byte(c)); !bytes.Equal(out.Bytes(), want) {
			t.Fatalf("crlfWriter(%q) = %q, want %q", c, out.Bytes(), want)
		}
	}
}
