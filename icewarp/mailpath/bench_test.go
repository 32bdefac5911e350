package mailpath

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// benchSetup returns a store in a new folder, a 50 KiB message counted as
// the bytes of one operation, a receive time and a context.
func benchSetup(b *testing.B) (*Store, []byte, time.Time, context.Context) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	msg := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n"), 800)
	b.SetBytes(int64(len(msg)))
	return s, msg, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), context.Background()
}

// BenchmarkPut measures one atomic message write (temp, fsync, link, dir
// fsync) of a 50 KiB message.
func BenchmarkPut(b *testing.B) {
	s, msg, recv, ctx := benchSetup(b)
	for i := 0; b.Loop(); i++ {
		if _, err := s.Put(ctx, "d/u", []string{"INBOX"}, recv.Add(time.Duration(i)*time.Second), bytes.NewReader(msg)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBatch measures the same messages written through a Batch
// committed every 256 messages (one syncfs, links, one directory fsync).
func BenchmarkBatch(b *testing.B) {
	s, msg, recv, ctx := benchSetup(b)
	batch, err := s.NewBatch("d/u", []string{"INBOX"})
	if err != nil {
		b.Fatal(err)
	}
	defer batch.Close()
	for i := 0; b.Loop(); i++ {
		if _, err := batch.Add(ctx, recv.Add(time.Duration(i)*time.Second), bytes.NewReader(msg)); err != nil {
			b.Fatal(err)
		}
		if batch.Len() == 256 {
			if _, err := batch.Commit(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	if _, err := batch.Commit(ctx); err != nil {
		b.Fatal(err)
	}
}
