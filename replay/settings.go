package replay

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/iemproject/iem/format"
)

// applySettings sets what the mailbox had besides its items (its settings
// entry, SPEC.md §4 kind 14) on the target account: the out-of-office
// reply becomes the account's auto-responder. What the target cannot hold
// is counted in st.NotMoved; a target without responders (no Responders
// sink) counts the whole reply as not moved. Setting the same responder
// again is harmless, so reruns need no ledger record.
func (im *Engine) applySettings(ctx context.Context, log *slog.Logger, st *MailboxStats, source, target string) error {
	e := im.settings[source]
	if e == nil {
		return nil
	}
	var set format.MailboxSettings
	if err := im.readJSON(e, &set); err != nil {
		return fmt.Errorf("settings entry: %w", err)
	}
	if o := set.OutOfOffice; o != nil && (o.State != "disabled" || o.InternalReply != "" || o.ExternalReply != "") {
		rs, ok := im.Sinks.Accounts.(Responders)
		if !ok {
			st.NotMoved["out-of-office: the target sets no auto-responders"]++
			return nil
		}
		r, lost := format.IceWarpResponder(o)
		if err := rs.SetResponder(ctx, target, r); err != nil {
			log.Warn("auto-responder not set", "err", err)
			st.NotMoved["out-of-office: the server refused the auto-responder"]++
			return nil
		}
		st.Settings = append(st.Settings, "out-of-office")
		for _, l := range lost {
			st.NotMoved[l]++
		}
	}
	return nil
}
