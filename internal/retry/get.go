package retry

import "context"

// Get is [Do] for an operation that yields a value: it returns the value of
// the call that succeeded.
func Get[T any](ctx context.Context, p Policy, op string, fn func(ctx context.Context) (T, error)) (T, error) {
	var v T
	err := Do(ctx, p, op, func(ctx context.Context) error {
		var err error
		v, err = fn(ctx)
		return err
	})
	return v, err
}
