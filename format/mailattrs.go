package format

import (
	"encoding/json"
	"strings"
	"time"
)

// MailAttrs records a message's flags and properties as header attributes
// (SPEC.md §4). Every Source (EWS, Graph) records them through this one
// mapping, so that both give the archive the same attributes.
func MailAttrs(a map[string]string, m MailMeta) {
	if m.Read {
		a["read"] = "1"
	} else {
		a["read"] = "0"
	}
	switch {
	case m.Flagged:
		a["flag"] = "flagged"
	case m.FlagStatus == "Complete":
		a["flag"] = "complete"
	}
	if len(m.Categories) > 0 {
		b, _ := json.Marshal(m.Categories)
		a["categories"] = string(b)
	}
	if m.Importance != "" && m.Importance != "Normal" {
		a["importance"] = strings.ToLower(m.Importance)
	}
	if m.MessageID != "" {
		a["message-id"] = m.MessageID
	}
	if m.Draft {
		a["draft"] = "1"
	}
	if !m.Sent.IsZero() {
		a["sent"] = m.Sent.UTC().Format(time.RFC3339)
	}
}
