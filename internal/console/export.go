package console

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/exchange/directory"
	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/internal/settings"
	"github.com/iemproject/iem/internal/setup"
	"github.com/iemproject/iem/internal/wizard"
)

// ExportSide is what the console needs of iem-export: the flags of
// `iem-export run` (the settings the config holds, with their defaults),
// and the run itself, the one the command runs.
type ExportSide struct {
	Flags      []cli.Flag
	ConfigPath string // the config file read at start and written by the console
	Run        func(ctx context.Context, cfg *settings.Export, stdout, stderr io.Writer) error
}

// A step is one page of a side.
type step struct {
	Name, Title string
}

var exportSteps = []step{
	{"start", "New or continue"},
	{"source", "Source"},
	{"public", "Public folders"},
	{"selection", "Selection"},
	{"review", "Review"},
	{"run", "Run"},
	{"summary", "Summary"},
}

// secretFields are the secrets a page may send: each goes to a 0600 file
// next to the config, whose path is the setting.
var secretFields = map[string]secretField{
	"password":           {"password-file", "ews"},
	"directory-password": {"directory-password-file", "ldap"},
}

// A secretField is the setting naming a secret's file, and the file's kind
// ([setup.SecretPath]).
type secretField struct{ setting, kind string }

// base is what both sides hold: the settings, the run, the server.
type base struct {
	srv      *Server
	ctx      context.Context // the server's: runs outlive the request that started them
	flags    []cli.Flag      // the run command's
	confPath string
	secrets  map[string]secretField

	mu      sync.Mutex
	values  values
	run     *Run
	started chan struct{} // closed when a run starts, then replaced
}

// exportConsole is the state of the export side, shared by every browser.
type exportConsole struct {
	base
	side     ExportSide
	snap     *directory.Snapshot
	selected map[string]bool // the addresses picked; nil: all
}

// ServeExport serves the export side's console until ctx is done; the URL
// to open is printed to out.
func ServeExport(ctx context.Context, opt Options, side ExportSide, out io.Writer) error {
	s, err := NewServer(opt)
	if err != nil {
		return err
	}
	e, err := NewExport(ctx, s, side)
	if err != nil {
		return err
	}
	return e.serve("iem-export", out)
}

// serve prints the URL and serves until the server's context is done; a
// run going then sees the context end and is waited for.
func (e *base) serve(program string, out io.Writer) error {
	io.WriteString(out, program+" console: open "+e.srv.URL()+"\n(the link holds the access token; Ctrl-C stops the console and interrupts a run cleanly)\n")
	err := e.srv.Serve(e.ctx)
	e.mu.Lock()
	run := e.run
	e.mu.Unlock()
	if run != nil {
		run.Wait() // the run saw ctx end: it writes the items in hand and stops
	}
	return err
}

// ExportCommand is `iem-export console`: flags are those of `iem-export
// run`, run its run.
func ExportCommand(flags []cli.Flag, run func(ctx context.Context, cfg *settings.Export, stdout, stderr io.Writer) error) *cli.Command {
	return &cli.Command{
		Name:  "console",
		Usage: "set up and run the export in a web browser (a local web console)",
		Description: `Serves the steps of the export in a browser: archive folder, source, public folders,
selection, review, run with a live dashboard, summary. Every field is checked as the
command line checks it; the settings go to the --config file that ` + "`iem-export run --config`" + ` reads.
A run started here runs in this process: closing the tab does not stop it.

Examples:
  iem-export console                                # http://127.0.0.1:PORT/?token=…
  iem-export console --config /etc/iem/export.conf --listen 127.0.0.1:8080
  iem-export console --listen 0.0.0.0:8443 --tls-cert cert.pem --tls-key key.pem`,
		Flags: consoleFlags("iem-export.conf"),
		Action: func(c *cli.Context) error {
			return ServeExport(c.Context, Options{Listen: c.String("listen"), TLSCert: c.String("tls-cert"), TLSKey: c.String("tls-key")},
				ExportSide{Flags: flags, ConfigPath: c.String("config"), Run: run}, c.App.Writer)
		},
	}
}

// NewExport adds the export side's routes to s; the config at
// side.ConfigPath, if it exists, is read as the command reads it.
func NewExport(ctx context.Context, s *Server, side ExportSide) (*exportConsole, error) {
	abs, err := setup.ConfigPath(side.ConfigPath)
	if err != nil {
		return nil, err
	}
	side.ConfigPath = abs
	e := &exportConsole{side: side, base: base{srv: s, ctx: ctx, flags: side.Flags, confPath: abs, secrets: secretFields,
		values: values{}, started: make(chan struct{})}}
	if fileExists(abs) {
		if e.values, err = readConfig(side.Flags, abs); err != nil {
			return nil, err
		}
		if ms := e.values["mailbox"]; len(ms) > 0 {
			e.selected = map[string]bool{}
			for _, m := range ms {
				e.selected[m] = true
			}
		}
	}
	s.Handle("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/export/start", http.StatusSeeOther)
	})
	s.Handle("GET /export/{step}", e.page)
	s.Handle("POST /export/validate", e.locked(e.validator(e.check)))
	s.Handle("POST /export/connect", e.locked(e.connect))
	s.Handle("GET /export/directory", e.directory)
	s.Handle("POST /export/select", e.selectRows)
	s.Handle("POST /export/save", e.locked(e.save))
	s.Handle("POST /export/run", e.locked(e.startRun))
	s.Handle("POST /export/stop", e.stopRun)
	s.Handle("GET /export/state", e.state)
	s.Handle("GET /export/events", e.events)
	s.Handle("GET /export/report", e.report)
	s.Handle("GET /export/history", e.historyFragment("export"))
	return e, nil
}

// fieldError is what the pages show: the setting at fault and the message.
type fieldError struct {
	Field   string `json:"field,omitempty"`
	Message string `json:"message,omitempty"`
	Info    string `json:"info,omitempty"` // what a check found (a certificate, a count)
}

func asFieldError(err error) fieldError {
	var ue *cliutil.UsageError
	if errors.As(err, &ue) {
		return fieldError{Field: ue.Field, Message: ue.Msg}
	}
	return fieldError{Message: err.Error()}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (e *exportConsole) page(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	data := e.stepData(r, exportSteps, "export", "iem-export")
	if data == nil {
		e.mu.Unlock()
		http.NotFound(w, r)
		return
	}
	name := data["Step"].(string)
	if e.snap != nil {
		data["Directory"] = map[string]int{"Mailboxes": len(e.snap.Mailboxes), "Groups": len(e.snap.Groups)}
		data["Selected"] = e.countSelected()
	}
	if name == "start" {
		data["Archive"] = describeArchive(e.values.first("archive"))
	}
	e.mu.Unlock()
	e.srv.page(w, side(data)+"-"+name, data)
}

func side(data map[string]any) string { return data["Side"].(string) }

// stepData is what every page of a side shows: the steps, the settings,
// whether a run is going; nil if the request names no step. e.mu held.
func (e *base) stepData(r *http.Request, steps []step, side, program string) map[string]any {
	name := r.PathValue("step")
	idx := -1
	for i, st := range steps {
		if st.Name == name {
			idx = i
		}
	}
	if idx < 0 {
		return nil
	}
	data := map[string]any{"Side": side, "Program": program, "Steps": steps, "Step": name,
		"Index": idx, "Config": e.confPath, "V": e.flat(), "Secrets": e.secretsSet(), "ConfigExists": fileExists(e.confPath)}
	if idx+1 < len(steps) {
		data["Next"] = steps[idx+1].Name
	}
	if idx > 0 {
		data["Prev"] = steps[idx-1].Name
	}
	if e.run != nil {
		data["Running"] = !e.run.finished()
	}
	if name == "run" || name == "summary" {
		data["History"] = e.history(side)
	}
	return data
}

// flat returns the settings for the pages, secrets excluded (their files'
// paths are not secret; the pages say a secret is saved, never what).
func (e *base) flat() map[string]string {
	m := map[string]string{}
	for k, v := range e.values {
		m[k] = strings.Join(v, " ")
	}
	return m
}

func (e *base) secretsSet() map[string]bool {
	m := map[string]bool{}
	for f, s := range e.secrets {
		m[f] = e.values.first(s.setting) != ""
	}
	return m
}

func (v values) first(name string) string {
	if x := v[name]; len(x) > 0 {
		return x[0]
	}
	return ""
}

// describeArchive says what the archive folder holds: the new-or-continue
// step reads it.
func describeArchive(dir string) string {
	if dir == "" {
		return ""
	}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "new: the folder does not exist yet and is created by the first run"
	case err != nil:
		return err.Error()
	case !st.IsDir():
		return ""
	}
	f, err := archive.OpenFolder(dir, nil)
	if err != nil {
		return "the folder cannot be read as an archive: " + err.Error()
	}
	defer f.Close()
	if len(f.Volumes()) == 0 {
		return "new: the folder holds no archive yet"
	}
	last := f.LastRound()
	s := "continue: the archive holds " + strconv.Itoa(last) + " complete round(s); the next run writes round " + strconv.Itoa(last+1)
	if f.Encrypted() {
		s += " (encrypted)"
	}
	return s
}

// apply merges the fields of a posted form into the settings: secrets are
// written to their 0600 files (and never kept or returned); an empty
// field unsets its setting.
func (e *base) apply(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return err
	}
	for name, vs := range r.PostForm {
		if name == "trust" { // the certificate choice: system CAs, pinned, or always trust
			switch x := r.PostForm.Get("trust"); {
			case x == "always":
				e.values["always-trust"] = []string{"true"}
				delete(e.values, "trust-cert")
			case x == "system":
				delete(e.values, "always-trust")
				delete(e.values, "trust-cert")
			default:
				delete(e.values, "always-trust")
			}
			continue
		}
		if sf, ok := e.secrets[name]; ok {
			if len(vs) > 0 && vs[0] != "" {
				p := setup.SecretPath(e.confPath, sf.kind)
				if err := wizard.WriteSecret(p, vs[0]); err != nil {
					return cliutil.Usagef(sf.setting, "%v", err)
				}
				e.values[sf.setting] = []string{p}
			}
			continue
		}
		if !e.known(name) {
			continue
		}
		switch name {
		case "mailbox", "group", "domain-map":
			e.values[name] = trim(strings.Fields(strings.Join(vs, " ")))
		case "archive", "identity": // one a line
			e.values[name] = trim(strings.Split(strings.Join(vs, "\n"), "\n"))
		default:
			e.values[name] = trim(vs)
		}
	}
	return nil
}

func (e *base) known(name string) bool {
	for _, f := range e.flags {
		for _, n := range f.Names() {
			if n == name && name != "config" {
				return true
			}
		}
	}
	return false
}

// check runs the CLI's checks over the settings: the archive step's alone
// (the source is not known yet), or all of them but the archive.
func (e *exportConsole) check(step string) error {
	c, err := e.values.context(e.side.Flags)
	if err != nil {
		return err
	}
	if step == "start" {
		return settings.ArchiveSettings(c, &settings.Export{})
	}
	cfg, err := settings.ExportSettings(c, false)
	if err != nil {
		return err
	}
	if step == "selection" && e.selected != nil && len(e.selected) == 0 {
		// An empty list in the config would mean every mailbox.
		return cliutil.Usagef("mailbox", "nothing is selected: pick the mailboxes or groups to export")
	}
	if step == "selection" && e.snap != nil {
		_, err = settings.SelectMailboxes(e.snap, e.selector(cfg.Selector))
	}
	return err
}

// selector is the selection picked in the table, or the configured one.
func (e *exportConsole) selector(sel directory.Selector) directory.Selector {
	if e.selected == nil {
		return sel
	}
	out := directory.Selector{Mailboxes: []string{}}
	for m := range e.selected {
		out.Mailboxes = append(out.Mailboxes, m)
	}
	sort.Strings(out.Mailboxes)
	return out
}

// locked serves a check or action under the console's lock, answering
// what it found (info) or its error, which names the field to fix.
func (e *base) locked(fn func(r *http.Request) (string, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		info, err := fn(r)
		e.mu.Unlock()
		fe := fieldError{}
		if err != nil {
			fe = asFieldError(err)
		}
		fe.Info = info
		writeJSON(w, fe)
	}
}

// validator answers a step's check: the form applied, then check(step).
func (e *base) validator(check func(step string) error) func(r *http.Request) (string, error) {
	return func(r *http.Request) (string, error) {
		if err := e.apply(r); err != nil {
			return "", err
		}
		return "", check(r.URL.Query().Get("step"))
	}
}

// certificate describes the certificate a connection check found and
// pins it when the form asks to (pin=1).
func (e *base) certificate(r *http.Request, ci *wizard.Cert) string {
	trusted := "trusted by this system"
	if verr := ci.Verify(); verr != nil {
		trusted = "not trusted by this system: " + verr.Error()
	}
	if r.PostForm.Get("pin") == "1" {
		e.values["trust-cert"] = []string{ci.Fingerprint}
		delete(e.values, "always-trust")
	}
	return "certificate of " + strconv.Quote(ci.Subject) + ", valid until " + ci.NotAfter.Format("2006-01-02") +
		": " + ci.Fingerprint + " (" + trusted + ")"
}

// connect checks the source step against the servers, as a run does:
// the certificate (shown), the credentials, the directory.
func (e *exportConsole) connect(r *http.Request) (string, error) {
	if err := e.apply(r); err != nil {
		return "", err
	}
	var info []string
	found := func(err error) (string, error) { return strings.Join(info, "\n"), err }
	if u := e.values.first("ews-url"); u != "" {
		if ci, err := cliutil.ProbeEWS(r.Context(), u, e.values.first("legacy-tls") == "true"); err == nil {
			info = append(info, e.certificate(r, ci))
		}
	}
	c, err := e.values.context(e.side.Flags)
	if err != nil {
		return found(err)
	}
	cfg, err := settings.ExportSettings(c, false)
	if err != nil {
		return found(err)
	}
	if cfg.Source == "ews" {
		opt := cfg.EWS
		opt.Retry.Attempts = 3
		_, si, err := cliutil.CheckEWS(r.Context(), opt)
		if err != nil {
			return found(err)
		}
		info = append(info, "Exchange "+si.String()+" accepted the credentials of "+opt.Username)
	}
	snap, err := cliutil.CheckDirectory(r.Context(), cfg.Directory, cfg.DirectoryFile)
	if err != nil {
		return found(err)
	}
	e.snap = snap
	info = append(info, "directory: "+strconv.Itoa(len(snap.Mailboxes))+" mailboxes, "+strconv.Itoa(len(snap.Groups))+" groups")
	return found(nil)
}

// A dirRow is one entry of the selection table.
type dirRow struct {
	Address  string `json:"address"`
	Name     string `json:"name"`
	Type     string `json:"type"` // user, shared, room, ..., or group
	Members  int    `json:"members,omitempty"`
	Selected bool   `json:"selected"`
}

// dirRows lists the directory's mailboxes and groups matching q (a
// substring of the address or name) and kind ("" all, "group", or a
// mailbox type).
func (e *exportConsole) dirRows(q, kind string) []dirRow {
	q = strings.ToLower(strings.TrimSpace(q))
	var rows []dirRow
	match := func(a, n string) bool {
		return q == "" || strings.Contains(strings.ToLower(a), q) || strings.Contains(strings.ToLower(n), q)
	}
	if e.snap == nil {
		return nil
	}
	if kind != "group" {
		for _, m := range e.snap.Mailboxes {
			if (kind == "" || strings.EqualFold(m.Type.String(), kind)) && match(m.PrimarySMTP, m.DisplayName) {
				rows = append(rows, dirRow{Address: m.PrimarySMTP, Name: m.DisplayName, Type: m.Type.String(),
					Selected: e.selected == nil || e.selected[m.PrimarySMTP]})
			}
		}
	}
	if kind == "" || kind == "group" {
		for _, g := range e.snap.Groups {
			if match(g.PrimarySMTP, g.Name) {
				rows = append(rows, dirRow{Address: g.PrimarySMTP, Name: g.Name, Type: "group", Members: len(g.Members),
					Selected: e.groupSelected(g.Members)})
			}
		}
	}
	return rows
}

func (e *exportConsole) groupSelected(members []string) bool {
	if e.selected == nil {
		return true
	}
	for _, m := range members {
		if !e.selected[m] {
			return false
		}
	}
	return len(members) > 0
}

// directory serves one page of the selection table: the filtering and
// paging happen here, so the browser holds one page of a big directory.
func (e *exportConsole) directory(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	off, _ := strconv.Atoi(q.Get("offset"))
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	e.mu.Lock()
	rows := e.dirRows(q.Get("q"), q.Get("type"))
	sel := e.countSelected()
	e.mu.Unlock()
	total := len(rows)
	off = max(0, min(off, total))
	writeJSON(w, map[string]any{"total": total, "offset": off, "rows": rows[off:min(total, off+limit)], "selected": sel})
}

func (e *exportConsole) countSelected() int {
	if e.snap == nil {
		return 0
	}
	if e.selected == nil {
		return len(e.snap.Mailboxes)
	}
	n := 0
	for _, m := range e.snap.Mailboxes {
		if e.selected[m.PrimarySMTP] {
			n++
		}
	}
	return n
}

// selectRows picks or drops one address (a mailbox, or a group's
// members), or every row matching the filter (all=1).
func (e *exportConsole) selectRows(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	on := r.PostForm.Get("on") == "1"
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.snap == nil {
		writeJSON(w, fieldError{Field: "mailbox", Message: "read the directory first (step Source: check the connection)"})
		return
	}
	if e.selected == nil {
		e.selected = map[string]bool{}
		for _, m := range e.snap.Mailboxes {
			e.selected[m.PrimarySMTP] = true
		}
	}
	set := func(addr string) {
		if on {
			e.selected[addr] = true
		} else {
			delete(e.selected, addr)
		}
	}
	var rows []dirRow
	if r.PostForm.Get("all") == "1" {
		rows = e.dirRows(r.PostForm.Get("q"), r.PostForm.Get("type"))
	} else {
		for _, row := range e.dirRows("", "") {
			if strings.EqualFold(row.Address, r.PostForm.Get("address")) {
				rows = append(rows, row)
			}
		}
	}
	for _, row := range rows {
		if row.Type != "group" {
			set(row.Address)
			continue
		}
		for _, g := range e.snap.Groups {
			if g.PrimarySMTP == row.Address {
				for _, m := range g.Members {
					set(m)
				}
			}
		}
	}
	if len(e.selected) == len(e.snap.Mailboxes) {
		e.selected = nil // all: the config lists none, so new mailboxes are taken too
	}
	e.storeSelection()
	if err := e.check("selection"); err != nil {
		writeJSON(w, asFieldError(err))
		return
	}
	writeJSON(w, map[string]any{"selected": e.countSelected()})
}

// storeSelection puts the table's selection into the settings.
func (e *exportConsole) storeSelection() {
	delete(e.values, "group")
	delete(e.values, "mailboxes-from")
	if e.selected == nil {
		delete(e.values, "mailbox")
		return
	}
	e.values["mailbox"] = e.selector(directory.Selector{}).Mailboxes
}

// save checks every setting as a run would and writes the config file.
func (e *exportConsole) save(r *http.Request) (string, error) {
	if err := e.apply(r); err != nil {
		return "", err
	}
	if err := e.check("start"); err != nil {
		return "", err
	}
	if err := e.check("selection"); err != nil {
		return "", err
	}
	return "wrote " + e.side.ConfigPath, writeConfig(e.side.Flags, e.values, e.side.ConfigPath, "iem-export")
}

func (e *base) report(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	run := e.run
	e.mu.Unlock()
	if run == nil || run.ReportPath() == "" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	http.ServeFile(w, r, filepath.Clean(run.ReportPath()))
}
