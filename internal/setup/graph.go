package setup

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/iemproject/iem/graph"
	"github.com/iemproject/iem/internal/cliutil"
	"github.com/iemproject/iem/internal/settings"
	"github.com/iemproject/iem/internal/wizard"
)

// answers are settings by their long flag names as the set-up gathered
// them: the [settings.Values] [settings.GraphSource] reads, as a run's
// config file would give them.
type answers map[string]string

func (a answers) String(name string) string        { return a[name] }
func (a answers) Bool(name string) bool            { return a[name] == "true" }
func (a answers) Int(name string) int              { return 0 }
func (a answers) Int64(name string) int64          { return 0 }
func (a answers) StringSlice(name string) []string { return nil }

// graphGroups are the questions of the Exchange Online source, in the
// order asked; each refused setting maps to the group asked again.
var graphGroups = []string{"tenant", "client-id", "credential", "cloud"}

var graphGroupOf = map[string]string{"tenant": "tenant", "client-id": "client-id",
	"certificate-file": "credential", "client-secret-file": "credential",
	"graph-endpoint": "cloud", "login-endpoint": "cloud"}

// graphSource asks the Exchange Online settings, checks each as a run
// does (settings.GraphSource), then gets a token and checks the app's
// permissions (ExportChecks.CheckGraph); a refusal is shown with the
// run's message naming the setting, and that setting is asked again.
func (s *exportAnswers) graphSource(ctx context.Context, w *wizard.Wizard) error {
	a := answers{}
	need := map[string]bool{}
	for _, g := range graphGroups {
		need[g] = true
	}
	for try := 0; try < wizard.MaxTries; try++ {
		for _, g := range graphGroups {
			if !need[g] {
				continue
			}
			if err := s.askGraph(w, a, g); err != nil {
				return err
			}
			need[g] = false
		}
		g, err := settings.GraphSource(a)
		if err == nil {
			w.Printf("  getting a token and checking the app's permissions…")
			s.gclient, err = s.CheckGraph(ctx, g)
		}
		if err == nil {
			s.graph = g
			w.Printf("  ✓ the tenant gave app %s a token with the permissions %s", g.Credentials.ClientID, cliutil.GraphPermissions)
			for _, k := range []string{"tenant", "client-id", "certificate-file", "client-secret-file", "graph-endpoint", "login-endpoint"} {
				if a[k] != "" {
					s.conf.Set(k, a[k])
				}
			}
			return nil
		}
		w.Printf("  ✗ %v", err)
		var ue *cliutil.UsageError
		if group := graphGroupOf[fieldOf(err, &ue)]; group != "" {
			need[group] = true
			continue
		}
		for _, g := range graphGroups { // not about one setting: all again
			need[g] = true
		}
	}
	return wizard.ErrAborted
}

// fieldOf is the setting a usage error names ("" for other errors).
func fieldOf(err error, ue **cliutil.UsageError) string {
	if errors.As(err, ue) {
		return (*ue).Field
	}
	return ""
}

// askGraph asks the questions of group into a, each answer checked by
// settings.GraphSource on the answers so far: only a refusal of the
// setting asked counts (the others are not all answered yet).
func (s *exportAnswers) askGraph(w *wizard.Wizard, a answers, group string) error {
	ask := func(field, label, help string, file bool) error {
		v, err := w.Ask(wizard.Question{Label: label, Default: a[field], Help: help, Check: func(v string) (string, error) {
			if file {
				abs, err := filepath.Abs(v)
				if err != nil {
					return "", cliutil.Usagef(field, "%v", err)
				}
				v = abs
			}
			trial := answers{}
			for k, x := range a {
				trial[k] = x
			}
			trial[field] = v
			_, err := settings.GraphSource(trial)
			var ue *cliutil.UsageError
			if fieldOf(err, &ue) == field {
				return "", err
			}
			return v, nil
		}})
		a[field] = v
		return err
	}
	switch group {
	case "tenant":
		return ask("tenant", "Tenant", "The tenant's ID (a GUID) or its domain, e.g. contoso.onmicrosoft.com.", false)
	case "client-id":
		return ask("client-id", "Application (client) ID",
			"The app registration's application ID (Entra admin center > App registrations), granted\nthe application permissions "+
				cliutil.GraphPermissions+" with admin consent (docs/GUIDE.md §9).", false)
	case "credential":
		c, err := w.Choose("App credential", []string{"certificate", "client secret"}, 0)
		if err != nil {
			return err
		}
		if c == 0 {
			delete(a, "client-secret-file")
			return ask("certificate-file", "Certificate file",
				"A PEM file with the app's certificate and its private key (the certificate uploaded\nto the app registration). Only its path goes into the config.", true)
		}
		delete(a, "certificate-file")
		return ask("client-secret-file", "Client secret file",
			"A file holding the client secret (mode 0600). Give its path, never the secret itself:\nonly the path goes into the config.", true)
	case "cloud":
		national, err := w.Confirm("National cloud (not the global Microsoft 365)?", a["graph-endpoint"] != "")
		if err != nil {
			return err
		}
		if !national {
			delete(a, "graph-endpoint")
			delete(a, "login-endpoint")
			return nil
		}
		if err := ask("graph-endpoint", "Graph endpoint", "The cloud's Microsoft Graph URL, e.g. https://graph.microsoft.us (https only).", false); err != nil {
			return err
		}
		return ask("login-endpoint", "Login endpoint", "The cloud's login URL, e.g. https://login.microsoftonline.us (https only).", false)
	}
	return nil
}

// graphDirectory reads the directory from Microsoft Graph: the users,
// shared mailboxes and groups of the tenant.
func (s *exportAnswers) graphDirectory(ctx context.Context, w *wizard.Wizard) error {
	w.Printf("  reading the directory from Microsoft Graph…")
	src := graph.NewSource(s.gclient)
	snap, err := src.Directory(ctx)
	if err != nil {
		return cliutil.GraphUsage(err, "graph-endpoint")
	}
	s.snap, s.src = snap, src
	return nil
}
