package format

import "fmt"

// A Report lists what a conversion could not carry over exactly. An empty
// Report means nothing known was lost. Conversions never fail because of a
// loss; they record it here so callers can log and count it.
type Report struct {
	Losses []Loss `json:"losses,omitempty"`
}

// A Loss is one property that was dropped or approximated.
type Loss struct {
	Field  string `json:"field"`  // EWS element or ACL grantee concerned
	Reason string `json:"reason"` // lowercase explanation
}

func (l Loss) String() string { return l.Field + ": " + l.Reason }

func (r *Report) add(field, format string, args ...any) {
	r.Losses = append(r.Losses, Loss{Field: field, Reason: fmt.Sprintf(format, args...)})
}

// OK reports whether nothing was lost.
func (r Report) OK() bool { return len(r.Losses) == 0 }
