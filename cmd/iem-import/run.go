package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/icewarp"
	"github.com/iemproject/iem/icewarp/imapsink"
	"github.com/iemproject/iem/icewarp/mailpath"
	"github.com/iemproject/iem/internal/cliutil"
)

func targetFlags() []cli.Flag {
	return append(append([]cli.Flag(nil), archiveFlags...),
		&cli.StringFlag{Name: "config", Usage: "read settings from `FILE` (name = value lines)"},
		&cli.StringFlag{Name: "host", Usage: "IceWarp server host name; the other endpoints derive from it"},
		&cli.StringFlag{Name: "api-url", Usage: "admin API `URL` (default https://HOST:32001/icewarpapi/)"},
		&cli.StringFlag{Name: "admin-user", Usage: "IceWarp administrator (email)"},
		&cli.StringFlag{Name: "password-file", Usage: "`FILE` holding the administrator password (or set IEM_ICEWARP_PASSWORD)"},
		&cli.StringFlag{Name: "trust-cert", Usage: "pin the server certificate: sha256:<hex fingerprint>"},
		&cli.BoolFlag{Name: "always-trust", Usage: "do not verify the server certificate (insecure; logged)"},
		&cli.StringSliceFlag{Name: "domain-map", Usage: "map a source domain to a target domain: `OLD=NEW` (repeatable)"},
		&cli.StringFlag{Name: "mail-mode", Value: "imap", Usage: "imap (APPEND) or path (files in the mail path)"},
		&cli.StringFlag{Name: "mail-path", Usage: "IceWarp's mail path `DIR` (path mode)"},
		&cli.StringFlag{Name: "imap-addr", Usage: "IMAP `HOST:PORT` (default HOST:993)"},
		&cli.StringFlag{Name: "imap-tls", Value: "tls", Usage: "none, starttls or tls"},
		&cli.StringFlag{Name: "imap-auth", Value: "authzid", Usage: "authzid (AUTHENTICATE PLAIN on behalf of the user, IceWarp) or master (user*admin, Dovecot)"},
		&cli.IntFlag{Name: "imap-connections", Value: 2, Usage: "IMAP connections per mailbox"},
		&cli.StringFlag{Name: "webdav-url", Usage: "WebDAV root `URL` (default https://HOST/webdav/)"},
		&cli.StringFlag{Name: "webdav-layout", Usage: "collection `PATH` below --webdav-url with {email}, {user} (local part) and {folder} (default {email}/{folder}/, IceWarp's)"},
		&cli.StringFlag{Name: "mail-owner", Usage: "path mode: numeric `UID:GID` that must own the files (IceWarp's service user)"},
		&cli.StringFlag{Name: "server-id", Usage: "path mode: LocalServerID prefix of message file names (path.dat line 4; empty on a single server)"},
		&cli.StringFlag{Name: "public-folders-group", Value: "Public Folders", Usage: "IceWarp group that receives the public folders"},
		&cli.BoolFlag{Name: "icewarp-folder-names", Usage: "map Sent Items, Deleted Items, Junk E-mail to IceWarp's Sent, Trash, Spam"},
		&cli.IntFlag{Name: "jobs", Value: 2, Usage: "mailboxes imported in parallel"},
		&cli.StringFlag{Name: "ledger", Usage: "ledger `FILE` of what was applied (default ARCHIVE/iem-import.ledger)"},
		&cli.StringFlag{Name: "log-level", Value: "info", Usage: "debug, info, warn or error"},
		&cli.StringFlag{Name: "log-format", Value: "text", Usage: "text or json"},
	)
}

func runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "import the archive: accounts and groups first, then every mailbox",
		Flags: append(targetFlags(),
			&cli.BoolFlag{Name: "rebuild", Usage: "the target lost its data: replay everything, checking the target so nothing is duplicated"},
			&cli.StringFlag{Name: "passwords-from", Usage: "CSV `FILE` of email,password for new accounts"},
			&cli.StringFlag{Name: "passwords-report", Usage: "CSV `FILE` (0600) receiving generated passwords (default ARCHIVE/iem-passwords.csv)"},
			&cli.StringFlag{Name: "summary-json", Usage: "also write the summary as JSON to `FILE`"},
		),
		Action: func(c *cli.Context) error {
			cfg, err := parseTarget(c)
			if err != nil {
				return err
			}
			return runImport(c.Context, c, cfg)
		},
	}
}

// target is the validated form of the target flags.
type target struct {
	api        icewarp.Options
	imap       imapsink.Options
	webdav     string
	davLayout  string
	mailOwner  *mailpath.Owner
	serverID   string
	domainMap  map[string]string
	mode       string
	mailPath   string
	jobs       int
	ledger     string
	pfGroup    string
	iceNames   bool
	logLevel   string
	logFormat  string
	archiveDir string
}

// parseTarget validates every field before any network call.
func parseTarget(c *cli.Context) (*target, error) {
	if p := c.String("config"); p != "" {
		if err := cliutil.ApplyConfig(c, p); err != nil {
			return nil, err
		}
	}
	t := &target{jobs: c.Int("jobs"), pfGroup: c.String("public-folders-group"), iceNames: c.Bool("icewarp-folder-names"),
		logLevel: c.String("log-level"), logFormat: c.String("log-format"), domainMap: map[string]string{}}
	if _, err := cliutil.Logger(io.Discard, t.logLevel, t.logFormat); err != nil {
		return nil, err
	}
	dirs := c.StringSlice("archive")
	if len(dirs) == 0 {
		return nil, cliutil.Usagef("archive", "required")
	}
	for _, d := range dirs {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			return nil, cliutil.Usagef("archive", "%s is not a folder", d)
		}
	}
	t.archiveDir = dirs[0]
	host := c.String("host")
	api := c.String("api-url")
	if api == "" {
		if host == "" {
			return nil, cliutil.Usagef("host", "required (or give --api-url, --imap-addr and --webdav-url)")
		}
		api = "https://" + net.JoinHostPort(host, "32001") + "/icewarpapi/"
	}
	u, err := cliutil.CheckURL("api-url", api, "https", "http")
	if err != nil {
		return nil, err
	}
	if c.String("admin-user") == "" {
		return nil, cliutil.Usagef("admin-user", "required: an IceWarp administrator")
	}
	pw, err := cliutil.Secret("password-file", c.String("password-file"), "IEM_ICEWARP_PASSWORD")
	if err != nil {
		return nil, err
	}
	t.api = icewarp.Options{URL: u.String(), Username: c.String("admin-user"), Password: pw,
		TLS: icewarp.TLSOptions{PinSHA256: strings.TrimPrefix(c.String("trust-cert"), "sha256:"), InsecureSkipVerify: c.Bool("always-trust")}}
	if _, err := icewarp.New(t.api); err != nil {
		var fe *icewarp.FieldError
		if errors.As(err, &fe) {
			return nil, cliutil.Usagef(fe.Field, "%s", fe.Error())
		}
		return nil, err
	}
	for _, m := range c.StringSlice("domain-map") {
		from, to, ok := strings.Cut(m, "=")
		if !ok || !strings.Contains(to, ".") || from == "" {
			return nil, cliutil.Usagef("domain-map", "%q is not OLD=NEW", m)
		}
		t.domainMap[strings.ToLower(from)] = strings.ToLower(to)
	}
	imapAddr := c.String("imap-addr")
	if imapAddr == "" {
		if host == "" {
			return nil, cliutil.Usagef("imap-addr", "required when --host is not given")
		}
		imapAddr = net.JoinHostPort(host, "993")
	}
	if _, _, err := net.SplitHostPort(imapAddr); err != nil {
		return nil, cliutil.Usagef("imap-addr", "%q is not HOST:PORT", imapAddr)
	}
	t.imap = imapsink.Options{Addr: imapAddr, AdminUser: c.String("admin-user"), AdminPassword: pw, Connections: c.Int("imap-connections")}
	switch c.String("imap-tls") {
	case "none":
		t.imap.TLS = imapsink.TLSNone
	case "starttls":
		t.imap.TLS = imapsink.TLSStartTLS
	case "tls":
		t.imap.TLS = imapsink.TLSImplicit
	default:
		return nil, cliutil.Usagef("imap-tls", "%q is not none, starttls or tls", c.String("imap-tls"))
	}
	switch c.String("imap-auth") {
	case "authzid":
		t.imap.AuthzMode = imapsink.AuthzPlain
	case "master":
		t.imap.AuthzMode = imapsink.AuthzMasterUser
	default:
		return nil, cliutil.Usagef("imap-auth", "%q is not authzid or master", c.String("imap-auth"))
	}
	if t.imap.Connections < 1 || t.imap.Connections > 16 {
		return nil, cliutil.Usagef("imap-connections", "%d is not between 1 and 16", t.imap.Connections)
	}
	t.webdav = c.String("webdav-url")
	if t.webdav == "" && host != "" {
		t.webdav = "https://" + host + "/webdav/"
	}
	if t.webdav != "" {
		if _, err := cliutil.CheckURL("webdav-url", t.webdav, "https", "http"); err != nil {
			return nil, err
		}
	}
	t.davLayout = c.String("webdav-layout")
	if err := checkLayout(t.davLayout); err != nil {
		return nil, cliutil.Usagef("webdav-layout", "%v", err)
	}
	t.serverID = c.String("server-id")
	if strings.Trim(t.serverID, "0123456789") != "" {
		return nil, cliutil.Usagef("server-id", "%q is not a number", t.serverID)
	}
	if s := c.String("mail-owner"); s != "" {
		u, g, ok := strings.Cut(s, ":")
		uid, err1 := strconv.Atoi(u)
		gid, err2 := strconv.Atoi(g)
		if !ok || err1 != nil || err2 != nil || uid < 0 || gid < 0 {
			return nil, cliutil.Usagef("mail-owner", "%q is not UID:GID (numbers)", s)
		}
		t.mailOwner = &mailpath.Owner{UID: uid, GID: gid}
	}
	t.mode = c.String("mail-mode")
	switch t.mode {
	case "imap":
	case "path":
		t.mailPath = c.String("mail-path")
		if t.mailPath == "" {
			return nil, cliutil.Usagef("mail-path", "required with --mail-mode path")
		}
		if st, err := os.Stat(t.mailPath); err != nil || !st.IsDir() {
			return nil, cliutil.Usagef("mail-path", "%s is not a folder", t.mailPath)
		}
	default:
		return nil, cliutil.Usagef("mail-mode", "%q is not imap or path", t.mode)
	}
	if t.jobs < 1 || t.jobs > 64 {
		return nil, cliutil.Usagef("jobs", "%d is not between 1 and 64", t.jobs)
	}
	t.ledger = c.String("ledger")
	if t.ledger == "" {
		t.ledger = filepath.Join(t.archiveDir, "iem-import.ledger")
	}
	return t, nil
}

func readPasswords(path string) (map[string]string, error) {
	out := map[string]string{}
	if path == "" {
		return out, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, cliutil.Usagef("passwords-from", "%v", err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, cliutil.Usagef("passwords-from", "%v", err)
	}
	for i, r := range recs {
		if len(r) < 2 || !strings.Contains(r[0], "@") || r[1] == "" {
			return nil, cliutil.Usagef("passwords-from", "line %d: want email,password", i+1)
		}
		out[strings.ToLower(r[0])] = r[1]
	}
	return out, nil
}

func runImport(ctx context.Context, c *cli.Context, t *target) error {
	passwords, err := readPasswords(c.String("passwords-from"))
	if err != nil {
		return err
	}
	log, _ := cliutil.Logger(c.App.ErrWriter, t.logLevel, t.logFormat)
	started := time.Now()
	folders, err := openArchives(c)
	if err != nil {
		return err
	}
	defer func() {
		for _, f := range folders {
			f.Close()
		}
	}()
	im := &importer{log: log, domainMap: t.domainMap, passwords: passwords, pfGroup: t.pfGroup, rebuild: c.Bool("rebuild"),
		iceNames: t.iceNames, stats: map[string]*mailboxStats{}, imapOpt: t.imap}
	for _, f := range folders {
		for _, v := range f.Volumes() {
			if v.Torn {
				return fmt.Errorf("%s: %w: the export of this round has not finished; run iem-export again, then ship the volume", v.Name, archive.ErrTorn)
			}
		}
		im.sources = append(im.sources, source{folder: f, view: f.View()})
	}
	im.report = c.String("passwords-report")
	if im.report == "" {
		im.report = filepath.Join(t.archiveDir, "iem-passwords.csv")
	}
	if err := im.index(); err != nil {
		return err
	}
	aopt := t.api
	aopt.Logger = log
	im.imapOpt.Logger = log
	// One gate per server endpoint: a back-off the server asks for on one
	// connection holds every caller of that endpoint, and the gates sum
	// up the time spent waiting for the summary.
	aopt.Retry.Gate, im.imapOpt.Retry.Gate = &im.gates[0], &im.gates[1]
	if aopt.TLS.InsecureSkipVerify {
		log.Warn("certificate verification is off (--always-trust)")
	}
	admin, err := icewarp.New(aopt)
	if err != nil {
		return err
	}
	if err := admin.Login(ctx); err != nil {
		return fmt.Errorf("admin api %s: %w", t.api.URL, err)
	}
	defer admin.Logout(context.Background())
	im.admin = admin
	// The ledger is created only once the target answered: a run that
	// cannot log in leaves the archive folder as it was.
	led, err := openLedger(t.ledger)
	if err != nil {
		return err
	}
	defer led.close()
	im.ledger = led
	if t.webdav != "" {
		gw, err := newGroupware(t.webdav, t.davLayout, t.api.Username, t.api.Password, t.api.TLS, log, &im.gates[2])
		if err != nil {
			return err
		}
		im.gw = gw
	}
	if t.mode == "path" {
		if im.store, err = openStore(t); err != nil {
			return cliutil.Usagef("mail-path", "%v", err)
		}
	}
	if err := im.accounts(ctx); err != nil {
		return err
	}
	if err := im.run(ctx, t.jobs); err != nil {
		if ctx.Err() != nil {
			return cliutil.Interrupted(err)
		}
		return err
	}
	return im.summary(c.App.Writer, c.String("summary-json"), time.Since(started))
}

func (im *importer) summary(w io.Writer, jsonPath string, took time.Duration) error {
	var rows []*mailboxStats
	for _, s := range im.stats {
		rows = append(rows, s)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Mailbox < rows[j].Mailbox })
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "mailbox\tin archive\tappended\tupdated\tunchanged\ton target\tdeleted\tskipped\tfailed\tMB\tpermissions\tnot set\t\n")
	partial := false
	var items int
	var bytes int64
	for _, s := range rows {
		sk, fa, pf := 0, 0, 0
		for _, n := range s.Skipped {
			sk += n
		}
		for _, n := range s.Failed {
			fa += n
		}
		for _, n := range s.PermissionsFailed {
			pf += n
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.1f\t%d\t%d\t\n", s.Mailbox, s.InArchive, s.Appended, s.Updated, s.Unchanged, s.Found, s.Deleted, sk, fa, float64(s.Bytes)/1e6, s.Permissions, pf)
		if fa > 0 || s.Err != "" {
			partial = true
		}
		items += s.Appended + s.Updated
		bytes += s.Bytes
	}
	tw.Flush()
	for _, s := range rows {
		for r, n := range s.Skipped {
			fmt.Fprintf(w, "skipped %s: %d × %s\n", s.Mailbox, n, r)
		}
		for r, n := range s.Failed {
			fmt.Fprintf(w, "failed  %s: %d × %s\n", s.Mailbox, n, r)
		}
		for r, n := range s.PermissionsFailed {
			fmt.Fprintf(w, "permissions not set %s: %d × %s\n", s.Mailbox, n, r)
		}
		if s.Err != "" {
			fmt.Fprintf(w, "failed  %s: mailbox stopped: %s\n", s.Mailbox, s.Err)
		}
	}
	kinds := map[string]int{}
	for _, s := range rows {
		for k, n := range s.Written {
			kinds[k] += n
		}
	}
	if len(kinds) > 0 {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(kinds)) {
			parts = append(parts, fmt.Sprintf("%d × %s", kinds[k], k))
		}
		fmt.Fprintf(w, "written: %s\n", strings.Join(parts, ", "))
	}
	var waited time.Duration
	for i := range im.gates {
		waited += im.gates[i].Waited()
	}
	fmt.Fprintf(w, "import: %d mailboxes, %d items written (%.1f MB) in %s, %.0f items/s, %s waiting on server back-off\n",
		len(rows), items, float64(bytes)/1e6, took.Round(time.Millisecond), float64(items)/took.Seconds(), waited.Round(time.Millisecond))
	if jsonPath != "" {
		b, _ := json.MarshalIndent(map[string]any{"seconds": took.Seconds(), "throttledSeconds": waited.Seconds(), "mailboxes": rows}, "", "  ")
		if err := os.WriteFile(jsonPath, b, 0o600); err != nil {
			return err
		}
	}
	if partial {
		return cliutil.ErrPartial
	}
	return nil
}
