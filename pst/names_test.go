package pst

import "testing"

func TestNamedProps(t *testing.T) {
	eachFile(t, func(t *testing.T, tf testFile, f *File) {
		m, err := f.NamedProps()
		if err != nil {
			t.Fatal(err)
		}
		if len(m) == 0 {
			t.Fatal("no named properties")
		}
		names := 0
		for id, np := range m {
			if id < 0x8000 || np.ID != id {
				t.Errorf("id 0x%x: %v", id, np)
			}
			if np.Name != "" {
				names++
			}
		}
		// Every Outlook store names PidNameKeywords ("Keywords" in PS_PUBLIC_STRINGS), the categories.
		found := false
		for _, np := range m {
			found = found || np.Name == "Keywords" && np.GUID == psPublicStrings
		}
		if !found {
			t.Error("PidNameKeywords not in the map")
		}
		t.Logf("%d named properties, %d by string", len(m), names)
	})
}
