// Package replay is iem's replay engine: it applies the logical view of
// one or more iem archives (spec/SPEC.md), round after round, to a target
// through Sinks, and records what it applied in a ledger so that a rerun
// writes only what changed and never duplicates anything.
//
// The Sinks (sink.go) are small interfaces over the protocols the engine
// drives; package replay/icewarpsink implements them for IceWarp Server:
//
//   - Accounts: domains, accounts, groups and GroupWare folder permissions
//     through the IceWarp admin API (icewarp, docs/icewarp.md §2).
//   - Mail and Mailbox: folders, ACLs (RFC 4314), APPEND, flags and
//     deletions over IMAP (RFC 9051, RFC 3501; icewarp/imapsink).
//   - MailFiles: messages written as files into IceWarp's mail path
//     (icewarp/mailpath, icewarp.md §6 step 4), found over IMAP afterwards
//     (--mail-mode path).
//   - Groupware: contacts, calendars, tasks and notes over CardDAV and
//     CalDAV (RFC 6352, RFC 4791; icewarp/dav).
//
// An Engine indexes the archives (New), creates accounts and groups
// (CreateAccounts), then replays every mailbox (Run): folders and their
// permissions, mail, groupware, and what the source deleted. Plan compares
// the archives with the ledger alone; Check compares them with the
// target; Inventory counts what an archive holds (verify).
//
// The ledger (Ledger, a bbolt file) belongs to one target (Target), is
// held by one process at a time (Holder), and records an APPEND as
// pending before it is sent: a crash between APPEND and ledger update is
// looked up on the target on the next run. A target folder the ledger
// does not know that already holds mail is matched against the target
// (as --rebuild does), so a lost ledger never duplicates either.
package replay
