// Package pstwrite writes small ANSI PST files (wVer 14, the format ExMerge
// writes), for the tests of package pst only (issue 18): no real ExMerge export is
// public, so the bigger and the damaged ANSI files the reader is tested on are
// written here. Written from [MS-PST]; no cgo.
//
// What it writes ([MS-PST] sections in the code):
//   - NDB (ndb.go): the ANSI HEADER (2.2.2.6; dwCRCPartial over the 471 bytes from
//     offset 8, bCryptMethod NONE, fAMapValid 0: no allocation map is written), data
//     blocks with ANSI BLOCKTRAILERs (2.2.2.8.1, wSig per 5.5, CRC per 5.3), XBLOCK
//     data trees for values over 8,176 bytes (2.2.2.8.3.2), SLBLOCK subnode blocks
//     (2.2.2.8.3.3.1), and the NBT and BBT built bottom-up from their sorted entries
//     (2.2.2.7.7), with as many index levels as the entries need. The pages come
//     before the blocks, so a cut through the blocks keeps both B-trees.
//   - LTP (ltp.go): heap-on-node (2.3.1) over as many blocks as it needs, BTH
//     with index levels when a leaf passes 3,580 bytes (2.3.2),
//     property contexts (2.3.3; values over 3,580 bytes in subnodes of type
//     NID_TYPE_LTP, as Outlook writes them), table contexts
//     (2.3.4) with the row index BTH (4-byte row id, 2-byte ANSI row index) and
//     the row matrix in a heap item, or in a subnode of whole-row blocks when it
//     passes 3,580 bytes.
//   - Messaging (mailbox.go): the message store 0x21 with PidTagIpmSubtreeEntryId,
//     the root folder 0x122 (its own parent), the IPM subtree, folders with their
//     hierarchy, contents and associated contents tables (NBT nidParent and the
//     hierarchy tables agree: readpst builds the tree from the first, pst from the
//     second), mail messages (subject, sender, Message-ID, transport headers, plain
//     body, delivery time, read flag) with at most one by-value attachment (the
//     attachment table, subnode 0x671, and the attachment object as a subnode).
//   - Sample (sample.go) is a mailbox of n messages in a nested tree; Truncated and
//     Corrupted (damage.go) damage it where the damage costs known messages.
//
// Limits: a value at most one XBLOCK (16 MB), a message one attachment, a
// message's subnodes one SLBLOCK.
// No Unicode files, no named-property map (0x61), no recipients table.
//
// How it was validated (the tests of this package, with Debian's readpst 0.6.76,
// `readpst -e -D -j 0 -o DIR file`, through internal/testbed.Need):
//   - one folder, one message: pst.Open reads it back; readpst writes one .eml with
//     the subject, From and Message-Id of the transport headers, Status RO (read)
//     and the plain body;
//   - Sample(1000), 25 folders three deep, both B-trees with index levels: pst reads
//     every message and attachment back byte for byte; readpst exports all 1,000 in
//     the right folders with subject, Status, body (bodies of one heap item, of a
//     subnode and of an XBLOCK) and the 20 attachments byte for byte (one of 20,000
//     bytes in an XBLOCK);
//   - Flat(1000), one folder of 1,000 messages (contents table heap of several
//     blocks, row matrix subnode, row index with an index level): pst lists every
//     row; readpst exports all 1,000 (it walks the NBT, not the contents table);
//   - Truncated(300, 10): readpst exports exactly the 290 messages before the cut;
//     Corrupted(300): readpst skips the message with the zeroed heap signature and
//     exports the attachment with the broken block trailer whole (it checks no
//     trailers), where package pst archives that message in part
//     (pst/written_test.go).
package pstwrite
