// Package export is the export engine: it drives any [Source] (a mail
// system that can list its mailboxes, report the changes of a folder since
// a delta marker and hand over item bodies) into an iem archive, the
// format of spec/SPEC.md, through an [archive.RoundWriter].
//
// One call of [Run] writes one round: the directory (one entry per account
// and group, when changed), then each mailbox, a few at a time (jobs):
// its folder hierarchy since the stored hierarchy marker, then each
// folder's item changes since the folder's marker, then the new markers.
// A folder's marker is written after its items and made durable
// (a checkpoint), so a round that is killed resumes from the last
// checkpoint and fetches again only what it had not yet archived. Items
// already in the archive with the same version are counted unchanged and
// not fetched (dedup by ID and version); items received before the start
// year are filtered; what a Source cannot read is counted per reason, and a
// mailbox whose Source fails is reported and the others go on.
//
// Public folders are exported when the Source also implements
// [PublicSource]. Sharding (--shard i/n) is [Shard].
//
// The engine knows no mail protocol: the delta markers are opaque bytes
// the Source owns (for EWS, the SyncFolderHierarchy and SyncFolderItems
// states). docs/ARCHITECTURE.md shows where it sits and how to add a Source.
package export
