package main

import (
	"strconv"
	"strings"

	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/internal/cliutil"
)

// shard is --shard i/n (export.Shard); index is 1-based, count 0 means
// not sharded.
type shard struct{ index, count int }

func (s shard) engine() export.Shard { return export.Shard{Index: s.index, Count: s.count} }

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
