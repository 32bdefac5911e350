//go:build linux

package mailpath

import "testing"

func TestKernelVersion(t *testing.T) {
	tests := []struct {
		release      string
		major, minor int
		ok           bool
	}{
		{"6.8.0-45-generic\x00\x00", 6, 8, true},
		{"5.8.0", 5, 8, true},
		{"5.4.0-150-generic", 5, 4, true},
		{"4.19.0+", 4, 19, true},
		{"6.18.44-fc-v782", 6, 18, true},
		{"5.10-rc1", 5, 10, true},
		{"6", 0, 0, false},
		{"x.y", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tt := range tests {
		major, minor, ok := kernelVersion([]byte(tt.release))
		if major != tt.major || minor != tt.minor || ok != tt.ok {
			t.Errorf("kernelVersion(%q) = %d, %d, %v; want %d, %d, %v", tt.release, major, minor, ok, tt.major, tt.minor, tt.ok)
		}
	}
}

// On a kernel whose syncfs reports write-back errors, a batch commits with
// one syncfs instead of an fsync per file.
func TestBatchUsesSyncfs(t *testing.T) {
	if !syncfsReportsErrors() {
		t.Skip("kernel before 5.8: batches fsync each file")
	}
	s := newStore(t, nil)
	b, err := s.NewBatch("d/u", []string{"INBOX"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.fs == nil {
		t.Fatal("batch without syncfs")
	}
	if err := b.fs.sync(nil); err != nil {
		t.Errorf("syncfs = %v", err)
	}
}
