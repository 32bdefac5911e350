package settings

import (
	"regexp"

	"github.com/iemproject/iem/graph"
	"github.com/iemproject/iem/internal/cliutil"
)

// Graph is how the Exchange Online source reaches Microsoft Graph.
type Graph struct {
	Credentials graph.Credentials
	Endpoint    string // graph-endpoint; "" is the global cloud
}

var guid = regexp.MustCompile(`^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$`)

// GraphSource reads the Microsoft Graph settings: tenant (GUID or domain
// name), client-id (the app registration's GUID), client-secret-file (or
// IEM_GRAPH_CLIENT_SECRET) or certificate-file (PEM with key and
// certificate), graph-endpoint and login-endpoint (national clouds;
// https only; a graph-endpoint without a path gets /v1.0). The certificate is loaded here; nothing is sent.
func GraphSource(v Values) (Graph, error) {
	g := Graph{Credentials: graph.Credentials{Tenant: v.String("tenant"), ClientID: v.String("client-id"),
		CertFile: v.String("certificate-file")}}
	if g.Credentials.Tenant == "" {
		return g, cliutil.Usagef("tenant", "required: the tenant's ID or domain (contoso.onmicrosoft.com)")
	}
	if !guid.MatchString(g.Credentials.ClientID) {
		return g, cliutil.Usagef("client-id", "%q is not an application (client) ID, a GUID", g.Credentials.ClientID)
	}
	for _, f := range []struct {
		name string
		to   *string
	}{{"graph-endpoint", &g.Endpoint}, {"login-endpoint", &g.Credentials.Login}} {
		if s := v.String(f.name); s != "" {
			u, err := cliutil.CheckURL(f.name, s, "https")
			if err != nil {
				return g, err
			}
			if f.name == "graph-endpoint" && (u.Path == "" || u.Path == "/") {
				u.Path = "/v1.0" // the API version the Source speaks
			}
			*f.to = u.String()
		}
	}
	secretFile := v.String("client-secret-file")
	switch {
	case secretFile != "" && g.Credentials.CertFile != "":
		return g, cliutil.Usagef("certificate-file", "give either --certificate-file or --client-secret-file, not both")
	case g.Credentials.CertFile == "":
		s, err := cliutil.Secret("client-secret-file", secretFile, "IEM_GRAPH_CLIENT_SECRET")
		if err != nil {
			return g, err
		}
		g.Credentials.Secret = s
	}
	if _, err := graph.NewTokenSource(g.Credentials, nil); err != nil {
		return g, cliutil.Usagef("certificate-file", "%v", err)
	}
	return g, nil
}
