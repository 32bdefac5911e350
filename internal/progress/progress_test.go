package progress

import (
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/internal/syncbuf"
)

func TestPlainLines(t *testing.T) {
	var out syncbuf.Buffer
	p := New(&out, &Options{Interval: 20 * time.Millisecond, Verb: "exported", Throttled: func() time.Duration { return 3 * time.Second }})
	j := p.Job("alice@example.com")
	j.Folder("Inbox", 10)
	j.Add(4, 2_000_000)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "exported=4") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	j.Add(6, 0)
	j.Done()
	j.Done() // twice is harmless
	p.Close()
	s := out.String()
	for _, want := range []string{`progress job=alice@example.com folder="Inbox" exported=4 total=10 mb=2.0`, "eta=", "throttled=3s",
		"exported=10 total=10", "finished\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "\x1b") {
		t.Errorf("plain output has control characters: %q", s)
	}
	if strings.Count(s, "finished") != 1 {
		t.Errorf("want one final line:\n%s", s)
	}
}

func TestLiveLines(t *testing.T) {
	var out syncbuf.Buffer
	p := New(&out, &Options{Terminal: true})
	logs := p.Logs(&out)
	j := p.Job("bob@example.com")
	j.Folder("Sent Items", 8)
	j.Add(3, 1_500_000)
	logs.Write([]byte("level=WARN msg=\"item skipped\"\n"))
	time.Sleep(600 * time.Millisecond) // two refreshes
	p.Close()
	s := out.String()
	for _, want := range []string{"bob@example.com", "Sent Items", "3/8 items 1.5 MB", "item skipped"} {
		if !strings.Contains(s, want) {
			t.Errorf("terminal output lacks %q:\n%q", want, s)
		}
	}
}

func TestNilJob(t *testing.T) {
	var p *Progress
	j := p.Job("x")
	j.Folder("f", 1)
	j.Add(1, 1)
	j.Done()
	p.Close()
}
