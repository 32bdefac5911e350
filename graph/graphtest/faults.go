package graphtest

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// FaultKind is a kind of injected fault.
type FaultKind int

// Fault kinds.
const (
	// Fault429: 429 TooManyRequests with Retry-After [V graph.md §7 W5,
	// GDOC concepts/throttling.md].
	Fault429 FaultKind = iota + 1
	// Fault503: 503 ServiceUnavailable with Retry-After [V GDOC concepts/throttling.md
	// "503 Service Unavailable" is retried like 429; I: body code].
	Fault503
	// FaultDeltaExpired: a delta call answers 410 Gone with code
	// syncStateNotFound [I: Microsoft Learn "Use delta query to track
	// changes" (delta-query-overview) describes 410 Gone for an expired
	// token with a Location to restart; the code name is from the
	// directory delta docs, not re-read].
	FaultDeltaExpired
	// FaultBlocked: 403 ErrorAccessDenied "Access to OData is disabled."
	// [V graph.md §2.2 GDOC concepts/auth-limit-mailbox-access.md].
	FaultBlocked
)

// Fault is one injected fault for the next Count (default 1) Graph calls
// whose path contains Path ("" = any).
type Fault struct {
	Kind       FaultKind
	Path       string
	Count      int
	RetryAfter time.Duration // for 429/503 (default 1s; fractional seconds are sent as such)
}

// Counters count what the emulator saw, so tests can assert on them.
type Counters struct {
	TokenRequests, GraphRequests, ExpiredTokens int
	Throttled                                   int // 429s and 503s sent
	EarlyRetries                                int // requests that came back before the Retry-After they were given
	HonouredWaits                               int // requests after a Retry-After that waited long enough
	Removed404                                  int // $value or GET of a message that no longer exists
	// MaxInFlight is the most requests one mailbox had in flight at once;
	// OverConcurrency counts the 429s sent for more than mailboxConcurrency.
	MaxInFlight, OverConcurrency int
}

// Counters returns a copy of the counters.
func (e *Emulator) Counters() Counters {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.counters
}

func (e *Emulator) count(fn func(*Counters)) {
	e.mu.Lock()
	fn(&e.counters)
	e.mu.Unlock()
}

// Inject queues a fault.
func (e *Emulator) Inject(f Fault) {
	if f.Count <= 0 {
		f.Count = 1
	}
	if f.RetryAfter <= 0 {
		f.RetryAfter = time.Second
	}
	e.mu.Lock()
	e.faults = append(e.faults, f)
	e.mu.Unlock()
}

// Injected returns how many faults of kind k were delivered.
func (e *Emulator) Injected(k FaultKind) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.injected[k]
}

// Block makes the application access policy deny a mailbox (403 on every
// call under /users/{it}/ except the directory's own user object).
func (e *Emulator) Block(smtp string, blocked bool) {
	e.mu.Lock()
	e.blocked[strings.ToLower(smtp)] = blocked
	e.mu.Unlock()
}

func (e *Emulator) take(path string, kinds ...FaultKind) (Fault, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	i := slices.IndexFunc(e.faults, func(f Fault) bool {
		return (f.Path == "" || strings.Contains(path, f.Path)) && slices.Contains(kinds, f.Kind)
	})
	if i < 0 {
		return Fault{}, false
	}
	got := e.faults[i]
	if e.faults[i].Count--; e.faults[i].Count == 0 {
		e.faults = slices.Delete(e.faults, i, i+1)
	}
	e.injected[got.Kind]++
	return got, true
}

// throttled answers an injected 429/503 and checks that a client which got
// one waited the Retry-After before calling again (keyed by client
// address and path [I]). It returns true when it has answered.
func (e *Emulator) throttled(w http.ResponseWriter, r *http.Request) bool {
	key := strings.Split(r.RemoteAddr, ":")[0] + " " + r.URL.Path
	e.mu.Lock()
	if until, ok := e.throttle[key]; ok {
		delete(e.throttle, key)
		if time.Now().Before(until) {
			e.counters.EarlyRetries++
		} else {
			e.counters.HonouredWaits++
		}
	}
	e.mu.Unlock()
	f, ok := e.take(r.URL.Path, Fault429, Fault503)
	if !ok {
		return false
	}
	e.mu.Lock()
	e.counters.Throttled++
	e.throttle[key] = time.Now().Add(f.RetryAfter)
	e.mu.Unlock()
	w.Header().Set("Retry-After", strconv.FormatFloat(f.RetryAfter.Seconds(), 'f', -1, 64))
	if f.Kind == Fault429 {
		// [V graph.md §7 W5]
		graphError(w, http.StatusTooManyRequests, "TooManyRequests", "Please retry again later.")
	} else {
		graphError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "The service is temporarily unavailable. Please retry later.")
	}
	return true
}
