package ewstest_test

import (
	"strings"
	"testing"

	"github.com/iemproject/iem/exchange/ewstest"
)

const archiveGetFolder = `<m:GetFolder><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape><m:FolderIds>` +
	`<t:DistinguishedFolderId Id="ID"/></m:FolderIds></m:GetFolder>`

func TestArchiveMailbox(t *testing.T) {
	org := ewstest.Generate(1, ewstest.OrgOptions{Archives: 1})
	if !org.HasArchive("alice@example.com") || org.HasArchive("bob@example.com") {
		t.Fatal("want an archive for alice only")
	}
	if st := org.Stats(); st.ArchiveFolders != 4 || st.ArchiveItems != 12 {
		t.Fatalf("archive stats = %+v, want 4 folders, 12 items", st)
	}
	plain := ewstest.Generate(1, ewstest.OrgOptions{})
	if a, b := org.Stats(), plain.Stats(); a.Folders != b.Folders || a.Items != b.Items {
		t.Fatalf("archives changed the primary mailboxes: %+v vs %+v", a, b)
	}
	tests := []struct {
		name    string
		p       ewstest.Personality
		version string
		imp     string
		id      string
		status  int
		want    []string
	}{
		{"2016 archive root", ewstest.Exchange2016, "Exchange2016", aliceSmtp, "archivemsgfolderroot", 200,
			[]string{`ResponseClass="Success"`, "<t:DisplayName>Top of Information Store</t:DisplayName>", "<t:ChildFolderCount>3</t:ChildFolderCount>"}},
		{"2016 archive inbox", ewstest.Exchange2016, "Exchange2016", aliceSmtp, "archiveinbox", 200,
			[]string{`ResponseClass="Success"`, "<t:DisplayName>Inbox</t:DisplayName>", "<t:TotalCount>4</t:TotalCount>"}},
		{"2016 no archive", ewstest.Exchange2016, "Exchange2016", `<t:SmtpAddress>bob@example.com</t:SmtpAddress>`, "archivemsgfolderroot", 200,
			[]string{`ResponseClass="Error"`, "ErrorFolderNotFound"}},
		{"2010 archive deleted items", ewstest.Exchange2010SP2, "Exchange2010_SP2", aliceSmtp, "archivedeleteditems", 200,
			[]string{`ResponseClass="Success"`, "<t:DisplayName>Deleted Items</t:DisplayName>"}},
		{"2010 archiveinbox not in schema", ewstest.Exchange2010SP2, "Exchange2010_SP2", aliceSmtp, "archiveinbox", 500,
			[]string{"a:ErrorSchemaValidation", "archiveinbox&#39; is invalid"}},
		{"2010 request version 2010 RTM", ewstest.Exchange2010SP2, "Exchange2010", aliceSmtp, "archivemsgfolderroot", 500,
			[]string{"a:ErrorSchemaValidation"}},
		{"2007 archive root", ewstest.Exchange2007SP1, "Exchange2007_SP1", alicePrimary, "archivemsgfolderroot", 500,
			[]string{"a:ErrorSchemaValidation", "archivemsgfolderroot&#39; is invalid", "DistinguishedFolderIdNameType"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := ewstest.Start(ewstest.Generate(1, ewstest.OrgOptions{Archives: 1}), &ewstest.Options{Personality: tt.p})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			anchor := "" // 2013+ want X-AnchorMailbox [V ews.md §2.1]
			if tt.p >= ewstest.Exchange2013 {
				anchor = tt.imp[strings.Index(tt.imp, ">")+1 : strings.LastIndex(tt.imp, "<")]
			}
			status, _, body := post(t, srv, call{version: tt.version, imp: tt.imp, anchor: anchor,
				body: strings.Replace(archiveGetFolder, "ID", tt.id, 1)})
			if status != tt.status {
				t.Fatalf("status = %d, want %d\n%s", status, tt.status, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("response lacks %q\n%s", w, body)
				}
			}
		})
	}
}

// The archive's hierarchy syncs from archivemsgfolderroot and holds only
// archive folders; the primary hierarchy holds none of them.
func TestArchiveHierarchy(t *testing.T) {
	srv, err := ewstest.Start(ewstest.Generate(1, ewstest.OrgOptions{Archives: 1}), &ewstest.Options{Personality: ewstest.Exchange2016})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	sync := func(root string) string {
		_, _, body := post(t, srv, call{version: "Exchange2016", imp: aliceSmtp, anchor: "alice@example.com",
			body: `<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape><m:SyncFolderId><t:DistinguishedFolderId Id="` +
				root + `"/></m:SyncFolderId></m:SyncFolderHierarchy>`})
		return body
	}
	arch, prim := sync("archivemsgfolderroot"), sync("msgfolderroot")
	if n := strings.Count(arch, "<t:Create>"); n != 4 {
		t.Errorf("archive hierarchy has %d folders, want 4\n%s", n, arch)
	}
	for _, name := range []string{"<t:DisplayName>2019</t:DisplayName>", "<t:DisplayName>Projekte alt</t:DisplayName>"} {
		if !strings.Contains(arch, name) || strings.Contains(prim, name) {
			t.Errorf("%s: in archive %v, in primary %v", name, strings.Contains(arch, name), strings.Contains(prim, name))
		}
	}
}
