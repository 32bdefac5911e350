package icewarpsink

import (
	"context"
	"log/slog"

	"github.com/iemproject/iem/icewarp"
	"github.com/iemproject/iem/icewarp/mailpath"
	"github.com/iemproject/iem/replay"
)

// DefaultsForCheck logs in to the admin API and returns the reader of the
// accounts' default folders check uses: settings.xml in the mail path when
// mailPath is set (path mode), else the WebClient session. A target whose
// admin API cannot be reached leaves them unchecked (logged), returning a
// nil setter; done logs out.
func DefaultsForCheck(ctx context.Context, opt icewarp.Options, mailPath string, log *slog.Logger) (d replay.DefaultFolderSetter, done func()) {
	admin, err := icewarp.New(opt)
	if err == nil {
		err = admin.Login(ctx)
	}
	if err != nil {
		log.Warn("default folders not checked: admin API", "err", err)
		return nil, func() {}
	}
	done = func() { admin.Logout(context.WithoutCancel(ctx)) }
	if mailPath == "" {
		return NewWebClientDefaults(admin), done
	}
	store, err := mailpath.Open(mailPath)
	if err != nil {
		log.Warn("default folders not checked: mail path", "err", err)
		return nil, done
	}
	return NewFiles(admin, store).Defaults(), done
}
