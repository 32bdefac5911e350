package graphtest

import (
	"net/http"
	"strings"
)

// mailboxConcurrency is how many requests Outlook resources serve at once
// for one application and mailbox; a request beyond it gets 429
// "Application is over its MailboxConcurrency limit." [V graph.md §7:
// "4 concurrent requests", error text from Microsoft Q&A 1660054; the
// stored revision of throttling-limits.md counts it per app ID, older text
// per mailbox: the emulator enforces the per-mailbox reading, the one the
// error's name gives]. Inner requests of a $batch count as they run.
const mailboxConcurrency = 4

// enterMailbox admits a request to mailbox id, or answers 429 and returns
// false when mailboxConcurrency requests to it are already in flight.
// leave must be called when the admitted request is answered.
func (e *Emulator) enterMailbox(w http.ResponseWriter, id string) (leave func(), ok bool) {
	id = strings.ToLower(id)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.inFlight == nil {
		e.inFlight = map[string]int{}
	}
	if e.inFlight[id] >= mailboxConcurrency {
		e.counters.OverConcurrency++
		w.Header().Set("Retry-After", "1") // [I: the Q&A answers show no value; 1 s is the shortest whole one]
		graphError(w, http.StatusTooManyRequests, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.")
		return nil, false
	}
	e.inFlight[id]++
	if n := e.inFlight[id]; n > e.counters.MaxInFlight {
		e.counters.MaxInFlight = n
	}
	return func() {
		e.mu.Lock()
		e.inFlight[id]--
		e.mu.Unlock()
	}, true
}
