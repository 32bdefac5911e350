// Package pstwrite is meant to become a writer of small ANSI (and Unicode) PST
// files, used only by the tests of package pst (issue 18). It has no code yet: the
// session that started it ran out of time after it had collected the layout below.
// Nothing here has been checked against readpst yet.
//
// The plan, from [MS-PST] and what pst/ndb.go and pst/ltp.go check:
//   - Header (2.2.2.6): ANSI wVer 14, ROOT at 164 (ibFileEof 168, NBT BREF 184,
//     BBT BREF 192, fAMapValid 200), bSentinel 0x80 at 460, bCryptMethod 461,
//     dwCRCPartial = CRC (5.3) of the 471 bytes from offset 8. Unicode: wVer 23,
//     ROOT at 180 (NBT 216, BBT 232), bCryptMethod 513, dwCRCFull at 524 over 516
//     bytes from offset 8.
//   - Blocks (2.2.2.8): data <= 8,176 bytes, trailer (ANSI cb, wSig, bid u32,
//     dwCRC; Unicode cb, wSig, dwCRC, bid u64) at the end of a 64-byte multiple;
//     wSig per 5.5 from the file offset and bid; XBLOCK (btype 1, cLevel 1) for
//     longer values; SLBLOCK (btype 2, ANSI 4-byte header, 12-byte entries).
//   - Pages (2.2.2.7): 512 bytes; ANSI cEnt/cEntMax/cbEnt/cLevel at 496..499 and
//     trailer at 500 (ptype twice, wSig, bid, CRC of the first 500 bytes); BBT and
//     NBT built bottom-up from sorted entries (ANSI leaf maxima 41 and 31).
//   - LTP (2.3): one-block heaps (HNHDR, page map), values over 3,580 bytes or
//     not fitting into subnodes; BTH with index levels when a leaf passes 3,580
//     bytes; PC (keys 2, data 6); TC with row id/version at 0 and 4, CEB bits
//     most significant first, row matrix in a subnode when large.
//   - Messaging (2.4): store 0x21 with PidTagIpmSubtreeEntryId (24 bytes, nid at
//     20), root folder 0x122 (nidParent itself), IPM subtree below it; readpst
//     builds the tree from NBT nidParent, pst from the hierarchy tables, so both
//     must agree.
package pstwrite
