// Package format converts Exchange items, as returned by Exchange Web
// Services, into the formats the IceWarp import uses: EML for mail, vCard 3.0
// (RFC 2426) for contacts and distribution lists, iCalendar (RFC 5545) for
// calendar items and tasks, vNote for notes, canonical ACLs with RFC 4314 and
// IceWarp rights letters, and IMAP modified UTF-7 (RFC 3501 §5.1.3) and
// IceWarp on-disk folder names.
//
// Every function is pure: it reads item XML from a byte slice and returns
// values or writes to an io.Writer; nothing here touches the network or the
// file system, and nothing logs. All functions are safe for concurrent use.
//
// # Input
//
// Items are the raw bytes of one EWS item element (<t:Message>,
// <t:PostItem>, <t:Contact>, <t:DistributionList>, <t:CalendarItem>,
// <t:Task>) as cut out of a GetItem response. Elements are matched by local
// name only, because namespace declarations may be missing from the cut-out
// and prefixes differ between Exchange versions (see
// shared/research/ews.md §1). XML-illegal character references, which
// Exchange emits in bodies, are dropped before decoding.
//
// # Losses
//
// Conversions never fail because a property has no equivalent on the target;
// they return a [Report] listing what was dropped or approximated.
//
// # Sources
//
// Wire shapes are cited beside the code with the keys of
// shared/research/ews.md and icewarp.md: [V …] verified in the named source,
// [I] inferred.
package format
