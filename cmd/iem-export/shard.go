package main

import (
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/iemproject/iem/exchange/directory"
	"github.com/iemproject/iem/internal/cliutil"
)

// A shard is one of n export hosts (--shard i/n, 1 ≤ i ≤ n): it exports the
// selected mailboxes whose address hashes to it, into an archive folder of
// its own. The split depends only on the address, so it is the same on
// every host, in every round, whatever the directory's order; the union of
// the n shards is the unsharded selection, and no mailbox is in two.
type shard struct{ index, count int } // index is 1-based; count 0 means not sharded

func parseShard(s string) (shard, error) {
	if s == "" {
		return shard{}, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || n < 1 || n > 100000 || i < 1 || i > n {
		return shard{}, cliutil.Usagef("shard", "%q is not i/n with 1 ≤ i ≤ n (e.g. 2/4)", s)
	}
	return shard{i, n}, nil
}

func (s shard) owns(address string) bool {
	if s.count <= 1 {
		return true
	}
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(address)))
	return int(h.Sum32()%uint32(s.count)) == s.index-1
}

// first reports whether this is the shard that exports what belongs to no
// mailbox (public folders), so that it is exported once.
func (s shard) first() bool { return s.count <= 1 || s.index == 1 }

func (s shard) filter(ms []*directory.Mailbox) []*directory.Mailbox {
	if s.count <= 1 {
		return ms
	}
	var out []*directory.Mailbox
	for _, m := range ms {
		if s.owns(m.PrimarySMTP) {
			out = append(out, m)
		}
	}
	return out
}
