package console

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/internal/progress"
	"github.com/iemproject/iem/internal/settings"
	"github.com/iemproject/iem/internal/setup"
	"github.com/iemproject/iem/replay"
)

// ImportSide is what the console needs of iem-import: the flags of
// `iem-import run` and its run, given the command's context (the config
// applied) and the target checked from it; watch receives the progress
// events.
type ImportSide struct {
	Flags      []cli.Flag
	ConfigPath string
	Run        func(ctx context.Context, c *cli.Context, t *settings.Target, watch progress.Observer) error
}

var importSteps = []step{
	{"start", "Archive"},
	{"target", "Target"},
	{"mapping", "Mapping"},
	{"review", "Review"},
	{"run", "Run"},
	{"summary", "Summary"},
}

// importFields are the settings each step sets: a step's check reports
// the errors of its own fields and those of the steps before it.
var importFields = map[string][]string{
	"start":   {"archive", "identity", "passphrase-file"},
	"target":  {"host", "api-url", "admin-user", "password-file", "trust-cert", "always-trust", "mail-mode", "mail-path", "mail-owner", "server-id", "imap-addr", "imap-tls", "imap-auth", "imap-connections", "webdav-url", "webdav-layout"},
	"mapping": {"domain-map", "icewarp-folder-names", "archive-mailbox", "public-folders-group"},
	"review":  {"log-level", "log-format", "jobs", "ledger"},
}

var importSecrets = map[string]secretField{
	"password":   {"password-file", "icewarp"},
	"passphrase": {"passphrase-file", "archive"},
}

// importConsole is the state of the import side, shared by every browser.
type importConsole struct {
	base
	side ImportSide
}

// ImportCommand is `iem-import console`: flags are those of `iem-import
// run`, run its run.
func ImportCommand(flags []cli.Flag, run func(ctx context.Context, c *cli.Context, t *settings.Target, watch progress.Observer) error) *cli.Command {
	return &cli.Command{
		Name:  "console",
		Usage: "set up and run the import in a web browser (a local web console)",
		Description: `Serves the steps of the import in a browser: archive folder and key, target (admin API,
IMAP or mail path, administrator), mapping (domains, folder names, archive mailboxes), review,
run with a live dashboard, summary. Every field is checked as the command line checks it; the
settings go to the --config file that ` + "`iem-import run --config`" + ` reads. A run started here runs
in this process: closing the tab does not stop it.

Examples:
  iem-import console                                # http://127.0.0.1:PORT/?token=…
  iem-import console --config /etc/iem/import.conf --listen 127.0.0.1:8081`,
		Flags: consoleFlags("iem-import.conf"),
		Action: func(c *cli.Context) error {
			s, err := NewServer(Options{Listen: c.String("listen"), TLSCert: c.String("tls-cert"), TLSKey: c.String("tls-key")})
			if err != nil {
				return err
			}
			im, err := NewImport(c.Context, s, ImportSide{Flags: flags, ConfigPath: c.String("config"), Run: run})
			if err != nil {
				return err
			}
			return im.serve("iem-import", c.App.Writer)
		},
	}
}

// consoleFlags are the flags of a console command.
func consoleFlags(conf string) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "config", Value: conf, Usage: "read and write the settings in `FILE`"},
		&cli.StringFlag{Name: "listen", Value: "127.0.0.1:0", Usage: "serve on `HOST:PORT` (not loopback: needs --tls-cert and --tls-key)"},
		&cli.StringFlag{Name: "tls-cert", Usage: "serve HTTPS with the certificate in PEM `FILE`"},
		&cli.StringFlag{Name: "tls-key", Usage: "the private key of --tls-cert, PEM `FILE`"},
	}
}

// NewImport adds the import side's routes to s; the config at
// side.ConfigPath, if it exists, is read as the command reads it.
func NewImport(ctx context.Context, s *Server, side ImportSide) (*importConsole, error) {
	abs, err := setup.ConfigPath(side.ConfigPath)
	if err != nil {
		return nil, err
	}
	side.ConfigPath = abs
	im := &importConsole{side: side, base: base{srv: s, ctx: ctx, flags: side.Flags, confPath: abs, secrets: importSecrets,
		values: values{}, started: make(chan struct{})}}
	if fileExists(abs) {
		if im.values, err = readConfig(side.Flags, abs); err != nil {
			return nil, err
		}
	}
	s.Handle("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/import/start", http.StatusSeeOther)
	})
	s.Handle("GET /import/{step}", im.page)
	s.Handle("POST /import/validate", im.locked(im.validator(im.check)))
	s.Handle("POST /import/connect", im.locked(im.connect))
	s.Handle("POST /import/save", im.locked(im.save))
	s.Handle("POST /import/run", im.locked(im.startRun))
	s.Handle("POST /import/stop", im.stopRun)
	s.Handle("GET /import/state", im.state)
	s.Handle("GET /import/events", im.events)
	s.Handle("GET /import/report", im.report)
	s.Handle("GET /import/history", im.historyFragment("import"))
	return im, nil
}

func (im *importConsole) page(w http.ResponseWriter, r *http.Request) {
	im.mu.Lock()
	data := im.stepData(r, importSteps, "import", "iem-import")
	if data != nil && data["Step"] == "start" {
		data["Archive"] = im.describe()
	}
	im.mu.Unlock()
	if data == nil {
		http.NotFound(w, r)
		return
	}
	im.srv.page(w, "import-"+data["Step"].(string), data)
}

// describe says what the archive folders hold, as init prints it.
func (im *importConsole) describe() string {
	if len(im.values["archive"]) == 0 {
		return ""
	}
	folders, err := im.open()
	if err != nil {
		return ""
	}
	defer closeFolders(folders)
	e, err := replay.New(folders, replay.Options{})
	if err != nil {
		return err.Error()
	}
	users, domains := e.UsersAndDomains()
	return strconv.Itoa(folders[0].LastRound()) + " round(s), " + strconv.Itoa(len(users)) + " mailboxes, " +
		strconv.Itoa(len(e.Groups())) + " groups, domains: " + strings.Join(domains, ", ")
}

// open opens the archive folders with the key given, as a run opens them:
// each must hold finished rounds.
func (im *importConsole) open() ([]*archive.Folder, error) {
	c, err := im.values.context(im.flags)
	if err != nil {
		return nil, err
	}
	_, ids, err := settings.ArchiveKeys(c)
	if err != nil {
		return nil, err
	}
	var folders []*archive.Folder
	for _, dir := range c.StringSlice("archive") {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			closeFolders(folders)
			return nil, cliutil.Usagef("archive", "%s is not a folder", dir)
		}
		f, err := archive.OpenFolder(dir, &archive.FolderOptions{Identities: ids})
		if err == nil && len(f.Volumes()) == 0 {
			f.Close()
			err = cliutil.Usagef("archive", "%s holds no archive volume (*.iemv): give the folder iem-export wrote", dir)
		}
		if errors.Is(err, archive.ErrKey) {
			err = cliutil.Usagef("identity", "%s is encrypted: give the age identity file or the passphrase that opens it (%v)", dir, err)
		}
		if err != nil {
			closeFolders(folders)
			return nil, err
		}
		folders = append(folders, f)
	}
	return folders, nil
}

func closeFolders(fs []*archive.Folder) {
	for _, f := range fs {
		f.Close()
	}
}

// check runs the command's checks over the settings, reporting the errors
// of the fields of step and of the steps before it.
func (im *importConsole) check(step string) error {
	c, err := im.values.context(im.flags)
	if err != nil {
		return err
	}
	if step == "start" || step == "" {
		folders, err := im.open()
		if err != nil {
			return err
		}
		closeFolders(folders)
	}
	_, err = settings.ImportTarget(c)
	var ue *cliutil.UsageError
	if step != "" && errors.As(err, &ue) && later(step, ue.Field) {
		return nil // a field of a later step: not filled in yet
	}
	return err
}

// later reports whether field is set on a step after step.
func later(step, field string) bool {
	after := false
	for _, st := range importSteps {
		if after && slices.Contains(importFields[st.Name], field) {
			return true
		}
		after = after || st.Name == step
	}
	return false
}

// connect checks the target as a run does: the certificate of the admin
// API (shown; pinned on request), then the administrator's login.
func (im *importConsole) connect(r *http.Request) (string, error) {
	if err := im.apply(r); err != nil {
		return "", err
	}
	var info []string
	found := func(err error) (string, error) { return strings.Join(info, "\n"), err }
	c, err := im.values.context(im.flags)
	if err != nil {
		return found(err)
	}
	t, err := settings.ImportTarget(c)
	if err != nil {
		return found(err)
	}
	if strings.HasPrefix(t.API.URL, "https://") {
		ci, err := cliutil.ProbeURL(r.Context(), "api-url", t.API.URL)
		if err != nil {
			return found(err)
		}
		info = append(info, im.certificate(r, ci))
		if fp := im.values.first("trust-cert"); fp == ci.Fingerprint {
			t.API.TLS.PinSHA256, t.API.TLS.InsecureSkipVerify = strings.TrimPrefix(fp, "sha256:"), false
		}
	}
	opt := t.API
	opt.Retry.Attempts = 3
	admin, err := cliutil.CheckAdmin(r.Context(), opt)
	if err != nil {
		return found(err)
	}
	admin.Logout(context.Background())
	info = append(info, "IceWarp accepted the login of "+opt.Username)
	return found(nil)
}

// save checks every setting as a run would and writes the config file.
func (im *importConsole) save(r *http.Request) (string, error) {
	if err := im.apply(r); err != nil {
		return "", err
	}
	if err := im.check(""); err != nil {
		return "", err
	}
	return "wrote " + im.confPath, writeConfig(im.flags, im.values, im.confPath, "iem-import")
}

// startRun saves the settings, reads them back as `iem-import run
// --config` does and starts the run in the server's process.
func (im *importConsole) startRun(r *http.Request) (string, error) {
	if im.run != nil && !im.run.finished() {
		return "", errors.New("a run is going: stop it first")
	}
	if _, err := im.save(r); err != nil {
		return "", err
	}
	c, err := flagContext(im.flags)
	if err != nil {
		return "", err
	}
	if err := cliutil.ApplyConfig(c, im.confPath); err != nil {
		return "", err
	}
	t, err := settings.ImportTarget(c)
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp("", "iem-console-*.json")
	if err != nil {
		return "", err
	}
	f.Close()
	user := c.String("summary-json")
	if err := c.Set("summary-json", f.Name()); err != nil {
		return "", err
	}
	run := newRun(nil)
	c.App.Writer, c.App.ErrWriter = &run.out, &run.log
	ctx, cancel := context.WithCancel(im.ctx)
	run.cancel = cancel
	go func() {
		defer cancel()
		err := im.side.Run(ctx, c, t, run)
		b, _ := os.ReadFile(f.Name())
		os.Remove(f.Name())
		if user != "" { // the config's own summary-json is written too
			os.WriteFile(user, b, 0o600)
		}
		var rep struct {
			Round     int                    `json:"round"`
			Mailboxes []*replay.MailboxStats `json:"mailboxes"`
		}
		json.Unmarshal(b, &rep)
		var rows []finalRow
		for _, s := range rep.Mailboxes {
			rows = append(rows, finalRow{s.Mailbox, s.Appended + s.Updated, s.Bytes, s.Err})
		}
		run.finish(err, rep.Round, reportLine(run.out.String()), rows)
	}()
	im.run = run
	close(im.started)
	im.started = make(chan struct{})
	return "started", nil
}

// reportLine is the HTML report the summary names ("report: PATH"); the
// name of a rerun of a round has a -run-K suffix, so it is read, not built.
func reportLine(summary string) string {
	sc := bufio.NewScanner(strings.NewReader(summary))
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "report: "); ok {
			return strings.TrimSpace(p)
		}
	}
	return ""
}
