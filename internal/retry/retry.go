// Package retry is the one retry loop shared by the Exchange and IceWarp
// clients. It honours the server's back-off hint (EWS BackOffMilliseconds,
// HTTP Retry-After), never retries permanent errors, stops at once when the
// context is cancelled, and can make every caller wait while one of them is
// being throttled (a [Gate]), because Exchange throttles per account and
// expects the whole client to slow down, not just the one request.
package retry

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Policy says how often and how long to retry. The zero value is usable:
// see the field comments for defaults.
type Policy struct {
	// Attempts is the maximum number of calls of fn, first one included
	// (default 8).
	Attempts int
	// Base is the first wait when the server gave no hint (default 250ms);
	// it doubles per attempt up to Max (default 30s), with jitter.
	Base, Max time.Duration
	// Gate, if set, is shared by all callers: a back-off reported by one
	// caller delays every caller's next attempt.
	Gate *Gate
	// Logger receives one Warn line per retry (nil: discard).
	Logger *slog.Logger
	// Sleep replaces the real sleep in tests (nil: time-based, honours ctx).
	Sleep func(ctx context.Context, d time.Duration) error
}

// Retryable is implemented by errors that may succeed when tried again.
// After returns the server's requested wait, or 0 for "use the policy's
// own back-off".
type Retryable interface {
	error
	RetryAfter() time.Duration
}

// temporary marks an error as retryable without a server hint.
type temporary struct{ err error }

func (t temporary) Error() string             { return t.err.Error() }
func (t temporary) Unwrap() error             { return t.err }
func (t temporary) RetryAfter() time.Duration { return 0 }

// Temporary wraps err so that [Do] retries it with the policy's back-off.
func Temporary(err error) error {
	if err == nil {
		return nil
	}
	return temporary{err}
}

// throttled marks an error as retryable after a server-given wait.
type throttled struct {
	err  error
	wait time.Duration
}

func (t throttled) Error() string             { return t.err.Error() }
func (t throttled) Unwrap() error             { return t.err }
func (t throttled) RetryAfter() time.Duration { return t.wait }

// After wraps err so that [Do] retries it after at least d.
func After(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return throttled{err, d}
}

// ErrExhausted is wrapped with the last error when all attempts failed.
var ErrExhausted = errors.New("retry: attempts exhausted")

// Do calls fn until it returns nil, a non-retryable error, ctx is done, or
// the attempts are used up. Only errors that satisfy [Retryable] (found with
// errors.As) are retried.
func Do(ctx context.Context, p Policy, op string, fn func(ctx context.Context) error) error {
	attempts := p.Attempts
	if attempts <= 0 {
		attempts = 8
	}
	base, max := p.Base, p.Max
	if base <= 0 {
		base = 250 * time.Millisecond
	}
	if max <= 0 {
		max = 30 * time.Second
	}
	sleep := p.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	var err error
	for attempt := 1; ; attempt++ {
		if p.Gate != nil {
			if gerr := p.Gate.wait(ctx, sleep); gerr != nil {
				return gerr
			}
		}
		if err = ctx.Err(); err != nil {
			return err
		}
		err = fn(ctx)
		if err == nil {
			return nil
		}
		var r Retryable
		if !errors.As(err, &r) {
			return err
		}
		if attempt >= attempts {
			return errors.Join(ErrExhausted, err)
		}
		wait := r.RetryAfter()
		hinted := wait > 0
		if !hinted {
			wait = base << (attempt - 1)
			if wait > max || wait <= 0 {
				wait = max
			}
			wait = wait/2 + rand.N(wait/2+1)
		}
		if p.Logger != nil {
			p.Logger.Warn("retrying", "op", op, "attempt", attempt, "wait", wait, "server_hint", hinted, "err", err)
		}
		if hinted && p.Gate != nil {
			p.Gate.hold(wait)
			continue
		}
		start := time.Now()
		if serr := sleep(ctx, wait); serr != nil {
			return serr
		}
		if p.Gate != nil {
			p.Gate.waited.Add(int64(time.Since(start)))
		}
	}
}

// Gate makes all callers that share it wait until a server-requested
// back-off has passed. The zero value is ready to use; a Gate must not be
// copied after first use.
type Gate struct {
	mu     sync.Mutex
	until  time.Time
	waited atomic.Int64 // total nanoseconds callers spent waiting
}

// Waited returns the total time callers spent waiting on this gate or in
// back-off sleeps, summed over callers.
func (g *Gate) Waited() time.Duration { return time.Duration(g.waited.Load()) }

func (g *Gate) hold(d time.Duration) {
	g.mu.Lock()
	if u := time.Now().Add(d); u.After(g.until) {
		g.until = u
	}
	g.mu.Unlock()
}

func (g *Gate) wait(ctx context.Context, sleep func(context.Context, time.Duration) error) error {
	g.mu.Lock()
	d := time.Until(g.until)
	g.mu.Unlock()
	if d <= 0 {
		return nil
	}
	start := time.Now()
	err := sleep(ctx, d)
	g.waited.Add(int64(time.Since(start)))
	return err
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
