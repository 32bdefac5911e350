// Package exchange is a thin client for Exchange Web Services (EWS, SOAP
// 1.1 over HTTPS, Exchange 2007 SP1 and later), covering what a
// full-mailbox export needs: SyncFolderHierarchy, SyncFolderItems, GetItem
// (MimeContent streamed, property sets for contacts, calendar items and
// tasks), GetFolder permissions, and FindFolder/FindItem paging for public
// folders. The wire facts it follows are collected, with their sources, in
// shared/research/ews.md; comments cite that file's keys ([V MSDOCS ...]).
//
// # Versions
//
// [Client.ServerVersion] reads ServerVersionInfo from the server and every
// later request sends the matching RequestServerVersion. With
// Exchange2007_SP1 the client sends no SyncScope, no SyncFolderId in
// SyncFolderHierarchy, and impersonates with PrimarySmtpAddress
// [V ews.md §1.1, §2.1].
//
// # Errors and retries
//
// Every request goes through one retry loop ([retry.Do]) with one
// classifier: SOAP-fault and in-body ErrorServerBusy (honouring
// BackOffMilliseconds), HTTP 503 (honouring Retry-After), connection
// resets and truncated responses are retried; a back-off hint holds the
// shared [retry.Gate], so a throttled mailbox slows the whole run as the
// server expects [V ews.md §3.3 DAVMAIL]. EWS errors are [*Error] values;
// per-item failures in GetItem batches are delivered in [Item.Err] and do
// not abort the batch.
//
// # Secrets
//
// The password is sent only in the Authorization header (Basic) or the
// NTLM handshake. It never appears in logs, and DebugWriter dumps show the
// Authorization header as "[redacted]".
//
// A Client is safe for concurrent use by multiple goroutines.
package exchange
