package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/icewarp/dav"
	"github.com/iemproject/iem/icewarp/icewarptest"
	"github.com/iemproject/iem/internal/testbed"
)

// TestRadicaleGroupware imports contacts, a recurring event with
// exceptions and tasks into a real Radicale (testbed.md §1d), applies a
// second round that changes and deletes items, reruns and rebuilds, and
// reads every collection back: one resource per item, with the content of
// the archive. Radicale's rights are owner_only, so the importer logs in as
// the mailbox owner, and --webdav-layout puts collections under the login
// name. The IceWarp emulator answers the admin API and IMAP.
func TestRadicaleGroupware(t *testing.T) {
	r := testbed.StartRadicale(t, "erin")
	u := r.Users[0]
	iw, err := icewarptest.Start(&icewarptest.Options{AdminEmail: u.Name, AdminPassword: u.Password})
	if err != nil {
		t.Fatal(err)
	}
	defer iw.Close()
	dir := t.TempDir()
	arch := filepath.Join(dir, "archive")
	os.Mkdir(arch, 0o700)
	email := u.Name + "@example.test"
	ledger := filepath.Join(dir, "ledger")
	args := []string{"--archive", arch, "--api-url", iw.URL(), "--admin-user", u.Name, "--password-file", writeFile(t, dir, "pw", u.Password),
		"--imap-addr", iw.IMAPAddr(), "--imap-tls", "none", "--webdav-url", r.URL, "--webdav-layout", "{user}/{folder}/",
		"--ledger", ledger, "--log-level", "error", "--passwords-report", filepath.Join(dir, "pw.csv")}
	reader, err := dav.New(dav.Options{BaseURL: r.URL, Username: u.Name, Password: u.Password})
	if err != nil {
		t.Fatal(err)
	}

	type want map[string][]string // collection → bodies
	steps := []struct {
		name  string
		round func(*round)
		prep  func(t *testing.T)
		args  []string
		sum   totals
		want  want
	}{
		{name: "round 1", round: func(r *round) {
			r.mailbox(email)
			r.folder(email, folder{id: "contacts", name: "Contacts", class: "IPF.Contact", dist: "contacts"})
			r.folder(email, folder{id: "calendar", name: "Calendar", class: "IPF.Appointment", dist: "calendar"})
			r.folder(email, folder{id: "tasks", name: "Tasks", class: "IPF.Task", dist: "tasks"})
			r.item(archive.KindContact, email, "contacts", "c1", contactV1)
			r.item(archive.KindEvent, email, "calendar", "ev1", eventV1)
			r.item(archive.KindTask, email, "tasks", "t1", taskV1)
			r.item(archive.KindTask, email, "tasks", "t2", taskV2)
		}, sum: totals{Appended: 4},
			want: want{"Contacts": {contactV1}, "Calendar": {eventV1}, "Tasks": {taskV1, taskV2}}},
		{name: "rerun", sum: totals{Unchanged: 4},
			want: want{"Contacts": {contactV1}, "Calendar": {eventV1}, "Tasks": {taskV1, taskV2}}},
		{name: "round 2: changed contact and series, deleted task", round: func(r *round) {
			r.item(archive.KindContact, email, "contacts", "c1", contactV2)
			r.item(archive.KindEvent, email, "calendar", "ev1", eventV2)
			r.Tombstone(email, "tasks", "t1")
		}, sum: totals{Updated: 2, Unchanged: 1, Deleted: 1},
			want: want{"Contacts": {contactV2}, "Calendar": {eventV2}, "Tasks": {taskV2}}},
		{name: "rebuild without ledger: re-PUT, no duplicates", prep: func(t *testing.T) { os.Remove(ledger) },
			args: []string{"--rebuild"}, sum: totals{Appended: 3},
			want: want{"Contacts": {contactV2}, "Calendar": {eventV2}, "Tasks": {taskV2}}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.round != nil {
				writeRound(t, arch, st.round)
			}
			if st.prep != nil {
				st.prep(t)
			}
			sum, out, err := runIn(t, append(slices.Clone(args), st.args...)...)
			if err != nil {
				t.Fatalf("run: %v\n%s\n%s", err, out, tail(r.Log(), 2000))
			}
			got := sum.total()
			got.InArchive, got.Permissions = 0, 0
			if got != st.sum {
				t.Errorf("summary %+v, want %+v\n%s", got, st.sum, out)
			}
			checkIn(t, args...)
			ctx := context.Background()
			for coll, bodies := range st.want {
				res, err := reader.List(ctx, u.Name, coll)
				if err != nil {
					t.Fatalf("list %s: %v", coll, err)
				}
				if len(res) != len(bodies) {
					t.Errorf("%s holds %d resources, want %d: %v", coll, len(res), len(bodies), res)
					continue
				}
				// Match by content: each wanted body once.
				var gotSem []string
				for _, x := range res {
					b, _, err := reader.Get(ctx, u.Name, coll, x.Name)
					if err != nil {
						t.Fatal(err)
					}
					gotSem = append(gotSem, joined(semantic(t, b)))
				}
				var wantSem []string
				for _, b := range bodies {
					wantSem = append(wantSem, joined(semantic(t, []byte(b))))
				}
				slices.Sort(gotSem)
				slices.Sort(wantSem)
				if !slices.Equal(gotSem, wantSem) {
					t.Errorf("%s content:\n got %q\nwant %q", coll, gotSem, wantSem)
				}
			}
		})
	}
}

func joined(s []string) string {
	out := ""
	for _, x := range s {
		out += x + "\n"
	}
	return out
}
