package icewarpsink

import (
	"log/slog"

	"github.com/iemproject/iem/icewarp"
	"github.com/iemproject/iem/icewarp/imapsink"
	"github.com/iemproject/iem/internal/retry"
	"github.com/iemproject/iem/replay"
)

// SinkOptions are the IceWarp endpoints [NewSinks] writes to.
type SinkOptions struct {
	Admin              *icewarp.Admin // the admin API session (nil: accounts are not written, as for a check)
	PublicFoldersGroup string
	IMAP               imapsink.Options
	// WebDAV is the WebDAV root URL ("": no groupware sink), Layout its
	// collection layout (CheckLayout); User, Password and TLS log in.
	WebDAV, Layout string
	User, Password string
	TLS            icewarp.TLSOptions
	Log            *slog.Logger
	Gate           *retry.Gate // the WebDAV endpoint's back-off gate (nil: none)
}

// NewSinks returns the accounts, mail and (with WebDAV) groupware Sinks of
// an IceWarp server; Files, for path mode, is left to the caller (NewFiles).
func NewSinks(opt SinkOptions) (replay.Sinks, error) {
	sinks := replay.Sinks{Accounts: NewAccounts(opt.Admin, opt.PublicFoldersGroup), Mail: NewMail(opt.IMAP)}
	if opt.Admin != nil {
		sinks.Defaults = NewWebClientDefaults(opt.Admin) // path mode: Files.Defaults instead
	}
	if opt.WebDAV != "" {
		gw, err := NewGroupware(opt.WebDAV, opt.Layout, opt.User, opt.Password, opt.TLS, opt.Log, opt.Gate)
		if err != nil {
			return replay.Sinks{}, err
		}
		sinks.Groupware = gw
	}
	return sinks, nil
}
