package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/iemproject/iem/icewarp/icewarptest"
	"github.com/iemproject/iem/internal/console"
	"github.com/iemproject/iem/internal/settings"
)

// TestImportConsole: the import steps over HTTP refuse what the command
// line refuses, in its words; the config saved by the console is read
// back by `iem-import run --config`; a run started from the console
// reaches done on the dashboard (server-sent events) with each mailbox's
// count from the round's report.
func TestImportConsole(t *testing.T) {
	b := newEmulatorBed(t, icewarptest.Options{})
	day := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	writeRound(t, b.arch, func(r *round) {
		r.mailbox("alice@example.com")
		r.folder("alice@example.com", folder{id: "inbox", name: "Inbox", class: "IPF.Note", dist: "inbox"})
		for i, id := range []string{"m1", "m2", "m3"} {
			r.message(msg{mbx: "alice@example.com", folder: "inbox", id: id, received: day.Add(time.Duration(i) * time.Hour)})
		}
	})
	conf := filepath.Join(t.TempDir(), "import.conf")
	s, err := console.NewServer(console.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := console.NewImport(ctx, s, console.ImportSide{Flags: runCommand().Flags, ConfigPath: conf, Run: runImport}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	base := strings.SplitN(s.URL(), "/?", 2)[0]
	resp, err := hc.Get(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	var page strings.Builder
	bufio.NewReader(resp.Body).WriteTo(&page)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf-token" content="([0-9a-f]+)"`).FindStringSubmatch(page.String())
	if m == nil {
		t.Fatalf("no CSRF token in the first page:\n%s", page.String())
	}
	post := func(path string, form url.Values) (ans struct{ Field, Message, Info string }) {
		t.Helper()
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-CSRF-Token", m[1])
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return ans
	}

	// Bad inputs: the console's field and message are the command's.
	for _, bad := range []struct {
		step string
		form url.Values
		args []string
	}{
		{"start", url.Values{"archive": {filepath.Join(b.dir, "nowhere")}}, []string{"--archive", filepath.Join(b.dir, "nowhere")}},
		{"target", url.Values{"archive": {b.arch}, "api-url": {"ftp://x/"}}, []string{"--archive", b.arch, "--api-url", "ftp://x/"}},
		{"target", url.Values{"api-url": {b.iw.URL()}, "admin-user": {""}}, []string{"--archive", b.arch, "--api-url", b.iw.URL()}},
		{"review", url.Values{"admin-user": {b.iw.AdminEmail()}, "log-level": {"loud"}}, []string{"--archive", b.arch, "--log-level", "loud"}},
	} {
		got := post("/import/validate?step="+bad.step, bad.form)
		_, _, cliErr := runIn(t, bad.args...)
		if got.Message == "" || cliErr == nil || !strings.Contains(cliErr.Error(), got.Message) {
			t.Errorf("%s %v: console says %s: %q; the command line %v", bad.step, bad.form, got.Field, got.Message, cliErr)
		}
	}
	if got := post("/import/validate?step=start", url.Values{"log-level": {"info"}}); got.Message != "" {
		t.Fatalf("the archive step after fixing: %+v", got)
	}
	form := url.Values{"archive": {b.arch}, "api-url": {b.iw.URL()}, "admin-user": {b.iw.AdminEmail()}, "password": {b.iw.AdminPassword()},
		"imap-addr": {b.iw.IMAPAddr()}, "imap-tls": {"none"}, "mail-mode": {"imap"}, "domain-map": {"example.com=example.org"},
		"icewarp-folder-names": {"true"}, "archive-mailbox": {"Old mail"}, "log-level": {"warn"}, "jobs": {"1"}, "trust": {"system"}}
	if got := post("/import/connect", form); got.Message != "" || !strings.Contains(got.Info, "accepted the login") {
		t.Fatalf("connection check: %+v", got)
	}

	// The run from the console, followed over the events to its end.
	events, err := hc.Get(base + "/import/events")
	if err != nil {
		t.Fatal(err)
	}
	defer events.Body.Close()
	if got := post("/import/run", form); got.Message != "" {
		t.Fatalf("start the run: %+v", got)
	}
	sc := bufio.NewScanner(events.Body)
	sc.Buffer(nil, 1<<20)
	var st console.RunState
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if err := json.Unmarshal([]byte(data), &st); err != nil {
			t.Fatal(err)
		}
		if st.State != "" && st.State != console.Running {
			break
		}
	}
	if st.State != console.Done || len(st.Rows) != 1 || st.Rows[0].Mailbox != "alice@example.com" || st.Rows[0].Items != 3 || !st.Report {
		b, _ := json.Marshal(st)
		t.Fatalf("the run ended as %s", b)
	}

	// Round trip: the config the console wrote is what run --config reads:
	// the same target (the ledger accepts it) with nothing left to write.
	sum, out, err := runIn(t, "--config", conf)
	if err != nil {
		t.Fatalf("iem-import run --config: %v\n%s", err, out)
	}
	tot := sum.total()
	if tot.Appended != 0 || tot.Unchanged+tot.Found < 3 {
		t.Errorf("rerun from the console's config: %+v\n%s", tot, out)
	}
	cmd := runCommand()
	var tgt *settings.Target
	cmd.Action = func(c *cli.Context) (err error) { tgt, err = parseTarget(c); return err }
	if err := (&cli.App{Commands: []*cli.Command{cmd}}).Run([]string{"iem-import", "run", "--config", conf}); err != nil {
		t.Fatal(err)
	}
	if tgt.API.URL != b.iw.URL() || tgt.API.Password != b.iw.AdminPassword() || tgt.DomainMap["example.com"] != "example.org" ||
		!tgt.IceWarpNames || tgt.ArchiveMailbox != "Old mail" || tgt.LogLevel != "warn" || tgt.Jobs != 1 || tgt.IMAP.Addr != b.iw.IMAPAddr() {
		t.Errorf("run --config %s read %+v", conf, tgt)
	}
}
