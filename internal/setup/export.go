package setup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/iemproject/iem/exchange"
	"github.com/iemproject/iem/exchange/directory"
	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/graph"
	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/internal/settings"
	"github.com/iemproject/iem/internal/wizard"
)

// ExportChecks are the checks iem-export's set-up shares with its runs:
// they stay with the command, and each returns a *cliutil.UsageError
// naming the field to fix.
type ExportChecks struct {
	// ProbeEWS dials the EWS host of url and returns its certificate.
	ProbeEWS func(ctx context.Context, url string) (*wizard.Cert, error)
	// EWSUsage maps what the EWS client reports to the field to fix.
	EWSUsage func(error) error
	// CheckEWS connects and asks the server's version.
	CheckEWS func(ctx context.Context, opt exchange.Options) (*exchange.Client, exchange.ServerInfo, error)
	// CheckDirectory reads the directory over LDAP (opt) or from an
	// ldifde export (file).
	CheckDirectory func(ctx context.Context, opt *directory.Options, file string) (*directory.Snapshot, error)
	// ParseSelection reads the selection as typed: the selector and the
	// <file, if any.
	ParseSelection func(v string) (directory.Selector, string, error)
	// SelectorFromFile adds the addresses listed in file to sel.
	SelectorFromFile func(sel directory.Selector, file string) (directory.Selector, error)
	// SelectMailboxes returns the mailboxes sel selects.
	SelectMailboxes func(*directory.Snapshot, directory.Selector) ([]*directory.Mailbox, error)
	// CheckGraph gets a token for the Exchange Online app and checks its
	// permissions, as a run does (cliutil.CheckGraph).
	CheckGraph func(ctx context.Context, g settings.Graph) (*graph.Client, error)
	// Plan counts the folders and items of the selected mailboxes of src
	// and estimates the round (jobs < 0: counts only).
	Plan func(ctx context.Context, src export.PlanSource, selected []*directory.Mailbox, archive string, jobs int) (*ExportPlan, error)
}

// An ExportPlan is what a round of iem-export would take.
type ExportPlan struct {
	Rows           []ExportPlanRow
	Folders, Items int
	Table          string // the rows as printed by `iem-export plan`
	Estimate       string // "estimate: …"
}

// An ExportPlanRow is one mailbox of an [ExportPlan].
type ExportPlanRow struct {
	Mailbox        string
	Folders, Items int
}

// exportAnswers is what the export set-up has gathered so far.
type exportAnswers struct {
	ExportChecks
	conf     wizard.Config
	confPath string
	kind     int // of sourceKinds
	ews      exchange.Options
	info     exchange.ServerInfo
	graph    settings.Graph
	gclient  *graph.Client
	src      export.PlanSource
	snap     *directory.Snapshot
	selected []*directory.Mailbox
	archive  string
	jobs     int
}

// Export runs iem-export's set-up and writes the config to confPath.
func Export(ctx context.Context, in io.Reader, out io.Writer, confPath string, checks ExportChecks) error {
	abs, err := ConfigPath(confPath)
	if err != nil {
		return err
	}
	s := &exportAnswers{ExportChecks: checks, confPath: abs}
	return Run(ctx, in, out, "iem-export", []Step{
		{Title: "Initial info", Run: s.initial},
		{Title: "Source", Run: s.source},
		{Title: "Directory", Run: s.directory},
		{Title: "Selection", Run: s.selection},
		{Title: "Review", Run: s.review},
	})
}

func (s *exportAnswers) initial(ctx context.Context, w *wizard.Wizard) error {
	wd, _ := os.Getwd()
	dir, err := w.Ask(wizard.Question{Label: "Archive folder", Default: filepath.Join(wd, "iem-archive"),
		Help:  "The folder the archive is written to: round 1 takes everything, each later round what changed.",
		Check: wizard.WritableDir})
	if err != nil {
		return err
	}
	s.archive = dir
	s.conf.Set("archive", dir)
	s.jobs, err = AskJobs(w, &s.conf, "Mailboxes exported in parallel")
	return err
}

// The sources the set-up offers, in the order listed.
const (
	sourceEWS = iota
	sourceGraph
)

var sourceKinds = []string{"Exchange on premises (EWS)", "Exchange Online (Microsoft Graph)"}

func (s *exportAnswers) source(ctx context.Context, w *wizard.Wizard) error {
	var err error
	if s.kind, err = w.Choose("Source", sourceKinds, sourceEWS); err != nil {
		return err
	}
	if s.kind == sourceGraph {
		s.conf.Set("source", "graph")
		return s.graphSource(ctx, w)
	}
	return s.ewsSource(ctx, w)
}

func (s *exportAnswers) ewsSource(ctx context.Context, w *wizard.Wizard) error {
	var ci *wizard.Cert
	u, err := w.Ask(wizard.Question{Label: "EWS URL",
		Help: "The Exchange Web Services endpoint, e.g. https://mail.example.com/EWS/Exchange.asmx\n(a bare https://host gets /EWS/Exchange.asmx added).",
		Check: func(v string) (string, error) {
			pu, err := cliutil.CheckURL("ews-url", v, "https")
			if err != nil {
				return "", err
			}
			if pu.Path == "" || pu.Path == "/" {
				pu.Path = "/EWS/Exchange.asmx"
			}
			if _, err := exchange.New(exchange.Options{URL: pu.String(), Username: "x", Password: "x"}); err != nil {
				return "", s.EWSUsage(err)
			}
			ci, err = s.ProbeEWS(ctx, pu.String())
			if err != nil {
				return "", err
			}
			return pu.String(), nil
		}})
	if err != nil {
		return err
	}
	s.ews.URL = u
	s.conf.Set("ews-url", u)

	pinned, err := Trust(w, ci.Fingerprint, ci.Subject, ci.NotAfter, ci.Verify(),
		"Compare the fingerprint with the one on the Exchange server (IIS, or Get-ExchangeCertificate).")
	if err != nil {
		return err
	}
	if pinned {
		s.ews.TrustCert = ci.Fingerprint
		s.conf.Set("trust-cert", ci.Fingerprint)
	}

	auth, err := w.Choose("Authentication", []string{"basic", "ntlm"}, 0)
	if err != nil {
		return err
	}
	s.ews.Auth = exchange.AuthMethod(auth)
	s.conf.Set("auth", []string{"basic", "ntlm"}[auth])
	if _, _, err := AskLogin(w, Login{Label: "Admin user",
		Help:     "An account with the ApplicationImpersonation role (DOMAIN\\user or user@domain).",
		Checking: "checking with the server…",
		Check: func(user, pw string) error {
			s.ews.Username, s.ews.Password = user, pw
			opt := s.ews
			opt.Retry.Attempts = 3
			client, info, err := s.CheckEWS(ctx, opt)
			if err != nil {
				return err
			}
			s.src, s.info = exchange.NewSource(client, nil), info
			w.Printf("  ✓ Exchange %s accepted the credentials of %s", info, user)
			return nil
		}}); err != nil {
		return err
	}
	s.conf.Set("admin-user", s.ews.Username)
	return SaveSecret(&s.conf, s.confPath, "ews", "password-file", s.ews.Password)
}

func (s *exportAnswers) directory(ctx context.Context, w *wizard.Wizard) error {
	if s.kind == sourceGraph {
		if err := s.graphDirectory(ctx, w); err != nil {
			return err
		}
	} else if err := s.adDirectory(ctx, w); err != nil {
		return err
	}
	w.Printf("  ✓ %d mailboxes, %d groups, %d contacts", len(s.snap.Mailboxes), len(s.snap.Groups), len(s.snap.Contacts))
	return nil
}

// adDirectory reads Active Directory over LDAP or from an ldifde file.
func (s *exportAnswers) adDirectory(ctx context.Context, w *wizard.Wizard) error {
	src, err := w.Ask(wizard.Question{Label: "Directory",
		Help: "Active Directory as ldap://dc.example.com or ldaps://dc.example.com,\nor the path of an ldifde export file (see docs/GUIDE.md).",
		Check: func(v string) (string, error) {
			if strings.Contains(v, "://") {
				u, err := cliutil.CheckURL("directory-url", v, "ldap", "ldaps")
				if err != nil {
					return "", err
				}
				if err := directory.Validate(directory.Options{URL: u.String()}); err != nil {
					var fe *directory.FieldError
					if errors.As(err, &fe) {
						return "", cliutil.Usagef(fe.Field, "%s", fe.Reason)
					}
					return "", err
				}
				return u.String(), nil
			}
			abs, err := filepath.Abs(v)
			if err != nil {
				return "", err
			}
			snap, err := s.CheckDirectory(ctx, nil, abs)
			if err != nil {
				return "", err
			}
			s.snap = snap
			return abs, nil
		}})
	if err != nil {
		return err
	}
	if s.snap != nil {
		s.conf.Set("directory-file", src)
	} else {
		opt := directory.Options{URL: src}
		if strings.HasPrefix(src, "ldap://") {
			if opt.StartTLS, err = w.Confirm("Use StartTLS (recommended; the bind password otherwise travels in clear)?", true); err != nil {
				return err
			}
		}
		if _, _, err := AskLogin(w, Login{Label: "Bind DN",
			Help:     "A read-only account: a DN, user@domain or DOMAIN\\user.",
			Checking: "binding…",
			Check: func(dn, pw string) error {
				opt.BindDN, opt.Password = dn, pw
				snap, err := s.CheckDirectory(ctx, &opt, "")
				if err != nil {
					return err
				}
				s.snap = snap
				return nil
			}}); err != nil {
			return err
		}
		s.conf.Set("directory-url", src)
		if opt.StartTLS {
			s.conf.Set("directory-starttls", "true")
		}
		s.conf.Set("directory-bind-dn", opt.BindDN)
		if err := SaveSecret(&s.conf, s.confPath, "ldap", "directory-password-file", opt.Password); err != nil {
			return err
		}
	}
	return nil
}

// maxListed bounds the mailboxes and groups listed in the selection step.
const maxListed = 40

func (s *exportAnswers) selection(ctx context.Context, w *wizard.Wizard) error {
	// Folder and item counts cost one request per mailbox: only for a
	// list short enough to show whole.
	counts := map[string]ExportPlanRow{}
	if len(s.snap.Mailboxes) <= maxListed {
		all := make([]*directory.Mailbox, len(s.snap.Mailboxes))
		for i := range s.snap.Mailboxes {
			all[i] = &s.snap.Mailboxes[i]
		}
		if p, err := s.Plan(ctx, s.src, all, "", -1); err == nil {
			for _, r := range p.Rows {
				counts[r.Mailbox] = r
			}
		} else {
			w.Printf("  (item counts not available: %v)", err)
		}
	}
	tw := tabwriter.NewWriter(w.Writer(), 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  mailbox\ttype\tfolders\titems\tname\n")
	for i, m := range s.snap.Mailboxes {
		if i == maxListed {
			fmt.Fprintf(tw, "  … and %d more\t\t\t\t\n", len(s.snap.Mailboxes)-maxListed)
			break
		}
		f, n := "-", "-"
		if r, ok := counts[m.PrimarySMTP]; ok {
			f, n = strconv.Itoa(r.Folders), strconv.Itoa(r.Items)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", m.PrimarySMTP, m.Type, f, n, m.DisplayName)
	}
	tw.Flush()
	if len(s.snap.Groups) > 0 {
		fmt.Fprintf(tw, "  group\tmembers\taddress\n")
		for i, g := range s.snap.Groups {
			if i == maxListed {
				fmt.Fprintf(tw, "  … and %d more\t\t\n", len(s.snap.Groups)-maxListed)
				break
			}
			fmt.Fprintf(tw, "  %s\t%d\t%s\n", g.Name, len(g.Members), g.PrimarySMTP)
		}
		tw.Flush()
	}
	var given directory.Selector
	var from string
	_, err := w.Ask(wizard.Question{Label: "Mailboxes to export", Default: "all",
		Help: "all, or any of (separated by spaces): an address, a pattern (*@sales.example.com),\n@group for a group's members, <file for a file with one address per line.",
		Check: func(v string) (string, error) {
			var err error
			given, from, err = s.ParseSelection(v)
			if err != nil {
				return "", err
			}
			sel := given
			if from != "" {
				if sel, err = s.SelectorFromFile(given, from); err != nil {
					return "", err
				}
			}
			ms, err := s.SelectMailboxes(s.snap, sel)
			if err != nil {
				return "", err
			}
			s.selected = ms
			return v, nil
		}})
	if err != nil {
		return err
	}
	// What goes into the config is the selection as given, so a file
	// edited later is read again by each run.
	for _, m := range given.Mailboxes {
		s.conf.Add("mailbox", m)
	}
	for _, g := range given.Groups {
		s.conf.Add("group", g)
	}
	if from != "" {
		s.conf.Set("mailboxes-from", from)
	}
	w.Printf("  ✓ %d of %d mailboxes selected", len(s.selected), len(s.snap.Mailboxes))
	return nil
}

func (s *exportAnswers) review(ctx context.Context, w *wizard.Wizard) error {
	w.Printf("  counting folders and items (one request per mailbox)…")
	p, err := s.Plan(ctx, s.src, s.selected, s.archive, s.jobs)
	if err != nil {
		return err
	}
	PrintIndented(w, p.Table)
	if s.kind == sourceGraph {
		cloud := "the global cloud"
		if s.graph.Endpoint != "" {
			cloud = s.graph.Endpoint
		}
		w.Printf("  source:    Exchange Online, tenant %s, app %s (%s)", s.graph.Credentials.Tenant, s.graph.Credentials.ClientID, cloud)
	} else {
		w.Printf("  source:    %s (Exchange %s) as %s", s.ews.URL, s.info, s.ews.Username)
	}
	w.Printf("  directory: %d mailboxes, %d groups", len(s.snap.Mailboxes), len(s.snap.Groups))
	w.Printf("  selected:  %d mailboxes, %d folders, %d items", len(p.Rows), p.Folders, p.Items)
	w.Printf("  archive:   %s", s.archive)
	w.Printf("  %s", p.Estimate)
	if err := w.ConfirmSave(&s.conf, s.confPath, "iem-export", "iem-export run --config "+s.confPath,
		"Passwords are in the files named below (mode 0600), never here."); err != nil {
		return err
	}
	w.Printf("\nNext:\n  iem-export plan --config %s\n  iem-export run --config %s", s.confPath, s.confPath)
	return nil
}
