package pst

// Report is what Inspect finds in a file: the first thing to run on a PST of unknown origin.
type Report struct {
	Format  Format
	Version uint16
	Client  string // "SM" PST, "SO" OST
	Crypt   Crypt
	// Password: the store holds a PST password (PidTagPstPassword, see File.Password).
	Password bool
	Root     *FolderReport
	Items    int      // messages listed in all contents tables
	Problems []string // what could not be read, each naming the node or block and why
}

// FolderReport is one folder: its name, the items its contents table lists, their total size.
type FolderReport struct {
	Name     string
	NID      uint32
	Items    int   // rows of the contents table
	Count    int   // PidTagContentCount as stored
	Size     int64 // sum of PidTagMessageSize over the rows
	Search   bool  // a search folder: its items are not counted
	Children []*FolderReport
}

// Inspect opens path and reads its header and folder tree. An error means the file
// could not be read at all; damage below the header is listed in Report.Problems.
func Inspect(path string) (*Report, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Inspect(), nil
}

// Inspect reports on an open file.
func (f *File) Inspect() *Report {
	r := &Report{Format: f.Format, Version: f.Version, Client: f.Client, Crypt: f.Crypt, Password: f.Password()}
	bad := func(err error) { r.Problems = append(r.Problems, err.Error()) }
	root, err := f.Folders(bad)
	if err != nil {
		bad(err)
		return r
	}
	var walk func(fo *Folder) *FolderReport
	walk = func(fo *Folder) *FolderReport {
		fr := &FolderReport{Name: fo.Name, NID: fo.NID, Count: fo.Count, Search: fo.NID&0x1F == nidTypeSearchFolder}
		if fr.Search { // a search folder's items live in other folders
			for _, c := range fo.Children {
				fr.Children = append(fr.Children, walk(c))
			}
			return fr
		}
		rows, err := f.Messages(fo.NID)
		if err != nil && fo.Count > 0 {
			bad(err)
		}
		fr.Items = len(rows)
		r.Items += len(rows)
		for _, row := range rows {
			if s, ok := row.Get(PidMessageSize); ok {
				fr.Size += s.Int()
			}
		}
		for _, c := range fo.Children {
			fr.Children = append(fr.Children, walk(c))
		}
		return fr
	}
	r.Root = walk(root)
	if f.CRCErrors > 0 {
		r.Problems = append(r.Problems, errf("file", 0, 0, -1, "%d pages or blocks failed their CRC check (read anyway)", f.CRCErrors).Error())
	}
	return r
}

// pidPstPassword is PidTagPstPassword on the message store ([MS-PST] 2.4.3.1 [I]):
// the CRC-32 of the password Outlook asks for, 0 when none is set.
const pidPstPassword = 0x67FF

// Password tells whether the PST has a password. The password is only a check value
// Outlook compares what the user types with; the data is not encrypted with it (the
// encodings are bCryptMethod's, keyless or keyed by the block id; research/pst.md §1,
// §5 "password CRC" on the store), so the file is read and exported anyway, as readpst
// does [I: readpst reads such files without asking; not checked on a protected file
// here]. OST files are left out: the Outlook.com OSTs here store 0xFFFFFFFF, which
// Outlook shows no password for [I].
func (f *File) Password() bool {
	if f.Client == "SO" {
		return false
	}
	ps, _ := f.NodePC(NIDMessageStore)
	p, ok := ps.Get(pidPstPassword)
	return ok && p.Int() != 0
}
