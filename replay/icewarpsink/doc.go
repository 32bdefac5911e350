// Package icewarpsink implements the Sinks of package replay for IceWarp
// Server: Accounts over the IceWarp admin API (package icewarp), Mail over
// IMAP (RFC 9051, RFC 3501; package icewarp/imapsink), MailFiles over
// IceWarp's mail path (package icewarp/mailpath, docs/icewarp.md §6) and
// Groupware over CalDAV and CardDAV (RFC 4791, RFC 6352; package
// icewarp/dav).
package icewarpsink
