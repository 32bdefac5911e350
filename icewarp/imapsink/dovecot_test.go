package imapsink

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/iemproject/iem/internal/retry"
	"github.com/iemproject/iem/internal/syncbuf"
	"github.com/iemproject/iem/internal/testbed"
)

// fastRetry keeps tests quick: no real sleeping between attempts.
var fastRetry = retry.Policy{Attempts: 5, Sleep: func(context.Context, time.Duration) error { return nil }}

func dial(t testing.TB, d *testbed.Dovecot, addr, user string, conns int) *Mailbox {
	t.Helper()
	return dialMulti(t, d, addr, user, conns, true)
}

// dialMode dials with AppendBatch sending through go-imap ("go-imap"), the
// raw path one message per command ("literal+") or MULTIAPPEND groups
// ("multiappend").
func dialMode(t testing.TB, d *testbed.Dovecot, addr, user string, conns int, mode string) *Mailbox {
	t.Helper()
	m := dialMulti(t, d, addr, user, conns, mode != "go-imap")
	if mode == "literal+" {
		m.mu.Lock()
		m.rawKnown, m.rawGroup = true, 1
		m.mu.Unlock()
	}
	return m
}

// dialMulti dials with AppendBatch's MULTIAPPEND path on or off.
func dialMulti(t testing.TB, d *testbed.Dovecot, addr, user string, conns int, multi bool) *Mailbox {
	t.Helper()
	if addr == "" {
		addr = d.Addr
	}
	m, err := Dial(context.Background(), Options{
		Addr: addr, AdminUser: d.MasterUser, AdminPassword: d.MasterPassword,
		Connections: conns, Retry: fastRetry, NoMultiAppend: !multi,
	}, user)
	if err != nil {
		t.Fatalf("Dial(%q) = %v\n%s", user, err, d.Log())
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// eml builds a CRLF message of about n body bytes.
func eml(id, subject string, n int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: a@example.com\r\nTo: b@example.com\r\nSubject: %s\r\nMessage-ID: <%s>\r\nDate: Mon, 02 Jan 2023 09:00:00 +0000\r\n\r\n", subject, id)
	line := strings.Repeat("x", 70) + "\r\n"
	for b.Len() < n {
		b.WriteString(line)
	}
	b.WriteString("end\r\n")
	return b.Bytes()
}

func msgOf(id string, n int, date time.Time, flags ...imap.Flag) Message {
	body := eml(id, "test "+id, n)
	return Message{Body: bytes.NewReader(body), Size: int64(len(body)), MessageID: "<" + id + ">", InternalDate: date, Flags: flags}
}

func listAll(t testing.TB, m *Mailbox, folder []string) []Summary {
	t.Helper()
	var out []Summary
	if err := m.List(context.Background(), folder, func(s Summary) error { out = append(out, s); return nil }); err != nil {
		t.Fatalf("List(%q) = %v", folder, err)
	}
	return out
}

func ids(sums []Summary) []string {
	var out []string
	for _, s := range sums {
		out = append(out, s.MessageID)
	}
	slices.Sort(out)
	return out
}

var date0 = time.Date(2023, 1, 2, 9, 0, 0, 0, time.FixedZone("", 3600))

func TestAwkwardFolders(t *testing.T) {
	t.Parallel()
	d := testbed.StartDovecot(t, "alice")
	ctx := context.Background()
	m := dial(t, d, "", d.Users[0].Name, 2)
	tests := []struct {
		name string
		path []string
		want string // mapped name on Dovecot ("/" delimiter)
	}{
		{"slash", []string{"Projects/2024"}, "Projects∕2024"},
		{"nested", []string{"Projects", "2024", "Q1"}, "Projects/2024/Q1"},
		{"dot", []string{"a.b", "end."}, "a.b/end."},
		{"backslash", []string{`back\slash`}, `back\slash`},
		{"ampersand", []string{"R&D"}, "R&D"},
		{"tilde", []string{"~tilde", "x~y"}, "∼tilde/x~y"},
		{"spaces", []string{" lead", "trail "}, " lead/trail "},
		{"unicode", []string{"Entwürfe", "日本語", "😀"}, "Entwürfe/日本語/😀"},
		{"quotes", []string{`say "hi"`, "100%*"}, `say "hi"/100%*`},
		{"long", []string{strings.Repeat("L", 210)}, ""},
		{"long unicode", []string{strings.Repeat("ß", 120)}, ""},
		{"inbox child", []string{"inbox", "Sub"}, "INBOX/Sub"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, err := m.EnsureFolder(ctx, tt.path)
			if err != nil {
				t.Fatalf("EnsureFolder(%q) = %v", tt.path, err)
			}
			if tt.want != "" && name != tt.want {
				t.Errorf("EnsureFolder(%q) = %q, want %q", tt.path, name, tt.want)
			}
			// Twice is harmless.
			if _, err := m.EnsureFolder(ctx, tt.path); err != nil {
				t.Fatalf("EnsureFolder(%q) again = %v", tt.path, err)
			}
			id := fmt.Sprintf("awk%d@example.com", i)
			if _, err := m.Append(ctx, tt.path, msgOf(id, 100, date0)); err != nil {
				t.Fatalf("Append(%q) = %v", tt.path, err)
			}
			// The MULTIAPPEND path quotes and encodes the name itself.
			res, err := m.AppendBatch(ctx, tt.path, []Message{msgOf("batch-"+id, 100, date0)}, nil)
			if err != nil || res[0].Err != nil {
				t.Fatalf("AppendBatch(%q) = %+v, %v", tt.path, res, err)
			}
			got := ids(listAll(t, m, tt.path))
			if want := []string{id, "batch-" + id}; !slices.Equal(got, want) {
				t.Errorf("List(%q) = %q, want %q", tt.path, got, want)
			}
		})
	}
	folders, err := m.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		name, _ := m.FolderName(tt.path)
		if !slices.Contains(folders, name) {
			t.Errorf("Folders() = %q, missing %q", folders, name)
		}
	}
}

func TestAppendFlagsAndDate(t *testing.T) {
	t.Parallel()
	d := testbed.StartDovecot(t, "alice")
	ctx := context.Background()
	tests := []struct {
		name  string
		flags []imap.Flag
		date  time.Time
	}{
		{"none", nil, time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)},
		{"seen", []imap.Flag{imap.FlagSeen}, time.Date(2019, 12, 31, 23, 59, 59, 0, time.FixedZone("", -5*3600))},
		{"many", []imap.Flag{imap.FlagSeen, imap.FlagFlagged, imap.FlagAnswered, imap.FlagDraft, "$Forwarded", "Custom_kw"}, time.Date(2023, 1, 2, 9, 0, 0, 0, time.FixedZone("", 5*3600+1800))},
		{"recent dropped", []imap.Flag{flagRecent, imap.FlagSeen}, time.Date(1999, 6, 7, 8, 9, 10, 0, time.UTC)},
	}
	for _, authz := range []AuthzMode{AuthzPlain, AuthzMasterUser} {
		m, err := Dial(ctx, Options{Addr: d.Addr, AdminUser: d.MasterUser, AdminPassword: d.MasterPassword, AuthzMode: authz, Retry: fastRetry}, d.Users[0].Name)
		if err != nil {
			t.Fatalf("Dial(authz %d) = %v", authz, err)
		}
		defer m.Close()
		folder := []string{fmt.Sprintf("Flags%d", authz)}
		if _, err := m.EnsureFolder(ctx, folder); err != nil {
			t.Fatal(err)
		}
		for i, tt := range tests {
			id := fmt.Sprintf("flags%d-%d@example.com", authz, i)
			uid, err := m.Append(ctx, folder, msgOf(id, 300, tt.date, tt.flags...))
			if err != nil {
				t.Fatalf("Append(%s) = %v", tt.name, err)
			}
			var got *Summary
			for _, s := range listAll(t, m, folder) {
				if s.UID == uid {
					got = &s
				}
			}
			if got == nil {
				t.Fatalf("Append(%s) UID %d not listed", tt.name, uid)
			}
			want := settable(tt.flags)
			gotFlags := slices.DeleteFunc(slices.Clone(got.Flags), func(f imap.Flag) bool { return f == flagRecent })
			slices.Sort(want)
			slices.Sort(gotFlags)
			if !slices.Equal(gotFlags, want) {
				t.Errorf("Append(%s) flags = %v, want %v", tt.name, gotFlags, want)
			}
			// The instant must survive; Dovecot's maildir keeps it as the
			// file's mtime, so the zone offset comes back as the server's.
			if !got.InternalDate.Equal(tt.date) {
				t.Errorf("Append(%s) internal date = %v, want %v", tt.name, got.InternalDate, tt.date)
			}
			if got.MessageID != id {
				t.Errorf("Append(%s) Message-ID = %q, want %q", tt.name, got.MessageID, id)
			}
		}
	}
}

func TestAuthFailure(t *testing.T) {
	t.Parallel()
	d := testbed.StartDovecot(t, "alice")
	for _, authz := range []AuthzMode{AuthzPlain, AuthzMasterUser, AuthzNone} {
		_, err := Dial(context.Background(), Options{Addr: d.Addr, AdminUser: d.MasterUser, AdminPassword: "wrong", AuthzMode: authz, Retry: fastRetry}, d.Users[0].Name)
		if !errors.Is(err, ErrAuth) {
			t.Errorf("Dial(authz %d, bad password) = %v, want ErrAuth", authz, err)
		}
	}
	// A mailbox's own login.
	u := d.Users[0]
	m, err := Dial(context.Background(), Options{Addr: d.Addr, AdminUser: u.Name, AdminPassword: u.Password, AuthzMode: AuthzNone}, u.Name)
	if err != nil {
		t.Fatalf("Dial(own login) = %v", err)
	}
	m.Close()
}

func TestSetACL(t *testing.T) {
	t.Parallel()
	d := testbed.StartDovecot(t, "alice", "bob")
	ctx := context.Background()
	alice, bob := d.Users[0], d.Users[1]
	m := dial(t, d, "", alice.Name, 1)
	folder := []string{"Shared/Team"} // one segment with a slash
	if _, err := m.EnsureFolder(ctx, folder); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		rights string
		want   string
	}{
		{"lrs", "lrs"},
		{"+w", "lrsw"},
		{"-s", "lrw"},
		{"lrswipkxtea", "lrswipkxteacd"}, // Dovecot adds RFC 2086's c and d
	}
	for _, tt := range tests {
		if err := m.SetACL(ctx, folder, bob.Name, tt.rights); err != nil {
			t.Fatalf("SetACL(%q) = %v", tt.rights, err)
		}
		acl, err := m.GetACL(ctx, folder)
		if err != nil {
			t.Fatal(err)
		}
		got := []rune(acl[bob.Name])
		want := []rune(tt.want)
		slices.Sort(got)
		slices.Sort(want)
		if string(got) != string(want) {
			t.Errorf("SetACL(%q) then GetACL = %q, want %q", tt.rights, acl[bob.Name], tt.want)
		}
	}
	// Bob sees the folder in the shared namespace.
	mb := dial(t, d, "", bob.Name, 1)
	folders, err := mb.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := "shared/" + alice.Name + "/Shared∕Team"
	if !slices.Contains(folders, want) {
		t.Errorf("bob's Folders() = %q, want %q among them", folders, want)
	}
	if err := m.SetACL(ctx, []string{"NoSuchFolder"}, bob.Name, "lr"); err == nil {
		t.Errorf("SetACL(missing folder) = nil, want error")
	}
}

// TestRounds replays migration rounds: new mail, deletions, flag changes,
// moves, and a rerun of everything that must not duplicate.
func TestRounds(t *testing.T) {
	t.Parallel()
	d := testbed.StartDovecot(t, "alice")
	ctx := context.Background()
	m := dial(t, d, "", d.Users[0].Name, 3)
	inbox, arch := []string{"INBOX"}, []string{"Archive", "2023"}
	var round1 []Message
	for i := range 20 {
		round1 = append(round1, msgOf(fmt.Sprintf("r1-%d@x", i), 200+i*50, date0.Add(time.Duration(i)*time.Hour)))
	}
	res, err := m.AppendBatch(ctx, inbox, round1, nil)
	if err != nil {
		t.Fatal(err)
	}
	uids := map[string]imap.UID{}
	for i, r := range res {
		if r.Err != nil || r.UID == 0 || r.Existing {
			t.Fatalf("AppendBatch result %d = %+v", i, r)
		}
		uids[NormalizeMessageID(round1[i].MessageID)] = r.UID
	}
	// Round 2: one deleted, one re-flagged, one moved, five new.
	if err := m.Delete(ctx, inbox, uids["r1-0@x"]); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	if err := m.SetFlags(ctx, inbox, uids["r1-1@x"], []imap.Flag{imap.FlagSeen, "$Label1"}); err != nil {
		t.Fatalf("SetFlags = %v", err)
	}
	if _, err := m.EnsureFolder(ctx, arch); err != nil {
		t.Fatal(err)
	}
	newUID, err := m.Move(ctx, inbox, uids["r1-2@x"], arch)
	if err != nil || newUID == 0 {
		t.Fatalf("Move = %d, %v", newUID, err)
	}
	var round2 []Message
	for i := range 5 {
		round2 = append(round2, msgOf(fmt.Sprintf("r2-%d@x", i), 1000, date0.Add(-time.Duration(i)*time.Minute)))
	}
	if _, err := m.AppendBatch(ctx, inbox, round2, nil); err != nil {
		t.Fatal(err)
	}
	// A rerun of round 2 with SkipExisting must add nothing.
	for i := range round2 {
		round2[i].Body.(io.Seeker).Seek(0, io.SeekStart)
	}
	res, err = m.AppendBatch(ctx, inbox, round2, &BatchOptions{SkipExisting: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if !r.Existing || r.UID == 0 {
			t.Errorf("rerun AppendBatch result %d = %+v, want Existing", i, r)
		}
	}
	got := listAll(t, m, inbox)
	if len(got) != 20-2+5 {
		t.Errorf("INBOX has %d messages, want %d: %v", len(got), 23, ids(got))
	}
	for _, s := range got {
		switch s.MessageID {
		case "r1-0@x", "r1-2@x":
			t.Errorf("INBOX still has %s", s.MessageID)
		case "r1-1@x":
			if !slices.Contains(s.Flags, imap.FlagSeen) || !slices.Contains(s.Flags, "$Label1") {
				t.Errorf("flags of r1-1 = %v, want \\Seen $Label1", s.Flags)
			}
		}
	}
	if a := listAll(t, m, arch); len(a) != 1 || a[0].MessageID != "r1-2@x" || a[0].UID != newUID {
		t.Errorf("Archive/2023 = %+v, want r1-2@x with UID %d", a, newUID)
	}
	// Flags by Message-ID (path mode).
	n, err := m.SetFlagsByMessageID(ctx, inbox, "<r2-3@x>", []imap.Flag{imap.FlagFlagged})
	if err != nil || n != 1 {
		t.Fatalf("SetFlagsByMessageID = %d, %v, want 1", n, err)
	}
	uid, found, err := m.Find(ctx, inbox, "r2-3@x", round2[3].InternalDate, round2[3].Size)
	if err != nil || !found {
		t.Fatalf("Find(r2-3) = %d, %v, %v", uid, found, err)
	}
	for _, s := range listAll(t, m, inbox) {
		if s.UID == uid && !slices.Equal(s.Flags, []imap.Flag{imap.FlagFlagged}) {
			t.Errorf("flags after SetFlagsByMessageID = %v, want [\\Flagged]", s.Flags)
		}
	}
	// Find must compare date and size exactly.
	for _, tt := range []struct {
		id   string
		date time.Time
		size int64
		want bool
	}{
		{"r2-3@x", round2[3].InternalDate, round2[3].Size, true},
		{"r2-3@x", round2[3].InternalDate.Add(time.Second), round2[3].Size, false},
		{"r2-3@x", round2[3].InternalDate, round2[3].Size + 1, false},
		{"r2-3@x", time.Time{}, 0, true},
		{"r2-3", time.Time{}, 0, false}, // substring of the real ID
		{"nosuch@x", time.Time{}, 0, false},
	} {
		_, found, err := m.Find(ctx, inbox, tt.id, tt.date, tt.size)
		if err != nil || found != tt.want {
			t.Errorf("Find(%q, %v, %d) = %v, %v, want %v", tt.id, tt.date, tt.size, found, err, tt.want)
		}
	}
	if _, _, err := m.Find(ctx, inbox, "", time.Time{}, 0); !errors.Is(err, ErrNoKey) {
		t.Errorf("Find(no key) = %v, want ErrNoKey", err)
	}
}

// TestRebuild wipes the mail store and replays: everything comes back once,
// and a second replay adds nothing.
func TestRebuild(t *testing.T) {
	t.Parallel()
	d := testbed.StartDovecot(t, "alice")
	ctx := context.Background()
	user := d.Users[0].Name
	folders := [][]string{{"INBOX"}, {"Sent"}, {"Projects", "A/B"}}
	msgs := func(f int) []Message {
		var out []Message
		for i := range 8 {
			out = append(out, msgOf(fmt.Sprintf("rb%d-%d@x", f, i), 500, date0.Add(time.Duration(i)*time.Second), imap.FlagSeen))
		}
		return out
	}
	m := dialMulti(t, d, "", user, 2, false)
	for f, folder := range folders {
		if _, err := m.AppendBatch(ctx, folder, msgs(f), nil); err != nil {
			t.Fatal(err)
		}
	}
	m.Close()
	if err := os.RemoveAll(d.MailDir(user)); err != nil {
		t.Fatal(err)
	}
	for pass := range 2 {
		m := dialMulti(t, d, "", user, 2, pass == 0) // replay with MULTIAPPEND, rerun without
		for f, folder := range folders {
			res, err := m.AppendBatch(ctx, folder, msgs(f), &BatchOptions{SkipExisting: true})
			if err != nil {
				t.Fatalf("pass %d: AppendBatch(%q) = %v", pass, folder, err)
			}
			for i, r := range res {
				if r.Err != nil || r.Existing != (pass == 1) {
					t.Errorf("pass %d: AppendBatch(%q)[%d] = %+v, want Existing=%v", pass, folder, i, r, pass == 1)
				}
			}
			if got := listAll(t, m, folder); len(got) != 8 {
				t.Errorf("pass %d: %q has %d messages, want 8", pass, folder, len(got))
			}
		}
		m.Close()
	}
}

func TestDebugWriterRedacts(t *testing.T) {
	t.Parallel()
	d := testbed.StartDovecot(t, "alice")
	for _, authz := range []AuthzMode{AuthzPlain, AuthzMasterUser} {
		var buf syncbuf.Buffer
		m, err := Dial(context.Background(), Options{Addr: d.Addr, AdminUser: d.MasterUser, AdminPassword: d.MasterPassword, AuthzMode: authz, DebugWriter: &buf}, d.Users[0].Name)
		if err != nil {
			t.Fatal(err)
		}
		m.Folders(context.Background())
		// AppendBatch logs in again on its MULTIAPPEND connections.
		if _, err := m.AppendBatch(context.Background(), []string{"Dbg"}, []Message{msgOf("dbg@x", 10, date0)}, nil); err != nil {
			t.Fatal(err)
		}
		m.Close()
		out := buf.String()
		plain := base64.StdEncoding.EncodeToString([]byte(d.Users[0].Name + "\x00" + d.MasterUser + "\x00" + d.MasterPassword))
		if strings.Contains(out, d.MasterPassword) || strings.Contains(out, plain) || strings.Contains(out, "AUTHENTICATE PLAIN ") || !strings.Contains(out, "[authentication redacted]") || !strings.Contains(out, "LIST") || !strings.Contains(out, "APPEND \"Dbg\" (") {
			t.Errorf("DebugWriter (authz %d) = %q: want the protocol without credentials", authz, out)
		}
	}
}

// cutProxy forwards TCP to target and cuts the first connection whose
// traffic makes cut return true (once in the proxy's lifetime).
type cutProxy struct {
	l    net.Listener
	cut  func(fromClient bool, seen []byte) bool
	done atomic.Bool
	cuts atomic.Int32
}

func newCutProxy(t *testing.T, target string, cut func(fromClient bool, seen []byte) bool) *cutProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{l: l, cut: cut}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go p.pipe(c, s)
		}
	}()
	return p
}

func (p *cutProxy) pipe(c, s net.Conn) {
	var mu sync.Mutex
	var seenC, seenS []byte
	kill := func() { c.Close(); s.Close() }
	fwd := func(dst, src net.Conn, fromClient bool) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				mu.Lock()
				cut := false
				if !p.done.Load() {
					if fromClient {
						seenC = append(seenC, buf[:n]...)
						cut = p.cut(true, seenC)
					} else {
						seenS = append(seenS, buf[:n]...)
						cut = p.cut(false, seenS)
					}
					if cut && p.done.CompareAndSwap(false, true) {
						p.cuts.Add(1)
					} else {
						cut = false
					}
				}
				mu.Unlock()
				if cut {
					kill()
					return
				}
				if _, werr := dst.Write(buf[:n]); werr != nil {
					kill()
					return
				}
			}
			if err != nil {
				kill()
				return
			}
		}
	}
	go fwd(s, c, true)
	fwd(c, s, false)
}

func (p *cutProxy) addr() string { return p.l.Addr().String() }

// TestDisconnectMidAppend cuts the connection at the worst moments: during
// the literal (nothing stored), and after the server stored the message but
// before the client heard (stored, answer lost). Either way the message
// must end up in the folder exactly once.
func TestDisconnectMidAppend(t *testing.T) {
	t.Parallel()
	d := testbed.StartDovecot(t, "alice")
	ctx := context.Background()
	tests := []struct {
		name string
		cut  func(fromClient bool, seen []byte) bool
	}{
		{"mid literal", func(fromClient bool, seen []byte) bool {
			i := bytes.Index(seen, []byte("APPEND"))
			return fromClient && i >= 0 && len(seen)-i > 300000
		}},
		{"answer lost", func(fromClient bool, seen []byte) bool {
			return !fromClient && bytes.Count(seen, []byte("OK [APPENDUID")) >= 2
		}},
	}
	for _, tt := range tests {
		for _, mode := range []string{"append", "go-imap", "literal+", "multiappend"} {
			batch := mode != "append"
			t.Run(tt.name+" "+mode, func(t *testing.T) {
				p := newCutProxy(t, d.Addr, tt.cut)
				user := d.Users[0].Name
				m := dialMode(t, d, p.addr(), user, 2, map[bool]string{true: mode, false: "go-imap"}[batch])
				folder := []string{fmt.Sprintf("Cut %s %s", tt.name, mode)}
				if _, err := m.EnsureFolder(ctx, folder); err != nil {
					t.Fatal(err)
				}
				var msgs []Message
				for i := range 120 {
					msgs = append(msgs, msgOf(fmt.Sprintf("cut-%d@x", i), 10000, date0.Add(time.Duration(i)*time.Minute)))
				}
				if batch {
					res, err := m.AppendBatch(ctx, folder, msgs, nil)
					if err != nil {
						t.Fatal(err)
					}
					for i, r := range res {
						if r.Err != nil || r.UID == 0 {
							t.Errorf("AppendBatch[%d] = %+v", i, r)
						}
					}
				} else {
					for i, msg := range msgs {
						if uid, err := m.Append(ctx, folder, msg); err != nil || uid == 0 {
							t.Errorf("Append[%d] = %d, %v", i, uid, err)
						}
					}
				}
				if p.cuts.Load() != 1 {
					t.Fatalf("proxy cut %d connections, want 1", p.cuts.Load())
				}
				got := ids(listAll(t, dial(t, d, "", user, 1), folder))
				want := ids(func() []Summary {
					var s []Summary
					for _, msg := range msgs {
						s = append(s, Summary{MessageID: NormalizeMessageID(msg.MessageID)})
					}
					return s
				}())
				if !slices.Equal(got, want) {
					t.Errorf("folder holds %q, want each of %q once", got, want)
				}
			})
		}
	}
}

func TestSizeMismatch(t *testing.T) {
	t.Parallel()
	d := testbed.StartDovecot(t, "alice")
	ctx := context.Background()
	m := dial(t, d, "", d.Users[0].Name, 1)
	for _, delta := range []int64{-1, 1} {
		body := eml("size@x", "s", 100)
		_, err := m.Append(ctx, []string{"INBOX"}, Message{Body: bytes.NewReader(body), Size: int64(len(body)) + delta})
		if !errors.Is(err, ErrSize) {
			t.Errorf("Append(size off by %d) = %v, want ErrSize", delta, err)
		}
	}
	if got := listAll(t, m, []string{"INBOX"}); len(got) != 0 {
		t.Errorf("INBOX after aborted APPENDs = %+v, want empty", got)
	}
	// The Mailbox still works.
	if _, err := m.Append(ctx, []string{"INBOX"}, msgOf("ok@x", 10, date0)); err != nil {
		t.Errorf("Append after aborted ones = %v", err)
	}
}

func BenchmarkAppend(b *testing.B) {
	d := testbed.StartDovecot(b, "bench")
	for _, bc := range []struct {
		conns int
		multi string
	}{{1, "go-imap"}, {4, "go-imap"}, {1, "literal+"}, {4, "literal+"}, {1, "multiappend"}, {4, "multiappend"}} {
		b.Run(fmt.Sprintf("conns=%d/%s", bc.conns, bc.multi), func(b *testing.B) {
			conns := bc.conns
			m := dialMode(b, d, "", d.Users[0].Name, conns, bc.multi)
			body := eml("bench@x", "bench", 20000)
			folder := []string{fmt.Sprintf("Bench%d%v", conns, bc.multi)}
			b.SetBytes(int64(len(body)))
			const batch = 200
			b.ResetTimer()
			for done := 0; done < b.N; done += batch {
				n := min(batch, b.N-done)
				msgs := make([]Message, n)
				for i := range msgs {
					msgs[i] = Message{Body: bytes.NewReader(body), Size: int64(len(body)), Flags: []imap.Flag{imap.FlagSeen}, InternalDate: date0}
				}
				res, err := m.AppendBatch(context.Background(), folder, msgs, nil)
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range res {
					if r.Err != nil {
						b.Fatal(r.Err)
					}
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// TestBatchBadMessages: a message the server refuses (empty) or whose body
// is not Size bytes fails alone; the rest of its MULTIAPPEND group and of
// the batch is stored once.
func TestBatchBadMessages(t *testing.T) {
	t.Parallel()
	d := testbed.StartDovecot(t, "alice")
	ctx := context.Background()
	for _, multi := range []string{"go-imap", "literal+", "multiappend"} {
		m := dialMode(t, d, "", d.Users[0].Name, 2, multi)
		folder := []string{fmt.Sprintf("Bad %v", multi)}
		var msgs []Message
		for i := range 30 {
			msgs = append(msgs, msgOf(fmt.Sprintf("bad-%d@x", i), 500, date0))
		}
		msgs[3] = Message{Body: bytes.NewReader(nil), Size: 0, MessageID: "<empty@x>"}
		msgs[17].Size++                  // body one byte short
		for _, i := range []int{5, 25} { // bodies given by Open instead of Body
			id := fmt.Sprintf("bad-%d@x", i)
			body := eml(id, "test "+id, 500)
			msgs[i].Body = nil
			msgs[i].Open = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		}
		res, err := m.AppendBatch(ctx, folder, msgs, nil)
		if err != nil {
			t.Fatalf("AppendBatch(multi=%v) = %v", multi, err)
		}
		for i, r := range res {
			switch i {
			case 3:
				var ie *imap.Error
				if !errors.As(r.Err, &ie) {
					t.Errorf("multi=%v: result[3] (empty) = %+v, want an IMAP NO", multi, r)
				}
			case 17:
				if !errors.Is(r.Err, ErrSize) {
					t.Errorf("multi=%v: result[17] (short) = %+v, want ErrSize", multi, r)
				}
			default:
				if r.Err != nil || r.UID == 0 {
					t.Errorf("multi=%v: result[%d] = %+v", multi, i, r)
				}
			}
		}
		got := listAll(t, m, folder)
		if len(got) != 28 {
			t.Errorf("multi=%v: folder has %d messages, want 28: %v", multi, len(got), ids(got))
		}
		seen := map[string]bool{}
		for _, s := range got {
			if seen[s.MessageID] {
				t.Errorf("multi=%v: %s stored twice", multi, s.MessageID)
			}
			seen[s.MessageID] = true
		}
	}
}

func TestParseUIDSet(t *testing.T) {
	tests := []struct {
		in   string
		want []imap.UID
		ok   bool
	}{
		{"7", []imap.UID{7}, true},
		{"4:6,9", []imap.UID{4, 5, 6, 9}, true},
		{"6:4", []imap.UID{6, 5, 4}, true},
		{"x", nil, false},
	}
	for _, tt := range tests {
		got, ok := parseUIDSet(tt.in)
		if ok != tt.ok || !slices.Equal(got, tt.want) {
			t.Errorf("parseUIDSet(%q) = %v, %v, want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestTLS logs in over STARTTLS and implicit TLS, with both APPEND paths.
func TestTLS(t *testing.T) {
	t.Parallel()
	d := testbed.StartDovecot(t, "alice")
	ctx := context.Background()
	tests := []struct {
		name string
		mode TLSMode
		addr string
	}{
		{"starttls", TLSStartTLS, d.Addr},
		{"implicit", TLSImplicit, d.TLSAddr},
	}
	for _, tt := range tests {
		for _, multi := range []bool{false, true} {
			opt := Options{Addr: tt.addr, TLS: tt.mode, TLSConfig: &tls.Config{RootCAs: d.RootCAs},
				AdminUser: d.MasterUser, AdminPassword: d.MasterPassword, NoMultiAppend: !multi, Retry: fastRetry}
			m, err := Dial(ctx, opt, d.Users[0].Name)
			if err != nil {
				t.Fatalf("Dial(%s) = %v", tt.name, err)
			}
			folder := []string{fmt.Sprintf("TLS %s %v", tt.name, multi)}
			msgs := []Message{msgOf("tls1@x", 100, date0), msgOf("tls2@x", 100, date0)}
			res, err := m.AppendBatch(ctx, folder, msgs, nil)
			if err != nil || res[0].Err != nil || res[1].Err != nil {
				t.Errorf("AppendBatch(%s, multi=%v) = %+v, %v", tt.name, multi, res, err)
			}
			if got := listAll(t, m, folder); len(got) != 2 {
				t.Errorf("%s, multi=%v: folder has %d messages, want 2", tt.name, multi, len(got))
			}
			m.Close()
		}
		// An untrusted certificate is refused.
		opt := Options{Addr: tt.addr, TLS: tt.mode, AdminUser: d.MasterUser, AdminPassword: d.MasterPassword,
			Retry: retry.Policy{Attempts: 1}}
		if _, err := Dial(ctx, opt, d.Users[0].Name); err == nil {
			t.Errorf("Dial(%s, untrusted certificate) = nil error, want one", tt.name)
		}
	}
}

// TestIdleRawConnDropped: a pooled MULTIAPPEND connection that died while
// idle is noticed before use, so the next batch is stored normally.
func TestIdleRawConnDropped(t *testing.T) {
	t.Parallel()
	d := testbed.StartDovecot(t, "alice")
	ctx := context.Background()
	m := dial(t, d, "", d.Users[0].Name, 1)
	folder := []string{"Idle"}
	for round := range 2 {
		res, err := m.AppendBatch(ctx, folder, []Message{msgOf(fmt.Sprintf("idle%d@x", round), 100, date0)}, nil)
		if err != nil || res[0].Err != nil || res[0].UID == 0 {
			t.Fatalf("round %d: AppendBatch = %+v, %v", round, res, err)
		}
		if round == 0 {
			if len(m.rawPool) != 1 {
				t.Fatalf("raw pool holds %d connections, want 1", len(m.rawPool))
			}
			rc := <-m.rawPool
			rc.nc.Close() // as if the server had timed it out
			m.rawPool <- rc
		}
	}
	if got := ids(listAll(t, m, folder)); !slices.Equal(got, []string{"idle0@x", "idle1@x"}) {
		t.Errorf("folder = %q, want idle0@x idle1@x", got)
	}
}
