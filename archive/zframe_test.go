package archive

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/zstd"
)

func zstdFrame(t *testing.T, data []byte, opts ...zstd.EOption) []byte {
	t.Helper()
	e, err := zstd.NewWriter(nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return e.EncodeAll(data, nil)
}

// feedSplit feeds b to a fresh frameCheck in random pieces, as chunks do.
func feedSplit(b []byte, rng *rand.Rand) (done bool, err error) {
	var f frameCheck
	for len(b) > 0 {
		n := 1 + rng.IntN(len(b))
		if err := f.feed(b[:n]); err != nil {
			return false, err
		}
		b = b[n:]
	}
	return f.done(), nil
}

func TestFrameCheck(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 300<<10)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	text := bytes.Repeat([]byte("Subject: hello\r\n\r\nbody line\r\n"), 20000)
	runs := bytes.Repeat([]byte{'a'}, 1<<20)
	good := zstdFrame(t, text)
	twice := append(append([]byte(nil), good...), good...)
	skippable := append(append([]byte(nil), good...), 0x50, 0x2A, 0x4D, 0x18, 0, 0, 0, 0)
	cases := []struct {
		name    string
		b       []byte
		done    bool
		wantErr bool
	}{
		{"text", good, true, false},
		{"incompressible (raw blocks)", zstdFrame(t, random), true, false},
		{"one repeated byte (RLE blocks)", zstdFrame(t, runs), true, false},
		{"one byte", zstdFrame(t, []byte{1}), true, false},
		{"fastest level", zstdFrame(t, text, zstd.WithEncoderLevel(zstd.SpeedFastest)), true, false},
		{"no content checksum", zstdFrame(t, text, zstd.WithEncoderCRC(false)), false, true},
		{"two frames", twice, false, true},
		{"skippable frame after", skippable, false, true},
		{"truncated", good[:len(good)-3], false, false},
		{"not zstd", []byte("hello, world"), false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for range 20 {
				done, err := feedSplit(c.b, rng)
				if (err != nil) != c.wantErr {
					t.Fatalf("err = %v, want error %v", err, c.wantErr)
				}
				if err != nil && !errors.Is(err, ErrFormat) {
					t.Fatalf("err = %v, want ErrFormat", err)
				}
				if err == nil && done != c.done {
					t.Fatalf("done = %v, want %v", done, c.done)
				}
			}
		})
	}
}
