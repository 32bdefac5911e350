package export

import (
	"hash/fnv"
	"strings"

	"github.com/iemproject/iem/exchange/directory"
)

// A Shard is one of n export hosts (--shard i/n, 1 ≤ i ≤ n): it exports the
// selected mailboxes whose address hashes to it, into an archive folder of
// its own. The split depends only on the address, so it is the same on
// every host, in every round, whatever the directory's order; the union of
// the n shards is the unsharded selection, and no mailbox is in two.
type Shard struct{ Index, Count int } // Index is 1-based; Count 0 means not sharded

// Owns reports whether address belongs to this shard.
func (s Shard) Owns(address string) bool {
	if s.Count <= 1 {
		return true
	}
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(address)))
	return int(h.Sum32()%uint32(s.Count)) == s.Index-1
}

// First reports whether this is the shard that exports what belongs to no
// mailbox (public folders), so that it is exported once.
func (s Shard) First() bool { return s.Count <= 1 || s.Index == 1 }

// Filter returns the mailboxes of ms this shard owns.
func (s Shard) Filter(ms []*directory.Mailbox) []*directory.Mailbox {
	if s.Count <= 1 {
		return ms
	}
	var out []*directory.Mailbox
	for _, m := range ms {
		if s.Owns(m.PrimarySMTP) {
			out = append(out, m)
		}
	}
	return out
}
