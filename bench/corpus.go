// Package bench is iem's benchmark harness (`make bench`). It generates a
// realistic organisation with a fixed seed, runs the real commands against
// the emulators and real servers, and measures each figure as a ratio to a
// baseline run in the same invocation (raw zstd, tar | zstd, mbsync, cp),
// because the machines it runs on are shared and noisy. Results go to
// bench/results.md.
package bench

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// CorpusOptions shapes a generated mail corpus (issue 7's model).
type CorpusOptions struct {
	Users   int    // mailboxes
	PerUser int    // messages generated per mailbox, before duplicates
	Huge    int    // messages of 25–50 MB
	Seed    uint64 // the same seed gives the same bytes
	// MaxAttachment caps the 5% of attachments drawn from 100 KB to 10 MB
	// (0: 10 MB); the quick run lowers it to stay within its time.
	MaxAttachment int
}

// Message is one message with the mailboxes it was delivered to. The 10%
// delivered to many mailboxes carry the same bytes in each, as Exchange
// stores them.
type Message struct {
	To        []int // indexes of the mailboxes holding it
	MIME      []byte
	Received  time.Time
	MessageID string
}

// Corpus is a generated set of messages.
type Corpus struct {
	Users    []string // mailbox addresses, filled in by the caller's org
	Messages []Message
}

// Deliveries is the number of stored items (a message in k mailboxes counts k).
func (c *Corpus) Deliveries() int {
	n := 0
	for _, m := range c.Messages {
		n += len(m.To)
	}
	return n
}

// Bytes is the size of all stored items.
func (c *Corpus) Bytes() int64 {
	var n int64
	for _, m := range c.Messages {
		n += int64(len(m.MIME) * len(m.To))
	}
	return n
}

var words = strings.Fields("the quarterly report budget forecast meeting tomorrow please review attached " +
	"customer invoice shipping delayed approved project status update regards thanks team Alice Bob Carol " +
	"Dave Erin contract signed proposal deadline Friday Montag Besprechung Grüße Übersicht schedule office")

// Generate makes a corpus: message sizes log-normal around 20 KB; 5% carry
// an attachment of 100 KB to MaxAttachment (log-uniform); Huge messages of
// 25–50 MB; 10% are delivered to several mailboxes (2 to all).
func Generate(opt CorpusOptions) *Corpus {
	rng := rand.New(rand.NewPCG(opt.Seed, 7))
	maxAtt := opt.MaxAttachment
	if maxAtt <= 0 {
		maxAtt = 10 << 20
	}
	c := &Corpus{}
	base := time.Date(2024, 1, 2, 8, 0, 0, 0, time.UTC)
	total := opt.Users * opt.PerUser
	for i := range total {
		size := int(math.Exp(math.Log(20000) + 0.8*rng.NormFloat64()))
		size = max(800, min(size, 2<<20))
		att := 0
		if rng.Float64() < 0.05 {
			lo, hi := math.Log(100<<10), math.Log(float64(maxAtt))
			att = int(math.Exp(lo + rng.Float64()*(hi-lo)))
		}
		if i < opt.Huge {
			att = 25<<20 + rng.IntN(25<<20)
		}
		to := []int{i % opt.Users}
		if rng.Float64() < 0.10 && opt.Users > 1 {
			k := 2 + rng.IntN(opt.Users-1)
			for _, u := range rng.Perm(opt.Users)[:k] {
				if u != to[0] {
					to = append(to, u)
				}
			}
		}
		received := base.Add(time.Duration(i) * 7 * time.Minute)
		id := fmt.Sprintf("<bench.%d.%08x@example.com>", i, rng.Uint32())
		c.Messages = append(c.Messages, Message{To: to, Received: received, MessageID: id,
			MIME: message(rng, i, size, att, received, id)})
	}
	return c
}

func message(rng *rand.Rand, i, size, att int, date time.Time, id string) []byte {
	var b bytes.Buffer
	b.Grow(size + att*4/3 + 1024)
	boundary := fmt.Sprintf("=_bench_%d", i)
	fmt.Fprintf(&b, "From: \"User %d\" <user%d@example.com>\r\nTo: team@example.com\r\nSubject: %s %s %d\r\n"+
		"Date: %s\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n", i%37, i%37, words[i%len(words)],
		words[(i*7)%len(words)], i, date.Format(time.RFC1123Z), id)
	if att > 0 {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n--%s\r\n", boundary, boundary)
	}
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	line := 0
	start := b.Len()
	for b.Len()-start < size {
		b.WriteString(words[rng.IntN(len(words))])
		line++
		if line%11 == 0 {
			b.WriteString("\r\n")
		} else {
			b.WriteByte(' ')
		}
	}
	b.WriteString("\r\n")
	if att > 0 {
		fmt.Fprintf(&b, "--%s\r\nContent-Type: application/octet-stream; name=\"file%d.bin\"\r\n"+
			"Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"file%d.bin\"\r\n\r\n", boundary, i, i)
		raw := make([]byte, att)
		for k := 0; k+8 <= len(raw); k += 8 {
			v := rng.Uint64()
			for j := range 8 {
				raw[k+j] = byte(v >> (8 * j))
			}
		}
		enc := base64.StdEncoding.EncodeToString(raw)
		for k := 0; k < len(enc); k += 76 {
			b.WriteString(enc[k:min(k+76, len(enc))])
			b.WriteString("\r\n")
		}
		fmt.Fprintf(&b, "--%s--\r\n", boundary)
	}
	return b.Bytes()
}
