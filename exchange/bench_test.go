package exchange_test

import (
	"context"
	"io"
	"testing"

	"github.com/iemproject/iem/exchange"
	"github.com/iemproject/iem/exchange/ewstest"
)

// BenchmarkGetItemsMIME measures MIME throughput from the emulator over
// loopback TLS: ordinary small messages in batches, and 4 MB messages
// fetched one per request.
func BenchmarkGetItemsMIME(b *testing.B) {
	for _, bc := range []struct {
		name  string
		setup func(org *ewstest.Org) []exchange.ItemID
	}{
		{"small", func(org *ewstest.Org) []exchange.ItemID {
			var ids []exchange.ItemID
			for _, id := range org.AddMessages(alice, "inbox", 500) {
				ids = append(ids, exchange.ItemID{ID: id})
			}
			return ids
		}},
		{"4MB", func(org *ewstest.Org) []exchange.ItemID {
			var ids []exchange.ItemID
			for i := range 8 {
				ids = append(ids, exchange.ItemID{ID: org.AddLargeMessage(alice, 4<<20, uint64(i))})
			}
			return ids
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := start(b, ewstest.Exchange2016, nil, nil, nil)
			ids := bc.setup(e.org)
			var n int64
			for b.Loop() {
				n = 0
				err := e.c.GetItems(context.Background(), alice, ids, exchange.KindMail, func(it *exchange.Item) error {
					if it.Err != nil {
						return it.Err
					}
					k, err := io.Copy(io.Discard, it.MIME)
					n += k
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(n)
			b.ReportMetric(float64(len(ids))*float64(b.N)/b.Elapsed().Seconds(), "items/s")
		})
	}
}
