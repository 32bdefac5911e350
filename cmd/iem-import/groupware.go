package main

import (
	"log/slog"

	"github.com/iemproject/iem/icewarp"
)

// newGroupware returns the CalDAV/CardDAV writer for --webdav-url.
func newGroupware(url, user, password string, tls icewarp.TLSOptions, log *slog.Logger) (groupware, error) {
	return nil, nil
}
