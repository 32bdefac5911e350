// Package imapsink writes mail into a mailbox over IMAP4rev1 (RFC 3501), as
// iem-import's "--mail-mode imap" does against IceWarp Server.
//
// It logs in as an administrator on behalf of the mailbox owner, either with
// AUTHENTICATE PLAIN carrying an authorization identity (RFC 4616; IceWarp's
// own form, icewarp.md §4 [MS fix_imapindex.sh]) or with Dovecot's master
// user login "user*master" (testbed.md §1c). It creates folders, APPENDs
// messages with their flags and internal dates (RFC 3501 §6.3.11, UIDPLUS
// RFC 4315 for the new UID), sets folder ACLs (RFC 4314 SETACL), and reads a
// folder back for "iem-import check" and for "--rebuild", which must never
// duplicate a message: before appending, the target is searched for the same
// Message-ID, internal date and size.
//
// # Connections and retries
//
// A [Mailbox] holds up to [Options.Connections] IMAP connections to one
// mailbox. Its methods are safe for concurrent use; each call borrows one
// connection. [Mailbox.AppendBatch] pipelines APPENDs on every connection at
// once; when the server offers MULTIAPPEND (RFC 3502) and LITERAL+
// (RFC 7888) it sends groups of messages per APPEND command over connections
// of its own (go-imap has no MULTIAPPEND), which on Dovecot stores about
// five times as many messages per second as mbsync. A connection that breaks is closed and dialled again on next use,
// under the [retry.Policy] of [Options.Retry]. An APPEND interrupted by a
// broken connection may or may not have been stored by the server, so before
// it is sent again the folder is searched for it ([Mailbox.Find]); it is
// re-sent only if it is not there.
//
// # Folder names
//
// A folder is given as its path of display names, e.g. {"Inbox", "2024"}.
// [FolderName] joins the segments with the server's hierarchy delimiter after
// mapping each segment so that it stays one segment and is accepted by
// IceWarp and Dovecot; go-imap then encodes the result as modified UTF-7
// (RFC 3501 §5.1.3). The mapping:
//
//   - the delimiter itself becomes a look-alike: "/" → "∕" (U+2215),
//     "." → "․" (U+2024), "\" → "⧵" (U+29F5), any other delimiter → "_";
//   - a leading "~" becomes "∼" (U+223C): both IceWarp (icewarp.md §1.3) and
//     Dovecot treat "~" names as system directories;
//   - control characters become "_", and an empty segment becomes "_";
//   - a segment of dots only ("." or "..") gets "․" (U+2024) for each dot:
//     Dovecot refuses such names, and both servers store folders as
//     directories;
//   - a segment whose modified UTF-7 form is longer than 200 bytes is cut and
//     suffixed with "~" and 8 hex digits of its SHA-256, so that it still fits
//     a file name (IceWarp and Dovecot store one directory per folder);
//   - a top-level "INBOX" (any case) is the inbox.
//
// The mapping is deterministic, so reruns find the folders they created.
package imapsink
