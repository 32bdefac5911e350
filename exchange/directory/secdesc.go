package directory

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// This file reads Windows security descriptors in their binary,
// self-relative form ([MS-DTYP] 2.4.6 SECURITY_DESCRIPTOR, 2.4.5 ACL,
// 2.4.4 ACE, 2.4.2 SID), as AD returns nTSecurityDescriptor and
// msExchMailboxSecurityDescriptor over LDAP and ldifde writes them (base64)
// into LDIF. Only what iem needs is decoded: the control word, the DACL's
// access-allowed and access-denied ACEs (plain and object forms) and their
// SIDs. SACLs, owner and group are skipped.

// ErrSecurityDescriptor reports a security descriptor that does not decode.
var ErrSecurityDescriptor = errors.New("directory: malformed security descriptor")

// ACE types [MS-DTYP 2.4.4.1 ACE_HEADER].
const (
	AceAccessAllowed       = 0x00
	AceAccessDenied        = 0x01
	AceAccessAllowedObject = 0x05
	AceAccessDeniedObject  = 0x06
)

// ACE flags [MS-DTYP 2.4.4.1].
const (
	AceInherited   = 0x10 // INHERITED_ACE
	AceInheritOnly = 0x08 // INHERIT_ONLY_ACE: does not apply to the object itself
)

// Control bits [MS-DTYP 2.4.6].
const (
	sdDACLPresent  = 0x0004
	sdSelfRelative = 0x8000
)

// Object ACE flags [MS-DTYP 2.4.4.3 ACCESS_ALLOWED_OBJECT_ACE].
const (
	aceObjectTypePresent          = 0x1
	aceInheritedObjectTypePresent = 0x2
)

// An ACE is one access-control entry of a DACL.
type ACE struct {
	Type  byte
	Flags byte
	Mask  uint32
	// ObjectType is the object ACE's ObjectType GUID in AD's string form
	// (an extended right, a property or a property set); empty when absent.
	ObjectType string
	SID        string // S-1-... form
}

// Allowed reports an access-allowed ACE (plain or object).
func (a ACE) Allowed() bool { return a.Type == AceAccessAllowed || a.Type == AceAccessAllowedObject }

// Denied reports an access-denied ACE (plain or object).
func (a ACE) Denied() bool { return a.Type == AceAccessDenied || a.Type == AceAccessDeniedObject }

// A SecurityDescriptor is the decoded part of a binary security descriptor.
type SecurityDescriptor struct {
	Revision byte
	Control  uint16
	// Owner and Group are the owner and primary-group SIDs (S-1-... form;
	// empty when the descriptor has none).
	Owner, Group string
	// DACL holds the DACL's ACEs in order; ACE types iem does not read
	// (audit, alarm, callback, mandatory label) are left out.
	DACL []ACE
}

// ParseSecurityDescriptor decodes a self-relative security descriptor.
func ParseSecurityDescriptor(b []byte) (*SecurityDescriptor, error) {
	if len(b) < 20 {
		return nil, fmt.Errorf("%w: %d bytes, header needs 20", ErrSecurityDescriptor, len(b))
	}
	sd := &SecurityDescriptor{Revision: b[0], Control: binary.LittleEndian.Uint16(b[2:4])}
	if sd.Revision != 1 {
		return nil, fmt.Errorf("%w: revision %d", ErrSecurityDescriptor, sd.Revision)
	}
	if sd.Control&sdSelfRelative == 0 {
		return nil, fmt.Errorf("%w: not self-relative", ErrSecurityDescriptor)
	}
	for i, f := range []*string{&sd.Owner, &sd.Group} {
		if o := binary.LittleEndian.Uint32(b[4+4*i:]); o != 0 {
			if uint64(o) >= uint64(len(b)) {
				return nil, fmt.Errorf("%w: owner/group offset %d beyond %d bytes", ErrSecurityDescriptor, o, len(b))
			}
			sid, err := parseSID(b[o:])
			if err != nil {
				return nil, err
			}
			*f = sid
		}
	}
	off := binary.LittleEndian.Uint32(b[16:20])
	if sd.Control&sdDACLPresent == 0 || off == 0 {
		return sd, nil // no DACL (a NULL DACL grants everyone everything: nothing to read)
	}
	if uint64(off)+8 > uint64(len(b)) {
		return nil, fmt.Errorf("%w: DACL offset %d beyond %d bytes", ErrSecurityDescriptor, off, len(b))
	}
	acl := b[off:]
	size := int(binary.LittleEndian.Uint16(acl[2:4]))
	count := int(binary.LittleEndian.Uint16(acl[4:6]))
	if size < 8 || size > len(acl) {
		return nil, fmt.Errorf("%w: DACL size %d", ErrSecurityDescriptor, size)
	}
	acl = acl[:size]
	p := 8
	for i := 0; i < count; i++ {
		if p+4 > len(acl) {
			return nil, fmt.Errorf("%w: ACE %d beyond the DACL", ErrSecurityDescriptor, i)
		}
		typ, flags := acl[p], acl[p+1]
		n := int(binary.LittleEndian.Uint16(acl[p+2 : p+4]))
		if n < 4 || p+n > len(acl) {
			return nil, fmt.Errorf("%w: ACE %d size %d", ErrSecurityDescriptor, i, n)
		}
		body := acl[p+4 : p+n]
		p += n
		switch typ {
		case AceAccessAllowed, AceAccessDenied:
			if len(body) < 4 {
				return nil, fmt.Errorf("%w: ACE %d too short", ErrSecurityDescriptor, i)
			}
			sid, err := parseSID(body[4:])
			if err != nil {
				return nil, fmt.Errorf("ACE %d: %w", i, err)
			}
			sd.DACL = append(sd.DACL, ACE{Type: typ, Flags: flags, Mask: binary.LittleEndian.Uint32(body), SID: sid})
		case AceAccessAllowedObject, AceAccessDeniedObject:
			if len(body) < 8 {
				return nil, fmt.Errorf("%w: object ACE %d too short", ErrSecurityDescriptor, i)
			}
			a := ACE{Type: typ, Flags: flags, Mask: binary.LittleEndian.Uint32(body)}
			of := binary.LittleEndian.Uint32(body[4:8])
			q := 8
			if of&aceObjectTypePresent != 0 {
				if q+16 > len(body) {
					return nil, fmt.Errorf("%w: object ACE %d: ObjectType cut", ErrSecurityDescriptor, i)
				}
				a.ObjectType = formatGUID(string(body[q : q+16]))
				q += 16
			}
			if of&aceInheritedObjectTypePresent != 0 {
				if q+16 > len(body) {
					return nil, fmt.Errorf("%w: object ACE %d: InheritedObjectType cut", ErrSecurityDescriptor, i)
				}
				q += 16
			}
			sid, err := parseSID(body[q:])
			if err != nil {
				return nil, fmt.Errorf("ACE %d: %w", i, err)
			}
			a.SID = sid
			sd.DACL = append(sd.DACL, a)
		}
	}
	return sd, nil
}

// parseSID decodes a binary SID [MS-DTYP 2.4.2.2]: revision 1, the count
// of sub-authorities, a 48-bit big-endian identifier authority, then the
// sub-authorities little-endian. Trailing bytes are allowed (an ACE may be
// padded).
func parseSID(b []byte) (string, error) {
	if len(b) < 8 {
		return "", fmt.Errorf("%w: SID of %d bytes", ErrSecurityDescriptor, len(b))
	}
	if b[0] != 1 {
		return "", fmt.Errorf("%w: SID revision %d", ErrSecurityDescriptor, b[0])
	}
	n := int(b[1])
	if n > 15 || len(b) < 8+4*n {
		return "", fmt.Errorf("%w: SID with %d sub-authorities in %d bytes", ErrSecurityDescriptor, n, len(b))
	}
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	var s strings.Builder
	s.WriteString("S-1-")
	s.WriteString(strconv.FormatUint(auth, 10))
	for i := 0; i < n; i++ {
		s.WriteByte('-')
		s.WriteString(strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b[8+4*i:])), 10))
	}
	return s.String(), nil
}

// FormatSID renders a binary objectSid value in S-1-... form; "" when it
// does not decode.
func FormatSID(b string) string {
	s, err := parseSID([]byte(b))
	if err != nil || len(b) != 8+4*int(b[1]) {
		return ""
	}
	return s
}

// Rights iem reads from the two descriptors.
const (
	// MailboxRightFullAccess is the FullAccess bit of an ACE in
	// msExchMailboxSecurityDescriptor: Exchange reuses ADS_RIGHT_DS_CREATE_CHILD
	// (0x1, "CC" in SDDL) for it. Exchange's own default mailbox descriptor,
	// "O:PSG:PSD:(A;CI;CCRC;;;PS)", grants SELF FullAccess and ReadPermission
	// this way [NET github bill-long/PowershellScripts Reset-MailboxSD.ps1;
	// the value 0x1 is also the task brief's; INFERRED from both, no
	// Microsoft enum page was found in the search corpora].
	MailboxRightFullAccess = 0x1
	// RightControlAccess is ADS_RIGHT_DS_CONTROL_ACCESS (0x100, "CR"): with
	// an object ACE's ObjectType it grants one extended right [NET
	// ADS_RIGHTS_ENUM constants, e.g. "Const ADS_RIGHT_DS_CONTROL_ACCESS = &h100"
	// next to SEND_AS in a public ADSI sample].
	RightControlAccess = 0x100
	// ExtendedRightSendAs is the Send-As extended right (rightsGuid of
	// CN=Send-As,CN=Extended-Rights). Verified in several public sources:
	// Windows' default user descriptor "(OA;;CR;ab721a54-1e2f-11d0-9819-
	// 00aa0040529b;;PS)" (Samba's and ReactOS' schema copies) and ADSI/
	// PowerShell samples naming it SEND_AS / Send-As.
	ExtendedRightSendAs = "ab721a54-1e2f-11d0-9819-00aa0040529b"
)

// Well-known SIDs that are never grantees worth migrating: SELF (the
// mailbox's own account), SYSTEM, and Everyone's implicit entries.
var ignoredSIDs = map[string]bool{
	"S-1-5-10": true, // NT AUTHORITY\SELF (PS)
	"S-1-5-18": true, // NT AUTHORITY\SYSTEM
}

// explicitGrantees returns the SIDs granted want (every bit of it) by
// explicit, effective ACEs of sd: inherited ACEs (the mailbox database's
// or the OU's grants to administrators) and inherit-only ones are skipped,
// as Get-MailboxPermission's IsInherited filter does, and an explicit deny
// of the same right to the same SID removes it. objectType, when not
// empty, restricts to object ACEs for that extended right: a plain ACE
// with the bit (full control) is an administrator's, not a Send As grant.
func (sd *SecurityDescriptor) explicitGrantees(want uint32, objectType string) []string {
	denied := map[string]bool{}
	for _, a := range sd.DACL {
		if a.Flags&(AceInherited|AceInheritOnly) == 0 && a.Denied() && a.Mask&want == want &&
			(a.ObjectType == "" || strings.EqualFold(a.ObjectType, objectType)) {
			denied[a.SID] = true
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, a := range sd.DACL {
		if a.Flags&(AceInherited|AceInheritOnly) != 0 || !a.Allowed() || a.Mask&want != want {
			continue
		}
		if objectType != "" && !strings.EqualFold(a.ObjectType, objectType) {
			continue
		}
		if denied[a.SID] || ignoredSIDs[a.SID] || seen[a.SID] {
			continue
		}
		seen[a.SID] = true
		out = append(out, a.SID)
	}
	return out
}

// Marshal encodes sd in the self-relative binary form ParseSecurityDescriptor
// reads: the 20-byte header, then the DACL (revision 4 when it holds
// object ACEs, else 2 [MS-DTYP 2.4.5]), then the owner and group SIDs when
// set, no SACL (what AD returns under SD_FLAGS 7; the header's offsets
// place each part, [MS-DTYP 2.4.6] fixes no order). It is
// what the EWS emulator writes into its LDIF and what the tests build
// descriptors with; an ACE whose SID or ObjectType does not encode is an
// error.
func (sd *SecurityDescriptor) Marshal() ([]byte, error) {
	aclRev := byte(2)
	var aces []byte
	for i, a := range sd.DACL {
		sid, err := EncodeSID(a.SID)
		if err != nil {
			return nil, fmt.Errorf("ACE %d: %w", i, err)
		}
		body := binary.LittleEndian.AppendUint32(nil, a.Mask)
		if a.Type == AceAccessAllowedObject || a.Type == AceAccessDeniedObject {
			aclRev = 4
			var flags uint32
			var guid []byte
			if a.ObjectType != "" {
				g, err := parseGUID(a.ObjectType)
				if err != nil {
					return nil, fmt.Errorf("ACE %d: %w", i, err)
				}
				flags, guid = aceObjectTypePresent, g
			}
			body = binary.LittleEndian.AppendUint32(body, flags)
			body = append(body, guid...)
		}
		body = append(body, sid...)
		aces = append(aces, a.Type, a.Flags)
		aces = binary.LittleEndian.AppendUint16(aces, uint16(4+len(body)))
		aces = append(aces, body...)
	}
	out := make([]byte, 20, 20+8+len(aces))
	out[0] = 1
	binary.LittleEndian.PutUint16(out[2:], sd.Control|sdSelfRelative|sdDACLPresent)
	binary.LittleEndian.PutUint32(out[16:], 20)
	out = append(out, aclRev, 0)
	out = binary.LittleEndian.AppendUint16(out, uint16(8+len(aces)))
	out = binary.LittleEndian.AppendUint16(out, uint16(len(sd.DACL)))
	out = append(out, 0, 0)
	out = append(out, aces...)
	for i, s := range []string{sd.Owner, sd.Group} {
		if s == "" {
			continue
		}
		sid, err := EncodeSID(s)
		if err != nil {
			return nil, fmt.Errorf("owner/group: %w", err)
		}
		binary.LittleEndian.PutUint32(out[4+4*i:], uint32(len(out)))
		out = append(out, sid...)
	}
	return out, nil
}

// EncodeSID is the binary form of an S-1-... SID [MS-DTYP 2.4.2.2].
func EncodeSID(s string) ([]byte, error) {
	parts := strings.Split(s, "-")
	if len(parts) < 3 || parts[0] != "S" || parts[1] != "1" || len(parts)-3 > 15 {
		return nil, fmt.Errorf("%w: SID %q", ErrSecurityDescriptor, s)
	}
	auth, err := strconv.ParseUint(parts[2], 10, 48)
	if err != nil {
		return nil, fmt.Errorf("%w: SID %q", ErrSecurityDescriptor, s)
	}
	b := []byte{1, byte(len(parts) - 3)}
	for i := 5; i >= 0; i-- {
		b = append(b, byte(auth>>(8*i)))
	}
	for _, p := range parts[3:] {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%w: SID %q", ErrSecurityDescriptor, s)
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	return b, nil
}

// parseGUID is the inverse of formatGUID: AD's string form to the 16
// bytes (first three groups little-endian).
func parseGUID(s string) ([]byte, error) {
	h := strings.ReplaceAll(s, "-", "")
	if len(h) != 32 || len(s) != 36 {
		return nil, fmt.Errorf("%w: GUID %q", ErrSecurityDescriptor, s)
	}
	raw := make([]byte, 16)
	for i := range raw {
		v, err := strconv.ParseUint(h[2*i:2*i+2], 16, 8)
		if err != nil {
			return nil, fmt.Errorf("%w: GUID %q", ErrSecurityDescriptor, s)
		}
		raw[i] = byte(v)
	}
	// Data1, Data2 and Data3 are stored little-endian.
	raw[0], raw[1], raw[2], raw[3] = raw[3], raw[2], raw[1], raw[0]
	raw[4], raw[5] = raw[5], raw[4]
	raw[6], raw[7] = raw[7], raw[6]
	return raw, nil
}
