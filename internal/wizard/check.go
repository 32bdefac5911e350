package wizard

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Checks shared by the set-ups of both commands, for [Question.Check].

// WritableDir accepts a folder that exists or can be created (mode 0700),
// and where a file can be created; it returns the absolute path.
func WritableDir(v string) (string, error) {
	abs, err := filepath.Abs(v)
	if err != nil {
		return "", err
	}
	if st, err := os.Stat(abs); err == nil && !st.IsDir() {
		return "", fmt.Errorf("%s exists and is not a folder", abs)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return "", fmt.Errorf("cannot create %s: %v", abs, err)
	}
	f, err := os.CreateTemp(abs, ".iem-init-*")
	if err != nil {
		return "", fmt.Errorf("%s is not writable: %v", abs, err)
	}
	f.Close()
	os.Remove(f.Name())
	return abs, nil
}

// IntRange returns a check that accepts whole numbers from lo to hi.
func IntRange(lo, hi int) func(string) (string, error) {
	return func(v string) (string, error) {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return "", fmt.Errorf("%q is not a number between %d and %d", v, lo, hi)
		}
		return strconv.Itoa(n), nil
	}
}
