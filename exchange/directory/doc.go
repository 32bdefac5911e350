// Package directory reads an Exchange organisation's recipients from Active
// Directory, over LDAP (RFC 4511) or offline from an LDIF export (RFC 2849,
// as written by Microsoft's ldifde).
//
// A [Snapshot] holds the mailboxes (classified by msExchRecipientTypeDetails:
// user, shared, room, equipment and linked mailboxes), the groups (nested
// groups flattened) and the mail contacts of a domain, with their primary SMTP
// addresses and aliases taken from proxyAddresses. [Snapshot.ResolveSMTP] maps
// the internal forms Exchange uses for its own recipients — legacyExchangeDN,
// "EX:" and "X500:" addresses — to primary SMTP addresses, so permissions,
// organizers and attendees can be rewritten. [Snapshot.Lookup] selects
// mailboxes by address, glob pattern or group membership.
//
// # LDAP
//
// [Read] binds with a simple bind over ldap:// (optionally upgraded with
// StartTLS, OID 1.3.6.1.4.1.1466.20037) or ldaps://, pages its search with the
// paged results control (RFC 2696, OID 1.2.840.113556.1.4.319) and follows
// Active Directory's range retrieval of the member attribute
// ("member;range=0-1499", then "member;range=1500-*", MS-ADTS 3.1.1.3.1.3.3)
// for groups with more members than the server's MaxValRange. Simple binds
// should travel over TLS: domain controllers that require LDAP signing refuse
// them on cleartext connections.
//
// # Offline
//
// [ReadLDIF] reads the same information from an ldifde export, so an export
// can run where no domain controller is reachable.
//
// Attribute meanings follow shared/research/ews.md §5.
package directory
