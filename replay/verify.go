package replay

import "github.com/iemproject/iem/archive"

// Inventory is what an archive folder holds (iem-import verify).
type Inventory struct {
	Entries int
	Bytes   int64 // body bytes stored (de-duplicated entries aside)
	Kinds   map[archive.Kind]int
}

// Verify checks every checksum and the round chain of an archive folder,
// then counts its entries.
func Verify(f *archive.Folder) (*Inventory, error) {
	if err := f.Verify(); err != nil {
		return nil, err
	}
	inv := &Inventory{Kinds: map[archive.Kind]int{}}
	f.Walk(func(e *archive.Entry) error {
		inv.Kinds[e.Kind]++
		inv.Entries++
		if e.Ref == nil {
			inv.Bytes += e.Size
		}
		return nil
	})
	return inv, nil
}
