package retry

import (
	"context"
	"errors"
	"testing"
	"time"
)

var errPermanent = errors.New("permanent")

func TestDo(t *testing.T) {
	boom := errors.New("busy")
	tests := []struct {
		name      string
		errs      []error // returned by successive calls; nil ends
		attempts  int
		wantCalls int
		wantErr   error
		wantWaits []time.Duration // exact waits for hinted retries
	}{
		{"ok first", []error{nil}, 0, 1, nil, nil},
		{"permanent not retried", []error{errPermanent}, 0, 1, errPermanent, nil},
		{"temporary then ok", []error{Temporary(boom), nil}, 0, 2, nil, nil},
		{"server hint honoured", []error{After(boom, 1500*time.Millisecond), After(boom, 20*time.Millisecond), nil}, 0, 3, nil,
			[]time.Duration{1500 * time.Millisecond, 20 * time.Millisecond}},
		{"exhausted", []error{Temporary(boom), Temporary(boom), Temporary(boom)}, 3, 3, ErrExhausted, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var waits []time.Duration
			calls := 0
			p := Policy{Attempts: tt.attempts, Sleep: func(_ context.Context, d time.Duration) error {
				waits = append(waits, d)
				return nil
			}}
			err := Do(context.Background(), p, "test", func(context.Context) error {
				e := tt.errs[calls]
				calls++
				return e
			})
			if calls != tt.wantCalls {
				t.Errorf("calls = %d, want %d", calls, tt.wantCalls)
			}
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Do() = %v, want %v", err, tt.wantErr)
			}
			if tt.wantWaits != nil {
				if len(waits) != len(tt.wantWaits) {
					t.Fatalf("waits = %v, want %v", waits, tt.wantWaits)
				}
				for i := range waits {
					if waits[i] != tt.wantWaits[i] {
						t.Errorf("wait[%d] = %v, want %v", i, waits[i], tt.wantWaits[i])
					}
				}
			}
		})
	}
}

func TestGateSlowsEveryCaller(t *testing.T) {
	var g Gate
	var slept []time.Duration
	p := Policy{Gate: &g, Sleep: func(_ context.Context, d time.Duration) error {
		slept = append(slept, d)
		return nil
	}}
	calls := 0
	// Caller A is throttled once with a 10s hint; the gate holds.
	_ = Do(context.Background(), p, "a", func(context.Context) error {
		calls++
		if calls == 1 {
			return After(errors.New("busy"), 10*time.Second)
		}
		return nil
	})
	// Caller B, sharing the gate, must also wait before its first call.
	slept = nil
	if err := Do(context.Background(), p, "b", func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if len(slept) != 1 || slept[0] < 9*time.Second {
		t.Errorf("caller b slept %v, want one wait of about 10s", slept)
	}
	if g.Waited() <= 0 {
		t.Errorf("Waited() = %v, want > 0", g.Waited())
	}
}

func TestCancelStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := Do(ctx, Policy{}, "c", func(context.Context) error {
		calls++
		cancel()
		return Temporary(errors.New("x"))
	})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Errorf("Do() = %v after %d calls, want context.Canceled after 1", err, calls)
	}
}
