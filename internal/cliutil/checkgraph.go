package cliutil

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/iemproject/iem/graph"
	"github.com/iemproject/iem/internal/retry"
)

// GraphPermissions are the application permissions the Graph source needs.
const GraphPermissions = "User.Read.All, Group.Read.All, Mail.Read, Contacts.Read and Calendars.Read"

// GraphOptional are the optional ones (graph.OptionalPermissions).
const GraphOptional = "MailboxSettings.Read and Tasks.Read.All"

// OptionalNotice says which optional permissions (graph.OptionalPermissions)
// the client's token lacks and what the export will not read without
// them; "" when it has them all (or the token does not say).
func OptionalNotice(ctx context.Context, c *graph.Client) string {
	if c == nil {
		return ""
	}
	missing, err := c.MissingOptional(ctx)
	if err != nil || len(missing) == 0 {
		return ""
	}
	var parts []string
	for _, o := range missing {
		parts = append(parts, fmt.Sprintf("%s not granted: %s will not be exported", o.Permission, o.Without))
	}
	return "optional: " + strings.Join(parts, "; ") + " (the summary lists them as not readable)"
}

// CheckGraph gets a first token and reads one user: the tenant, the app's
// credentials and its permission to read the directory are checked before
// anything is written. Every refusal names the setting to correct.
func CheckGraph(ctx context.Context, cred graph.Credentials, endpoint string, hc *http.Client, policy retry.Policy) (*graph.Client, error) {
	ts, err := graph.NewTokenSource(cred, hc)
	if err != nil {
		return nil, Usagef("certificate-file", "%v", err)
	}
	c, err := graph.NewClient(endpoint, ts, hc, policy)
	if err != nil {
		return nil, Usagef("graph-endpoint", "%v", err)
	}
	tok, err := ts.Token(ctx)
	if err != nil {
		return nil, GraphUsage(err, "login-endpoint")
	}
	if missing := graph.MissingPermissions(tok); len(missing) > 0 {
		return nil, Usagef("client-id", "the app lacks the application permission %s: grant it (of %s), with admin consent",
			strings.Join(missing, ", "), GraphPermissions)
	}
	var page struct {
		Value []json.RawMessage `json:"value"`
	}
	if err := c.Get(ctx, "users?$top=1&$select=id", &page); err != nil {
		return nil, GraphUsage(err, "graph-endpoint")
	}
	return c, nil
}

// aadstsField maps the AADSTS code of a refused token request to the
// setting it is about (Microsoft Entra error codes [I]).
var aadstsField = map[int]string{90002: "tenant", 900023: "tenant", 700016: "client-id",
	7000215: "client-secret-file", 7000222: "client-secret-file", 700027: "certificate-file", 700024: "certificate-file"}

// GraphUsage turns what the Graph client reports into an error naming the
// setting; urlField is the endpoint that was being reached.
func GraphUsage(err error, urlField string) error {
	var te *graph.TokenError
	var ge *graph.Error
	switch {
	case errors.As(err, &te):
		field := aadstsField[te.AADSTS]
		if field == "" {
			field = "client-id"
		}
		return Usagef(field, "the login endpoint refused the app (%s): %s", te.Code, te.Description)
	case errors.As(err, &ge) && (ge.Status == http.StatusUnauthorized || ge.Status == http.StatusForbidden):
		return Usagef("client-id", "Microsoft Graph refused the app (HTTP %d %s: %s): grant it the application permissions %s, with admin consent",
			ge.Status, ge.Code, ge.Message, GraphPermissions)
	}
	if ue := transportUsage(err, urlField, ""); ue != nil {
		return ue
	}
	return fmt.Errorf("graph check: %w", err)
}
