package format_test

import (
	"strings"
	"testing"
	"time"

	"github.com/iemproject/iem/format"
)

func TestIceWarpResponder(t *testing.T) {
	day := time.Date(2026, 12, 21, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name      string
		in        format.OutOfOffice
		want      format.Responder
		lostWords []string
	}{
		{"scheduled whole days, same reply inside and out",
			format.OutOfOffice{State: "scheduled", ExternalAudience: "all", Start: day, End: day.AddDate(0, 0, 14),
				InternalReply: "<html><head><title>x</title></head><body><p>Back on 4 January.</p></body></html>",
				ExternalReply: "<p>Back on  4 January.</p>"},
			format.Responder{Mode: format.RespondOnce, From: "2026/12/21", Till: "2027/01/03", Content: "<p>Back on 4 January.</p>"}, nil},
		{"scheduled with times of day, other external reply",
			format.OutOfOffice{State: "scheduled", ExternalAudience: "known", Start: day.Add(9 * time.Hour), End: day.AddDate(0, 0, 1).Add(17 * time.Hour),
				InternalReply: "Bin weg.", ExternalReply: "I am away."},
			format.Responder{Mode: format.RespondOnce, From: "2026/12/21", Till: "2026/12/22", Content: "Bin weg."},
			[]string{"times of day", "external reply"}},
		{"external audience none keeps the internal reply only, silently",
			format.OutOfOffice{State: "enabled", ExternalAudience: "none", InternalReply: "Bin weg.", ExternalReply: "I am away."},
			format.Responder{Mode: format.RespondOnce, Content: "Bin weg."}, nil},
		{"only an external reply",
			format.OutOfOffice{State: "enabled", ExternalAudience: "all", ExternalReply: "I am away."},
			format.Responder{Mode: format.RespondOnce, Content: "I am away."}, nil},
		{"disabled keeps its text for the next time",
			format.OutOfOffice{State: "disabled", InternalReply: "Bin weg."},
			format.Responder{Mode: format.RespondNever, Content: "Bin weg."}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, lost := format.IceWarpResponder(&c.in)
			if got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
			if len(lost) != len(c.lostWords) {
				t.Fatalf("lost %q, want %d notes", lost, len(c.lostWords))
			}
			for i, w := range c.lostWords {
				if !strings.Contains(lost[i], w) {
					t.Errorf("lost[%d] = %q, want it to name %q", i, lost[i], w)
				}
			}
		})
	}
}
