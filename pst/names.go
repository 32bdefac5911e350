package pst

import (
	"encoding/binary"
	"fmt"
)

// NamedProp is one entry of the named-property map ([MS-PST] 2.4.7): property id
// 0x8000 + wPropIdx names the property (GUID, LID) or (GUID, Name).
type NamedProp struct {
	ID   uint16
	GUID [16]byte // PS_MAPI and PS_PUBLIC_STRINGS are returned as their GUIDs
	LID  uint32   // numeric name, when Name is ""
	Name string   // string name
}

// The two property sets with a fixed wGuid ([MS-PST] 2.4.7.1).
var (
	psMAPI          = [16]byte{0x28, 0x03, 0x02, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46}
	psPublicStrings = [16]byte{0x29, 0x03, 0x02, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46}
)

// NamedProps reads the named-property map, NID 0x61 ([MS-PST] 2.4.7): the GUID stream
// (0x0002), the entry stream (0x0003) and the string stream (0x0004).
func (f *File) NamedProps() (map[uint16]NamedProp, error) {
	ps, err := f.NodePC(NIDNameToIDMap)
	if ps == nil {
		return nil, err
	}
	guids, _ := ps.Get(0x0002)
	entries, _ := ps.Get(0x0003)
	strs, _ := ps.Get(0x0004)
	le := binary.LittleEndian
	out := map[uint16]NamedProp{}
	for i := 0; i+8 <= len(entries.Value); i += 8 {
		e := entries.Value[i:]
		id, kind, idx := le.Uint32(e), le.Uint16(e[4:]), le.Uint16(e[6:])
		np := NamedProp{ID: 0x8000 + idx}
		switch g := int(kind >> 1); g {
		case 1:
			np.GUID = psMAPI
		case 2:
			np.GUID = psPublicStrings
		default:
			if g < 3 || 16*(g-2) > len(guids.Value) {
				err = errf("names", NIDNameToIDMap, 0, -1, "entry %d names GUID %d of %d", i/8, g, len(guids.Value)/16)
				continue
			}
			copy(np.GUID[:], guids.Value[16*(g-3):])
		}
		if kind&1 == 0 {
			np.LID = id
		} else {
			if int64(id)+4 > int64(len(strs.Value)) {
				err = errf("names", NIDNameToIDMap, 0, -1, "entry %d: string at %d outside the %d-byte stream", i/8, id, len(strs.Value))
				continue
			}
			l := int64(le.Uint32(strs.Value[id:]))
			if int64(id)+4+l > int64(len(strs.Value)) {
				err = errf("names", NIDNameToIDMap, 0, -1, "entry %d: string of %d bytes outside the stream", i/8, l)
				continue
			}
			np.Name = utf16le(strs.Value[id+4 : int64(id)+4+l])
		}
		out[np.ID] = np
	}
	return out, err
}

// String formats a named property as GUID/LID or GUID/Name.
func (np NamedProp) String() string {
	if np.Name != "" {
		return fmt.Sprintf("%x/%q", np.GUID, np.Name)
	}
	return fmt.Sprintf("%x/0x%x", np.GUID, np.LID)
}
