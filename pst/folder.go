package pst

// This file is the messaging layer's folder tree ([MS-PST] 2.4.4).

// Property ids used by the folder tree ([MS-OXPROPS]).
const (
	PidDisplayName    = 0x3001
	PidContentCount   = 0x3602
	PidUnreadCount    = 0x3603
	PidSubfolders     = 0x360A
	PidContainerClass = 0x3613
	PidLtpRowID       = 0x67F2
	PidSubject        = 0x0037
	PidMessageClass   = 0x001A
	PidMessageSize    = 0x0E08
)

// Folder is one folder of the tree.
type Folder struct {
	NID      uint32
	Name     string
	Class    string // PidTagContainerClass, "" for mail folders
	Count    int    // PidTagContentCount
	Props    Props
	Children []*Folder
}

// tableNID is the nid of a folder's hierarchy, contents or FAI contents table ([MS-PST] 2.4.4.1).
func tableNID(folder uint32, typ uint32) uint32 { return folder&^0x1F | typ }

// Folders reads the folder tree below the root folder (NID 0x122). Folders that cannot be
// read are reported to bad and left out; the rest of the tree is still returned.
func (f *File) Folders(bad func(error)) (*Folder, error) {
	root, err := f.folder(NIDRootFolder)
	if err != nil {
		return nil, err
	}
	seen := map[uint32]bool{NIDRootFolder: true}
	var walk func(fo *Folder, depth int)
	walk = func(fo *Folder, depth int) {
		if depth > 64 {
			bad(errf("folder", fo.NID, 0, -1, "folder tree deeper than 64"))
			return
		}
		n, err := f.Node(tableNID(fo.NID, nidTypeHierarchyTable))
		if err != nil {
			// Search folders and some leaf folders have no hierarchy table.
			if sub, ok := fo.Props.Get(PidSubfolders); ok && sub.Int() != 0 {
				bad(err)
			}
			return
		}
		rows, err := f.Table(n)
		if err != nil {
			bad(err)
		}
		for _, r := range rows {
			id, ok := r.Get(PidLtpRowID)
			if !ok || seen[uint32(id.Int())] {
				continue
			}
			nid := uint32(id.Int())
			seen[nid] = true
			c, err := f.folder(nid)
			if err != nil {
				bad(err)
				continue
			}
			fo.Children = append(fo.Children, c)
			walk(c, depth+1)
		}
	}
	walk(root, 0)
	return root, nil
}

// NodePC reads the property context of the node nid of the node B-tree. Properties
// that could be read are returned with the error of those that could not.
func (f *File) NodePC(nid uint32) (Props, error) {
	n, err := f.Node(nid)
	if err != nil {
		return nil, err
	}
	return f.PC(n)
}

func (f *File) folder(nid uint32) (*Folder, error) {
	ps, err := f.NodePC(nid)
	if ps == nil {
		return nil, err
	}
	c, _ := ps.Get(PidContentCount)
	return &Folder{NID: nid, Name: ps.Str(PidDisplayName), Class: ps.Str(PidContainerClass), Count: int(c.Int()), Props: ps}, nil
}

// Messages reads the contents table of folder nid: one row per message.
func (f *File) Messages(nid uint32) ([]Props, error) {
	n, err := f.Node(tableNID(nid, nidTypeContentsTable))
	if err != nil {
		return nil, err
	}
	return f.Table(n)
}
